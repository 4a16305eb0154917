//! What the SBD steps judge, read from the candidate or the cluster: the CIB,
//! every node's sbd environment file and the devices' dump a capture made;
//! and whether the cluster uses SBD at all.

use pcmk_containers::candidate::CapturedNode;
use pcmk_model::finding::Subject;
use pcmk_model::scope::Evidence;
use pcmk_model::text::parse_bool;

use super::config::{Config, DEFAULTS, SYSCONFIG};
use super::{NodeConfig, Sbd, SBD_AGENTS};
use crate::cluster_options::Pacemaker;
use crate::facts::{CibFacts, NodeFacts};
use crate::support::{place, subject};
use crate::world::PolicyWorld;

/// Why the cluster counts as using SBD: its configuration files, an SBD fence device, `have-watchdog=true`.
pub(super) fn uses_sbd(cib: &CibFacts, origin: &str, files: &[String]) -> Vec<String> {
    let mut uses: Vec<String> = files.to_vec();
    for device in cib.primitives.iter().filter(|p| p.class == "stonith" && SBD_AGENTS.contains(&p.kind.as_str())) {
        uses.push(format!("fence device {} ({}, {origin} line {})", device.id, device.agent(), device.line));
    }
    if let Some((_, value, line)) =
        cib.property_sets.iter().flat_map(|s| s.pairs.iter()).find(|(n, v, _)| n == "have-watchdog" && parse_bool(v) == Some(true))
    {
        uses.push(format!("have-watchdog={value} ({origin} line {line}): Pacemaker found sbd running"));
    }
    uses
}

/// The nodes' SBD configuration files, as the candidate shows them.
struct NodeFiles {
    configs: Vec<NodeConfig>,
    /// The nodes with neither file: whom findings name, the node's name, its dump.
    without: Vec<(Subject, String, Option<String>)>,
    /// The files' paths, each once.
    files: Vec<String>,
}

/// Every file each node holds of /etc/sysconfig/sbd and /etc/default/sbd, with the dump a capture made on it.
fn node_files(nodes: &[NodeFacts], captured: &[CapturedNode]) -> NodeFiles {
    let mut found_files = NodeFiles { configs: Vec::new(), without: Vec::new(), files: Vec::new() };
    for node in nodes {
        let dump =
            captured.iter().find(|c| c.name == node.name).and_then(|c| c.queries.get(pcmk_containers::capture::script::SBD_DUMP)).cloned();
        let mut found = false;
        for path in [SYSCONFIG, DEFAULTS] {
            if let Some(text) = node.texts.get(path) {
                found = true;
                let file = if node.name == "candidate" { path.to_string() } else { format!("{}:{path}", node.name) };
                if !found_files.files.contains(&path.to_string()) {
                    found_files.files.push(path.to_string());
                }
                found_files.configs.push(NodeConfig {
                    subject: subject(node),
                    node: place(node),
                    config: Config::parse(&file, text),
                    dump: dump.clone(),
                });
            }
        }
        if !found {
            found_files.without.push((subject(node), place(node), dump));
        }
    }
    found_files
}

/// Reads what the SBD steps judge; not applicable where the cluster uses no SBD.
pub(super) async fn context(world: &mut PolicyWorld) -> anyhow::Result<Sbd> {
    let (cib, origin) = if world.ctx.is_live() {
        // The running CIB holds the harness's fence devices and the lab's have-watchdog.
        world.candidate_cib()?
    } else {
        let cib = world.cib().await?;
        (cib, world.facts().await?.cib_origin.clone())
    };
    let facts = world.facts().await?;
    let NodeFiles { mut configs, without, files } = node_files(&facts.nodes, &world.ctx.candidate.captured);
    let uses = uses_sbd(&cib, &origin, &files);
    if uses.is_empty() {
        return Err(world.not_applicable(format!(
            "the cluster does not use SBD: no {SYSCONFIG} or {DEFAULTS}, no fence_sbd or external/sbd device and no have-watchdog=true in {origin}"
        )));
    }
    // A kind that would carry the file shows that the node has none: sbd runs on its defaults.
    let configs = if without.is_empty() {
        Some(configs)
    } else if world.lacks(&[Evidence::File(SYSCONFIG)]) || world.lacks(&[Evidence::File(DEFAULTS)]) {
        None
    } else {
        configs.extend(without.into_iter().map(|(subject, node, dump)| NodeConfig { subject, node, config: Config::defaults(), dump }));
        Some(configs)
    };
    let mut versions = vec![world.target_pacemaker(), Pacemaker::V3_0_2];
    versions.dedup();
    let cib_subject = if world.ctx.is_live() { Subject::Cluster } else { Subject::Candidate };
    Ok(Sbd { cib, origin, cib_subject, versions, uses, configs })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{cib, device, nv};
    use super::*;

    #[test]
    fn a_cluster_without_sbd_is_not_judged() {
        let plain = cib(&device("f1", "fence_ipmilan", &nv("pcmk_host_list", "n1")), &nv("have-watchdog", "false"));
        assert!(uses_sbd(&plain, "cib.xml", &[]).is_empty());
        let sbd_device = cib(&device("sbd", "external/sbd", ""), "");
        assert!(uses_sbd(&sbd_device, "cib.xml", &[])[0].contains("fence device sbd (stonith:external/sbd"));
        assert!(uses_sbd(&plain, "cib.xml", &[SYSCONFIG.into()]).contains(&SYSCONFIG.to_string()));
    }
}
