//! Before an upgrade: a rolling upgrade on a live cluster, one node at a time
//! replaced by a node of the next release, the cluster whole and the service
//! running after every step.

use std::time::{Duration, Instant};

use cucumber::then;
use pcmk_model::measurement::{Kind, Measurement};
use pcmk_model::node::Distro;

use crate::run_context::Mode;
use crate::support::ensure_authored;
use crate::world::PolicyWorld;

#[then(expr = "replacing each node in turn by a {word} node keeps the cluster quorate and {string} running")]
async fn rolling_upgrade(world: &mut PolicyWorld, distro: String, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    world.require_live("a rolling upgrade")?;
    ensure_authored!(world, world.destructive, "this step replaces every node: tag the scenario @destructive");
    let distro: Distro = distro.parse().map_err(|e: String| world.authoring(e))?;
    // The cluster first: the turn to start it, held since the scenario began, should not wait on an image build.
    let live = world.live().await?;
    let Mode::Live { docker, .. } = &world.ctx.mode else { unreachable!("checked live above") };
    let docker = docker.clone();
    let newer = world.infra(crate::engine::node_image(&docker, distro).await)?;
    let names: Vec<String> = live.cluster.node_names().iter().map(|n| n.to_string()).collect();
    crate::failover::wait_running(world, &resource).await?;
    for (step, node) in names.iter().enumerate() {
        let started = Instant::now();
        world.infra(live.cluster.replace_node(node, &newer).await)?;
        world.changed_cluster().await;
        let at = |what: String| format!("step {} of {} ({node} replaced by a {distro} node): {what}", step + 1, names.len());
        if let Err(why) = world.wait_whole(Duration::from_secs(120)).await? {
            return Err(world.fails(at(format!("the cluster did not become whole again: {why}"))));
        }
        let running = crate::failover::wait_running(world, &resource).await.map_err(|e| anyhow::anyhow!(at(e.to_string())))?;
        let version = world.infra(live.cluster.package_versions(node, &["pacemaker"]).await)?;
        let took = started.elapsed();
        let what = format!(
            "rolling upgrade step {}: {node} back with pacemaker {} in {:.1}s, `{resource}` on {running}",
            step + 1,
            version.get("pacemaker").map(String::as_str).unwrap_or("?"),
            took.as_secs_f64()
        );
        crate::failover::record(world, Measurement::new(Kind::UpgradeStep, what).took(took));
    }
    Ok(())
}

/// The release the rolling-upgrade step above names (`… by a trixie node …`), if `step` is that step.
pub(crate) fn distro_named(step: &str) -> Option<Distro> {
    let rest = step.strip_prefix("replacing each node in turn by a ")?;
    let (word, _) = rest.split_once(" node keeps the cluster quorate and ")?;
    word.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_upgrade_step_names_its_release_and_no_other_step_does() {
        use super::{distro_named, Distro};
        assert_eq!(
            distro_named("replacing each node in turn by a trixie node keeps the cluster quorate and \"web\" running"),
            Some(Distro::Trixie)
        );
        assert_eq!(distro_named("replacing each node in turn by a ${newer} node keeps the cluster quorate and \"web\" running"), None);
        assert_eq!(distro_named("the cluster is quorate"), None);
    }
}
