//! A candidate `pcmk-comply capture` made: every node's files with the owners,
//! modes and hashes it read off them, and what each node's tools said. The
//! cluster is laid out from the first node's files; every node is judged.

use std::collections::BTreeMap;
use std::path::Path;

use super::{read_confined, Candidate, CandidateKind};
pub use crate::capture::script::NodeFile;
use crate::capture::{read_stat, CaptureManifest, CAPTURE_TOML, FILES_DIR, FORMAT, QUERIES_DIR, STAT_TSV};
use crate::error::{line_of, InputError};
use pcmk_model::node::{Placement, Service};

/// One captured node.
#[derive(Debug, Clone)]
pub struct CapturedNode {
    pub name: String,
    /// Node path → what the node had there (a directory has no hash).
    pub files: BTreeMap<String, NodeFile>,
    /// What its tools said: cib, crm_mon, cmap, nft, sockets, packages.
    pub queries: BTreeMap<String, String>,
    /// hacluster's password, decided on the node: empty, locked, default, set, nouser.
    pub password: Option<String>,
}

impl Candidate {
    /// A capture directory: laid out from its first complete node, every node kept for judgement.
    pub(super) fn captured(dir: &Path) -> Result<Candidate, InputError> {
        let manifest_path = dir.join(CAPTURE_TOML);
        let text = String::from_utf8(read_confined(dir, CAPTURE_TOML)?).map_err(|_| InputError::new(&manifest_path, None, "not UTF-8"))?;
        let manifest: CaptureManifest = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| line_of(&text, s.start));
            InputError::new(&manifest_path, line, e.message().to_string())
        })?;
        if manifest.format != FORMAT || manifest.version != 1 {
            return Err(InputError::new(
                &manifest_path,
                None,
                format!("not a capture this pcmk-comply reads (format `{}` version {})", manifest.format, manifest.version),
            ));
        }
        let mut nodes = Vec::new();
        let mut missing = Vec::new();
        for entry in &manifest.nodes {
            if entry.name.is_empty() || entry.name.contains(['/', '\\']) || entry.name.starts_with('.') {
                return Err(InputError::new(&manifest_path, None, format!("`{}` is not a node name", entry.name)));
            }
            if !dir.join(&entry.name).is_dir() {
                missing.push(format!("{}: {}", entry.name, entry.problems.join("; ")));
                continue;
            }
            if !entry.complete {
                missing.push(format!("{} (partly): {}", entry.name, entry.problems.join("; ")));
            }
            nodes.push(read_node(dir, &entry.name, entry.password.clone())?);
        }
        let Some(first) = manifest.nodes.iter().find(|n| dir.join(&n.name).is_dir()) else {
            return Err(InputError::new(&manifest_path, None, "the capture holds no node"));
        };
        let tree = crate::tree::read_dir(&dir.join(&first.name).join(FILES_DIR))?;
        let mut candidate = Self::from_tree(&dir.join(&first.name).join(FILES_DIR), tree)?;
        // Owners and modes are the node's own, as capture read them.
        let stats = &nodes[0].files;
        for file in &mut candidate.files {
            if let Some(recorded) = stats.get(&file.placement.path) {
                file.placement.owner = recorded.owner.clone();
                file.placement.group = recorded.group.clone();
                file.placement.mode = recorded.mode;
                file.stated = true;
                let said = format!("placed {} at {} (", file.source.display(), file.placement.path);
                if let Some(line) = candidate.inventory.iter_mut().find(|l| l.starts_with(&said)) {
                    *line = as_the_node_has_it(&file.source, &file.placement);
                }
            }
        }
        if let Some(running) = running_services(&nodes[0]) {
            if running != candidate.services {
                let names = |s: &[Service]| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                candidate.inventory.push(format!(
                    "services as {} ran them: {} (its files alone imply {})",
                    nodes[0].name,
                    names(&running),
                    names(&candidate.services)
                ));
                candidate.services = running;
            }
        }
        // Capture read only what the policy reads: every file of the first node is placed.
        for (path, recorded) in &nodes[0].files {
            let Some(content) = &recorded.content else { continue };
            if candidate.file_at(path).is_some() || super::check_destination(path).is_err() {
                continue;
            }
            let placement =
                Placement { path: path.clone(), owner: recorded.owner.clone(), group: recorded.group.clone(), mode: recorded.mode };
            let source = dir.join(&first.name).join(FILES_DIR).join(path.trim_start_matches('/'));
            let ignored = format!("ignored {}:", source.display());
            candidate.inventory.retain(|line| !line.starts_with(&ignored));
            candidate.inventory.push(as_the_node_has_it(&source, &placement));
            candidate.files.push(super::CandidateFile {
                source,
                placement,
                content: content.clone(),
                secret: false,
                converted: false,
                stated: true,
            });
        }
        candidate.origin = dir.to_path_buf();
        candidate.kind = CandidateKind::Captured;
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        candidate.inventory[0] = format!(
            "{} is a capture of {} nodes ({}), each judged; a cluster is built from {}'s files",
            dir.display(),
            names.len(),
            names.join(", "),
            first.name
        );
        candidate.inventory.extend(missing.iter().map(|m| format!("not captured: {m}")));
        candidate.captured = nodes;
        Ok(candidate)
    }
}

/// The inventory's line for a file placed with the owner and mode the node had.
fn as_the_node_has_it(source: &Path, p: &Placement) -> String {
    format!("placed {} at {} ({}:{} {:04o}, as the node has it)", source.display(), p.path, p.owner, p.group, p.mode)
}

/// The services a captured node ran, from its processes and loaded ruleset:
/// its files alone would start pcsd wherever /etc/default/pcsd exists.
fn running_services(node: &CapturedNode) -> Option<Vec<Service>> {
    let processes = node.queries.get("processes")?;
    let runs = |name: &str| processes.lines().any(|p| p.trim() == name);
    let mut services = Vec::new();
    if node.queries.get("nft").is_some_and(|r| r.contains("table ")) {
        services.push(Service::Nftables);
    }
    services.extend([Service::Corosync, Service::Pacemaker]);
    // pcsd's process name may carry a suffix, as ps truncates or the interpreter names it.
    if processes.lines().any(|p| p.trim().starts_with("pcsd")) {
        services.push(Service::Pcsd);
    }
    if runs("rsyslogd") {
        services.push(Service::Rsyslog);
    }
    Some(services)
}

fn read_node(dir: &Path, name: &str, password: Option<String>) -> Result<CapturedNode, InputError> {
    let stat_path = format!("{name}/{STAT_TSV}");
    let stat = String::from_utf8_lossy(&read_confined(dir, &stat_path)?).into_owned();
    let mut files = BTreeMap::new();
    for (path, (owner, group, mode, sha256)) in read_stat(&stat) {
        let relative = format!("{name}/{FILES_DIR}{path}");
        let content = if sha256.is_some() { Some(read_confined(dir, &relative)?) } else { None };
        files.insert(path, NodeFile { owner, group, mode, sha256, content });
    }
    let mut queries = BTreeMap::new();
    let queries_dir = dir.join(name).join(QUERIES_DIR);
    if let Ok(entries) = std::fs::read_dir(&queries_dir) {
        for entry in entries.flatten() {
            let query = entry.file_name().to_string_lossy().into_owned();
            let bytes = read_confined(dir, &format!("{name}/{QUERIES_DIR}/{query}"))?;
            queries.insert(query, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    Ok(CapturedNode { name: name.to_string(), files, queries, password })
}
