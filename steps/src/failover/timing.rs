//! When corosync can have noticed a fault, and the figures measured from
//! it: each with corosync's floor and the service level its step asserts,
//! for the reports to draw them side by side.

use std::time::{Duration, Instant, SystemTime};

use pcmk_model::measurement::{Kind, Measurement};

use crate::run_context::LiveCluster;
use crate::world::{Fault, PolicyWorld};

/// token + consensus as the running corosync has them, in ms.
async fn corosync_floor(world: &mut PolicyWorld, node: &str) -> anyhow::Result<u64> {
    let mut total = 0;
    for key in ["runtime.config.totem.token", "runtime.config.totem.consensus"] {
        let out = world.exec(node, &["corosync-cmapctl", "-g", key]).await?;
        let value = out.stdout.rsplit(" = ").next().and_then(|v| v.trim().parse::<u64>().ok());
        total += world.infra(value.ok_or_else(|| anyhow::anyhow!("{key} unreadable on {node}: {}", out.stdout.trim())))?;
    }
    Ok(total)
}

/// Waits until `observer`'s corosync can have noticed the fault: token +
/// consensus after it. Until then no node's view can differ from the one
/// before the fault, so none is asked (each view costs about 45 ms of CPU).
pub(crate) async fn until_corosync_can_notice(world: &mut PolicyWorld, fault: &Fault, observer: &str) -> anyhow::Result<Duration> {
    let floor = Duration::from_millis(corosync_floor(world, observer).await?);
    // Kept for the figures of later steps (fencing), which do not ask again.
    if let Ok(live) = world.live().await {
        let _ = live.corosync_floor.set(floor);
    }
    tokio::time::sleep((fault.at + floor).saturating_duration_since(Instant::now())).await;
    Ok(floor)
}

/// Records a figure measured in this scenario.
pub(crate) fn record(world: &PolicyWorld, measurement: Measurement) {
    world.ctx.record_measurement(measurement.scenario(world.scenario.clone()));
}

/// How long after the fault the harness fenced its node, if it did.
pub(super) fn fenced_after(live: &LiveCluster, fault: &Fault) -> Option<Duration> {
    // Fence actions carry the wall clock; the fault, the monotonic one.
    let fault_at = SystemTime::now().checked_sub(fault.at.elapsed())?;
    live.cluster
        .fence_actions()
        .into_iter()
        .filter(|a| a.target == fault.node && a.succeeded)
        .find_map(|a| a.at.duration_since(fault_at).ok())
}

/// Records how long after `fault` a `kind` of thing happened, with the bounds that apply.
pub(super) fn record_since(
    world: &PolicyWorld,
    fault: &Fault,
    kind: Kind,
    floor: Option<Duration>,
    seconds: u64,
    what: impl FnOnce(f64) -> String,
) {
    let took = fault.at.elapsed();
    record(world, Measurement::new(kind, what(took.as_secs_f64())).took(took).floor(floor).slo(Duration::from_secs(seconds)));
}
