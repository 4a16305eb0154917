//! Practice 9, central logs and alerts: a log collector (rsyslog) stands in
//! for the central log server; the candidate's forwarding must bring every
//! node's cluster logs there, and a Pacemaker alert agent must report a
//! failover there with resource, node and event.

use pcmk_model::scope::Evidence;
use std::time::{Duration, Instant};

use cucumber::{given, then};
use pcmk_model::node::{Placement, Service};

use crate::facts::rsyslog::forward_targets;
use crate::support::fail_policy;
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place};

use pcmk_containers::cluster::LOG_COLLECTOR as COLLECTOR;

/// The collector keeps one file per sending host.
const COLLECTOR_CONF: &str = r#"# pcmk-comply log collector: every message received, one file per sending host.
module(load="imtcp")
input(type="imtcp" port="514")
module(load="imudp")
input(type="imudp" port="514")
template(name="PerHost" type="string" string="/var/log/remote/%HOSTNAME%.log")
template(name="Line" type="string" string="%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n")
*.* action(type="omfile" dynaFile="PerHost" template="Line")
"#;

/// rsyslog's configuration: where the nodes forward is the candidate's only where it holds one of these.
pub(crate) const RSYSLOG: [Evidence<'static>; 2] = [Evidence::File("/etc/rsyslog.conf"), Evidence::File("/etc/rsyslog.d/")];

#[given(expr = "a central log collector on the cluster network")]
async fn collector(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("starting a log collector")?;
    let live = world.live().await?;
    let addr = world.infra(live.cluster.log_collector_address())?;
    let conf = Placement { path: "/etc/rsyslog.conf".into(), owner: "root".into(), group: "root".into(), mode: 0o644 };
    let spec = pcmk_containers::cluster::GuestSpec {
        name: COLLECTOR.into(),
        hostname: COLLECTOR.into(),
        addrs: vec![Some(addr)],
        files: vec![(conf, COLLECTOR_CONF.as_bytes().to_vec())],
        services: vec![Service::Rsyslog],
    };
    world.infra(live.cluster.add_guest(spec).await)?;
    world.collector = Some(COLLECTOR.into());
    Ok(())
}

/// What the collector holds from `host`.
async fn collected(world: &mut PolicyWorld, host: &str) -> anyhow::Result<String> {
    let collector = world.collector.clone().ok_or_else(|| {
        world.authoring("no log collector in this scenario; start with `Given a central log collector on the cluster network`")
    })?;
    let out = world.exec(&collector, &["sh", "-c", "cat \"/var/log/remote/$1.log\" 2>/dev/null", "collected", host]).await?;
    Ok(out.stdout)
}

#[then(expr = "every node's corosync and pacemaker logs arrive at the collector within {int} seconds")]
async fn logs_arrive(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    if world.lacks(&RSYSLOG) {
        return Ok(());
    }
    let live = world.live().await?;
    let nodes: Vec<String> = live.cluster.node_names().iter().map(|n| n.to_string()).collect();
    // A fresh line from every node proves forwarding works now, not only at boot.
    let marker = format!("pcmk-comply-log-probe-{}", rand::random::<u32>());
    for node in &nodes {
        world.exec(node, &["logger", "-p", "daemon.notice", "-t", "pcmk-comply", &marker]).await?;
    }
    // Where no node forwards syslog anywhere, no line can arrive: say so now rather than after the window.
    let facts = world.facts().await?;
    let forwarding =
        facts.nodes.iter().any(|n| n.texts.iter().any(|(p, t)| p.starts_with("/etc/rsyslog") && !forward_targets(t).is_empty()));
    if !forwarding {
        fail_policy!(world, "no node's rsyslog forwards anywhere (/etc/rsyslog.conf, /etc/rsyslog.d), so no line can reach the collector; forward the cluster's logs (e.g. /etc/rsyslog.d: `*.* action(type=\"omfwd\" target=\"{COLLECTOR}\" protocol=\"tcp\" port=\"514\")`)");
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let mut missing = Vec::new();
        for node in &nodes {
            let text = collected(world, node).await?;
            let has = |what: &str| text.lines().any(|l| l.contains(what));
            for (what, why) in
                [("corosync", "no corosync lines"), ("pacemaker", "no pacemaker lines"), (marker.as_str(), "not the line just logged")]
            {
                if !has(what) {
                    missing.push(format!("{node}: {why}"));
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            fail_policy!(world, "after {seconds}s the collector has from {}; forward the cluster's logs (e.g. /etc/rsyslog.d: `*.* action(type=\"omfwd\" target=\"{COLLECTOR}\" protocol=\"tcp\" port=\"514\")`)", missing.join(", "));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[then(expr = "an alert tagged {string} about {string} starting on its new node arrives at the collector within {int} seconds")]
async fn alert_arrives(world: &mut PolicyWorld, tag: String, resource: String, seconds: u64) -> anyhow::Result<()> {
    // The alert reaches the collector through the nodes' syslog forwarding.
    if world.lacks(&RSYSLOG) {
        return Ok(());
    }
    let resource = world.subject_resource(&resource).await?;
    let fault = world.fault.clone().ok_or_else(|| world.authoring("no fault was injected in this scenario"))?;
    // Pacemaker runs alert agents only as the CIB's <alerts> name them: with none, nothing can arrive.
    if !configures_alerts(world) {
        fail_policy!(world, "`{resource}` failed over, but the CIB configures no alert agent (<alerts>), so no alert tagged `{tag}` can reach the collector");
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let live = world.live().await?;
    let others: Vec<String> = live.cluster.node_names().iter().filter(|n| **n != fault.node).map(|n| n.to_string()).collect();
    let observer = others.first().ok_or_else(|| world.authoring("a one-node cluster has no node to fail over to"))?;
    crate::failover::until_corosync_can_notice(world, &fault, observer).await?;
    let mut new_node = None;
    loop {
        if new_node.is_none() {
            new_node = crate::failover::running_now(world, &resource).await.filter(|n| *n != fault.node);
        }
        let mut seen = Vec::new();
        for node in &others {
            let text = collected(world, node).await?;
            seen.extend(text.lines().filter(|l| l.contains(&format!("{tag}:")) || l.contains(&format!("{tag}["))).map(str::to_string));
        }
        let words = |line: &str, word: &str| line.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_')).any(|w| w == word);
        if let Some(node) = &new_node {
            if seen.iter().any(|l| words(l, &resource) && words(l, node) && words(l, "start")) {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            let what = match &new_node {
                Some(node) => format!("`{resource}` started on {node}"),
                None => format!("`{resource}` has not moved off {}", fault.node),
            };
            fail_policy!(
                world,
                "{what}, but within {seconds}s no alert tagged `{tag}` naming `{resource}`, the node and `start` reached the collector (it has {} `{tag}` line(s){}); configure an alert agent in the CIB (<alerts>) that logs to syslog, and forward syslog",
                seen.len(),
                seen.last().map(|l| format!(", the last: `{l}`")).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Whether the candidate's CIB names an alert agent.
fn configures_alerts(world: &PolicyWorld) -> bool {
    let Some(file) = world.ctx.candidate.file_at(pcmk_model::node::CIB_XML) else { return false };
    let text = String::from_utf8_lossy(&file.content);
    pcmk_model::text::parse_xml(&text)
        .is_ok_and(|doc| doc.descendants().any(|n| n.has_tag_name("alert") && n.parent().is_some_and(|p| p.has_tag_name("alerts"))))
}

#[then(expr = "syslog on every node is forwarded to {string}")]
async fn syslog_forwarded(world: &mut PolicyWorld, host: String) -> anyhow::Result<()> {
    if world.lacks(&RSYSLOG) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = crate::support::Violations::default();
    for node in &facts.nodes {
        let files: Vec<(&String, &String)> = node.texts.iter().filter(|(p, _)| p.starts_with("/etc/rsyslog")).collect();
        let forwards: Vec<(String, usize, &String)> =
            files.iter().flat_map(|(p, t)| forward_targets(t).into_iter().map(move |(h, l)| (h, l, *p))).collect();
        // `auto`: forwarding to any host counts; the candidate names its own log server.
        if !forwards.iter().any(|(h, _, _)| *h == host || (host == "auto" && !h.is_empty())) {
            let found = forwards.iter().map(|(h, l, p)| format!("{h} ({p} line {l})")).collect::<Vec<_>>();
            let message = format!(
                "{}: rsyslog does not forward to {}{}",
                crate::support::place(node),
                if host == "auto" { "any host" } else { host.as_str() },
                if found.is_empty() { String::new() } else { format!("; it forwards to {}", found.join(", ")) }
            );
            let first_forward = forwards.first().map(|(_, line, path)| Place::new(path.as_str(), *line));
            violations.add(Finding::new(crate::support::subject(node), message).at(first_forward));
        }
    }
    world.judge(violations)
}
