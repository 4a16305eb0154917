//! Practice 1, secure communication: knet with allowed crypto, keys, what
//! crosses the wire, and no credentials in the configuration.

use base64::Engine;
use cucumber::then;

use pcmk_containers::corosync_semantics::{self, Resolved};

use crate::facts::NFTABLES_CONF;
use crate::probes;
use crate::support::{ensure_authored, ensure_policy, fail_policy};
use crate::support::{list, node_named, place, subject, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place, Subject};
use pcmk_model::node::COROSYNC_CONF;
use pcmk_model::scope::Evidence;

pub(crate) mod outsiders;

/// A totem setting as corosync 3 resolves it (defaults, `secauth`).
fn totem_setting(conf: &pcmk_model::corosync_conf::CorosyncConf, key: &str) -> Resolved {
    match key {
        "transport" => corosync_semantics::transport(conf),
        "crypto_cipher" | "crypto_hash" => corosync_semantics::crypto(conf, key),
        _ => match conf.root.lookup(&format!("totem.{key}")) {
            Some(pair) => Resolved { value: pair.value.clone(), how: format!("corosync.conf line {}", pair.line), line: Some(pair.line) },
            None => Resolved { value: String::new(), how: "unset in corosync.conf".into(), line: None },
        },
    }
}

async fn totem_value_is_one_of(world: &mut PolicyWorld, key: &str, allowed: &str) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    let allowed = list(allowed);
    let facts = world.facts().await?;
    // Said with the candidate's lines: a node's copy has its nodelist written for the run.
    let written = totem_setting(world.ctx.candidate.corosync_conf(), key);
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let Some(conf) = &node.corosync_conf else {
            violations.add(Finding::new(subject(node), format!("{}: no /etc/corosync/corosync.conf", place(node))));
            continue;
        };
        let Resolved { value, how, line } = match totem_setting(conf, key) {
            running if running.value == written.value => written.clone(),
            running => Resolved { how: "the node's corosync.conf, not the candidate's".into(), line: None, ..running },
        };
        if !allowed.contains(&value) {
            let at = line.map(|line| Place::new(COROSYNC_CONF, line));
            violations.add(
                Finding::new(subject(node), format!("{}: totem.{key} is `{value}` ({how}); allowed: {}", place(node), allowed.join(", ")))
                    .at(at),
            );
        }
    }
    world.judge(violations)
}

#[then(expr = "corosync uses the {string} transport")]
async fn transport(world: &mut PolicyWorld, allowed: String) -> anyhow::Result<()> {
    totem_value_is_one_of(world, "transport", &allowed).await
}

#[then(expr = "the corosync crypto_cipher is one of {string}")]
async fn cipher(world: &mut PolicyWorld, allowed: String) -> anyhow::Result<()> {
    totem_value_is_one_of(world, "crypto_cipher", &allowed).await
}

#[then(expr = "the corosync crypto_hash is one of {string}")]
async fn hash(world: &mut PolicyWorld, allowed: String) -> anyhow::Result<()> {
    totem_value_is_one_of(world, "crypto_hash", &allowed).await
}

#[then(expr = "corosync.conf holds no inline key")]
async fn no_inline_key(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let candidate = &world.ctx.candidate;
    let mut violations = Violations::default();
    for (node, conf) in facts.nodes.iter().filter_map(|node| Some((node, node.corosync_conf.as_ref()?))) {
        if conf.root.lookup("totem.key").is_some() {
            // Said with the candidate's line: a node's copy has its nodelist written for the run.
            let (_, at, line) = crate::support::conf_value(conf, candidate.corosync_conf(), "totem.key", "");
            violations.add(
                Finding::new(
                    subject(node),
                    format!("{}: {at} sets totem.key inline; use a keyfile (authkey) readable by root only", place(node)),
                )
                .at(line),
            );
        }
    }
    world.judge(violations)
}

#[then(expr = "on every node the running crypto_cipher and crypto_hash match corosync.conf")]
async fn running_crypto_matches(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    world.require_live("the running crypto settings")?;
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let cmap = node.cmap.as_ref().expect("live facts carry cmap");
        for key in ["crypto_cipher", "crypto_hash"] {
            let configured = node.corosync_conf.as_ref().map(|c| totem_setting(c, key).value).unwrap_or_else(|| "none".into());
            let running = cmap.get(&format!("totem.{key}")).cloned().unwrap_or_else(|| "none".into());
            if running != configured {
                violations.add(Finding::new(
                    node_named(&node.name),
                    format!(
                        "{}: corosync runs with {key} `{running}` but corosync.conf says `{configured}` (reload or restart corosync)",
                        node.name
                    ),
                ));
            }
        }
    }
    world.judge(violations)
}

fn crypt_packets(cmap: &std::collections::BTreeMap<String, String>) -> u64 {
    ["stats.knet.handle.tx_crypt_packets", "stats.knet.handle.rx_crypt_packets"]
        .iter()
        .map(|k| cmap.get(*k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
        .sum()
}

#[then(expr = "knet's encrypted packet counters grow on every node within {int} seconds")]
async fn crypt_counters_grow(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    world.require_live("knet's packet counters")?;
    let before = world.facts().await?;
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    let after = world.refresh_facts().await?;
    let mut violations = Violations::default();
    for (b, a) in before.nodes.iter().zip(&after.nodes) {
        let (was, now) = (crypt_packets(b.cmap.as_ref().expect("live")), crypt_packets(a.cmap.as_ref().expect("live")));
        if now <= was {
            violations.add(Finding::new(
                node_named(&a.name),
                format!(
                    "{}: knet encrypted {} packets before and {} after {seconds}s of cluster traffic: traffic is not encrypted",
                    a.name, was, now
                ),
            ));
        }
    }
    world.judge(violations)
}

#[then(expr = "the key {string} is identical on every node")]
async fn key_identical(world: &mut PolicyWorld, path: String) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(&path)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    // One node's artifact holds one copy: it cannot show that the others match.
    if facts.nodes.len() == 1 && world.ctx.candidate.kind.is_one_nodes_copy() {
        let kind = world.ctx.candidate.kind.describe();
        world.not_judged(format!("{kind} holds one node's {path}, so whether every node has the same one is unknown: capture the nodes"));
        return Ok(());
    }
    let mut violations = Violations::default();
    // Node names by the key's hash; a node with no hash gathered is the harness's gap, never a match.
    let mut holders: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for node in &facts.nodes {
        match world.infra(node.file(&path).map_err(anyhow::Error::from))? {
            None => violations.add(Finding::new(subject(node), format!("{}: {path} does not exist", place(node)))),
            Some(file) => match &file.sha256 {
                Some(hash) => holders.entry(hash.clone()).or_default().push(node.name.clone()),
                None if facts.nodes.len() > 1 => {
                    return world.infra(Err(anyhow::anyhow!("no content hash of {path} was gathered on {}", node.name)));
                }
                // The candidate's one copy, placed on every node alike.
                None => {}
            },
        }
    }
    for (node, most) in odd_ones_out(holders) {
        violations.add(Finding::new(
            node_named(&node),
            format!("{node}: {path} differs from the one {most} hold: nodes cannot authenticate each other"),
        ));
    }
    world.judge(violations)
}

#[then(expr = "the key {string} is between {int} and {int} bytes")]
async fn key_size(world: &mut PolicyWorld, path: String, min: u64, max: u64) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(&path)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        match world.infra(node.file(&path).map_err(anyhow::Error::from))? {
            None => violations.add(Finding::new(subject(node), format!("{}: {path} does not exist", place(node)))),
            Some(file) if !(min..=max).contains(&file.size) => violations
                .add(Finding::new(subject(node), format!("{}: {path} is {} bytes, outside {min}..={max}", place(node), file.size))),
            Some(_) => {}
        }
    }
    world.judge(violations)
}

#[then(expr = "no resource parameter in the CIB holds a plaintext secret")]
async fn no_plaintext_secrets(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let (cib, origin) = world.candidate_cib()?;
    if cib.instance_attributes.is_empty() {
        return Err(world.not_applicable(format!("{origin} sets no resource parameters")));
    }
    let mut violations = Violations::default();
    for attribute in &cib.instance_attributes {
        if let Some(why) = crate::secrets::plaintext_credential(attribute) {
            let owner = &attribute.owner_id;
            let agent = attribute.agent.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
            // The value itself is never printed: reports must not leak it.
            let message = format!(
                "{origin} line {}: {} `{owner}`{agent} has parameter `{}` in plain text ({why}); use `{}_script` where the agent has one, or `cibsecret set {owner} {}`",
                attribute.line, attribute.owner_kind, attribute.name, attribute.name, attribute.name
            );
            violations.add(Finding::new(Subject::Candidate, message).at(Place::new(origin.as_str(), attribute.line)));
        }
    }
    world.judge(violations)
}

#[then(expr = "no cleartext cluster data crosses the wire while the CIB changes")]
async fn nothing_in_clear_on_the_wire(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    world.require_live("capturing cluster traffic")?;
    let facts = world.facts().await?;
    let live = world.live().await?;
    let nodes = live.cluster.node_names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let observer = nodes[0].clone();
    let marker = format!("pcmkcomplyprobe{:016x}", rand::random::<u64>());
    let out = world.exec(&observer, &["bash", "-c", &probes::capture_around_cib_change(&marker)]).await?;
    world.changed_cluster().await;
    let pcap = world.infra(base64::engine::general_purpose::STANDARD.decode(out.stdout.trim()).map_err(anyhow::Error::from))?;
    if pcap.len() < 200 {
        return world.infra(Err(anyhow::anyhow!(
            "the capture on {observer} holds no traffic ({} bytes): {}",
            pcap.len(),
            out.stderr.trim()
        )));
    }
    let cluster_name = facts.nodes[0].corosync_conf.as_ref().and_then(|c| c.root.lookup("totem.cluster_name")).map(|p| p.value.clone());
    let mut needles: Vec<(String, &str)> = vec![(marker, "the CIB change")];
    if let Some(name) = cluster_name.filter(|n| n.len() >= 4) {
        needles.push((name, "the cluster name"));
    }
    for node in &nodes {
        if node.len() >= 4 {
            needles.push((node.clone(), "a node name"));
        }
    }
    needles.push(("<cib".to_string(), "a CIB fragment"));
    let found: Vec<String> = needles
        .iter()
        .filter(|(needle, _)| pcap.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(needle, what)| format!("{what} (`{needle}`)"))
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(world.fails(format!(
            "{observer} captured {} bytes of cluster traffic in which these appear in clear text: {}",
            pcap.len(),
            found.join(", ")
        )))
    }
}

/// `table inet filter` lines of a ruleset, normalised.
fn nft_tables(ruleset: &str) -> Vec<String> {
    ruleset
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("table "))
        .map(|l| l.trim_end_matches('{').split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[then(expr = "the nftables ruleset is loaded on every node")]
async fn firewall_loaded(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(NFTABLES_CONF)]) {
        return Ok(());
    }
    let candidate = world.ctx.candidate.clone();
    if !candidate.captured.is_empty() && !world.ctx.is_live() {
        return captured_firewall(world).await;
    }
    let Some(ruleset) = candidate.file_at(NFTABLES_CONF) else {
        fail_policy!(world, "the candidate places no {NFTABLES_CONF}: the nodes have no firewall of their own");
    };
    let expected = nft_tables(&String::from_utf8_lossy(&ruleset.content));
    ensure_policy!(world, !expected.is_empty(), "{} declares no nftables table", ruleset.source.display());
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let loaded = node.nft.as_deref().unwrap_or_default();
        let tables = nft_tables(loaded);
        let missing: Vec<&String> = expected.iter().filter(|t| !tables.contains(t)).collect();
        if !missing.is_empty() || !loaded.contains("hook input") {
            let what = if facts.live { "runs without" } else { "does not load at boot (add \"nftables\" to services)" };
            violations.add(Finding::new(
                subject(node),
                format!(
                    "{}: {what} the candidate's firewall ({})",
                    place(node),
                    missing.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    world.judge(violations)
}

#[then(expr = "the files {string} are identical on every node")]
async fn files_identical(world: &mut PolicyWorld, paths: String) -> anyhow::Result<()> {
    let paths = list(&paths);
    if !drift_is_visible(world) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for path in &paths {
        // Each node's files at the path (or below the directory), with their hashes.
        let mut holders: std::collections::BTreeMap<Vec<(String, Option<String>)>, Vec<String>> = Default::default();
        for node in &facts.nodes {
            let held = node
                .files
                .iter()
                .filter(|(p, f)| !f.is_dir && (p.as_str() == path.as_str() || (path.ends_with('/') && p.starts_with(path.as_str()))))
                .map(|(p, f)| (p.clone(), f.sha256.clone()))
                .collect();
            holders.entry(held).or_default().push(node.name.clone());
        }
        for (node, most) in odd_ones_out(holders) {
            violations.add(Finding::new(node_named(&node), format!("{node}: {path} differs from what {most} hold")));
        }
    }
    world.judge(violations)
}

/// Nodes grouped by what they hold: each node outside the largest group,
/// with the nodes of that group (named together), for a finding.
fn odd_ones_out<K: Ord>(holders: std::collections::BTreeMap<K, Vec<String>>) -> Vec<(String, String)> {
    let mut groups: Vec<Vec<String>> = holders.into_values().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    let Some(most) = groups.first().map(|g| g.join(", ")) else { return Vec::new() };
    groups.into_iter().skip(1).flatten().map(|node| (node, most.clone())).collect()
}

/// Drift between nodes shows only in what each real node holds: a capture.
/// One set of files (a directory, a backup) says nothing of the other nodes,
/// and the lab's nodes all receive the candidate's files, so they cannot drift.
fn drift_is_visible(world: &PolicyWorld) -> bool {
    let candidate = &world.ctx.candidate;
    if world.ctx.is_live() || candidate.captured.len() < 2 {
        let what = if world.ctx.is_live() { "the lab's nodes, which all receive the candidate's files" } else { candidate.kind.describe() };
        world.not_judged(format!("drift between nodes shows only in a capture of the nodes (`pcmk-comply capture`), not in {what}"));
        return false;
    }
    true
}

/// A ruleset's rules, to compare between nodes: counters (which differ from
/// node to node) left out, and the table Docker's embedded DNS keeps in a
/// container (its ports differ per container), which is the lab's, not the cluster's.
fn firewall_rules(ruleset: &str) -> String {
    let mut tables: Vec<Vec<&str>> = Vec::new();
    for line in ruleset.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        if line.starts_with("table ") || tables.is_empty() {
            tables.push(Vec::new());
        }
        if let Some(table) = tables.last_mut() {
            table.push(line.split(" counter packets ").next().unwrap_or(line).trim_end());
        }
    }
    tables.into_iter().filter(|t| !t.iter().any(|l| l.contains("DOCKER_"))).flatten().collect::<Vec<_>>().join("\n")
}

#[then(expr = "every node loads the same firewall")]
async fn same_firewall(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if !drift_is_visible(world) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut holders: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for node in &facts.nodes {
        holders.entry(firewall_rules(node.nft.as_deref().unwrap_or_default())).or_default().push(node.name.clone());
    }
    let mut violations = Violations::default();
    for (node, most) in odd_ones_out(holders) {
        violations.add(Finding::new(node_named(&node), format!("{node}: its loaded firewall differs from what {most} load")));
    }
    world.judge(violations)
}

/// A capture holds each node's loaded ruleset (`nft list ruleset`): a firewall
/// is loaded where it filters input, whatever file it came from.
async fn captured_firewall(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        match node.nft.as_deref() {
            None => world.not_judged(format!("the capture has no `nft list ruleset` of {}", node.name)),
            Some(ruleset) if !ruleset.contains("hook input") => violations.add(Finding::new(
                subject(node),
                format!("{}: no nftables ruleset filters input (`nft list ruleset` has no input hook)", node.name),
            )),
            Some(_) => {}
        }
    }
    world.judge(violations)
}

#[then(expr = "a rogue node with the cluster's corosync.conf but another key cannot join")]
async fn rogue_node_cannot_join(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(COROSYNC_CONF)]) {
        return Ok(());
    }
    world.require_live("starting a rogue node")?;
    ensure_authored!(world, world.destructive, "this step replaces a node: tag the scenario @destructive");
    let facts = world.facts().await?;
    let live = world.live().await?;
    let cluster = &live.cluster;
    let observer = cluster.nodes()[0].name.clone();
    let victim = cluster.nodes().last().expect("a cluster has nodes").clone();
    ensure_authored!(world, cluster.nodes().len() >= 2, "a rogue node needs a cluster of two or more nodes");
    let conf = facts.nodes[0].corosync_text.clone().unwrap_or_default();
    let keyfile = facts.nodes[0]
        .corosync_conf
        .as_ref()
        .and_then(|c| c.root.lookup("totem.keyfile"))
        .map(|p| p.value.clone())
        .unwrap_or_else(|| "/etc/corosync/authkey".into());
    let key: Vec<u8> = (0..256).map(|_| rand::random::<u8>()).collect();
    // The rogue takes the victim's name and addresses, so only the key tells them apart.
    world.infra(cluster.kill_node(&victim.name).await)?;
    world.infra(cluster.remove_container(&victim.name).await)?;
    world.changed_cluster().await;
    let placement =
        |path: &str, mode: u32| pcmk_model::node::Placement { path: path.into(), owner: "root".into(), group: "root".into(), mode };
    let spec = pcmk_containers::cluster::GuestSpec {
        name: "rogue".into(),
        hostname: victim.name.clone(),
        addrs: victim.addrs.iter().copied().map(Some).collect(),
        files: vec![(placement("/etc/corosync/corosync.conf", 0o644), conf.into_bytes()), (placement(&keyfile, 0o400), key)],
        services: vec![pcmk_model::node::Service::Corosync],
    };
    world.infra(cluster.add_guest(spec).await)?;
    // Long enough for several token rounds and a join attempt.
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    let rogue_runs = cluster.running_services("rogue").await;
    if !world.infra(rogue_runs)?.contains(&pcmk_model::node::Service::Corosync) {
        let logs = world.infra(cluster.supervise("rogue", pcmk_containers::cluster::Verb::Logs { lines: 10 }).await)?;
        return world.infra(Err(anyhow::anyhow!("the rogue's corosync is not running, so the check proves nothing:\n{}", logs.stdout)));
    }
    let key = format!("runtime.members.{}.status", victim.nodeid);
    let status = world.exec(&observer, &["corosync-cmapctl", "-g", &key]).await?;
    if status.stdout.contains("joined") {
        fail_policy!(world, "a node with the cluster's corosync.conf but a different key joined as {} (nodeid {}): membership is not authenticated; enable crypto_cipher and crypto_hash", victim.name, victim.nodeid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewalls_compare_by_their_rules_without_counters_or_dockers_dns_table() {
        let docker = |port: u16| {
            format!("table ip nat {{\n\tchain DOCKER_POSTROUTING {{\n\t\tip saddr 127.0.0.11 tcp sport {port} counter packets 0 bytes 0\n\t}}\n}}\n")
        };
        let filter = |packets: u32| {
            format!("table inet filter {{\n\tchain input {{\n\t\ttype filter hook input priority filter; policy drop;\n\t\ttcp dport 22 counter packets {packets} bytes 9 accept\n\t}}\n}}\n")
        };
        assert_eq!(firewall_rules(&format!("{}{}", docker(39911), filter(1))), firewall_rules(&format!("{}{}", docker(47441), filter(7))));
        assert_ne!(firewall_rules(&filter(1)), firewall_rules(&filter(1).replace("dport 22", "dport 23")));
        assert_eq!(firewall_rules(&docker(1)), "", "Docker's table alone is no firewall");
    }
}
