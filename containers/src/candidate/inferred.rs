//! Candidates without a manifest: a directory, an archive or a bare CIB, laid
//! out by what their files are (see `layout`). What the files cannot say is
//! inferred and said: the services, a key the harness generates, a
//! corosync.conf made for a bare CIB.

use std::path::Path;

use super::{check_destination, Candidate, CandidateFile, CandidateKind, SecretSpec};
use crate::error::InputError;
use crate::layout::{lay_out, Disposition};
use crate::tree::{Skipped, Tree, TreeFile};
use pcmk_model::node::{Placement, Service, CIB_XML, COROSYNC_CONF};

pub const COROSYNC_AUTHKEY: &str = "/etc/corosync/authkey";
pub const PACEMAKER_AUTHKEY: &str = "/etc/pacemaker/authkey";

/// The files of a tree its layout places, but none at a node path already
/// `declared` (a manifest's own placements), and what became of each file.
/// `declared` pairs each node path already placed with what placed it.
pub(crate) fn placed_from(tree: &Tree, declared: &[(String, String)]) -> Result<(Vec<CandidateFile>, Vec<String>), InputError> {
    placed_files(tree, &lay_out(tree), declared)
}

fn placed_files(
    tree: &Tree,
    laid: &crate::layout::Laid,
    declared: &[(String, String)],
) -> Result<(Vec<CandidateFile>, Vec<String>), InputError> {
    let mut inventory = Vec::new();
    let mut files: Vec<CandidateFile> = Vec::new();
    for (path, disposition) in &laid.files {
        let source = tree.source_of(path);
        match disposition {
            Disposition::Placed { placement, secret, note, stated } => {
                if let Some((_, by)) = declared.iter().find(|(path, _)| *path == placement.path) {
                    inventory.push(format!(
                        "ignored {}: {} is placed by {by} (a [[file]] entry in candidate.toml overrides it)",
                        source.display(),
                        placement.path
                    ));
                    continue;
                }
                if let Some(twin) = files.iter().find(|f| f.placement.path == placement.path) {
                    inventory.push(format!(
                        "ignored {}: {} is already placed from {}",
                        source.display(),
                        placement.path,
                        twin.source.display()
                    ));
                    continue;
                }
                check_destination(&placement.path).map_err(|m| InputError::new(&source, None, m))?;
                let content = tree.get(path).map(|f| f.content.clone()).unwrap_or_default();
                let mut note = note.as_deref().map(|n| format!("; {n}")).unwrap_or_default();
                // crm configure show text at the CIB's path: the CIB crmsh made of it.
                let cib = if placement.path == CIB_XML { crate::crmsh::as_cib(&content, &source)? } else { None };
                if cib.is_some() {
                    note.push_str("; crm configure show text, converted to a CIB by crmsh");
                }
                inventory.push(format!(
                    "placed {} at {} ({}:{} {:04o}{note})",
                    source.display(),
                    placement.path,
                    placement.owner,
                    placement.group,
                    placement.mode
                ));
                let converted = cib.is_some();
                let (content, source) = cib.unwrap_or((content, source));
                files.push(CandidateFile { source, placement: placement.clone(), content, secret: *secret, converted, stated: *stated });
            }
            Disposition::Ignored { reason } => inventory.push(format!("ignored {}: {reason}", source.display())),
        }
    }
    for Skipped { path, reason } in &tree.skipped {
        inventory.push(format!("ignored {}: {reason}", tree.source_of(path).display()));
    }
    Ok((files, inventory))
}

/// The keys every pcs-made cluster has, with the owner and mode pcs gives
/// them: generated fresh for a run where the candidate brings none.
pub fn missing_keys(placed: &[String]) -> (Vec<SecretSpec>, Vec<String>, Vec<String>) {
    let keys = [(COROSYNC_AUTHKEY, "root", "root", 256), (PACEMAKER_AUTHKEY, "hacluster", "haclient", 256)];
    let (mut secrets, mut generated, mut said) = (Vec::new(), Vec::new(), Vec::new());
    for (path, owner, group, bytes) in keys {
        if placed.iter().any(|p| p == path) {
            continue;
        }
        said.push(format!("no {path}: the harness generates one for the run ({bytes} bytes, {owner}:{group} 0400); scenarios about it have nothing of the candidate's to judge"));
        secrets.push(SecretSpec {
            placement: Placement { path: path.into(), owner: owner.into(), group: group.into(), mode: 0o400 },
            bytes,
            stated: false,
        });
        generated.push(path.to_string());
    }
    (secrets, generated, said)
}

impl Candidate {
    /// A candidate from a tree of files whose layout says where each goes.
    pub(crate) fn from_tree(origin: &Path, tree: Tree) -> Result<Candidate, InputError> {
        let laid = lay_out(&tree);
        let mut inventory = vec![format!("{} is {}", origin.display(), laid.kind)];
        inventory.extend(laid.notes.iter().cloned());
        let (files, placed_inventory) = placed_files(&tree, &laid, &[])?;
        inventory.extend(placed_inventory);
        Self::completed(origin, laid.candidate_kind, files, laid.services, inventory)
    }

    /// A bare CIB (`pcs cluster cib`, `cibadmin --query`): run with a
    /// corosync.conf made for its nodes.
    pub(crate) fn bare_cib(file: &Path, content: Vec<u8>) -> Result<Candidate, InputError> {
        let tree = Tree {
            origin: file.to_path_buf(),
            is_archive: false,
            single_file: true,
            files: vec![TreeFile { path: "cib.xml".into(), content, executable: false, recorded: None }],
            skipped: Vec::new(),
        };
        let mut candidate = Self::from_tree(file, tree)?;
        candidate.kind = CandidateKind::BareCib;
        candidate.inventory[0] = format!("{} is a CIB without a corosync.conf", file.display());
        Ok(candidate)
    }

    /// Fills in what the files do not say, then parses and checks the configuration.
    fn completed(
        origin: &Path,
        kind: CandidateKind,
        mut files: Vec<CandidateFile>,
        services: Vec<Service>,
        mut inventory: Vec<String>,
    ) -> Result<Candidate, InputError> {
        let mut generated = Vec::new();
        if !files.iter().any(|f| f.placement.path == COROSYNC_CONF) {
            let Some(cib) = files.iter().find(|f| f.placement.path == CIB_XML) else {
                return Err(InputError::new(
                    origin,
                    None,
                    "not a candidate: it holds neither a corosync.conf nor a CIB (see the files listed above)".to_string(),
                )
                .with_inventory(inventory));
            };
            let text = std::str::from_utf8(&cib.content).map_err(|_| InputError::new(&cib.source, None, "not UTF-8"))?;
            let doc = crate::cib::parse(text, &cib.source)?;
            let conf = corosync_conf_for(&doc);
            let renumbered = if conf.2 {
                " (their ids renumbered from 1: knet takes none above 65535, as corosync 2 gave them from addresses)"
            } else {
                ""
            };
            inventory.push(format!(
                "no corosync.conf: the harness made a knet one for the CIB's {} nodes{renumbered}; scenarios about corosync.conf have nothing of the candidate's to judge",
                conf.1
            ));
            files.push(CandidateFile {
                source: format!("{} (corosync.conf made by the harness)", origin.display()).into(),
                placement: Placement { path: COROSYNC_CONF.into(), owner: "root".into(), group: "root".into(), mode: 0o644 },
                content: conf.0.into_bytes(),
                secret: false,
                converted: true,
                stated: false,
            });
            generated.push(COROSYNC_CONF.to_string());
        }
        let placed: Vec<String> = files.iter().map(|f| f.placement.path.clone()).collect();
        let (secrets, keys, said) = missing_keys(&placed);
        generated.extend(keys);
        inventory.extend(said);
        inventory.push(format!("services: {}", services.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
        let distro = distro_for(&files, &mut inventory);
        let mut candidate = Candidate {
            origin: origin.to_path_buf(),
            kind,
            distro,
            distro_declared: false,
            nodes: None,
            services,
            files,
            secrets,
            users: Vec::new(),
            public_network: false,
            corosync: None,
            inventory,
            generated,
            policy: Vec::new(),
            captured: Vec::new(),
        };
        candidate.parse_configuration()?;
        Ok(candidate)
    }
}

/// The release a CIB needs: a `pacemaker-4` schema is Pacemaker 3's (its
/// schema list, xml/pacemaker-4.0.rng), which only trixie's nodes run.
fn distro_for(files: &[CandidateFile], inventory: &mut Vec<String>) -> Option<pcmk_model::node::Distro> {
    let cib = files.iter().find(|f| f.placement.path == CIB_XML)?;
    let text = std::str::from_utf8(&cib.content).ok()?;
    let doc = pcmk_model::text::parse_xml(text).ok()?;
    let schema = doc.root_element().attribute("validate-with")?;
    let major: u32 = schema.strip_prefix("pacemaker-")?.split('.').next()?.parse().ok()?;
    (major >= 4).then(|| {
        inventory.push(format!("the CIB validates with {schema}, which needs Pacemaker 3: judged and run as trixie (Pacemaker 3.0)"));
        pcmk_model::node::Distro::Trixie
    })
}

/// Highest nodeid corosync 3 takes on knet ("Knet requires nodeid to be less than 65536").
const KNET_MAX_NODEID: u32 = 65535;

/// A knet corosync.conf with crypto for the nodes a CIB names (as `pcs
/// cluster setup` writes one), how many nodes it has, and whether their ids
/// were renumbered (corosync 2 made ids of addresses, 1084752129 and the
/// like, as crmsh-built clusters' `node 1084752129: alpha` show; knet takes
/// none above 65535).
fn corosync_conf_for(doc: &roxmltree::Document) -> (String, usize, bool) {
    let named: Vec<(Option<u32>, String)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("node") && n.parent().is_some_and(|p| p.has_tag_name("nodes")))
        .filter(|n| n.attribute("type").is_none_or(|t| t == "member" || t == "normal"))
        .filter_map(|n| Some((n.attribute("id").and_then(|id| id.parse().ok()), n.attribute("uname")?.to_string())))
        .filter(|(_, name)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_'))
        .collect();
    let mut nodes: Vec<(u32, String)> = named.iter().filter_map(|(id, name)| Some(((*id)?, name.clone()))).collect();
    nodes.sort();
    nodes.dedup_by_key(|(id, _)| *id);
    // A node named without a number (crmsh's `node pg1`, whose id is its name): the next free id.
    for (_, name) in named.iter().filter(|(id, _)| id.is_none()) {
        if !nodes.iter().any(|(_, n)| n == name) {
            let next = nodes.iter().map(|(id, _)| *id).max().unwrap_or(0).saturating_add(1);
            nodes.push((next, name.clone()));
        }
    }
    if nodes.is_empty() {
        nodes = (1..=3).map(|i| (i, format!("node{i}"))).collect();
    }
    let renumbered = nodes.iter().any(|(id, _)| *id > KNET_MAX_NODEID);
    if renumbered {
        for (i, node) in nodes.iter_mut().enumerate() {
            node.0 = i as u32 + 1;
        }
    }
    let mut text = String::from("totem {\n    version: 2\n    cluster_name: pcmk-comply\n    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n}\n\nnodelist {\n");
    for (i, (id, name)) in nodes.iter().enumerate() {
        // Addresses are placeholders: the harness maps the nodelist onto the run's network.
        text.push_str(&format!("    node {{\n        ring0_addr: 192.0.2.{}\n        name: {name}\n        nodeid: {id}\n    }}\n", i + 1));
    }
    text.push_str("}\n\nquorum {\n    provider: corosync_votequorum\n");
    if nodes.len() == 2 {
        text.push_str("    two_node: 1\n");
    }
    text.push_str("}\n\nlogging {\n    to_syslog: yes\n}\n");
    (text, nodes.len(), renumbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf_for(nodes: &str) -> (String, usize, bool) {
        let cib = format!("<cib><configuration><nodes>{nodes}</nodes></configuration></cib>");
        corosync_conf_for(&roxmltree::Document::parse(&cib).unwrap())
    }

    #[test]
    fn a_made_corosync_conf_numbers_the_nodes_as_knet_takes_them() {
        // As crmsh-built clusters on corosync 2 show them: ids made of addresses.
        let (text, count, renumbered) = conf_for("<node id=\"1084752129\" uname=\"a\"/><node id=\"1084752130\" uname=\"b\"/>");
        assert_eq!((count, renumbered), (2, true));
        assert!(text.contains("name: a\n        nodeid: 1\n") && text.contains("name: b\n        nodeid: 2\n"), "{text}");
        // `node pg1` (crmsh gives it the id `pg1`): the next free number.
        let (text, count, renumbered) = conf_for("<node id=\"pg1\" uname=\"pg1\"/><node id=\"3\" uname=\"pg3\"/>");
        assert_eq!((count, renumbered), (2, false));
        assert!(text.contains("name: pg3\n        nodeid: 3\n") && text.contains("name: pg1\n        nodeid: 4\n"), "{text}");
    }
}
