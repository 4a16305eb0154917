//! Fencing that fails or is slow, as fence_dummy's modes in Pacemaker's
//! cts-fencing: the harness's fence device answers every request with a
//! failure and powers nothing off, or powers the node off only after a
//! delay. A lost node may still run its resources, so Pacemaker must never
//! start them elsewhere until a fencing succeeds, must report the failed
//! attempts (`stonith_admin --history NODE --verbose`), and must wait for a
//! slow device as long as its fencing timeout allows.

use std::time::{Duration, Instant, SystemTime};

use cucumber::{then, when};
use pcmk_model::measurement::{Kind, Measurement};

use pcmk_containers::fence::FenceMode;

use super::{fault, fenced_after, location, record, record_since, until_corosync_can_notice, POLL};
use crate::facts::{CibFacts, FencingLevel};
use crate::support::{ensure_authored, ensure_policy, fail_policy};
use crate::world::PolicyWorld;

#[when(expr = "every fencing request fails")]
async fn fencing_fails(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("failover")?;
    ensure_authored!(world, world.destructive, "this step breaks the cluster: tag the scenario @destructive");
    let live = world.live().await?;
    world.infra(live.cluster.set_fence_mode(FenceMode::Fails))?;
    Ok(())
}

/// Each node's fencing levels in the CIB, lowest index first (levels that
/// name a node and at least one device).
fn levels_of<'a>(cib: &'a CibFacts, node: &str) -> Vec<&'a FencingLevel> {
    let mut levels: Vec<&FencingLevel> =
        cib.fencing_levels.iter().filter(|l| l.target.as_deref() == Some(node) && !l.devices.is_empty()).collect();
    levels.sort_by_key(|l| l.index);
    levels
}

#[when(expr = "the first fencing level fails for every node")]
async fn first_level_fails(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("failover")?;
    ensure_authored!(world, world.destructive, "this step breaks the cluster: tag the scenario @destructive");
    let cib = world.cib().await?;
    let live = world.live().await?;
    // Per target: a device first for one node may be the fallback of another.
    let mut failing: Vec<(String, String)> = Vec::new();
    for node in live.cluster.node_names() {
        if let Some(first) = levels_of(&cib, node).first() {
            failing.extend(first.devices.iter().map(|d| (node.to_string(), d.clone())));
        }
    }
    if failing.is_empty() {
        return Err(world.not_applicable(
            "the CIB has no fencing-topology level that names a node and its devices, so there is no next level to fall back to: \
             add a fencing-topology with a second level (another device) for each node to have this proven",
        ));
    }
    world.infra(live.cluster.set_fence_mode(FenceMode::FailsOn(failing)))?;
    Ok(())
}

#[then(expr = "the faulted node was fenced by its next fencing level")]
async fn fenced_by_next_level(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let fault = fault(world)?;
    let cib = world.cib().await?;
    let levels = levels_of(&cib, &fault.node);
    let origin = world.facts().await?.cib_origin.clone();
    ensure_policy!(
        world,
        levels.len() >= 2,
        "{} has {} fencing level(s) in {origin}: when its first fails, no other level can fence it",
        fault.node,
        levels.len()
    );
    let (first, later) = (&levels[0].devices, &levels[1..]);
    let live = world.live().await?;
    let fault_wall = SystemTime::now().checked_sub(fault.at.elapsed()).unwrap_or(SystemTime::UNIX_EPOCH);
    let actions: Vec<_> = live.cluster.fence_actions().into_iter().filter(|a| a.target == fault.node && a.at >= fault_wall).collect();
    let in_first = |a: &&pcmk_containers::fence::FenceAction| a.device.as_ref().is_some_and(|d| first.contains(d));
    let failed_first = actions.iter().filter(|a| !a.succeeded).filter(in_first).count();
    let by_later = actions.iter().find(|a| a.succeeded && a.device.as_ref().is_some_and(|d| later.iter().any(|l| l.devices.contains(d))));
    let tried: Vec<String> = actions
        .iter()
        .map(|a| format!("{} {}", a.device.as_deref().unwrap_or("?"), if a.succeeded { "fenced" } else { "failed" }))
        .collect();
    ensure_policy!(
        world,
        failed_first > 0,
        "the first fencing level of {} ({}) was never tried after the fault (requests: {})",
        fault.node,
        first.join(", "),
        if tried.is_empty() { "none".to_string() } else { tried.join(", ") }
    );
    let Some(fenced) = by_later else {
        fail_policy!(
            world,
            "{} was not fenced by a later level ({}) once its first level ({}) failed (requests: {})",
            fault.node,
            later.iter().map(|l| format!("level {}: {}", l.index, l.devices.join(", "))).collect::<Vec<_>>().join("; "),
            first.join(", "),
            tried.join(", ")
        );
    };
    let took = fenced.at.duration_since(fault_wall).unwrap_or_default();
    let device = fenced.device.clone().unwrap_or_default();
    record(
        world,
        Measurement::new(
            Kind::Fencing,
            format!(
                "fencing of {} by {device} (a later level) {:.2}s after the fault, after {failed_first} failure(s) of its first level ({})",
                fault.node,
                took.as_secs_f64(),
                first.join(", ")
            ),
        )
        .took(Some(took)),
    );
    Ok(())
}

#[when(expr = "fencing takes {int} seconds")]
async fn fencing_is_slow(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    world.require_live("failover")?;
    ensure_authored!(world, world.destructive, "this step breaks the cluster: tag the scenario @destructive");
    ensure_authored!(world, (1..=600).contains(&seconds), "`{seconds}` seconds is no fencing delay (1 to 600)");
    let live = world.live().await?;
    world.infra(live.cluster.set_fence_mode(FenceMode::Slow(Duration::from_secs(seconds))))?;
    Ok(())
}

#[then(expr = "{string} runs on another node within {int} seconds, only after its node is fenced")]
async fn moved_once_fenced(world: &mut PolicyWorld, resource: String, seconds: u64) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let live = world.live().await?;
    let survivor = live.cluster.node_names().into_iter().find(|n| *n != fault.node).map(str::to_string).expect("two or more nodes");
    let deadline = fault.at + Duration::from_secs(seconds);
    let floor = until_corosync_can_notice(world, &fault, &survivor).await?;
    loop {
        if let Ok((_, nodes)) = location(world, &survivor, &resource).await {
            if let Some(node) = nodes.iter().find(|n| **n != fault.node) {
                let took = fault.at.elapsed().as_secs_f64();
                let Some(fenced) = fenced_after(&live, &fault) else {
                    fail_policy!(
                        world,
                        "`{resource}` runs on {node} {took:.1}s after {} was lost, before any fencing of it succeeded: it may run twice",
                        fault.node
                    );
                };
                record_since(world, &fault, Kind::Failover, Some(floor), seconds, |took| {
                    format!(
                        "failover of {resource} from {} to {node} behind slow fencing: {took:.2}s, {:.2}s after the fencing (corosync token + consensus: {:.2}s)",
                        fault.node,
                        took - fenced.as_secs_f64(),
                        floor.as_secs_f64()
                    )
                });
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            let attempts: Vec<_> = live.cluster.fence_actions().into_iter().filter(|a| a.target == fault.node).collect();
            let history = world.exec(&survivor, &["stonith_admin", "--history", &fault.node, "--verbose"]).await?;
            let failed =
                reported_failure(&history.stdout, &fault.node).map_or(String::new(), |l| format!("; {survivor}'s fencer history: {l}"));
            fail_policy!(
                world,
                "`{resource}` did not run on another node within {seconds}s of {} being lost: the device was asked {} time(s) and powered it off {} time(s), yet the cluster does not count it fenced (a fencing timeout shorter than the device takes?){failed}",
                fault.node,
                attempts.len(),
                attempts.iter().filter(|a| a.succeeded).count()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The line of `stonith_admin --history` that reports a failed fencing of `target`.
fn reported_failure<'a>(history: &'a str, target: &str) -> Option<&'a str> {
    // "reboot of node2 failed: delegate=…" (2.1), "… failed (Fence agent did not complete within 5s): …"; others name nodes too.
    let failed = format!(" of {target} failed");
    history.lines().map(str::trim).find(|l| l.contains(&failed))
}

#[then(expr = "for {int} seconds {string} runs on no other node while its node is unfenced, and the failed fencing is reported")]
async fn never_elsewhere_unfenced(world: &mut PolicyWorld, seconds: u64, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let live = world.live().await?;
    let others: Vec<String> = live.cluster.node_names().into_iter().filter(|n| *n != fault.node).map(str::to_string).collect();
    let fault_wall = SystemTime::now().checked_sub(fault.at.elapsed()).unwrap_or(SystemTime::UNIX_EPOCH);
    let until = fault.at + Duration::from_secs(seconds);
    let mut elsewhere = None;
    while Instant::now() < until && elsewhere.is_none() {
        // The first survivor that answers speaks for the others.
        for survivor in &others {
            let Ok((_, nodes)) = location(world, survivor, &resource).await else { continue };
            elsewhere = nodes.into_iter().find(|n| *n != fault.node);
            break;
        }
        if elsewhere.is_none() {
            tokio::time::sleep(POLL).await;
        }
    }
    let held = fault.at.elapsed().min(Duration::from_secs(seconds));
    let live = world.live().await?;
    let attempts: Vec<_> = live.cluster.fence_actions().into_iter().filter(|a| a.target == fault.node && a.at >= fault_wall).collect();
    let failed = attempts.iter().filter(|a| !a.succeeded).count();
    let observer = others.first().cloned().expect("two or more nodes");
    // Without --verbose the history shows the last successful fencing alone.
    let history = world.exec(&observer, &["stonith_admin", "--history", &fault.node, "--verbose"]).await?;
    let reported = reported_failure(&history.stdout, &fault.node).map(str::to_string);
    let what = format!(
        "failed fencing of {}: `{resource}` {} for {:.2}s of {seconds}s; {}; {observer}'s fencer history: {}",
        fault.node,
        elsewhere.as_deref().map_or("ran nowhere else".to_string(), |n| format!("ran on {n}")),
        held.as_secs_f64(),
        if failed == 0 {
            format!("the cluster never asked to fence {}", fault.node)
        } else {
            format!("{failed} request(s) to fence {}, all failed", fault.node)
        },
        reported.as_deref().unwrap_or("no failure")
    );
    record(world, Measurement::new(Kind::FailedFencing, what).took(held).slo(Duration::from_secs(seconds)));
    if let Some(node) = elsewhere {
        let fenced =
            if attempts.is_empty() { "never asked to be fenced".to_string() } else { format!("{failed} fencing attempt(s), all failed") };
        fail_policy!(
            world,
            "{:.1}s after {} was lost, `{resource}` runs on {node} while {} ({fenced}) may still run it: a lost node's resources start elsewhere only once it is fenced",
            held.as_secs_f64(),
            fault.node,
            fault.node
        );
    }
    ensure_policy!(world, failed > 0, "the cluster never asked to fence {} within {seconds}s of losing it", fault.node);
    ensure_policy!(
        world,
        reported.is_some(),
        "{failed} fencing attempt(s) of {} failed, but `stonith_admin --history {} --verbose` on {observer} reports no failure: {}",
        fault.node,
        fault.node,
        history.stdout.trim()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fencing_is_read_from_the_history() {
        let failed =
            "reboot of node2 failed: delegate=node3, client=pacemaker-controld.105, origin=node3, completed='2026-12-07 02:18:16Z'\n";
        assert_eq!(reported_failure(failed, "node2"), Some(failed.trim()));
        assert_eq!(reported_failure(failed, "node3"), None);
        assert_eq!(reported_failure("reboot of node2 successful: delegate=node1\n", "node2"), None);
        let timed_out = "reboot of node2 failed (Fence agent did not complete within 5s): delegate=node1, client=pacemaker-controld.110, origin=node1, completed='2026-12-07 02:24:47Z'";
        assert_eq!(reported_failure(timed_out, "node2"), Some(timed_out));
    }
}
