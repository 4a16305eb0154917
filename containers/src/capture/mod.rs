//! `pcmk-comply capture`: a candidate made from a running cluster's nodes,
//! read over SSH and never changed. OpenSSH itself connects, so the user's
//! ssh config, agent and known_hosts apply; an unknown host key is refused
//! (`StrictHostKeyChecking=yes`), never accepted on the way. One connection
//! per node is shared by every command (`ControlMaster`), and nodes are read
//! at once. The output is a directory `lint`, `run` and `compare` take as it
//! is: `capture.toml`, and per node its files in the root layout with their
//! recorded owners, modes and hashes, and what its tools said.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

pub mod script;

pub use script::NodeOutput;

/// The manifest of a capture directory.
pub const CAPTURE_TOML: &str = "capture.toml";
/// Per node: the recorded owner, group, mode and hash of each file.
pub const STAT_TSV: &str = "stat.tsv";
/// Per node: what its tools said, a file per query.
pub const QUERIES_DIR: &str = "queries";
/// Per node: the node's files, in the root layout.
pub const FILES_DIR: &str = "files";
/// How long one node may take to answer.
const NODE_TIMEOUT: Duration = Duration::from_secs(120);

/// What `capture.toml` says.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureManifest {
    pub format: String,
    pub version: u32,
    #[serde(rename = "node")]
    pub nodes: Vec<CapturedNodeEntry>,
}

/// One node of a capture, and how its capture went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapturedNodeEntry {
    pub name: String,
    /// Whether every file and query was read; else `problems` says what was not.
    pub complete: bool,
    #[serde(default)]
    pub problems: Vec<String>,
    /// hacluster's password state, decided on the node: empty, locked, default, set or nouser.
    pub password: Option<String>,
}

pub const FORMAT: &str = "pcmk-comply capture";

/// How to capture.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// Nodes as ssh reaches them (`host` or `user@host`); one is enough: the others come from its nodelist.
    pub nodes: Vec<String>,
    pub out: PathBuf,
    /// Passed to ssh as they are (`-F FILE`, `-o Option=value`, `-i KEY`, `-p PORT`…).
    pub ssh_args: Vec<String>,
    /// Run the script through `sudo -n` (a sudo user rather than root).
    pub sudo: bool,
    /// Keep what the reachable nodes said when others fail.
    pub allow_partial: bool,
}

/// A capture that could not be made: bad input, exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CaptureError(pub String);

/// Captures the nodes into `options.out`, reporting each node's progress to
/// `progress`. Nothing is written where a node failed unless `allow_partial`;
/// the directory appears only once complete.
pub async fn capture(options: &CaptureOptions, progress: &(dyn Fn(&str) + Sync)) -> Result<CaptureManifest, CaptureError> {
    if options.nodes.is_empty() {
        return Err(CaptureError("name at least one node (--node HOST)".into()));
    }
    if options.out.exists() {
        return Err(CaptureError(format!("{} exists already; capture writes a new directory", options.out.display())));
    }
    let control = tempdir("pcmk-capture-ssh")?;
    let ssh = Ssh { args: options.ssh_args.clone(), control: control.clone(), sudo: options.sudo };
    let first = &options.nodes[0];
    progress(&format!("{first}: reading"));
    let started = Instant::now();
    let first_result = ssh.read_node(first).await;
    let mut hosts = options.nodes.clone();
    if options.nodes.len() == 1 {
        if let Ok(output) = &first_result {
            let listed = nodelist(output).map_err(|e| CaptureError(format!("{first}: {e}")))?;
            let user = first.split_once('@').map(|(u, _)| format!("{u}@"));
            hosts.extend(listed.into_iter().filter(|n| !same_host(n, first)).map(|n| format!("{}{n}", user.clone().unwrap_or_default())));
            progress(&format!("{first}: nodes from its corosync.conf: {}", hosts.join(", ")));
        }
    }
    report(first, &first_result, started, progress);
    let ssh = &ssh;
    let others = futures_util::future::join_all(hosts[1..].iter().map(|host| async move {
        progress(&format!("{host}: reading"));
        let started = Instant::now();
        let result = ssh.read_node(host).await;
        report(host, &result, started, progress);
        (host.clone(), result)
    }))
    .await;
    let _ = std::fs::remove_dir_all(&control);
    let results: Vec<(String, Result<NodeOutput, String>)> = std::iter::once((first.clone(), first_result)).chain(others).collect();
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(host, r)| match r {
            Err(e) => Some(format!("{host}: {e}")),
            Ok(out) if !out.problems.is_empty() => Some(format!("{host}: {}", out.problems.join("; "))),
            Ok(_) => None,
        })
        .collect();
    if !failed.is_empty() && !options.allow_partial {
        return Err(CaptureError(format!(
            "the capture is incomplete (nothing written; --allow-partial keeps the rest):\n  {}",
            failed.join("\n  ")
        )));
    }
    write(&options.out, &results)
}

fn report(host: &str, result: &Result<NodeOutput, String>, started: Instant, progress: &(dyn Fn(&str) + Sync)) {
    let took = started.elapsed().as_secs_f64();
    match result {
        Ok(out) if out.problems.is_empty() => {
            progress(&format!("{host}: {} files, {} queries in {took:.1}s", out.files.len(), out.queries.len()))
        }
        Ok(out) => progress(&format!("{host}: incomplete in {took:.1}s: {}", out.problems.join("; "))),
        Err(e) => progress(&format!("{host}: failed in {took:.1}s: {e}")),
    }
}

/// The names a node's corosync.conf lists (`name`, else `ring0_addr`).
fn nodelist(output: &NodeOutput) -> Result<Vec<String>, String> {
    let file = output.files.get(pcmk_model::node::COROSYNC_CONF).and_then(|f| f.content.as_ref());
    let Some(content) = file else {
        let problems = if output.problems.is_empty() { String::new() } else { format!(" ({})", output.problems.join("; ")) };
        return Err(format!(
            "no readable corosync.conf to find the other nodes in{problems}: name every node (--node), or read as root (--sudo)"
        ));
    };
    let text = String::from_utf8_lossy(content);
    let conf = pcmk_model::corosync_conf::CorosyncConf::parse(&text, Path::new("corosync.conf")).map_err(|e| e.to_string())?;
    Ok(conf.nodes().iter().filter_map(|n| n.name.clone().or_else(|| n.addrs.first().map(|(_, a)| a.clone()))).collect())
}

fn same_host(name: &str, given: &str) -> bool {
    let host = given.rsplit_once('@').map_or(given, |(_, h)| h);
    name == host || host.split('.').next() == Some(name)
}

/// The OpenSSH client, as the user has it set up.
struct Ssh {
    args: Vec<String>,
    control: PathBuf,
    sudo: bool,
}

impl Ssh {
    /// Runs the capture script on `host` and reads what it printed.
    async fn read_node(&self, host: &str) -> Result<NodeOutput, String> {
        let mut command = tokio::process::Command::new("ssh");
        command
            .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ControlMaster=auto", "-o", "ControlPersist=10"])
            .arg("-o")
            .arg(format!("ControlPath={}/%C", self.control.display()))
            .args(&self.args)
            .arg(host)
            .arg("--")
            .args(if self.sudo { vec!["sudo", "-n", "bash", "-s"] } else { vec!["bash", "-s"] })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| format!("cannot run ssh: {e}"))?;
        let mut stdin = child.stdin.take().ok_or("ssh has no input")?;
        let script = script::script();
        let feed = async move {
            let _ = stdin.write_all(script.as_bytes()).await;
            drop(stdin);
        };
        let (_, output) = tokio::time::timeout(NODE_TIMEOUT, async { tokio::join!(feed, child.wait_with_output()) })
            .await
            .map_err(|_| format!("no answer within {}s", NODE_TIMEOUT.as_secs()))?;
        let output = output.map_err(|e| format!("ssh failed: {e}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        // ssh's own words: the last lines it printed (banners come first).
        let said: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        let said = said[said.len().saturating_sub(3)..].join(" / ");
        match output.status.code() {
            Some(255) => return Err(format!("ssh: {said}")),
            Some(0) => {}
            Some(code) if self.sudo && said.contains("sudo") => return Err(format!("sudo -n failed (exit {code}): {said}")),
            Some(code) => return Err(format!("the capture script failed (exit {code}): {said}")),
            None => return Err("ssh was killed".into()),
        }
        let parsed = script::parse(&String::from_utf8_lossy(&output.stdout)).map_err(|e| format!("unreadable answer: {e}"))?;
        if !parsed.complete {
            return Err("the answer was cut off".into());
        }
        Ok(parsed)
    }
}

/// A private directory for ssh's control sockets.
fn tempdir(prefix: &str) -> Result<PathBuf, CaptureError> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{}", std::process::id(), rand::random::<u32>()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| CaptureError(format!("cannot make {}: {e}", dir.display())))?;
    Ok(dir)
}

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

/// Writes the capture: first beside `out`, then moved into place, so a
/// directory at `out` is always whole. Every file is the user's only (keys among them).
fn write(out: &Path, results: &[(String, Result<NodeOutput, String>)]) -> Result<CaptureManifest, CaptureError> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().ok_or_else(|| CaptureError(format!("{} is not a directory name", out.display())))?;
    let staging = parent.join(format!(".{}.partial-{}", name.to_string_lossy(), std::process::id()));
    let fail = |e: std::io::Error, what: &Path| CaptureError(format!("cannot write {}: {e}", what.display()));
    let mkdir = |dir: &Path| std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| fail(e, dir));
    let put = |path: &Path, bytes: &[u8]| -> Result<(), CaptureError> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| fail(e, path))?;
        std::io::Write::write_all(&mut file, bytes).map_err(|e| fail(e, path))
    };
    let result = (|| {
        mkdir(&staging)?;
        let mut manifest = CaptureManifest { format: FORMAT.into(), version: 1, nodes: Vec::new() };
        for (host, result) in results {
            let node = host.rsplit_once('@').map_or(host.as_str(), |(_, h)| h).to_string();
            let Ok(output) = result else {
                let problem = result.as_ref().err().cloned().unwrap_or_default();
                manifest.nodes.push(CapturedNodeEntry { name: node, complete: false, problems: vec![problem], password: None });
                continue;
            };
            let dir = staging.join(&node);
            mkdir(&dir.join(FILES_DIR))?;
            mkdir(&dir.join(QUERIES_DIR))?;
            let mut stat = String::new();
            for (path, file) in &output.files {
                let relative = path.trim_start_matches('/');
                if relative.split('/').any(|c| c == ".." || c == "." || c.is_empty()) {
                    continue;
                }
                let hash = file.sha256.as_deref().unwrap_or("-");
                stat.push_str(&format!("{path}\t{}\t{}\t{:o}\t{hash}\n", file.owner, file.group, file.mode));
                if let Some(content) = &file.content {
                    let target = dir.join(FILES_DIR).join(relative);
                    if let Some(parent) = target.parent() {
                        mkdir(parent)?;
                    }
                    put(&target, content)?;
                }
            }
            put(&dir.join(STAT_TSV), stat.as_bytes())?;
            for (query, text) in &output.queries {
                put(&dir.join(QUERIES_DIR).join(query), text.as_bytes())?;
            }
            manifest.nodes.push(CapturedNodeEntry {
                name: node,
                complete: output.problems.is_empty(),
                problems: output.problems.clone(),
                password: output.password.clone(),
            });
        }
        let text = toml::to_string(&manifest).map_err(|e| CaptureError(e.to_string()))?;
        put(&staging.join(CAPTURE_TOML), text.as_bytes())?;
        std::fs::rename(&staging, out).map_err(|e| fail(e, out))?;
        Ok(manifest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Reads a capture's stat file: path → (owner, group, mode, sha256).
pub fn read_stat(text: &str) -> BTreeMap<String, (String, String, u32, Option<String>)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [path, owner, group, mode, hash] = f.as_slice() else { return None };
            let mode = u32::from_str_radix(mode, 8).ok()?;
            let hash = (*hash != "-").then(|| hash.to_string());
            Some((path.to_string(), (owner.to_string(), group.to_string(), mode, hash)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use script::NodeFile;

    fn node(key: &[u8]) -> NodeOutput {
        let file = |owner: &str, mode: u32, content: &[u8]| NodeFile {
            owner: owner.into(),
            group: owner.into(),
            mode,
            sha256: Some(format!("{:x}", content.len() * 7 + content.first().copied().unwrap_or(0) as usize)),
            content: Some(content.to_vec()),
        };
        let conf = "totem {\n version: 2\n cluster_name: c\n transport: knet\n crypto_cipher: aes256\n crypto_hash: sha256\n}\n\
                    nodelist {\n node {\n  ring0_addr: 10.0.0.1\n  name: n1\n  nodeid: 1\n }\n node {\n  ring0_addr: 10.0.0.2\n  name: n2\n  nodeid: 2\n }\n}\n";
        let mut out = NodeOutput { complete: true, password: Some("locked".into()), ..NodeOutput::default() };
        out.files.insert("/etc/corosync/corosync.conf".into(), file("root", 0o640, conf.as_bytes()));
        out.files.insert("/etc/corosync/authkey".into(), file("root", 0o400, key));
        out.files.insert("/etc/profile.d/umask.sh".into(), file("root", 0o644, b"umask 077\n"));
        out.files.insert(
            "/etc/corosync".into(),
            NodeFile { owner: "root".into(), group: "root".into(), mode: 0o755, sha256: None, content: None },
        );
        out.queries.insert("processes".into(), "corosync\npacemakerd\n".into());
        out
    }

    #[test]
    fn a_capture_is_written_whole_and_loads_as_a_candidate_of_every_node() {
        let out = std::env::temp_dir().join(format!("pcmk-capture-write-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let results = vec![
            ("root@n1".to_string(), Ok(node(&[1u8; 256]))),
            ("n2".to_string(), Ok(node(&[2u8; 256]))),
            ("n3".to_string(), Err("ssh: Connection refused".to_string())),
        ];
        let manifest = write(&out, &results).unwrap();
        assert_eq!(
            manifest.nodes.iter().map(|n| (n.name.as_str(), n.complete)).collect::<Vec<_>>(),
            [("n1", true), ("n2", true), ("n3", false)]
        );
        use std::os::unix::fs::PermissionsExt;
        let key = out.join("n2/files/etc/corosync/authkey");
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "keys are the user's only");
        let candidate = crate::candidate::Candidate::load(&out).unwrap();
        assert_eq!(candidate.kind, pcmk_model::scope::CandidateKind::Captured);
        assert_eq!(candidate.captured.len(), 2);
        assert_ne!(
            candidate.captured[0].files["/etc/corosync/authkey"].content,
            candidate.captured[1].files["/etc/corosync/authkey"].content
        );
        let conf = candidate.file_at("/etc/corosync/corosync.conf").unwrap();
        assert_eq!((conf.placement.mode, conf.stated), (0o640, true), "the node's own owner and mode");
        assert!(candidate.file_at("/etc/profile.d/umask.sh").is_some(), "every file capture read is placed");
        assert!(
            candidate.inventory.iter().any(|l| l.starts_with("not captured: n3: ssh: Connection refused")),
            "{:#?}",
            candidate.inventory
        );
        assert_eq!(
            candidate.services,
            vec![pcmk_model::node::Service::Corosync, pcmk_model::node::Service::Pacemaker],
            "as the node ran them"
        );
        // A capture is never written over, and a failed one leaves nothing behind.
        assert!(write(&out, &results).is_err());
        std::fs::remove_dir_all(&out).unwrap();
        assert!(std::fs::read_dir(std::env::temp_dir()).unwrap().flatten().all(|e| !e.file_name().to_string_lossy().contains(".partial-")));
    }
}
