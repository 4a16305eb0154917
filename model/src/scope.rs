//! What a candidate can say about a cluster. Each kind of candidate carries
//! some of a node's files and not others: a `pcs config backup` holds the CIB,
//! corosync.conf and the keys, never a firewall or /etc/shadow. A verdict about
//! something the candidate's kind cannot carry would describe the artifact or
//! the lab, not the user's cluster: such a step is not judged, and says why
//! and how to bring the evidence.

/// The kinds of candidate, by what the user handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// A directory, with or without `candidate.toml`: the user assembled it,
    /// so what it lacks, the cluster lacks.
    Assembled,
    /// `pcs config backup` (pcs/config.py, `config_backup_path_list`, the same
    /// from pcs 0.10 to 0.12).
    PcsBackup,
    /// `crm report` (crmsh report/collect.py): one directory per node.
    CrmReport,
    /// A sosreport, as a directory or an archive.
    Sosreport,
    /// A CIB alone (`pcs cluster cib`, `cibadmin --query`).
    BareCib,
    /// `crm configure show` text alone, converted to a CIB by crmsh. In a
    /// directory or a manifest entry, such text supplies the CIB of an
    /// assembled candidate, which carries what it holds.
    CrmText,
    /// A corosync.conf alone.
    CorosyncConf,
    /// `pcmk-comply capture`: every file the policy reads, on every node, with
    /// the nodes' tools' own answers.
    Captured,
}

/// Node paths a kind carries when the node has them. A path ending in `/`
/// stands for every file below that directory.
const PCS_BACKUP: &[&str] = &[
    "/var/lib/pacemaker/cib/cib.xml",
    "/etc/corosync/corosync.conf",
    "/etc/corosync/authkey",
    "/etc/pacemaker/authkey",
    "/var/lib/pcsd/pcs_settings.conf",
    "/etc/corosync/uidgid.d/",
];
/// crmsh report/collect.py (4.4 to 5.x): corosync.conf and the CIB, and
/// /etc/sysconfig/sbd where the node has it (`collect_sbd_info()`, which
/// copies `constants.SBDCONF` only: never Debian's /etc/default/sbd); never a
/// key, a firewall, sudoers, audit, AIDE, rsyslog or pcsd file.
const CRM_REPORT: &[&str] = &["/var/lib/pacemaker/cib/cib.xml", "/etc/corosync/corosync.conf", "/etc/sysconfig/sbd"];
/// What every sosreport of a cluster node holds: sos's corosync plugin copies
/// all of /etc/corosync (the authkey too), its pacemaker plugin the CIB
/// through crm_report (sos/report/plugins/corosync.py, pacemaker.py). Other
/// plugins (sudo, logs, system, firewall_tables, auditd, aide) run only when
/// enabled: `sos report -o corosync,pacemaker` is common for cluster cases,
/// so their files count where the report holds them, and their absence says
/// nothing. The pacemaker plugin also copies /etc/sysconfig/sbd on Red Hat
/// (`RedHatPacemaker.setup()`); its Debian and Ubuntu variant copies no
/// /etc/default/sbd, and sos has no sbd plugin.
const SOSREPORT: &[&str] = &["/var/lib/pacemaker/cib/cib.xml", "/etc/corosync/", "/etc/sysconfig/sbd"];
const CIB_ONLY: &[&str] = &["/var/lib/pacemaker/cib/cib.xml"];
const COROSYNC_CONF_ONLY: &[&str] = &["/etc/corosync/corosync.conf"];

impl CandidateKind {
    /// As said to people: "a pcs config backup".
    pub fn describe(self) -> &'static str {
        match self {
            CandidateKind::Assembled => "a candidate directory",
            CandidateKind::PcsBackup => "a pcs config backup",
            CandidateKind::CrmReport => "a crm report",
            CandidateKind::Sosreport => "a sosreport",
            CandidateKind::BareCib => "a CIB alone",
            CandidateKind::CrmText => "crm configure show text",
            CandidateKind::CorosyncConf => "a corosync.conf alone",
            CandidateKind::Captured => "a capture of the nodes",
        }
    }

    /// Whether this kind holds the node file at `node_path` whenever the node
    /// has it, so that its absence says the node has none.
    pub fn carries(self, node_path: &str) -> bool {
        let carried = match self {
            CandidateKind::Assembled | CandidateKind::Captured => return true,
            CandidateKind::PcsBackup => PCS_BACKUP,
            CandidateKind::CrmReport => CRM_REPORT,
            CandidateKind::Sosreport => SOSREPORT,
            CandidateKind::BareCib | CandidateKind::CrmText => CIB_ONLY,
            CandidateKind::CorosyncConf => COROSYNC_CONF_ONLY,
        };
        carried.iter().any(|c| covers(c, node_path))
    }

    /// Whether it is one node's copy of the configuration (a backup or report
    /// taken on one node), which cannot show that the other nodes match it.
    pub fn is_one_nodes_copy(self) -> bool {
        matches!(self, CandidateKind::PcsBackup | CandidateKind::CrmReport | CandidateKind::Sosreport)
    }

    /// Whether its archive members record the node's own owner and mode: pcs
    /// adds each file with `tarball.add` (pcs/config.py, `config_backup_local`),
    /// sos copies with `copystat` and `chown` (sos/archive.py). `crm report`
    /// saves the CIB from `cibadmin` and owns its copies itself.
    pub fn records_stat(self) -> bool {
        matches!(self, CandidateKind::PcsBackup | CandidateKind::Sosreport)
    }

    /// How a user brings a file this kind lacks.
    pub fn remedy(self) -> &'static str {
        match self {
            CandidateKind::Assembled => "add it to the candidate",
            CandidateKind::Captured => "capture the nodes again",
            CandidateKind::PcsBackup => {
                "put it beside the backup in a candidate directory (or a candidate.toml whose `base` is the backup)"
            }
            CandidateKind::CrmReport => {
                "put it beside the report in a candidate directory (or a candidate.toml whose `base` is the report)"
            }
            CandidateKind::Sosreport => {
                "put it beside the sosreport in a candidate directory (or a candidate.toml whose `base` is the sosreport)"
            }
            CandidateKind::BareCib => "put it beside the CIB in a candidate directory (or a candidate.toml whose `base` is the CIB)",
            CandidateKind::CrmText => {
                "put it beside the text in a candidate directory, whose CIB the text then supplies (or a candidate.toml whose `base` is the text)"
            }
            CandidateKind::CorosyncConf => {
                "put it beside corosync.conf in a candidate directory (or a candidate.toml whose `base` is corosync.conf)"
            }
        }
    }
}

/// Whether the carried path (a file, or a directory ending in `/`) covers
/// `node_path` (a file, or a directory ending in `/`).
fn covers(carried: &str, node_path: &str) -> bool {
    if carried.ends_with('/') {
        node_path.starts_with(carried)
    } else {
        carried == node_path
    }
}

/// What a step needs to know about the cluster, beyond what every candidate holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence<'a> {
    /// A node file's content, or any file below a directory (ending in `/`).
    File(&'a str),
    /// A node file's owner and mode.
    Stat(&'a str),
    /// How an account's password is set (/etc/shadow).
    Password(&'a str),
    /// The packages the nodes run, and the files they ship (resource agents).
    Packages,
}

impl std::fmt::Display for Evidence<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Evidence::File(path) if path.ends_with('/') => write!(f, "a file in {path}"),
            Evidence::File(path) => f.write_str(path),
            Evidence::Stat(path) => write!(f, "the owner and mode of {path}"),
            Evidence::Password(user) => write!(f, "the password of `{user}`"),
            Evidence::Packages => f.write_str("the packages the nodes run"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pcs_backup_carries_what_pcs_backs_up_and_nothing_else() {
        let kind = CandidateKind::PcsBackup;
        for path in ["/var/lib/pacemaker/cib/cib.xml", "/etc/corosync/authkey", "/etc/corosync/uidgid.d/ops"] {
            assert!(kind.carries(path), "{path}");
        }
        for path in [
            "/etc/nftables.conf",
            "/etc/shadow",
            "/etc/default/pcsd",
            "/etc/aide/aide.conf",
            "/etc/sudoers.d/",
            "/etc/audit/rules.d/",
            "/etc/sysconfig/sbd",
            "/etc/default/sbd",
        ] {
            assert!(!kind.carries(path), "{path}");
        }
    }

    #[test]
    fn a_directory_carries_everything_and_a_single_file_only_itself() {
        assert!(CandidateKind::Assembled.carries("/etc/nftables.conf"));
        assert!(CandidateKind::BareCib.carries("/var/lib/pacemaker/cib/cib.xml"));
        assert!(!CandidateKind::BareCib.carries("/etc/corosync/corosync.conf"));
        assert!(!CandidateKind::CorosyncConf.carries("/etc/corosync/authkey"));
        assert!(CandidateKind::Sosreport.carries("/etc/corosync/authkey"));
        assert!(!CandidateKind::Sosreport.carries("/etc/sudoers.d/"), "sos's sudo plugin may not have run");
        assert!(!CandidateKind::CrmReport.carries("/etc/corosync/authkey"));
    }

    #[test]
    fn crm_report_and_sos_copy_etc_sysconfig_sbd_only() {
        for kind in [CandidateKind::CrmReport, CandidateKind::Sosreport] {
            assert!(kind.carries("/etc/sysconfig/sbd"), "{kind:?}");
            assert!(!kind.carries("/etc/default/sbd"), "{kind:?}: Debian's file is not copied");
        }
        assert!(CandidateKind::Captured.carries("/etc/default/sbd"));
    }
}
