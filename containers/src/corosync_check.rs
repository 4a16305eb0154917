//! Before `run` builds a cluster, the node image's own corosync reads the
//! candidate's corosync.conf (`corosync -t`, with the candidate's key or one
//! of a good size where the key is the harness's): whatever it refuses stops
//! the run with exit 2 in its words, before any cluster starts. The static
//! reading (`corosync_semantics`) already refuses what the oracle suite
//! found corosync refusing; this covers the rest (timeouts, link settings,
//! anything newer).
//!
//! The candidate's first node is made this container's own (its address on
//! the loopback, every node name resolvable), as corosync needs to find
//! itself in the nodelist; a refusal that only says it did not is this
//! container's, not the candidate's, and is not reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::candidate::Candidate;
use crate::cluster::{run_tool_with, ToolGrant};
use crate::error::InputError;
use crate::image::NodeImage;
use crate::Docker;
use pcmk_model::corosync_conf::CorosyncConf;

const CONF: &str = "/tmp/corosync-check/corosync.conf";

/// Lines of corosync's own log that say nothing of the candidate.
const NOT_ITS_WORDS: &[&str] = &["Corosync Cluster Engine exiting with status"];

/// corosync's words when it only failed to find this container in the nodelist.
const NOT_LOCAL: &str = "No valid name found for local host";

/// Shell that makes the addresses listed in `$PLACE/local` this container's
/// own (on the loopback) and resolves the names in `$PLACE/hosts`.
const PLACE_SCRIPT: &str = r#"while read -r a; do
  case "$a" in *:*) ip -6 addr add "$a/128" dev lo 2>/dev/null ;; *) ip addr add "$a/32" dev lo 2>/dev/null ;; esac
done < "$PLACE/local"
cat "$PLACE/hosts" >> /etc/hosts
"#;

const SCRIPT: &str = r#"set -u
while read -r d; do mkdir -p "$d"; done < /tmp/corosync-check/dirs
mkdir -p /var/lib/corosync /run/corosync
corosync -t -c /tmp/corosync-check/corosync.conf 2>&1 </dev/null
echo "exit $?"
"#;

/// Where corosync finds itself in one container: each corosync.conf's first
/// node's addresses made local, every node name resolvable (to addresses of
/// 10.254.0.0/16, one per name).
#[derive(Debug, Default, Clone)]
pub struct Placement {
    local: BTreeSet<String>,
    names: BTreeMap<String, String>,
}

impl Placement {
    /// Takes in one corosync.conf's nodelist.
    pub fn add(&mut self, conf: &CorosyncConf) {
        for (index, node) in conf.nodes().iter().enumerate() {
            for (_, addr) in &node.addrs {
                let ip = if addr.parse::<std::net::IpAddr>().is_ok() {
                    addr.clone()
                } else {
                    let next = format!("10.254.{}.{}", self.names.len() / 250, self.names.len() % 250 + 1);
                    self.names.entry(addr.clone()).or_insert(next).clone()
                };
                if index == 0 {
                    self.local.insert(ip);
                }
            }
        }
    }

    /// The file `PLACE_SCRIPT` reads as `$PLACE/local`.
    pub fn local(&self) -> String {
        self.local.iter().map(|a| format!("{a}\n")).collect()
    }

    /// The file `PLACE_SCRIPT` reads as `$PLACE/hosts`.
    pub fn hosts(&self) -> String {
        self.names.iter().map(|(name, ip)| format!("{ip} {name}\n")).collect()
    }

    /// The shell that places a container, for `$PLACE` the directory of the two files.
    pub fn script(place: &str) -> String {
        format!("PLACE={place}\n{PLACE_SCRIPT}")
    }
}

/// The directories of the log files corosync.conf names: a node has them.
fn log_dirs(candidate: &Candidate) -> String {
    let conf = candidate.corosync_conf();
    let mut dirs = String::new();
    let logging = conf.root.sections_named("logging").flat_map(|s| std::iter::once(s).chain(s.sections_named("logger_subsys")));
    for pair in logging.filter_map(|s| s.get("logfile")) {
        if let Some(dir) = Path::new(&pair.value).parent().filter(|d| d.is_absolute()) {
            dirs.push_str(&format!("{}\n", dir.display()));
        }
    }
    dirs
}

/// What corosync said, without timestamps and without the lines that say nothing.
fn its_words(output: &str) -> String {
    output
        .lines()
        .filter(|l| !l.starts_with("exit ") && !l.trim().is_empty())
        .map(|l| l.split_once("] ").map_or(l, |(_, said)| said).trim())
        .filter(|l| !NOT_ITS_WORDS.iter().any(|n| l.starts_with(n)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Asks the node image's corosync whether it starts with the candidate's
/// corosync.conf: Err (an input error, exit 2) in its words when it refuses.
pub async fn corosync_accepts(docker: &Docker, image: &NodeImage, candidate: &Candidate) -> anyhow::Result<()> {
    let conf = candidate.corosync_file();
    let key_path = crate::corosync_semantics::key_path(candidate.corosync_conf());
    // The candidate's key as it is; else one of a good size, as the harness generates.
    let key = candidate.file_at(&key_path).map(|f| f.content.clone()).unwrap_or_else(|| vec![0x5a; 256]);
    let mut placement = Placement::default();
    placement.add(candidate.corosync_conf());
    let (local, hosts) = (placement.local(), placement.hosts());
    let script = format!("{}{}", Placement::script("/tmp/corosync-check"), SCRIPT);
    let dirs = log_dirs(candidate);
    let files: Vec<(&str, &[u8])> = vec![
        (CONF, &conf.content),
        (&key_path, &key),
        ("/tmp/corosync-check/local", local.as_bytes()),
        ("/tmp/corosync-check/hosts", hosts.as_bytes()),
        ("/tmp/corosync-check/dirs", dirs.as_bytes()),
    ];
    let grant = ToolGrant { cap_add: vec!["NET_ADMIN".into()], ..ToolGrant::default() };
    let out = run_tool_with(docker, image, &files, "root", &["bash", "-c", &script], &grant).await?;
    let status = out.stdout.lines().rev().find_map(|l| l.strip_prefix("exit ")).unwrap_or("?").trim().to_string();
    if status == "0" {
        return Ok(());
    }
    let said = its_words(&out.stdout);
    if said.contains(NOT_LOCAL) {
        // This container could not be made the first node: nothing said of the candidate.
        return Ok(());
    }
    Err(InputError::new(
        &conf.source,
        None,
        format!("the {} node image's corosync refuses this corosync.conf (`corosync -t`, exit {status}): {said}", image.distro),
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_node_is_made_local_and_every_name_resolvable() {
        let text = "nodelist {\n node {\n ring0_addr: alpha\n ring1_addr: fd00::1\n nodeid: 1\n }\n node {\n ring0_addr: beta\n nodeid: 2\n }\n}\n";
        let mut placement = Placement::default();
        placement.add(&CorosyncConf::parse(text, Path::new("corosync.conf")).unwrap());
        assert_eq!(placement.local(), "10.254.0.1\nfd00::1\n");
        assert_eq!(placement.hosts(), "10.254.0.1 alpha\n10.254.0.2 beta\n");
        assert!(Placement::script("/p").starts_with("PLACE=/p\n"));
    }

    #[test]
    fn corosync_s_words_are_kept_and_its_noise_dropped() {
        let out = "Dec 06 22:47:55.558 error   [MAIN  ] Nodeid 1 appears twice in corosync.conf\nDec 06 22:47:55.558 error   [MAIN  ] Corosync Cluster Engine exiting with status 8 at main.c:1417.\nexit 8\n";
        assert_eq!(its_words(out), "Nodeid 1 appears twice in corosync.conf");
    }
}
