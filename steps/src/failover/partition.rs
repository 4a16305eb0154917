//! Partitions: a node cut off from every cluster network, or one that no
//! longer hears the others while they still hear it (a one-way partition,
//! as Pacemaker's CTS makes one); either way the resource must never run on
//! both sides.

use std::time::{Duration, Instant};

use cucumber::{then, when};
use pcmk_model::node::COROSYNC_CONF;
use pcmk_model::scope::Evidence;

use super::{fault, running_on, until_corosync_can_notice, POLL};
use crate::support::{ensure_policy, fail_policy};
use crate::world::{Fault, PolicyWorld};

#[when(expr = "the node running {string} is cut off from the others")]
async fn cut_off(world: &mut PolicyWorld, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let node = running_on(world, &resource).await?;
    let live = world.live().await?;
    world.infra(live.cluster.disconnect_node(&node).await)?;
    world.fault = Some(Fault { node, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

#[when(expr = "the node running {string} hears none of the others")]
async fn deafened(world: &mut PolicyWorld, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let node = running_on(world, &resource).await?;
    let live = world.live().await?;
    world.infra(live.cluster.deafen_node(&node).await)?;
    world.fault = Some(Fault { node, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

#[then(expr = "{string} runs on at most one side of the partition for {int} seconds")]
async fn never_on_both_sides(world: &mut PolicyWorld, resource: String, seconds: u64) -> anyhow::Result<()> {
    // Membership and quorum follow corosync.conf: one the harness made says nothing of the candidate.
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let live = world.live().await?;
    let isolated = fault.node.clone();
    let majority: Vec<String> = live.cluster.nodes().iter().filter(|n| n.name != isolated).map(|n| n.name.clone()).collect();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut majority_took_over = false;
    let mut majority_silent = None;
    // Before that the majority cannot take the resource over: there is no second side.
    until_corosync_can_notice(world, &fault, &majority[0]).await?;
    while Instant::now() < until {
        // The majority's view first (any majority node that answers): until the majority
        // runs the resource there is no second side, so the cut-off node need not be asked.
        let mut majority_view = None;
        for node in &majority {
            match live.cluster.status(node).await {
                Ok(status) => {
                    majority_view = Some(status);
                    break;
                }
                Err(e) => majority_silent = Some(format!("{node}: {e:#}")),
            }
        }
        let Some(majority_view) = majority_view else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        // The cut-off node is a member of the majority again: one partition, nothing to compare.
        let rejoined = majority_view.members().contains(&isolated.as_str());
        let others = !rejoined
            && majority_view.resources.iter().any(|r| r.id == resource && r.active && r.nodes.iter().any(|n| majority.contains(n)));
        majority_took_over |= others;
        if others {
            let alone = match live.cluster.status(&isolated).await {
                Ok(status) => status.resources.iter().any(|r| r.id == resource && r.active && r.nodes.contains(&isolated)),
                Err(_) => false, // powered off by fencing, or pacemaker gone: not running there
            };
            if alone {
                fail_policy!(
                    world,
                    "{:.1}s after {isolated} was partitioned, `{resource}` runs on {isolated} and on the majority at once: split brain (fencing and no-quorum-policy must stop the minority)",
                    fault.at.elapsed().as_secs_f64()
                );
            }
        }
        tokio::time::sleep(POLL).await;
    }
    let silent = majority_silent.map(|why| format!(" (a majority node did not answer: {why})")).unwrap_or_default();
    ensure_policy!(
        world,
        majority_took_over,
        "the majority never took `{resource}` over within {seconds}s of {isolated} being partitioned{silent}"
    );
    Ok(())
}
