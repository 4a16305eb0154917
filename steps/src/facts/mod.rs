//! Facts: what a candidate's files or a running node say, gathered once and
//! shared by every step that needs them. Static facts come from the candidate
//! alone (`lint`); live facts from the nodes of a running cluster (`run`).
//! Steps read facts; they never shell out per assertion.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context};
use base64::Engine;
use pcmk_containers::candidate::Candidate;
use pcmk_model::node::{Service, CIB_XML, COROSYNC_CONF};

mod cib;
pub use cib::{CibFacts, FencingLevel, InstanceAttribute, Primitive, PropertySet};
pub(crate) mod rsyslog;

pub const NFTABLES_CONF: &str = "/etc/nftables.conf";
use pcmk_containers::cluster::Cluster;
use pcmk_model::corosync_conf::CorosyncConf;

/// Ownership and mode of a file (what `stat` says, or what the manifest places).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFact {
    pub owner: String,
    pub group: String,
    pub mode: u32,
    pub size: u64,
    pub is_dir: bool,
    /// Content hash, for regular files the gather hashes (keys).
    pub sha256: Option<String>,
}

/// What one node (or, statically, the candidate) says.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    pub name: String,
    pub corosync_conf: Option<CorosyncConf>,
    pub corosync_text: Option<String>,
    /// Absolute path on the node → its stat; absent paths are not in the map.
    pub files: BTreeMap<String, FileFact>,
    /// Files under /etc/sudoers.d and friends, path → content (static: from the candidate).
    pub texts: BTreeMap<String, String>,
    /// `corosync-cmapctl` keys → values (live only).
    pub cmap: Option<BTreeMap<String, String>>,
    /// Installed package → version (live only).
    pub packages: Option<BTreeMap<String, String>>,
    /// The firewall: `nft list ruleset` (live), or the candidate's
    /// /etc/nftables.conf when it loads it at boot (static).
    pub nft: Option<String>,
    /// The paths a live gathering asked about (and their directories'
    /// entries); None where the facts are the candidate's whole (its files,
    /// a capture), in which a path not held is known absent.
    pub asked: Option<std::collections::BTreeSet<String>>,
}

/// A step asked for a path that no gathering asked about: the harness's gap,
/// never an absent file.
#[derive(Debug)]
pub struct NotGathered(pub String);

impl std::fmt::Display for NotGathered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was not gathered from the nodes (not among the paths the run's scenarios name)", self.0)
    }
}

impl std::error::Error for NotGathered {}

impl NodeFacts {
    /// The path's stat: Some, None when it is known absent, or Err when it
    /// was never asked about.
    pub fn file(&self, path: &str) -> Result<Option<&FileFact>, NotGathered> {
        let asked = |set: &std::collections::BTreeSet<String>| {
            set.contains(path) || std::path::Path::new(path).parent().is_some_and(|d| set.contains(&d.display().to_string()))
        };
        match &self.asked {
            Some(set) if !asked(set) => Err(NotGathered(path.to_string())),
            _ => Ok(self.files.get(path)),
        }
    }
}

/// Facts for one scenario's view of the system.
#[derive(Debug, Clone)]
pub struct Facts {
    pub live: bool,
    pub nodes: Vec<NodeFacts>,
    /// The CIB text (candidate's cib.xml, or `cibadmin --query` from a node).
    pub cib: Option<String>,
    /// Where the CIB came from, for messages.
    pub cib_origin: String,
}

/// Paths whose ownership and mode the policy looks at; every gather stats them.
pub const WATCHED_PATHS: &[&str] = &[
    "/etc/corosync",
    COROSYNC_CONF,
    "/etc/corosync/authkey",
    "/etc/pacemaker",
    "/etc/pacemaker/authkey",
    "/var/lib/pacemaker/cib",
    CIB_XML,
    "/var/lib/pcsd",
    "/var/lib/pcsd/known-hosts",
    "/var/lib/pcsd/pcsd.key",
    "/var/lib/pcsd/pcsd.crt",
    "/var/lib/pcsd/pcs_users.conf",
    "/var/lib/pcsd/pcs_settings.conf",
    "/etc/default/pcsd",
    "/etc/sudoers",
    "/etc/sudoers.d",
    NFTABLES_CONF,
];

/// Text files the policy reads whole, when present (a `*` matches within one directory).
pub const TEXT_GLOBS: &[&str] = &[
    "/etc/default/pcsd",
    "/etc/sudoers",
    "/etc/sudoers.d/*",
    "/etc/audit/auditd.conf",
    "/etc/audit/rules.d/*.rules",
    "/etc/aide/aide.conf",
    "/etc/rsyslog.conf",
    "/etc/rsyslog.d/*.conf",
    // sbd's environment: RHEL and SUSE, Debian.
    "/etc/sysconfig/sbd",
    "/etc/default/sbd",
];

/// Whether `path` is one of the text files the policy reads.
pub fn is_read_path(path: &str) -> bool {
    TEXT_GLOBS.iter().any(|glob| match glob.split_once('*') {
        None => path == *glob,
        Some((prefix, suffix)) => {
            path.len() >= prefix.len() + suffix.len()
                && path.starts_with(prefix)
                && path.ends_with(suffix)
                && !path[prefix.len()..].contains('/')
        }
    })
}

/// Packages whose versions the patch policy compares.
pub const PACKAGES: &[&str] = &["pacemaker", "corosync", "pcs", "crmsh", "libknet1", "libknet1t64", "resource-agents"];

impl Facts {
    /// Facts from the candidate's files alone; a capture's from each node it read.
    pub fn from_candidate(candidate: &Candidate) -> Facts {
        if !candidate.captured.is_empty() {
            return Self::from_capture(candidate);
        }
        let mut node = NodeFacts { name: "candidate".into(), ..NodeFacts::default() };
        node.corosync_conf = Some(candidate.corosync_conf().clone());
        node.corosync_text = Some(String::from_utf8_lossy(&candidate.corosync_file().content).into_owned());
        let placed = candidate
            .files
            .iter()
            .map(|f| (&f.placement, f.content.len(), Some(&f.content)))
            .chain(candidate.secrets.iter().map(|s| (&s.placement, s.bytes, None)));
        for (placement, size, content) in placed {
            node.files.insert(
                placement.path.clone(),
                FileFact {
                    owner: placement.owner.clone(),
                    group: placement.group.clone(),
                    mode: placement.mode,
                    size: size as u64,
                    is_dir: false,
                    sha256: None,
                },
            );
            if let (true, Some(content)) = (is_read_path(&placement.path), content) {
                node.texts.insert(placement.path.clone(), String::from_utf8_lossy(content).into_owned());
            }
        }
        if candidate.services.contains(&Service::Nftables) {
            node.nft = candidate.file_at(NFTABLES_CONF).map(|f| String::from_utf8_lossy(&f.content).into_owned());
        }
        let cib = candidate.file_at(CIB_XML);
        Facts {
            live: false,
            nodes: vec![node],
            cib: cib.map(|f| String::from_utf8_lossy(&f.content).into_owned()),
            cib_origin: cib.map(|f| f.source.display().to_string()).unwrap_or_else(|| "the candidate (no cib.xml)".into()),
        }
    }

    /// Every captured node as it was read: its files with their hashes, its
    /// loaded ruleset and packages; the CIB as its first node's cibadmin printed it.
    fn from_capture(candidate: &Candidate) -> Facts {
        let nodes = candidate.captured.iter().map(captured_node).collect();
        let first = &candidate.captured[0];
        let (cib, cib_origin) = match first.queries.get("cib") {
            Some(cib) => (Some(cib.clone()), format!("the CIB captured on {} (cibadmin --query)", first.name)),
            None => {
                let file = candidate.file_at(CIB_XML);
                (file.map(|f| String::from_utf8_lossy(&f.content).into_owned()), format!("{}'s {CIB_XML}", first.name))
            }
        };
        Facts { live: false, nodes, cib, cib_origin }
    }

    /// Facts from every node of a running cluster: one command per node, plus the CIB once.
    pub async fn from_cluster(cluster: &Cluster, named: &[String]) -> anyhow::Result<Facts> {
        let names = cluster.node_names();
        let gathers = names.iter().map(|node| gather_node(cluster, node, named));
        let nodes = futures_util::future::try_join_all(gathers).await?;
        let cib = cluster.exec(names[0], &["cibadmin", "--query"]).await?;
        if !cib.success() {
            bail!("cibadmin --query on {} failed: {}", names[0], cib.stderr.trim());
        }
        Ok(Facts { live: true, nodes, cib: Some(cib.stdout), cib_origin: format!("the running CIB (cibadmin --query on {})", names[0]) })
    }

    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }
}

fn captured_node(node: &pcmk_containers::candidate::CapturedNode) -> NodeFacts {
    let mut facts = NodeFacts { name: node.name.clone(), ..NodeFacts::default() };
    for (path, file) in &node.files {
        let size = file.content.as_ref().map_or(0, |c| c.len() as u64);
        let is_dir = file.sha256.is_none();
        let fact =
            FileFact { owner: file.owner.clone(), group: file.group.clone(), mode: file.mode, size, is_dir, sha256: file.sha256.clone() };
        facts.files.insert(path.clone(), fact);
        if let (true, Some(content)) = (is_read_path(path), &file.content) {
            facts.texts.insert(path.clone(), String::from_utf8_lossy(content).into_owned());
        }
    }
    if let Some(content) = node.files.get(COROSYNC_CONF).and_then(|f| f.content.as_ref()) {
        let text = String::from_utf8_lossy(content).into_owned();
        facts.corosync_conf = CorosyncConf::parse(&text, std::path::Path::new(&format!("{}:{COROSYNC_CONF}", node.name))).ok();
        facts.corosync_text = Some(text);
    }
    facts.cmap = node.queries.get("cmap").map(|t| t.lines().filter_map(cmap_line).collect());
    facts.packages = node.queries.get("packages").map(|t| t.lines().filter_map(package_line).collect());
    facts.nft = node.queries.get("nft").cloned();
    facts
}

/// `key (type) = value`, as corosync-cmapctl prints it.
fn cmap_line(line: &str) -> Option<(String, String)> {
    let (left, value) = line.split_once(" = ")?;
    Some((left.split(" (").next().unwrap_or(left).to_string(), value.to_string()))
}

/// `package<TAB>version<TAB>status` of an installed package.
fn package_line(line: &str) -> Option<(String, String)> {
    let f: Vec<&str> = line.split('\t').collect();
    (f.len() == 3 && f[2].starts_with("ii")).then(|| (f[0].to_string(), f[1].to_string()))
}

/// The gather script: stat, hashes, cmap, package versions and a few files in one exec.
const GATHER: &str = r#"
set -u
echo '### stat'
for p in "$@"; do
  [ -e "$p" ] || continue
  if [ -d "$p" ]; then
    for f in "$p" "$p"/*; do [ -e "$f" ] && stat -c '%n	%U	%G	%a	%s	%F' "$f"; done
  else
    stat -c '%n	%U	%G	%a	%s	%F' "$p"
  fi
done
echo '### sha256'
for p in "$@"; do
  if [ -d "$p" ]; then for f in "$p"/*; do [ -f "$f" ] && sha256sum "$f"; done; elif [ -f "$p" ]; then sha256sum "$p"; fi
done
echo '### cmap'
corosync-cmapctl 2>/dev/null
corosync-cmapctl -m stats 2>/dev/null | grep '^stats\.knet\.handle\.'
echo '### packages'
dpkg-query -W -f '${Package}	${Version}	${db:Status-Abbrev}\n' __PACKAGES__ 2>/dev/null
echo '### texts'
for p in __READ__; do [ -f "$p" ] && printf '%s\t%s\n' "$p" "$(base64 -w0 "$p")"; done
echo '### nft'
nft list ruleset 2>/dev/null | base64 -w0; echo
echo '### corosync.conf'
base64 -w0 /etc/corosync/corosync.conf 2>/dev/null; echo
"#;

async fn gather_node(cluster: &Cluster, node: &str, named: &[String]) -> anyhow::Result<NodeFacts> {
    let script = GATHER.replace("__PACKAGES__", &PACKAGES.join(" ")).replace("__READ__", &TEXT_GLOBS.join(" "));
    let mut cmd: Vec<&str> = vec!["bash", "-c", &script, "gather"];
    cmd.extend_from_slice(WATCHED_PATHS);
    cmd.extend(named.iter().map(String::as_str).filter(|p| !WATCHED_PATHS.contains(p)));
    let out = cluster.exec(node, &cmd).await?;
    let mut facts = parse_gather(node, &out.stdout).with_context(|| format!("reading facts from {node}"))?;
    facts.asked = Some(cmd[4..].iter().map(|p| p.to_string()).collect());
    Ok(facts)
}

fn parse_gather(node: &str, text: &str) -> anyhow::Result<NodeFacts> {
    let mut facts = NodeFacts { name: node.to_string(), ..NodeFacts::default() };
    let mut cmap = BTreeMap::new();
    let mut packages = BTreeMap::new();
    let mut hashes = BTreeMap::new();
    let mut section = "";
    let decode = |b64: &str| -> anyhow::Result<String> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).context("bad base64 from a node")?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            section = match name {
                "stat" => "stat",
                "sha256" => "sha256",
                "cmap" => "cmap",
                "packages" => "packages",
                "texts" => "texts",
                "corosync.conf" => "corosync.conf",
                "nft" => "nft",
                other => bail!("unknown gather section {other}"),
            };
            continue;
        }
        match section {
            "stat" => {
                let f: Vec<&str> = line.split('\t').collect();
                if f.len() == 6 {
                    let mode = u32::from_str_radix(f[3], 8).with_context(|| format!("bad mode in `{line}`"))?;
                    facts.files.insert(
                        f[0].to_string(),
                        FileFact {
                            owner: f[1].into(),
                            group: f[2].into(),
                            mode,
                            size: f[4].parse().unwrap_or(0),
                            is_dir: f[5] == "directory",
                            sha256: None,
                        },
                    );
                }
            }
            "sha256" => {
                if let Some((hash, path)) = line.split_once("  ") {
                    hashes.insert(path.to_string(), hash.to_string());
                }
            }
            "cmap" => cmap.extend(cmap_line(line)),
            "packages" => packages.extend(package_line(line)),
            "texts" => {
                if let Some((path, b64)) = line.split_once('\t') {
                    facts.texts.insert(path.to_string(), decode(b64)?);
                }
            }
            "nft" if !line.trim().is_empty() => facts.nft = Some(decode(line)?),
            "corosync.conf" if !line.trim().is_empty() => {
                let text = decode(line)?;
                let conf = CorosyncConf::parse(&text, std::path::Path::new(&format!("{node}:{COROSYNC_CONF}")))?;
                facts.corosync_conf = Some(conf);
                facts.corosync_text = Some(text);
            }
            _ => {}
        }
    }
    for (path, hash) in hashes {
        if let Some(file) = facts.files.get_mut(&path) {
            file.sha256 = Some(hash);
        }
    }
    facts.cmap = Some(cmap);
    facts.packages = Some(packages);
    Ok(facts)
}

/// Facts shared by scenarios on the same unchanged cluster.
#[derive(Default)]
pub struct FactCache {
    facts: tokio::sync::Mutex<Option<Arc<Facts>>>,
    /// Paths the run's scenarios name, gathered beside [`WATCHED_PATHS`].
    named: Vec<String>,
}

impl FactCache {
    /// A cache whose gatherings also stat and hash `named`.
    pub fn for_paths(named: Vec<String>) -> FactCache {
        FactCache { facts: Default::default(), named }
    }

    /// The cached facts, or fresh ones with the time gathering took.
    pub async fn get_or_gather(&self, cluster: &Cluster) -> anyhow::Result<(Arc<Facts>, Option<std::time::Duration>)> {
        let mut slot = self.facts.lock().await;
        if let Some(facts) = slot.as_ref() {
            return Ok((facts.clone(), None));
        }
        let started = std::time::Instant::now();
        let facts = Arc::new(Facts::from_cluster(cluster, &self.named).await?);
        *slot = Some(facts.clone());
        Ok((facts, Some(started.elapsed())))
    }

    /// A step changed the cluster: the next reader gathers afresh.
    pub async fn invalidate(&self) {
        *self.facts.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_output_is_parsed() {
        let conf = base64::engine::general_purpose::STANDARD.encode("totem {\n crypto_cipher: aes256\n}\n");
        let sudo = base64::engine::general_purpose::STANDARD.encode("ops ALL=(root) /usr/sbin/crm_mon\n");
        let text = format!(
            "### stat\n/etc/corosync/authkey\troot\troot\t400\t256\tregular file\n/etc/corosync\troot\troot\t755\t4096\tdirectory\n### sha256\nabc123  /etc/corosync/authkey\n### cmap\ntotem.crypto_cipher (str) = aes256\nstats.knet.handle.tx_crypt_packets (u64) = 12\n### packages\npacemaker\t2.1.5-1+deb12u1\tii \nlibknet1\t1.25-1\tun \n### texts\n/etc/sudoers.d/ops\t{sudo}\n### corosync.conf\n{conf}\n"
        );
        let facts = parse_gather("n1", &text).unwrap();
        let key = &facts.files["/etc/corosync/authkey"];
        assert_eq!((key.owner.as_str(), key.mode, key.size, key.sha256.as_deref()), ("root", 0o400, 256, Some("abc123")));
        assert!(facts.files["/etc/corosync"].is_dir);
        assert_eq!(facts.cmap.as_ref().unwrap()["totem.crypto_cipher"], "aes256");
        assert_eq!(facts.cmap.as_ref().unwrap()["stats.knet.handle.tx_crypt_packets"], "12");
        assert_eq!(facts.packages.as_ref().unwrap().get("pacemaker").map(String::as_str), Some("2.1.5-1+deb12u1"));
        assert!(!facts.packages.as_ref().unwrap().contains_key("libknet1"), "not-installed packages are left out");
        assert!(facts.texts["/etc/sudoers.d/ops"].contains("crm_mon"));
        assert_eq!(facts.corosync_conf.unwrap().root.lookup("totem.crypto_cipher").unwrap().value, "aes256");
    }
}
