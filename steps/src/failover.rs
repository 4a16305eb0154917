//! High availability under real faults: a node killed, a daemon killed or
//! hung, a monitor failing, a node cut off, packets lost. Timing is polled at 250 ms from
//! the floor corosync itself imposes (token + consensus after the fault) to
//! the resource running again.

mod fencing_faults;
mod loss;
mod partition;
mod placement;
mod timing;

use pcmk_model::node::COROSYNC_CONF;
use pcmk_model::scope::Evidence;
use std::time::{Duration, Instant};

use cucumber::{then, when};
use pcmk_model::measurement::{Kind, Measurement};
use pcmk_model::node::Service;

use crate::support::{ensure_authored, ensure_policy, fail_policy};
use crate::world::{Fault, PolicyWorld};
use placement::location;
pub(crate) use placement::{running_now, wait_running};
use timing::{fenced_after, record_since};
pub(crate) use timing::{record, until_corosync_can_notice};

const POLL: Duration = Duration::from_millis(250);

async fn running_on(world: &mut PolicyWorld, resource: &str) -> anyhow::Result<String> {
    world.require_live("failover")?;
    ensure_authored!(world, world.destructive, "this step breaks the cluster: tag the scenario @destructive");
    wait_running(world, resource).await
}

fn fault(world: &PolicyWorld) -> anyhow::Result<Fault> {
    world.fault.clone().ok_or_else(|| world.authoring("no fault was injected before this step"))
}

#[when(expr = "the node running {string} is killed")]
async fn kill_node_running(world: &mut PolicyWorld, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let victim = running_on(world, &resource).await?;
    let live = world.live().await?;
    world.infra(live.cluster.kill_node(&victim).await)?;
    world.fault = Some(Fault { node: victim, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

#[when(expr = "{string} fails its monitor")]
async fn fail_monitor(world: &mut PolicyWorld, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let node = running_on(world, &resource).await?;
    let out = world.exec(&node, &["crm_resource", "--fail", "--resource", &resource, "--node", &node]).await?;
    if !out.success() {
        return world.infra(Err(anyhow::anyhow!("crm_resource --fail on {node}: {}", out.stderr.trim())));
    }
    world.fault = Some(Fault { node, at: Instant::now(), resource });
    Ok(())
}

#[then(expr = "{string} runs on another node within {int} seconds")]
async fn moved_within(world: &mut PolicyWorld, resource: String, seconds: u64) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let live = world.live().await?;
    let survivor = live.cluster.nodes().iter().find(|n| n.name != fault.node).map(|n| n.name.clone()).expect("two or more nodes");
    let deadline = fault.at + Duration::from_secs(seconds);
    let floor = until_corosync_can_notice(world, &fault, &survivor).await?;
    loop {
        // A survivor's view may fail while it re-forms membership; that is not the answer yet.
        if let Ok((_, nodes)) = location(world, &survivor, &resource).await {
            if let Some(node) = nodes.iter().find(|n| **n != fault.node) {
                record_since(world, &fault, Kind::Failover, Some(floor), seconds, |took| {
                    format!(
                        "failover of {resource} from {} to {node}: {took:.2}s (corosync token + consensus: {:.2}s; above it: {:.2}s)",
                        fault.node,
                        floor.as_secs_f64(),
                        took - floor.as_secs_f64()
                    )
                });
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            // Pacemaker moves a lost node's resources once it is fenced: the bound holds token + consensus and the fencing.
            let fenced = match fenced_after(&live, &fault) {
                Some(took) => format!("fenced {:.2}s after the fault", took.as_secs_f64()),
                None => "not fenced".to_string(),
            };
            fail_policy!(
                world,
                "`{resource}` did not run on another node within {seconds}s of the fault on {} (corosync token + consensus: {:.2}s; {} {fenced})",
                fault.node,
                floor.as_secs_f64(),
                fault.node
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[then(expr = "{string} is running again within {int} seconds")]
async fn recovered_within(world: &mut PolicyWorld, resource: String, seconds: u64) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let live = world.live().await?;
    let observer = live.cluster.nodes()[0].name.clone();
    let deadline = fault.at + Duration::from_secs(seconds);
    loop {
        let failcount = world.exec(&observer, &["crm_failcount", "--query", "--resource", &resource, "--node", &fault.node]).await?;
        let counted = failcount.stdout.split("value=").nth(1).and_then(|v| v.trim().parse::<u32>().ok()).unwrap_or(0) > 0;
        if let Ok((_, nodes)) = location(world, &observer, &resource).await {
            if counted && !nodes.is_empty() {
                // A monitor failure is local: corosync's floor does not apply.
                record_since(world, &fault, Kind::Recovery, None, seconds, |took| {
                    format!("{resource} recovered on {} {took:.2}s after its monitor failed on {}", nodes.join(", "), fault.node)
                });
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            fail_policy!(
                world,
                "`{resource}` was not running again within {seconds}s of failing on {} (fail count recorded: {counted})",
                fault.node
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[then(expr = "the killed node was fenced")]
async fn victim_fenced(world: &mut PolicyWorld) -> anyhow::Result<()> {
    was_fenced(world).await
}

/// The same check, worded for a fault that leaves the node running (a hung daemon).
#[then(expr = "the faulted node was fenced")]
async fn faulted_fenced(world: &mut PolicyWorld) -> anyhow::Result<()> {
    was_fenced(world).await
}

/// The fault's node was fenced: by the harness at the cluster's request, and in
/// the cluster's own fencing history. Recorded with the failover's bound.
async fn was_fenced(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let fault = fault(world)?;
    let live = world.live().await?;
    let by_harness = live.cluster.fence_actions().into_iter().any(|a| a.target == fault.node && a.succeeded);
    let survivor =
        others(world, &fault).await?.into_iter().next().ok_or_else(|| world.authoring("a one-node cluster has no survivor to ask"))?;
    let history = world.exec(&survivor, &["stonith_admin", "--history", &fault.node]).await?;
    let in_history = history.stdout.lines().any(|l| l.contains("successful") || l.contains(" was able to "));
    ensure_policy!(
        world,
        by_harness && in_history,
        "{} was not fenced (harness carried out a fencing action: {by_harness}; stonith_admin --history {}: {})",
        fault.node,
        fault.node,
        history.stdout.trim()
    );
    let what = format!("fencing of {}: {}", fault.node, history.stdout.lines().next().unwrap_or("").trim());
    // Pacemaker moves a lost node's resources only once it is fenced, so the failover's bound holds the fencing too.
    let slo =
        world.ctx.measurements().into_iter().rev().find(|m| m.kind == Kind::Failover && m.scenario == world.scenario).and_then(|m| m.slo);
    record(
        world,
        Measurement::new(Kind::Fencing, what).took(fenced_after(&live, &fault)).floor(live.corosync_floor.get().copied()).slo(slo),
    );
    Ok(())
}

#[when(expr = "the killed node is started again")]
async fn restart_victim(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let fault = fault(world)?;
    let live = world.live().await?;
    world.infra(live.cluster.start_node(&fault.node).await)?;
    world.changed_cluster().await;
    Ok(())
}

#[then(expr = "the cluster is quorate with every node online within {int} seconds")]
async fn whole_again(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    world.require_live("cluster membership")?;
    // Membership and quorum follow corosync.conf: one the harness made says nothing of the candidate.
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    world
        .wait_whole(Duration::from_secs(seconds))
        .await?
        .map_err(|why| world.fails(format!("the cluster did not return to full membership within {seconds}s: {why}")))
}

#[then(expr = "the cluster is quorate with every node online")]
async fn quorate_and_complete(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("cluster membership")?;
    // Membership and quorum follow corosync.conf: one the harness made says nothing of the candidate.
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    world.wait_whole(Duration::ZERO).await?.map_err(|why| world.fails(format!("the cluster is not whole: {why}")))
}

#[when(expr = "{word} is killed on the node running {string}")]
async fn kill_daemon(world: &mut PolicyWorld, daemon: String, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let service = match daemon.as_str() {
        "corosync" => Service::Corosync,
        "pacemakerd" => Service::Pacemaker,
        other => return Err(world.authoring(format!("`{other}` is not a daemon this step kills (corosync, pacemakerd)"))),
    };
    let node = running_on(world, &resource).await?;
    let live = world.live().await?;
    world.infra(live.cluster.service(&node, pcmk_containers::cluster::ServiceAction::Kill, service).await)?;
    world.fault = Some(Fault { node, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

#[when(expr = "corosync is paused on the node running {string}")]
async fn pause_corosync(world: &mut PolicyWorld, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let node = running_on(world, &resource).await?;
    let live = world.live().await?;
    // SIGSTOP: the process stays, so the node looks alive to itself while the others lose it.
    world.infra(live.cluster.service(&node, pcmk_containers::cluster::ServiceAction::Pause, Service::Corosync).await)?;
    world.fault = Some(Fault { node, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

/// Nodes other than the fault's, in cluster order.
async fn others(world: &mut PolicyWorld, fault: &Fault) -> anyhow::Result<Vec<String>> {
    let live = world.live().await?;
    Ok(live.cluster.nodes().iter().filter(|n| n.name != fault.node).map(|n| n.name.clone()).collect())
}

#[then(expr = "{string} runs on some node within {int} seconds")]
async fn available_within(world: &mut PolicyWorld, resource: String, seconds: u64) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let observers = others(world, &fault).await?;
    let deadline = fault.at + Duration::from_secs(seconds);
    // Judged only once corosync can have noticed the fault, not on the view from before it.
    let floor = until_corosync_can_notice(world, &fault, &observers[0]).await?;
    loop {
        for observer in &observers {
            if let Ok((status, nodes)) = location(world, observer, &resource).await {
                let members = status.members();
                if status.quorate && nodes.iter().any(|n| members.contains(&n.as_str())) {
                    record_since(world, &fault, Kind::Availability, Some(floor), seconds, |took| {
                        format!("{resource} available on {} {took:.2}s after the fault on {}", nodes.join(", "), fault.node)
                    });
                    return Ok(());
                }
            }
        }
        ensure_policy!(
            world,
            Instant::now() < deadline,
            "`{resource}` was not running on a quorate partition within {seconds}s of the fault on {}",
            fault.node
        );
        tokio::time::sleep(POLL).await;
    }
}

#[then(expr = "the node where it was killed is fenced or back in the cluster within {int} seconds")]
async fn fenced_or_back(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    let fault = fault(world)?;
    let observers = others(world, &fault).await?;
    let deadline = fault.at + Duration::from_secs(seconds);
    loop {
        let live = world.live().await?;
        if let Some(took) = fenced_after(&live, &fault) {
            let what = format!("fencing of {}: {:.2}s after the fault", fault.node, took.as_secs_f64());
            record(
                world,
                Measurement::new(Kind::Fencing, what)
                    .took(took)
                    .floor(live.corosync_floor.get().copied())
                    .slo(Duration::from_secs(seconds)),
            );
            return Ok(());
        }
        let why_not = match back_in_cluster(&live.cluster, &fault.node, &observers[0]).await {
            Ok(()) => return Ok(()),
            Err(why_not) => why_not,
        };
        ensure_policy!(world, Instant::now() < deadline, "{} was neither fenced nor back in the cluster within {seconds}s ({why_not}): a node in an unknown state can still write to shared data", fault.node);
        tokio::time::sleep(POLL).await;
    }
}

/// Back means running its own corosync and pacemakerd, and a member of a quorate
/// partition in its own view and another node's. Another node's view alone can
/// be a second old, and a dead corosync looks alive in it until the token expires.
/// Err says how the node is not back.
async fn back_in_cluster(cluster: &crate::engine::Engine, node: &str, observer: &str) -> Result<(), String> {
    let running = cluster.running_services(node).await.unwrap_or_default();
    for daemon in [Service::Corosync, Service::Pacemaker] {
        if !running.contains(&daemon) {
            return Err(format!("{} is not running on {node}", daemon.as_str()));
        }
    }
    for asked in [node, observer] {
        match cluster.status(asked).await {
            Ok(status) if status.quorate && status.members().contains(&node) => {}
            Ok(_) => return Err(format!("{asked} does not see {node} as a member of a quorate partition")),
            Err(e) => return Err(format!("no status from {asked}: {e}")),
        }
    }
    Ok(())
}

#[when(expr = "every node but the one running {string} is killed")]
async fn kill_all_but_one(world: &mut PolicyWorld, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    let survivor = running_on(world, &resource).await?;
    let live = world.live().await?;
    for node in live.cluster.nodes().iter().filter(|n| n.name != survivor) {
        world.infra(live.cluster.kill_node(&node.name).await)?;
    }
    world.fault = Some(Fault { node: survivor, at: Instant::now(), resource });
    world.changed_cluster().await;
    Ok(())
}

#[then(expr = "{string} stops on the remaining node within {int} seconds")]
async fn stops_without_quorum(world: &mut PolicyWorld, resource: String, seconds: u64) -> anyhow::Result<()> {
    // Membership and quorum follow corosync.conf: one the harness made says nothing of the candidate.
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    let resource = world.subject_resource(&resource).await?;
    let fault = fault(world)?;
    let deadline = fault.at + Duration::from_secs(seconds);
    let floor = until_corosync_can_notice(world, &fault, &fault.node).await?;
    loop {
        let view = location(world, &fault.node, &resource).await;
        let (status, nodes) = world.infra(view)?;
        if !nodes.contains(&fault.node) {
            record_since(world, &fault, Kind::QuorumLoss, Some(floor), seconds, |took| {
                format!("{resource} stopped on {} {took:.2}s after quorum was lost", fault.node)
            });
            return Ok(());
        }
        ensure_policy!(
            world,
            Instant::now() < deadline,
            "`{resource}` still runs on {} {seconds}s after it lost quorum (quorate: {}): no-quorum-policy must stop it",
            fault.node,
            status.quorate
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Every primitive of the candidate's CIB, including those in groups and clones.
fn configured_primitives(cib: &str) -> Vec<String> {
    pcmk_model::text::parse_xml(cib)
        .map(|doc| {
            doc.descendants().filter(|n| n.has_tag_name("primitive")).filter_map(|n| n.attribute("id").map(str::to_string)).collect()
        })
        .unwrap_or_default()
}

#[then(expr = "every resource in the candidate's configuration is active within {int} seconds")]
async fn all_resources_active(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    world.require_live("checking resources")?;
    let Some(cib) = world.ctx.candidate.file_at(pcmk_model::node::CIB_XML) else {
        return Err(world.not_applicable("the candidate has no cib.xml, so it configures no resources to check"));
    };
    let wanted = configured_primitives(&String::from_utf8_lossy(&cib.content));
    let live = world.live().await?;
    let first = world.first_node().await?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let status = world.infra(live.cluster.status(&first).await)?;
        let mut problems = Vec::new();
        for id in &wanted {
            let states: Vec<_> = status.resources.iter().filter(|r| r.id == *id || r.id.split(':').next() == Some(id.as_str())).collect();
            if states.is_empty() {
                problems.push(format!("`{id}` is not in the running configuration: the cluster dropped or rejected it"));
            } else if !states.iter().any(|r| r.active && !r.failed) {
                problems.push(format!("`{id}` is not running ({})", states.iter().map(|r| r.role.as_str()).collect::<Vec<_>>().join(", ")));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            fail_policy!(world, "after {seconds}s: {}", problems.join("; "));
        }
        tokio::time::sleep(POLL).await;
    }
}
