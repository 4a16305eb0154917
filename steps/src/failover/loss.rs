//! Packet loss on corosync's links: a share of the UDP to and from
//! corosync's ports dropped on one node (an nftables table of the harness's
//! own), and a window in which the cluster must ride it out: nobody fenced,
//! the resource where it ran, every node a member. Corosync's retransmits in
//! the window are recorded beside it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use cucumber::{then, when};
use pcmk_containers::cluster::{LossCounts, Verb};
use pcmk_model::corosync_conf::CorosyncConf;
use pcmk_model::measurement::{Kind, Measurement};
use pcmk_model::node::COROSYNC_CONF;
use pcmk_model::scope::Evidence;

use super::{fault, location, record, running_on, POLL};
use crate::support::{ensure_authored, ensure_policy};
use crate::world::{Fault, PolicyWorld};

/// Corosync's port when its link names none: 5405 for link 0, one more per link (knet).
const DEFAULT_PORT: u16 = 5405;

/// The ports corosync listens on, one per link, as `conf` sets them
/// (`totem.interface { linknumber, mcastport }`) or by default.
fn corosync_ports(conf: Option<&CorosyncConf>) -> Vec<u16> {
    let Some(conf) = conf else { return vec![DEFAULT_PORT] };
    let mut links: Vec<u8> = conf.nodes().iter().flat_map(|n| n.addrs.iter().map(|(link, _)| *link)).collect();
    links.sort();
    links.dedup();
    if links.is_empty() {
        links.push(0);
    }
    let interfaces: Vec<_> = conf.totem().map(|t| t.sections_named("interface").collect()).unwrap_or_default();
    let mut ports: Vec<u16> = links
        .iter()
        .map(|&link| {
            let set = interfaces
                .iter()
                .find(|i| i.get("linknumber").map_or(link == 0, |p| p.value.trim() == link.to_string()))
                .and_then(|i| i.get("mcastport"))
                .and_then(|p| p.value.trim().parse().ok());
            set.unwrap_or(DEFAULT_PORT + u16::from(link))
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

#[when(expr = "{int} % of corosync's packets are dropped on the node running {string}")]
async fn drop_packets(world: &mut PolicyWorld, percent: u32, resource: String) -> anyhow::Result<()> {
    ensure_authored!(world, (1..=100).contains(&percent), "`{percent} %` is no share of packets (1 to 100)");
    let resource = world.subject_resource(&resource).await?;
    let node = running_on(world, &resource).await?;
    let facts = world.facts().await?;
    let ports = corosync_ports(facts.nodes.iter().find(|n| n.name == node).and_then(|n| n.corosync_conf.as_ref()));
    let (first, last) = (ports[0], ports[ports.len() - 1]);
    let live = world.live().await?;
    let verb = Verb::PacketLoss { percent: percent as u8, first, last };
    let out = world.infra(live.cluster.supervise(&node, verb).await)?;
    if !out.success() {
        return world.infra(Err(anyhow::anyhow!("nft on {node}: {}", out.stderr.trim())));
    }
    world.fault = Some(Fault { node, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

/// Corosync's counters on every node that answers: the totem messages it
/// retransmitted (`stats.srp.mcast_retx`) and the times knet saw a link go
/// down (`stats.knet.node*.link*.down_count`), each summed over the nodes.
async fn retransmits(world: &mut PolicyWorld) -> anyhow::Result<BTreeMap<&'static str, u64>> {
    let live = world.live().await?;
    let nodes: Vec<String> = live.cluster.node_names().into_iter().map(str::to_string).collect();
    let mut sums = BTreeMap::from([("retransmits", 0), ("links down", 0)]);
    for node in &nodes {
        let Ok(out) = world.exec(node, &["corosync-cmapctl", "-m", "stats"]).await else { continue };
        for line in out.stdout.lines() {
            let Some((key, value)) = line.split_once(" = ") else { continue };
            let key = key.split(" (").next().unwrap_or(key);
            let counter = if key == "stats.srp.mcast_retx" {
                "retransmits"
            } else if key.starts_with("stats.knet.node") && key.ends_with(".down_count") {
                "links down"
            } else {
                continue;
            };
            *sums.get_mut(counter).expect("both counted") += value.trim().parse::<u64>().unwrap_or(0);
        }
    }
    Ok(sums)
}

/// What the loss rules on `node` did since the loss began: a window in which
/// they dropped nothing tested nothing, and is the harness's error.
async fn loss_counts(world: &mut PolicyWorld, node: &str) -> anyhow::Result<LossCounts> {
    let live = world.live().await?;
    let out = live.cluster.supervise(node, Verb::LossListing).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let counts = LossCounts::of_listing(&out.stdout)
        .ok_or_else(|| anyhow::anyhow!("no packet-loss rule on {node} (`nft list table inet pcmk_loss`: {})", out.stderr.trim()))?;
    if counts.dropped == 0 {
        anyhow::bail!(
            "the packet-loss rules on {node} saw {} datagram(s) to corosync's ports and dropped none: the loss never happened, so nothing was judged",
            counts.seen
        );
    }
    Ok(counts)
}

#[then(expr = "for {int} seconds no node is fenced, {string} stays where it runs and every node stays a member")]
async fn rides_out(world: &mut PolicyWorld, seconds: u64, resource: String) -> anyhow::Result<()> {
    // Membership under loss follows corosync.conf: one the harness made says nothing of the candidate.
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let live = world.live().await?;
    let everyone: Vec<String> = live.cluster.node_names().into_iter().map(str::to_string).collect();
    let observer = everyone.iter().find(|n| **n != fault.node).cloned().expect("two or more nodes");
    let fault_wall = SystemTime::now().checked_sub(fault.at.elapsed()).unwrap_or(SystemTime::UNIX_EPOCH);
    let before = retransmits(world).await?;
    let until = fault.at + Duration::from_secs(seconds);
    let (mut polls, mut unanswered, mut broken) = (0u32, 0u32, None);
    while Instant::now() < until && broken.is_none() {
        let live = world.live().await?;
        if let Some(f) = live.cluster.fence_actions().into_iter().find(|a| a.at >= fault_wall) {
            broken = Some(format!("{} asked to fence {} ({})", f.requester, f.target, f.action));
            break;
        }
        // Each node's own view, so that a node that lost the others is seen from its side too.
        for asked in [&observer, &fault.node] {
            polls += 1;
            let Ok((status, nodes)) = location(world, asked, &resource).await else {
                unanswered += 1;
                continue;
            };
            let members = status.members();
            let missing: Vec<&str> = everyone.iter().map(String::as_str).filter(|n| !members.contains(n)).collect();
            if !status.quorate || !missing.is_empty() {
                broken = Some(format!(
                    "{asked} saw {} (quorate: {})",
                    if missing.is_empty() { "every node a member".into() } else { format!("{} not a member", missing.join(", ")) },
                    status.quorate
                ));
                break;
            }
            if nodes != [fault.node.clone()] {
                let elsewhere = if nodes.is_empty() { "nowhere".to_string() } else { nodes.join(", ") };
                broken = Some(format!("{asked} saw `{resource}` running on {elsewhere}, not on {}", fault.node));
                break;
            }
        }
        tokio::time::sleep(POLL).await;
    }
    let held = fault.at.elapsed().min(Duration::from_secs(seconds));
    let after = retransmits(world).await?;
    let counts = loss_counts(world, &fault.node).await;
    let counts = world.infra(counts)?;
    let delta = |counter| after[counter].saturating_sub(before[counter]);
    let what = format!(
        "packet loss on {}: {} for {:.2}s of {seconds}s; {} of {} datagrams to and from corosync's ports dropped ({:.0} %); corosync retransmitted {} messages and knet saw {} link(s) go down (all nodes); {polls} views, {unanswered} unanswered",
        fault.node,
        broken.as_deref().unwrap_or("ridden out"),
        held.as_secs_f64(),
        counts.dropped,
        counts.seen,
        counts.dropped as f64 * 100.0 / counts.seen.max(1) as f64,
        delta("retransmits"),
        delta("links down"),
    );
    let floor = live.corosync_floor.get().copied();
    record(world, Measurement::new(Kind::PacketLoss, what).took(held).floor(floor).slo(Duration::from_secs(seconds)));
    ensure_policy!(
        world,
        broken.is_none(),
        "{:.1}s into the packet loss on {}: {}",
        held.as_secs_f64(),
        fault.node,
        broken.as_deref().unwrap_or_default()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(text: &str) -> CorosyncConf {
        CorosyncConf::parse(text, std::path::Path::new("corosync.conf")).unwrap()
    }

    #[test]
    fn corosync_ports_follow_the_links_and_their_mcastport() {
        assert_eq!(corosync_ports(None), [5405]);
        let one = "totem {\n version: 2\n}\nnodelist {\n node {\n ring0_addr: 10.0.0.1\n name: a\n nodeid: 1\n }\n}\n";
        assert_eq!(corosync_ports(Some(&conf(one))), [5405]);
        let two =
            "totem {\n version: 2\n}\nnodelist {\n node {\n ring0_addr: 10.0.0.1\n ring1_addr: 10.1.0.1\n name: a\n nodeid: 1\n }\n}\n";
        assert_eq!(corosync_ports(Some(&conf(two))), [5405, 5406]);
        let set = "totem {\n interface {\n linknumber: 1\n mcastport: 6000\n }\n}\nnodelist {\n node {\n ring0_addr: 10.0.0.1\n ring1_addr: 10.1.0.1\n }\n}\n";
        assert_eq!(corosync_ports(Some(&conf(set))), [5405, 6000]);
    }
}
