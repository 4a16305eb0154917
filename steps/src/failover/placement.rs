//! Where a resource runs, as the nodes a fault spared see it.

use crate::support::ensure_policy;
use std::time::{Duration, Instant};

use pcmk_model::status::ClusterStatus;

use super::POLL;
use crate::engine::Fault;
use crate::world::PolicyWorld;

/// Where `resource` is active, as seen from `from`. A view that fails is the
/// caller's to judge (a node a fault took down answers nothing): only a caller
/// that gives up on it makes it an infrastructure error.
pub(super) async fn location(world: &mut PolicyWorld, from: &str, resource: &str) -> anyhow::Result<(ClusterStatus, Vec<String>)> {
    let live = world.live().await?;
    let status = live.cluster.status(from).await.map_err(Fault::judged_by_caller)?;
    let nodes = status.resources.iter().filter(|r| r.id == resource && r.active).flat_map(|r| r.nodes.clone()).collect();
    Ok((status, nodes))
}

/// Where `resource` runs now, as the first node that answers sees it (never
/// the one a fault in this scenario took down); None while no node says.
pub(crate) async fn running_now(world: &mut PolicyWorld, resource: &str) -> Option<String> {
    let faulted = world.fault.as_ref().map(|f| f.node.clone());
    let askable: Vec<String> =
        world.live().await.ok()?.cluster.node_names().into_iter().filter(|n| faulted.as_deref() != Some(*n)).map(str::to_string).collect();
    for node in &askable {
        if let Ok((_, nodes)) = location(world, node, resource).await {
            return nodes.into_iter().next();
        }
    }
    None
}

/// The node `resource` runs on, waiting up to a minute for it to start, as
/// seen by the first node that answers (never the one a fault in this
/// scenario took down).
pub(crate) async fn wait_running(world: &mut PolicyWorld, resource: &str) -> anyhow::Result<String> {
    let faulted = world.fault.as_ref().map(|f| f.node.clone());
    let askable: Vec<String> =
        world.live().await?.cluster.node_names().into_iter().filter(|n| faulted.as_deref() != Some(*n)).map(str::to_string).collect();
    // A fresh cluster starts its resources a few seconds after it is ready.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut view = None;
        let mut silent = None;
        for node in &askable {
            match location(world, node, resource).await {
                Ok(answer) => {
                    view = Some(answer);
                    break;
                }
                Err(e) => silent = Some(e.context(format!("asking {node} where `{resource}` runs"))),
            }
        }
        match view {
            Some((status, nodes)) => {
                ensure_policy!(world, status.resources.iter().any(|r| r.id == resource), "the running CIB has no resource `{resource}`");
                if let Some(node) = nodes.into_iter().next() {
                    return Ok(node);
                }
                ensure_policy!(
                    world,
                    Instant::now() < deadline,
                    "`{resource}` did not start anywhere within 60s, so there is nothing to fail over"
                );
            }
            // No node answers for a minute: the harness cannot see the cluster.
            None if Instant::now() >= deadline => {
                return world.infra(Err(silent.unwrap_or_else(|| anyhow::anyhow!("no node to ask where `{resource}` runs"))))
            }
            None => {}
        }
        tokio::time::sleep(POLL).await;
    }
}
