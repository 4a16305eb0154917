//! Probes from a host outside the cluster: which TCP ports answer and which
//! UDP ports take datagrams, from the cluster's network or the public one.

use cucumber::then;

use crate::facts::NFTABLES_CONF;
use crate::probes::{self, Protocol};
use crate::support::{list, node_named, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Subject};
use pcmk_model::scope::Evidence;

/// Outsiders made by this process; each takes the next host part of 200–249,
/// clear of the nodes' and of the log collector's (250).
static OUTSIDERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Where a probing host stands: on the cluster's first link, or on the
/// public network the candidate asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vantage {
    ClusterNetwork,
    PublicNetwork,
}

impl Vantage {
    fn who(self) -> &'static str {
        match self {
            Vantage::ClusterNetwork => "a host outside the cluster",
            Vantage::PublicNetwork => "a host on the public network",
        }
    }

    fn link(self, cluster: &crate::engine::Engine) -> anyhow::Result<usize> {
        match self {
            Vantage::ClusterNetwork => Ok(0),
            Vantage::PublicNetwork => cluster
                .public_link()
                .ok_or_else(|| anyhow::anyhow!("the candidate has no public network; set `public_network = true` in candidate.toml")),
        }
    }

    /// The node's address as seen from this vantage point.
    pub(crate) fn target(self, node: &pcmk_containers::cluster::Node) -> std::net::Ipv4Addr {
        match self {
            Vantage::ClusterNetwork => node.addrs[0],
            Vantage::PublicNetwork => node.public_addr.unwrap_or(node.addrs[0]),
        }
    }
}

pub(crate) async fn add_outsider(world: &mut PolicyWorld, vantage: Vantage) -> anyhow::Result<(String, std::net::Ipv4Addr)> {
    let live = world.live().await?;
    let link = vantage.link(&live.cluster)?;
    let host = 200 + (OUTSIDERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 50) as u8;
    let name = format!("outsider{host}");
    let addr = world.infra(live.cluster.guest_address(link, host))?;
    let mut addrs = vec![None; link + 1];
    addrs[link] = Some(addr);
    let spec =
        pcmk_containers::cluster::GuestSpec { name: name.clone(), hostname: name.clone(), addrs, files: Vec::new(), services: Vec::new() };
    world.infra(live.cluster.add_guest(spec).await)?;
    Ok((name, addr))
}

pub(crate) fn parse_ports(ports: &str) -> anyhow::Result<Vec<u16>> {
    list(ports).iter().map(|p| p.parse()).collect::<Result<_, _>>().map_err(|_| anyhow::anyhow!("ports must be numbers: `{ports}`"))
}

/// Starts a listener on each port nothing listens on yet, so that only the
/// firewall can keep an outsider out; `kill_canaries` stops them.
async fn start_canaries(world: &mut PolicyWorld, protocol: Protocol, ports: &[u16]) -> anyhow::Result<()> {
    let canary = probes::start_canaries(protocol, ports);
    let live = world.live().await?;
    for node in live.cluster.node_names() {
        world.exec(node, &["bash", "-c", &canary]).await?;
    }
    Ok(())
}

/// Waits for this cluster's probe turn. Probes at once would stop each other's
/// canaries (a port left closed passes) and raise each other's UDP counters.
async fn probe_turn(world: &mut PolicyWorld) -> anyhow::Result<tokio::sync::OwnedMutexGuard<()>> {
    Ok(world.live().await?.probe_turn.clone().lock_owned().await)
}

async fn kill_canaries(world: &mut PolicyWorld, outsider: &str) {
    if let Ok(live) = world.live().await {
        let _ = live.cluster.remove_container(outsider).await;
        for node in live.cluster.node_names() {
            let _ = live.cluster.exec(node, &probes::STOP_CANARIES).await;
        }
    }
}

async fn still_whole(world: &mut PolicyWorld, violations: &mut Violations) -> anyhow::Result<()> {
    if let Err(why) = world.wait_whole(std::time::Duration::from_secs(30)).await? {
        violations.add(Finding::new(Subject::Cluster, format!("the cluster lost quorum or a member while probed: {why}")));
    }
    Ok(())
}

#[then(expr = "from a host outside the cluster no node answers on TCP ports {string}")]
async fn tcp_ports_closed_to_outsiders(world: &mut PolicyWorld, ports: String) -> anyhow::Result<()> {
    tcp_ports_closed(world, &ports, Vantage::ClusterNetwork).await
}

pub(crate) async fn tcp_ports_closed(world: &mut PolicyWorld, ports: &str, vantage: Vantage) -> anyhow::Result<()> {
    world.require_live("probing from outside the cluster")?;
    // What answers is decided by the firewall: the lab's own says nothing of the candidate's.
    if world.lacks(&[Evidence::File(NFTABLES_CONF)]) {
        return Ok(());
    }
    let ports = parse_ports(ports).map_err(|e| world.authoring(e))?;
    let _turn = probe_turn(world).await?;
    start_canaries(world, Protocol::Tcp, &ports).await?;
    let (outsider, addr) = add_outsider(world, vantage).await?;
    let live = world.live().await?;
    let targets: Vec<(String, std::net::Ipv4Addr, u16)> =
        live.cluster.nodes().iter().flat_map(|n| ports.iter().map(move |p| (n.name.clone(), vantage.target(n), *p))).collect();
    let out = world.exec(&outsider, &["bash", "-c", &probes::tcp_connect_probe(&targets)]).await;
    kill_canaries(world, &outsider).await;
    let out = out?;
    let mut violations = Violations::default();
    let (open, answers) = probes::open_ports(&out.stdout);
    for (node, port) in open {
        violations.add(Finding::new(
            node_named(&node),
            format!("{node}: TCP port {port} answers {} ({addr}); allow it from the cluster nodes only", vantage.who()),
        ));
    }
    if answers != targets.len() {
        return world.infra(Err(anyhow::anyhow!(
            "the probe from {outsider} answered for {answers} of {} ports: {}",
            targets.len(),
            out.stderr.trim()
        )));
    }
    still_whole(world, &mut violations).await?;
    world.judge(violations)
}

/// UDP datagrams the kernel delivered to sockets (or dropped at a full one).
async fn udp_delivered(world: &mut PolicyWorld, node: &str) -> anyhow::Result<u64> {
    let out = world.exec(node, &["cat", "/proc/net/snmp"]).await?;
    match probes::udp_delivered(&out.stdout) {
        Some(count) => Ok(count),
        None => world.infra(Err(anyhow::anyhow!("no Udp counters in /proc/net/snmp on {node}"))),
    }
}

const UDP_BURST: u64 = 1500;

#[then(expr = "from a host outside the cluster no node receives UDP on ports {string}")]
async fn udp_ports_closed_to_outsiders(world: &mut PolicyWorld, ports: String) -> anyhow::Result<()> {
    udp_ports_closed(world, &ports, Vantage::ClusterNetwork).await
}

pub(crate) async fn udp_ports_closed(world: &mut PolicyWorld, ports: &str, vantage: Vantage) -> anyhow::Result<()> {
    world.require_live("probing from outside the cluster")?;
    // What answers is decided by the firewall: the lab's own says nothing of the candidate's.
    if world.lacks(&[Evidence::File(NFTABLES_CONF)]) {
        return Ok(());
    }
    // UDP has no handshake: the proof is the nodes' own delivery counters, which
    // a burst from the outsider raises far above the cluster's own traffic
    // unless the firewall drops it first. Canaries bind ports nothing listens on.
    let ports = parse_ports(ports).map_err(|e| world.authoring(e))?;
    let _turn = probe_turn(world).await?;
    start_canaries(world, Protocol::Udp, &ports).await?;
    let (outsider, addr) = add_outsider(world, vantage).await?;
    let live = world.live().await?;
    let nodes: Vec<(String, std::net::Ipv4Addr)> = live.cluster.nodes().iter().map(|n| (n.name.clone(), vantage.target(n))).collect();
    let mut violations = Violations::default();
    for port in &ports {
        let mut quiet_start = Vec::new();
        for (node, _) in &nodes {
            quiet_start.push(udp_delivered(world, node).await?);
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let mut quiet = Vec::new();
        for ((node, _), start) in nodes.iter().zip(&quiet_start) {
            quiet.push(udp_delivered(world, node).await?.saturating_sub(*start));
        }
        let mut before = Vec::new();
        for (node, _) in &nodes {
            before.push(udp_delivered(world, node).await?);
        }
        let addrs: Vec<std::net::Ipv4Addr> = nodes.iter().map(|(_, a)| *a).collect();
        let sent = world.exec(&outsider, &["bash", "-c", &probes::udp_burst(&addrs, *port, UDP_BURST)]).await;
        if let Err(e) = sent {
            kill_canaries(world, &outsider).await;
            return Err(e);
        }
        for (((node, _), before), quiet) in nodes.iter().zip(&before).zip(&quiet) {
            let delivered = udp_delivered(world, node).await?.saturating_sub(*before);
            // The burst takes a few seconds; allow the cluster's own traffic for ten times the quiet second.
            if delivered > quiet * 10 + UDP_BURST / 2 {
                violations.add(Finding::new(node_named(node), format!("{node}: UDP port {port} took {delivered} datagrams during a burst of {UDP_BURST} from {} ({addr}); the cluster's own traffic is about {quiet}/s", vantage.who())));
            }
        }
    }
    kill_canaries(world, &outsider).await;
    still_whole(world, &mut violations).await?;
    world.judge(violations)
}
