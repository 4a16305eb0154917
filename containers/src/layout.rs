//! Which file of a candidate goes where on a node, when no manifest says so.
//! A candidate is taken as users have it: a `pcs config backup`, a `crm
//! report`, a sosreport, a copy of a node's files (the root layout:
//! `etc/corosync/corosync.conf`, …) or files under their well-known names
//! (`corosync.conf`, `cib.xml`, `authkey`, …), and `crm configure show` text
//! under any name, which supplies the CIB. Every file is either placed,
//! with the owner and mode a stock node gives it, or listed as ignored with
//! the reason: nothing is dropped silently.

use crate::tree::{Tree, TreeFile};
use pcmk_model::node::{Placement, Service, CIB_XML, COROSYNC_CONF};
use pcmk_model::scope::CandidateKind;

/// A file the policy or the cluster reads, with what a stock node gives it.
/// Owners and modes are those `pcs config restore` sets (pcs/config.py,
/// `config_backup_path_list`) and Debian's packages ship.
struct Known {
    node_path: &'static str,
    /// Names it has in a flat candidate or a `pcs config backup`.
    flat: &'static [&'static str],
    owner: &'static str,
    group: &'static str,
    mode: u32,
    /// Key material: placed as it is, never printed.
    secret: bool,
    /// A service the file implies (a ruleset is loaded by nftables.service).
    service: Option<Service>,
}

const KNOWN: &[Known] = &[
    Known {
        node_path: "/etc/corosync/corosync.conf",
        flat: &["corosync.conf"],
        owner: "root",
        group: "root",
        mode: 0o644,
        secret: false,
        service: None,
    },
    Known {
        node_path: "/etc/corosync/authkey",
        flat: &["authkey", "corosync_authkey", "corosync.authkey"],
        owner: "root",
        group: "root",
        mode: 0o400,
        secret: true,
        service: None,
    },
    Known {
        node_path: "/etc/pacemaker/authkey",
        flat: &["pacemaker_authkey", "pacemaker.authkey"],
        owner: "hacluster",
        group: "haclient",
        mode: 0o400,
        secret: true,
        service: None,
    },
    Known {
        node_path: "/var/lib/pacemaker/cib/cib.xml",
        flat: &["cib.xml"],
        owner: "hacluster",
        group: "haclient",
        mode: 0o600,
        secret: false,
        service: None,
    },
    Known {
        node_path: "/etc/nftables.conf",
        flat: &["nftables.conf"],
        owner: "root",
        group: "root",
        mode: 0o755,
        secret: false,
        service: Some(Service::Nftables),
    },
    Known {
        node_path: "/etc/default/pcsd",
        flat: &["pcsd", "pcsd.defaults"],
        owner: "root",
        group: "root",
        mode: 0o644,
        secret: false,
        service: Some(Service::Pcsd),
    },
    Known {
        node_path: "/var/lib/pcsd/pcs_settings.conf",
        flat: &["pcs_settings.conf"],
        owner: "root",
        group: "root",
        mode: 0o644,
        secret: false,
        service: None,
    },
    Known {
        node_path: "/etc/aide/aide.conf",
        flat: &["aide.conf"],
        owner: "root",
        group: "root",
        mode: 0o644,
        secret: false,
        service: None,
    },
    Known {
        node_path: "/etc/rsyslog.conf",
        flat: &["rsyslog.conf"],
        owner: "root",
        group: "root",
        mode: 0o644,
        secret: false,
        service: Some(Service::Rsyslog),
    },
    // sbd's environment (sbd.sysconfig, the same template on every
    // distribution): `SBD_DEVICE`, `SBD_WATCHDOG_TIMEOUT`. No service: the
    // node images have no sbd, and a lab has no watchdog or shared disk.
    Known {
        node_path: "/etc/default/sbd",
        flat: &["sbd", "sbd.sysconfig", "sysconfig-sbd"],
        owner: "root",
        group: "root",
        mode: 0o644,
        secret: false,
        service: None,
    },
    Known {
        node_path: "/etc/audit/auditd.conf",
        flat: &["auditd.conf"],
        owner: "root",
        group: "root",
        mode: 0o640,
        secret: false,
        service: None,
    },
];

/// (node directory, file suffix, owner, group, mode, service).
type KnownDir = (&'static str, &'static str, &'static str, &'static str, u32, Option<Service>);

/// Directories whose files are placed as they are: (node directory, file suffix, owner, group, mode, service).
const KNOWN_DIRS: &[KnownDir] = &[
    ("/etc/sudoers.d/", "", "root", "root", 0o440, None),
    ("/etc/rsyslog.d/", ".conf", "root", "root", 0o644, Some(Service::Rsyslog)),
    ("/etc/audit/rules.d/", ".rules", "root", "root", 0o640, None),
    ("/etc/corosync/uidgid.d/", "", "root", "root", 0o644, None),
];

/// Where a file of another distribution's layout sits on the Debian node.
const ALIASES: &[(&str, &str)] = &[("/etc/sysconfig/pcsd", "/etc/default/pcsd"), ("/etc/sysconfig/sbd", "/etc/default/sbd")];

/// What became of one file of the candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// `stated`: the owner and mode are the node's own, as the archive records them.
    Placed {
        placement: Placement,
        secret: bool,
        note: Option<String>,
        stated: bool,
    },
    Ignored {
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Laid {
    /// The layout recognised, as said to the user.
    pub kind: String,
    /// What the layout says the candidate can carry.
    pub candidate_kind: CandidateKind,
    /// (path in the tree, what became of it), in tree order.
    pub files: Vec<(String, Disposition)>,
    pub services: Vec<Service>,
    pub notes: Vec<String>,
}

/// The layout of a tree, recognised from its files.
pub fn lay_out(tree: &Tree) -> Laid {
    if let Some(dc) = crm_report_node(tree) {
        return crm_report(tree, &dc);
    }
    let root_layout = tree.files.iter().any(|f| f.path.starts_with("etc/") || f.path.starts_with("var/"));
    let (kind, candidate_kind) = if tree.get("sos_commands").is_some() || tree.files.iter().any(|f| f.path.starts_with("sos_commands/")) {
        ("a sosreport (a copy of the node's files)", CandidateKind::Sosreport)
    } else if root_layout {
        ("a copy of a node's files (paths below /)", CandidateKind::Assembled)
    } else if tree.get("version.txt").is_some() && tree.get("cib.xml").is_some() {
        ("a pcs config backup", CandidateKind::PcsBackup)
    } else {
        ("files under their well-known names", CandidateKind::Assembled)
    };
    let mut laid = Laid {
        kind: kind.into(),
        candidate_kind,
        files: Vec::new(),
        services: vec![Service::Corosync, Service::Pacemaker],
        notes: Vec::new(),
    };
    // sos does not copy the CIB file; its pacemaker plugin keeps the one crm_report saved.
    let has_cib = tree.get("var/lib/pacemaker/cib/cib.xml").is_some();
    for file in &tree.files {
        // A member's owner and mode are the node file's only where it is a copy of
        // that file: crm_report's CIB in a sosreport is `cibadmin` output, owned by root.
        let disposition = match sos_cib_host(&file.path).filter(|_| root_layout && !has_cib) {
            Some(host) => placed(known(CIB_XML), Some(format!("the CIB sos collected with crm_report on {host}"))),
            None if root_layout => place_rooted(file),
            None => place_flat(file),
        };
        let copied = sos_cib_host(&file.path).is_none();
        let disposition = if candidate_kind.records_stat() && copied { with_recorded_stat(disposition, file) } else { disposition };
        laid.add(file.path.clone(), disposition);
    }
    laid
}

impl Laid {
    fn add(&mut self, path: String, disposition: Disposition) {
        if let Disposition::Placed { placement, .. } = &disposition {
            add_service_for(&mut self.services, &placement.path);
        }
        self.files.push((path, disposition));
    }
}

/// The services the files at these node paths imply, beside corosync and pacemaker.
pub fn services_for<'a>(node_paths: impl Iterator<Item = &'a str>) -> Vec<Service> {
    let mut services = vec![Service::Corosync, Service::Pacemaker];
    for path in node_paths {
        add_service_for(&mut services, path);
    }
    services
}

fn add_service_for(services: &mut Vec<Service>, node_path: &str) {
    let service = KNOWN.iter().find(|k| k.node_path == node_path).and_then(|k| k.service).or_else(|| {
        KNOWN_DIRS.iter().find(|(dir, suffix, ..)| node_path.starts_with(dir) && node_path.ends_with(suffix)).and_then(|d| d.5)
    });
    if let Some(service) = service.filter(|s| !services.contains(s)) {
        // Firewall first: it must be loaded before the cluster starts.
        if service == Service::Nftables {
            services.insert(0, service);
        } else {
            services.push(service);
        }
    }
}

/// Accounts every node image has: a recorded owner outside them could not be
/// given to a lab node, so the file keeps a stock node's and says nothing.
const NODE_ACCOUNTS: &[&str] = &["root", "hacluster", "haclient"];

/// A placed file with the owner and mode its archive member records (pcs
/// config backup and sos read them off the node: `tarball.add`, `copystat`).
fn with_recorded_stat(disposition: Disposition, file: &TreeFile) -> Disposition {
    let Disposition::Placed { mut placement, secret, note, .. } = disposition else { return disposition };
    match &file.recorded {
        Some(r) if NODE_ACCOUNTS.contains(&r.owner.as_str()) && NODE_ACCOUNTS.contains(&r.group.as_str()) => {
            placement.owner = r.owner.clone();
            placement.group = r.group.clone();
            placement.mode = r.mode;
            let recorded = "owner and mode as the archive records them".to_string();
            let note = Some(note.map_or(recorded.clone(), |n| format!("{n}; {recorded}")));
            Disposition::Placed { placement, secret, note, stated: true }
        }
        _ => Disposition::Placed { placement, secret, note, stated: false },
    }
}

/// The owner and mode a stock node gives the file at `node_path`, if the
/// policy knows it.
pub fn stock(node_path: &str) -> Option<Placement> {
    if let Some(k) = KNOWN.iter().find(|k| k.node_path == node_path) {
        return Some(Placement { path: node_path.into(), owner: k.owner.into(), group: k.group.into(), mode: k.mode });
    }
    match place_in_dir(node_path)? {
        Disposition::Placed { placement, .. } => Some(placement),
        Disposition::Ignored { .. } => None,
    }
}

/// The entry for a node path the table holds.
fn known(node_path: &str) -> &'static Known {
    KNOWN.iter().find(|k| k.node_path == node_path).expect("the table holds the cluster's own files")
}

fn placed(known: &Known, note: Option<String>) -> Disposition {
    Disposition::Placed {
        placement: Placement { path: known.node_path.into(), owner: known.owner.into(), group: known.group.into(), mode: known.mode },
        secret: known.secret,
        note,
        stated: false,
    }
}

/// `sos_commands/pacemaker/crm_report/<host>/cib.xml` (sos/report/plugins/pacemaker.py
/// runs `crm_report --sos-mode` into that directory): the host.
fn sos_cib_host(path: &str) -> Option<&str> {
    let host = path.strip_prefix("sos_commands/pacemaker/crm_report/")?.strip_suffix("/cib.xml")?;
    (!host.contains('/')).then_some(host)
}

fn place_flat(file: &TreeFile) -> Disposition {
    let name = file.path.as_str();
    if let Some(known) = KNOWN.iter().find(|k| k.flat.contains(&name)) {
        return placed(known, None);
    }
    if let Some(rest) = name.strip_prefix("uidgid.d/") {
        return place_in_dir(&format!("/etc/corosync/uidgid.d/{rest}")).unwrap_or_else(|| ignored_flat(name));
    }
    if name == "version.txt" {
        return Disposition::Ignored { reason: "the pcs backup's format version".into() };
    }
    if crate::crmsh::is_crm_bytes(&file.content) {
        return placed(known(CIB_XML), None);
    }
    ignored_flat(name)
}

fn ignored_flat(name: &str) -> Disposition {
    Disposition::Ignored { reason: format!("`{name}` is not a well-known name; place it with a [[file]] entry in candidate.toml") }
}

fn place_rooted(file: &TreeFile) -> Disposition {
    let node_path = format!("/{}", file.path);
    if let Some((_, debian)) = ALIASES.iter().find(|(other, _)| *other == node_path) {
        return placed(known(debian), Some(format!("placed at {debian}, where the Debian node reads it")));
    }
    if let Some(entry) = KNOWN.iter().find(|k| k.node_path == node_path) {
        return placed(entry, None);
    }
    if let Some(disposition) = place_in_dir(&node_path) {
        return disposition;
    }
    if file.path.starts_with("sos_commands/") || file.path.starts_with("sos_logs/") || file.path.starts_with("sos_reports/") {
        return Disposition::Ignored { reason: "sosreport command output, not a node file".into() };
    }
    // `crm configure show` text kept anywhere in a copy of a node's files supplies the CIB.
    if crate::crmsh::is_crm_bytes(&file.content) {
        return placed(known(CIB_XML), None);
    }
    Disposition::Ignored {
        reason: "not a file the policy or the cluster reads; place it with a [[file]] entry in candidate.toml if the nodes need it".into(),
    }
}

fn place_in_dir(node_path: &str) -> Option<Disposition> {
    let (dir, _, owner, group, mode, _) = KNOWN_DIRS.iter().find(|(dir, suffix, ..)| {
        node_path.starts_with(dir) && node_path.ends_with(suffix) && !node_path[dir.len()..].contains('/') && node_path.len() > dir.len()
    })?;
    // sudo skips files in sudoers.d whose names end in `~` or contain a `.` (sudoers(5), "#includedir").
    let name = &node_path[dir.len()..];
    if *dir == "/etc/sudoers.d/" && (name.ends_with('~') || name.contains('.')) {
        return Some(Disposition::Ignored { reason: "sudo skips files in sudoers.d whose names contain `.` or end in `~`".into() });
    }
    Some(Disposition::Placed {
        placement: Placement { path: node_path.into(), owner: (*owner).into(), group: (*group).into(), mode: *mode },
        secret: false,
        note: None,
        stated: false,
    })
}

/// Where a Debian node reads sbd's environment (/etc/sysconfig/sbd elsewhere).
const SBD_CONF: &str = "/etc/default/sbd";

/// `crm report` (and hb_report) write one directory per node, each with its
/// `cib.xml` and `corosync.conf`, and an empty `DC` file in the directory of
/// the node that was DC (crmsh report/collect.py, `collect_ha_logs`/`dump_state`);
/// beside them `sbd`, a copy of /etc/sysconfig/sbd, where the node has one
/// (`collect_sbd_info()`, crmsh 4.4 to 5.x).
fn crm_report_node(tree: &Tree) -> Option<String> {
    let nodes: Vec<&str> = tree
        .files
        .iter()
        .filter_map(|f| f.path.strip_suffix("/cib.xml"))
        .filter(|dir| !dir.contains('/') && tree.get(&format!("{dir}/corosync.conf")).is_some())
        .collect();
    // A report says so in what it collects beside each node's configuration
    // (a directory of candidate directories also has cib.xml and corosync.conf per directory).
    const REPORT_FILES: &[&str] = &["RUNNING", "STOPPED", "DC", "crm_mon.txt", "members.txt", "sysinfo.txt", "crm_verify.txt"];
    let is_report = nodes.iter().any(|n| REPORT_FILES.iter().any(|f| tree.get(&format!("{n}/{f}")).is_some()))
        || ["description.txt", "analysis.txt"].iter().any(|f| tree.get(f).is_some());
    let has_manifest = nodes.iter().any(|n| tree.get(&format!("{n}/candidate.toml")).is_some());
    if nodes.is_empty() || !is_report || has_manifest || tree.files.iter().any(|f| f.path.starts_with("etc/")) {
        return None;
    }
    let dc = nodes.iter().find(|n| tree.get(&format!("{n}/DC")).is_some()).or(nodes.first())?;
    Some(dc.to_string())
}

fn crm_report(tree: &Tree, dc: &str) -> Laid {
    let marked = tree.get(&format!("{dc}/DC")).is_some();
    let mut laid = Laid {
        kind: "a crm report".into(),
        candidate_kind: CandidateKind::CrmReport,
        files: Vec::new(),
        services: vec![Service::Corosync, Service::Pacemaker],
        notes: Vec::new(),
    };
    laid.notes.push(if marked {
        format!("used the CIB and corosync.conf of {dc}, the node that was DC when the report was taken")
    } else {
        format!("no node is marked DC in this report; used the CIB and corosync.conf of {dc}, the first node")
    });
    for file in &tree.files {
        let disposition = match file.path.strip_prefix(&format!("{dc}/")) {
            Some("cib.xml") => placed(known(CIB_XML), None),
            Some("corosync.conf") => placed(known(COROSYNC_CONF), None),
            // `collect_sbd_info()` copies /etc/sysconfig/sbd into the node's directory.
            Some("sbd") => placed(known(SBD_CONF), Some("the node's /etc/sysconfig/sbd, as crm report copies it".into())),
            Some(_) => Disposition::Ignored { reason: "report output, not configuration".into() },
            None if ["/cib.xml", "/corosync.conf", "/sbd"].iter().any(|name| file.path.ends_with(name)) => {
                Disposition::Ignored { reason: format!("another node's copy; {dc}'s is used") }
            }
            None => Disposition::Ignored { reason: "report output, not configuration".into() },
        };
        laid.add(file.path.clone(), disposition);
    }
    laid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(paths: &[&str]) -> Tree {
        Tree {
            origin: "t".into(),
            is_archive: false,
            single_file: false,
            files: paths
                .iter()
                .map(|p| TreeFile { path: p.to_string(), content: b"x".to_vec(), executable: false, recorded: None })
                .collect(),
            skipped: Vec::new(),
        }
    }

    fn placed_at(laid: &Laid, path: &str) -> Option<(String, u32)> {
        laid.files.iter().find(|(p, _)| p == path).and_then(|(_, d)| match d {
            Disposition::Placed { placement, .. } => Some((placement.path.clone(), placement.mode)),
            Disposition::Ignored { .. } => None,
        })
    }

    #[test]
    fn a_pcs_backup_is_placed_as_pcs_restores_it() {
        let laid = lay_out(&tree(&["cib.xml", "corosync.conf", "corosync_authkey", "pacemaker_authkey", "uidgid.d/ha", "version.txt"]));
        assert_eq!(laid.kind, "a pcs config backup");
        assert_eq!(placed_at(&laid, "corosync_authkey"), Some(("/etc/corosync/authkey".into(), 0o400)));
        assert_eq!(placed_at(&laid, "uidgid.d/ha"), Some(("/etc/corosync/uidgid.d/ha".into(), 0o644)));
        assert_eq!(placed_at(&laid, "version.txt"), None);
    }

    #[test]
    fn the_root_layout_places_known_paths_and_says_why_others_are_not() {
        let laid = lay_out(&tree(&[
            "etc/corosync/corosync.conf",
            "etc/sysconfig/pcsd",
            "etc/sudoers.d/ops",
            "etc/sudoers.d/ops.bak",
            "etc/hosts",
            "etc/nftables.conf",
            "etc/sysconfig/sbd",
        ]));
        assert_eq!(placed_at(&laid, "etc/sysconfig/pcsd"), Some(("/etc/default/pcsd".into(), 0o644)));
        assert_eq!(placed_at(&laid, "etc/sysconfig/sbd"), Some(("/etc/default/sbd".into(), 0o644)));
        assert_eq!(placed_at(&laid, "etc/sudoers.d/ops"), Some(("/etc/sudoers.d/ops".into(), 0o440)));
        assert_eq!(placed_at(&laid, "etc/sudoers.d/ops.bak"), None);
        assert_eq!(placed_at(&laid, "etc/hosts"), None);
        assert_eq!(laid.services, vec![Service::Nftables, Service::Corosync, Service::Pacemaker, Service::Pcsd]);
        let sos = lay_out(&tree(&[
            "etc/corosync/corosync.conf",
            "sos_commands/pacemaker/crm_report/n1/cib.xml",
            "sos_commands/pacemaker/crm_report/n1/cib.xml.live",
        ]));
        assert_eq!(placed_at(&sos, "sos_commands/pacemaker/crm_report/n1/cib.xml"), Some(("/var/lib/pacemaker/cib/cib.xml".into(), 0o600)));
        assert_eq!(placed_at(&sos, "sos_commands/pacemaker/crm_report/n1/cib.xml.live"), None);
    }

    #[test]
    fn the_sbd_environment_file_goes_where_a_debian_node_reads_it() {
        for name in ["sbd", "sbd.sysconfig", "sysconfig-sbd"] {
            let laid = lay_out(&tree(&["corosync.conf", name]));
            assert_eq!(placed_at(&laid, name), Some(("/etc/default/sbd".into(), 0o644)), "{name}");
            assert_eq!(laid.services, vec![Service::Corosync, Service::Pacemaker], "the lab runs no sbd");
        }
        assert_eq!(placed_at(&lay_out(&tree(&["etc/default/sbd"])), "etc/default/sbd"), Some(("/etc/default/sbd".into(), 0o644)));
    }

    #[test]
    fn crm_text_under_any_name_supplies_the_cib_but_sos_output_does_not() {
        let crm = b"node 1: a\nprimitive vip IPaddr2 \\\n\tparams ip=10.0.0.1\n".to_vec();
        let mut flat = tree(&["corosync.conf", "notes.txt", "cluster-config"]);
        flat.files[1].content = b"order matters: the database first\n".to_vec();
        flat.files[2].content = crm.clone();
        let laid = lay_out(&flat);
        assert_eq!(placed_at(&laid, "cluster-config"), Some(("/var/lib/pacemaker/cib/cib.xml".into(), 0o600)));
        assert_eq!(placed_at(&laid, "notes.txt"), None);
        let mut sos = tree(&["etc/corosync/corosync.conf", "sos_commands/pacemaker/crm_configure_show", "root/cluster.crm"]);
        sos.files[1].content = crm.clone();
        sos.files[2].content = crm;
        let laid = lay_out(&sos);
        assert_eq!(placed_at(&laid, "sos_commands/pacemaker/crm_configure_show"), None, "sos's command output");
        assert_eq!(placed_at(&laid, "root/cluster.crm"), Some(("/var/lib/pacemaker/cib/cib.xml".into(), 0o600)));
    }

    #[test]
    fn a_crm_report_uses_the_dc() {
        let laid = lay_out(&tree(&[
            "n1/cib.xml",
            "n1/corosync.conf",
            "n1/sbd",
            "n2/cib.xml",
            "n2/corosync.conf",
            "n2/DC",
            "n2/crm_mon.txt",
            "n2/sbd",
            "n2/sbd.txt",
        ]));
        let candidates = lay_out(&tree(&["a/cib.xml", "a/corosync.conf", "a/candidate.toml", "b/cib.xml", "b/corosync.conf"]));
        assert_ne!(candidates.kind, "a crm report", "a directory of candidates is no report");
        assert_eq!(laid.kind, "a crm report");
        assert_eq!(placed_at(&laid, "n2/cib.xml"), Some(("/var/lib/pacemaker/cib/cib.xml".into(), 0o600)));
        assert_eq!(placed_at(&laid, "n1/cib.xml"), None);
        assert_eq!(placed_at(&laid, "n2/sbd"), Some(("/etc/default/sbd".into(), 0o644)), "collect_sbd_info() copies /etc/sysconfig/sbd");
        assert_eq!(placed_at(&laid, "n1/sbd"), None);
        assert_eq!(placed_at(&laid, "n2/sbd.txt"), None);
        assert!(laid.notes[0].contains("n2, the node that was DC"));
    }
}
