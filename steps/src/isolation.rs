//! Practice 7, isolation: nodes on two networks, the cluster's own and a
//! public one. The cluster's ports answer only on the cluster network; the
//! service the cluster protects answers on the public one.

use cucumber::then;
use pcmk_model::scope::Evidence;

use crate::communication::outsiders::{add_outsider, tcp_ports_closed, udp_ports_closed, Vantage};
use crate::support::ensure_policy;
use crate::support::{node_named, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::Finding;

/// Daemons of the cluster stack that must not listen beyond the cluster network.
const CLUSTER_DAEMONS: &[&str] = &["corosync", "pcsd", "pacemaker-remote", "pacemaker_remote", "pacemaker-remoted"];

#[then(expr = "from a host on the public network no node answers on TCP ports {string}")]
async fn public_tcp_closed(world: &mut PolicyWorld, ports: String) -> anyhow::Result<()> {
    tcp_ports_closed(world, &ports, Vantage::PublicNetwork).await
}

#[then(expr = "from a host on the public network no node receives UDP on ports {string}")]
async fn public_udp_closed(world: &mut PolicyWorld, ports: String) -> anyhow::Result<()> {
    udp_ports_closed(world, &ports, Vantage::PublicNetwork).await
}

#[then(expr = "from a host on the public network {string} answers on TCP port {int}")]
async fn public_service_answers(world: &mut PolicyWorld, resource: String, port: u16) -> anyhow::Result<()> {
    let resource = world.public_service(&resource)?;
    world.require_live("probing the public network")?;
    let node = crate::failover::wait_running(world, &resource).await?;
    let live = world.live().await?;
    let target =
        live.cluster.nodes().iter().find(|n| n.name == node).map(|n| Vantage::PublicNetwork.target(n)).expect("a node of this cluster");
    let (outsider, _) = add_outsider(world, Vantage::PublicNetwork).await?;
    // The resource may have just started: give it a few seconds to listen.
    let probe = format!("for i in $(seq 20); do nc -z -w 2 {target} {port} && exit 0; sleep 0.5; done; exit 1");
    let out = world.exec(&outsider, &["bash", "-c", &probe]).await;
    // Only the outsider goes: the nodes' canaries may be another scenario's probe.
    let _ = world.live().await?.cluster.remove_container(&outsider).await;
    ensure_policy!(world, out?.success(), "`{resource}` runs on {node}, but {target}:{port} does not answer a host on the public network");
    Ok(())
}

/// Listening sockets as `(process, local address)`, from `ss -Hlntup`.
fn listeners(ss: &str) -> Vec<(String, String)> {
    ss.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let local = words.get(4)?;
            let process = line.split("((\"").nth(1)?.split('"').next()?;
            Some((process.to_string(), local.to_string()))
        })
        .collect()
}

#[then(expr = "on every node the cluster daemons listen on cluster addresses only")]
async fn daemons_bound_to_cluster(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("listing listening sockets")?;
    // corosync binds where corosync.conf says: one the harness made says nothing of the candidate.
    if world.lacks(&[Evidence::File(pcmk_model::node::COROSYNC_CONF)]) {
        return Ok(());
    }
    let live = world.live().await?;
    let mut violations = Violations::default();
    for node in live.cluster.nodes() {
        // A started pcsd already listens: `pcmk-node start` waits for its port, as its Type=notify unit does.
        let out = world.exec(&node.name, &["ss", "-Hlntup"]).await?;
        let cluster_addrs: Vec<String> =
            node.addrs.iter().map(|a| a.to_string()).chain(["127.0.0.1".to_string(), "[::1]".to_string()]).collect();
        for (process, local) in listeners(&out.stdout).into_iter().filter(|(p, _)| CLUSTER_DAEMONS.contains(&p.as_str())) {
            let host = local.rsplit_once(':').map(|(h, _)| h).unwrap_or(&local);
            let host = host.split('%').next().unwrap_or(host);
            if !cluster_addrs.iter().any(|a| a == host) {
                violations.add(Finding::new(
                    node_named(&node.name),
                    format!(
                        "{}: {process} listens on {local}, beyond the cluster network ({})",
                        node.name,
                        node.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    }
    world.judge(violations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_sockets_are_read() {
        let ss = "udp   UNCONN 0      0       10.213.7.2:5405       0.0.0.0:*    users:((\"corosync\",pid=78,fd=29))\ntcp   LISTEN 0      5          0.0.0.0:2224       0.0.0.0:*    users:((\"pcsd\",pid=90,fd=7))\ntcp LISTEN 0 5 [::]:8080 [::]:* users:((\"python3\",pid=9,fd=3))\n";
        assert_eq!(
            listeners(ss),
            vec![
                ("corosync".into(), "10.213.7.2:5405".into()),
                ("pcsd".into(), "0.0.0.0:2224".into()),
                ("python3".into(), "[::]:8080".into())
            ]
        );
    }
}
