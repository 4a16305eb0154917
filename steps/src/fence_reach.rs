//! Whether every node can be fenced, judged from the CIB: a cluster whose
//! fencing is enabled still cannot recover a node no fence device reaches
//! (Pacemaker waits for a fencing that never succeeds, and the node's
//! resources never move).
//!
//! What a device reaches, as the fencer decides it (Pacemaker's
//! `pcmk_host_check`, fenced's `stonith_device_register()`): the nodes of
//! `pcmk_host_list` and `pcmk_host_map`; every node with
//! `pcmk_host_check=none`; otherwise only what the agent itself answers at run
//! time (its `list` or `status`), which no file records. A device disabled in
//! the CIB (`target-role=Stopped`) reaches none. A `fencing-level` whose
//! devices are all configured and enabled reaches its `target`. A nonzero
//! `stonith-watchdog-timeout` (in every reading Pacemaker can make of the CIB)
//! lets every node fence itself by watchdog (SBD),
//! and an SBD device (`fence_sbd`, `external/sbd`) reaches every node with a
//! slot on its disk.

use cucumber::then;

use crate::cluster_options::Pacemaker;
use crate::facts::{CibFacts, Primitive};
use crate::sbd::watchdog_fencing_in_every_reading;
use crate::support::Violations;
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place, Subject};

/// What one device reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    Nodes(Vec<String>),
    Every(String),
    /// Known only to the agent at run time.
    Unrecorded,
    Disabled,
}

fn param<'a>(device: &'a Primitive, name: &str) -> Option<&'a str> {
    device.params.iter().find(|(n, _, _)| n == name).map(|(_, v, _)| v.trim())
}

/// Names in a host list: separated by spaces, commas or semicolons.
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|n| !n.is_empty())
}

fn reach(device: &Primitive) -> Reach {
    if device.disabled {
        return Reach::Disabled;
    }
    // SBD fences through the shared disk, where every node running sbd on it has a slot.
    if matches!(device.kind.as_str(), "external/sbd" | "fence_sbd") {
        return Reach::Every(format!("{} fences every node with a slot on its shared disk", device.kind));
    }
    if param(device, "pcmk_host_check").is_some_and(|c| c.eq_ignore_ascii_case("none")) {
        return Reach::Every("pcmk_host_check=none: it claims every node".into());
    }
    let mut nodes: Vec<String> = param(device, "pcmk_host_list").map(|l| names(l).map(str::to_string).collect()).unwrap_or_default();
    if let Some(map) = param(device, "pcmk_host_map") {
        nodes.extend(names(map).map(|entry| entry.split_once([':', '=']).map_or(entry, |(node, _)| node).to_string()));
    }
    if nodes.is_empty() {
        Reach::Unrecorded
    } else {
        Reach::Nodes(nodes)
    }
}

/// Whether a device can fence `node`, as the fencer's
/// `can_fence_host_with_device()` decides; None when only its agent can say.
fn can_fence(reach: &Reach, node: &str) -> Option<bool> {
    match reach {
        Reach::Nodes(nodes) => Some(nodes.iter().any(|n| n == node)),
        Reach::Every(_) => Some(true),
        Reach::Unrecorded => None,
        Reach::Disabled => Some(false),
    }
}

/// Whether any of `options` fences `node`: each a set of devices that must
/// all fence it (a level), or one device. None when only an agent can say.
fn any_fences(options: impl Iterator<Item = Vec<Option<bool>>>) -> Option<bool> {
    let mut unknown = false;
    for devices in options {
        if !devices.is_empty() && devices.iter().all(|d| *d == Some(true)) {
            return Some(true);
        }
        unknown |= !devices.is_empty() && !devices.contains(&Some(false));
    }
    if unknown {
        None
    } else {
        Some(false)
    }
}

/// The judgement: the nodes no enabled device or level reaches, or why it
/// cannot be told from the files. A node with fencing levels is fenced by
/// them alone, each level's devices all able to fence it (the fencer asks
/// each device whether it can, topology or not); a node without, by any
/// device that can.
fn unreached(cib: &CibFacts, origin: &str, versions: &[Pacemaker], nodes: &[String]) -> Result<Vec<String>, String> {
    if watchdog_fencing_in_every_reading(cib, origin, versions) {
        return Ok(Vec::new());
    }
    let devices: Vec<(&Primitive, Reach)> = cib.primitives.iter().filter(|p| p.class == "stonith").map(|d| (d, reach(d))).collect();
    let device = |id: &str, node: &str| devices.iter().find(|(d, _)| d.id == id).map_or(Some(false), |(_, r)| can_fence(r, node));
    let reached = |node: &String| {
        let levels: Vec<_> = cib.fencing_levels.iter().filter(|l| l.target.as_ref() == Some(node) && !l.devices.is_empty()).collect();
        if levels.is_empty() {
            any_fences(devices.iter().map(|(_, r)| vec![can_fence(r, node)]))
        } else {
            any_fences(levels.iter().map(|l| l.devices.iter().map(|d| device(d, node)).collect()))
        }
    };
    let mut missing = Vec::new();
    let mut unknown = Vec::new();
    for node in nodes {
        match reached(node) {
            Some(true) => {}
            Some(false) => missing.push(node.clone()),
            None => unknown.push(node.clone()),
        }
    }
    let patterned = cib.fencing_levels.iter().any(|l| l.other_target.is_some());
    // A level by pattern or attribute may be the one that fences a node no other reaches.
    if unknown.is_empty() && (missing.is_empty() || !patterned) {
        return Ok(missing);
    }
    let undecided: Vec<String> = missing.into_iter().chain(unknown).collect();
    let unrecorded: Vec<&str> = devices.iter().filter(|(_, r)| *r == Reach::Unrecorded).map(|(d, _)| d.id.as_str()).collect();
    let what = if unrecorded.is_empty() {
        "a fencing level targets nodes by pattern or attribute".to_string()
    } else {
        format!("fence device {} names no hosts (no pcmk_host_list or pcmk_host_map)", unrecorded.join(", "))
    };
    Err(format!(
        "no file says whether {} can be fenced: {what}, so only the agent can say at run time which nodes it reaches; \
         set pcmk_host_list or pcmk_host_map so its reach is on record",
        undecided.join(", ")
    ))
}

/// The cluster's node names: the running cluster's, else the candidate's
/// nodelist (`name`, else `ring0_addr`) and the CIB's `<nodes>`.
async fn node_names(world: &mut PolicyWorld, cib: &CibFacts) -> anyhow::Result<Vec<String>> {
    let facts = world.facts().await?;
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: String| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    if world.ctx.is_live() {
        facts.nodes.iter().for_each(|n| add(n.name.clone()));
    } else {
        for node in facts.nodes.iter().filter_map(|n| n.corosync_conf.as_ref()).flat_map(|c| c.nodes()) {
            if let Some(name) = node.name.or_else(|| node.addrs.first().map(|(_, a)| a.clone())) {
                add(name);
            }
        }
        cib.nodes.iter().for_each(|(n, _)| add(n.clone()));
    }
    Ok(names)
}

#[then(expr = "every node is the target of an enabled fence device")]
async fn every_node_fenceable(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let cib = world.cib().await?;
    let nodes = node_names(world, &cib).await?;
    if nodes.is_empty() {
        world.not_judged("the candidate names no nodes (no nodelist, no <nodes> in the CIB), so no node's fencing can be judged");
        return Ok(());
    }
    let origin = world.facts().await?.cib_origin.clone();
    let subject = if world.ctx.is_live() { Subject::Cluster } else { Subject::Candidate };
    let mut versions = vec![world.target_pacemaker(), Pacemaker::V3_0_2];
    versions.dedup();
    match unreached(&cib, &origin, &versions, &nodes) {
        Err(reason) => {
            world.not_judged(reason);
            Ok(())
        }
        Ok(missing) => {
            let mut violations = Violations::default();
            let disabled: Vec<&str> = cib.primitives.iter().filter(|p| p.class == "stonith" && p.disabled).map(|p| p.id.as_str()).collect();
            let note =
                if disabled.is_empty() { String::new() } else { format!(" ({} disabled: target-role=Stopped)", disabled.join(", ")) };
            for node in missing {
                let place = cib.nodes.iter().find(|(n, _)| *n == node).map(|(_, line)| Place::new(&origin, *line));
                violations.add(
                    Finding::new(
                        subject.clone(),
                        format!("node {node} is the target of no enabled fence device or fencing level in {origin}{note}: a failure of {node} is never fenced, so its resources never move"),
                    )
                    .at(place),
                );
            }
            world.judge(violations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cib(resources: &str, extra: &str) -> CibFacts {
        cib_with_topology(resources, extra, "")
    }

    fn cib_with_topology(resources: &str, extra: &str, topology: &str) -> CibFacts {
        let text = format!(
            "<cib validate-with=\"pacemaker-3.9\"><configuration><crm_config>{extra}</crm_config><nodes/><resources>{resources}</resources><constraints/>{topology}</configuration></cib>"
        );
        CibFacts::parse(&text, "cib.xml").unwrap()
    }

    fn device(id: &str, params: &str, meta: &str) -> String {
        format!("<primitive id=\"{id}\" class=\"stonith\" type=\"fence_ipmilan\"><instance_attributes id=\"{id}-ia\">{params}</instance_attributes>{meta}</primitive>")
    }

    fn nvpair(id: &str, name: &str, value: &str) -> String {
        format!("<nvpair id=\"{id}\" name=\"{name}\" value=\"{value}\"/>")
    }

    fn nodes() -> Vec<String> {
        vec!["node1".into(), "node2".into(), "node3".into()]
    }

    fn judge(cib: &CibFacts) -> Result<Vec<String>, String> {
        unreached(cib, "cib.xml", &[Pacemaker::V2_1, Pacemaker::V3_0_2], &nodes())
    }

    /// The set Pacemaker reads first decides, not the first in the file:
    /// cib-bootstrap-options turning the watchdog off wins over a set before it.
    #[test]
    fn watchdog_fencing_is_read_as_pacemaker_orders_the_sets() {
        let sets = "<cluster_property_set id=\"extra\"><nvpair id=\"w1\" name=\"stonith-watchdog-timeout\" value=\"10s\"/></cluster_property_set>\
                    <cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"w0\" name=\"stonith-watchdog-timeout\" value=\"0\"/></cluster_property_set>";
        assert_eq!(judge(&cib("", sets)).unwrap().len(), 3);
        // Set under the newer name alone, a 2.1 node does not read it: not every reading fences.
        let newer =
            "<cluster_property_set id=\"o\"><nvpair id=\"w\" name=\"fencing-watchdog-timeout\" value=\"10s\"/></cluster_property_set>";
        assert_eq!(judge(&cib("", newer)).unwrap().len(), 3);
    }

    #[test]
    fn a_node_no_device_names_is_unreached() {
        let c = cib(
            &[device("f1", &nvpair("a", "pcmk_host_list", "node1"), ""), device("f2", &nvpair("b", "pcmk_host_map", "node2:port2;"), "")]
                .concat(),
            "",
        );
        assert_eq!(judge(&c), Ok(vec!["node3".to_string()]));
    }

    #[test]
    fn a_disabled_device_reaches_no_node() {
        let stopped = "<meta_attributes id=\"m\"><nvpair id=\"m1\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>";
        let c = cib(&device("f1", &nvpair("a", "pcmk_host_list", "node1 node2 node3"), stopped), "");
        assert_eq!(judge(&c).unwrap().len(), 3);
    }

    #[test]
    fn host_check_none_and_watchdog_reach_every_node() {
        let c = cib(&device("f1", &nvpair("a", "pcmk_host_check", "none"), ""), "");
        assert_eq!(judge(&c), Ok(vec![]));
        let watchdog =
            "<cluster_property_set id=\"o\"><nvpair id=\"w\" name=\"stonith-watchdog-timeout\" value=\"10s\"/></cluster_property_set>";
        assert_eq!(judge(&cib("", watchdog)), Ok(vec![]));
        let off = "<cluster_property_set id=\"o\"><nvpair id=\"w\" name=\"stonith-watchdog-timeout\" value=\"0\"/></cluster_property_set>";
        assert_eq!(judge(&cib("", off)).unwrap().len(), 3);
    }

    #[test]
    fn a_device_without_a_host_list_leaves_the_question_to_the_agent() {
        let c = cib(
            &[device("f1", &nvpair("a", "pcmk_host_list", "node1"), ""), device("f2", &nvpair("b", "ipaddr", "10.0.0.9"), "")].concat(),
            "",
        );
        let why = judge(&c).unwrap_err();
        assert!(why.contains("node2, node3") && why.contains("f2 names no hosts"), "{why}");
    }

    /// A level does not make a device able to fence its target: the fencer
    /// asks each device (`can_fence_host_with_device()`), topology or not.
    #[test]
    fn a_fencing_level_fences_its_target_only_with_devices_that_can() {
        let level = |devices: &str| format!("<fencing-level id=\"l-{devices}\" target=\"node3\" index=\"1\" devices=\"{devices}\"/>");
        let narrow = device("f1", &nvpair("a", "pcmk_host_list", "node1 node2"), "");
        let wide = device("f2", &nvpair("b", "pcmk_host_list", "node1 node2 node3"), "");
        let with =
            |resources: &str, levels: &str| cib_with_topology(resources, "", &format!("<fencing-topology>{levels}</fencing-topology>"));
        assert_eq!(judge(&with(&narrow, &level("f1"))), Ok(vec!["node3".to_string()]));
        let both = [narrow.clone(), wide.clone()].concat();
        // node3's levels alone fence it: a device that could, outside them, is not used.
        assert_eq!(judge(&with(&both, &level("f1"))), Ok(vec!["node3".to_string()]));
        assert_eq!(judge(&with(&both, &[level("f1"), level("f2")].concat())), Ok(vec![]));
        // Every device of a level must fence the target.
        assert_eq!(judge(&with(&both, &level("f1,f2"))), Ok(vec!["node3".to_string()]));
        // A level naming a device the CIB lacks fences nothing.
        assert_eq!(judge(&with(&wide, &level("gone"))), Ok(vec!["node3".to_string()]));
        // A level whose device names no hosts leaves it to the agent.
        let dynamic = device("f3", &nvpair("c", "ipaddr", "10.0.0.9"), "");
        assert!(judge(&with(&[wide, dynamic].concat(), &level("f3"))).unwrap_err().contains("f3 names no hosts"));
    }
}
