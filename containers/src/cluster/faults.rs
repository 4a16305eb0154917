//! Faults a scenario injects and the services it drives: nodes killed,
//! stopped, replaced or cut off, daemons killed, Pacemaker reset.

use super::supervisor::{ServiceAction, Verb};
use super::*;

/// The ruleset of [`Cluster::deafen_node`]: the table made (so that it can be
/// deleted), deleted and made again, dropping input from `from`.
fn deaf_ruleset(from: &[Ipv4Addr]) -> String {
    let addrs: Vec<String> = from.iter().map(Ipv4Addr::to_string).collect();
    format!(
        "table inet pcmk_deaf\ndelete table inet pcmk_deaf\ntable inet pcmk_deaf {{\n  chain input {{\n    type filter hook input priority -200; policy accept;\n    ip saddr {{ {} }} counter drop\n  }}\n}}\n",
        addrs.join(", ")
    )
}

impl Cluster {
    /// Hard power-off of a node (SIGKILL to every process in it).
    pub async fn kill_node(&self, node: &str) -> anyhow::Result<()> {
        let container = &self.node_container(node)?;
        let options = KillContainerOptionsBuilder::default().signal("KILL").build();
        self.docker.kill_container(container, Some(options)).await.with_context(|| format!("killing {node}"))
    }

    /// Replaces a node by a fresh one from another image (a rolling upgrade's
    /// step): same name, addresses, keys and configuration; a clean shutdown first.
    pub async fn replace_node(&self, node: &str, image: &NodeImage) -> anyhow::Result<()> {
        let placed = self.node(node)?.clone();
        let index = self.nodes.iter().position(|n| n.name == placed.name).unwrap_or(0);
        self.stop_node(node).await?;
        self.remove_container(node).await?;
        let addrs: Vec<Option<Ipv4Addr>> = placed.addrs.iter().copied().chain(placed.public_addr).map(Some).collect();
        self.create_container_from(
            (&image.tag, &image.system_dirs),
            &self.container_of(&placed.name),
            &placed.name,
            &addrs,
            &placed.name,
            &self.archives[index],
        )
        .await
    }

    /// Clean shutdown: pacemaker and corosync stop as on a real node.
    pub async fn stop_node(&self, node: &str) -> anyhow::Result<()> {
        let container = &self.node_container(node)?;
        let options = StopContainerOptionsBuilder::default().t(60).build();
        self.docker.stop_container(container, Some(options)).await.with_context(|| format!("stopping {node}"))
    }

    /// Boots a stopped or killed node; its services start as they would at boot.
    /// A node already running (a fence reboot brought it back) is left as it is.
    pub async fn start_node(&self, node: &str) -> anyhow::Result<()> {
        let container = &self.node_container(node)?;
        match self.docker.start_container(container, None).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("starting {node}")),
        }
    }

    /// Cuts a node off every cluster network (a partition), keeping its addresses for `reconnect_node`.
    pub async fn disconnect_node(&self, node: &str) -> anyhow::Result<()> {
        let container = self.node_container(node)?;
        for network in &self.networks {
            let request = bollard::models::NetworkDisconnectRequest { container: container.clone(), force: Some(true) };
            self.docker.disconnect_network(&network.name, request).await.with_context(|| format!("cutting {node} off {}", network.name))?;
        }
        Ok(())
    }

    /// A one-way partition, as Pacemaker's CTS makes one: the node drops
    /// every packet from the other nodes' cluster addresses on the way in
    /// (an nftables table of the harness's own, `inet pcmk_deaf`), while
    /// what it sends still reaches them.
    pub async fn deafen_node(&self, node: &str) -> anyhow::Result<()> {
        let others: Vec<Ipv4Addr> = self.nodes.iter().filter(|n| n.name != node).flat_map(|n| n.addrs.iter().copied()).collect();
        let ruleset = deaf_ruleset(&others);
        let out = self.exec(node, &["bash", "-c", "nft -f - <<< \"$1\"", "pcmk-node-deaf", &ruleset]).await?;
        anyhow::ensure!(out.success(), "nft on {node}: {}", out.stderr.trim());
        Ok(())
    }

    /// Heals a partition made by `disconnect_node`.
    pub async fn reconnect_node(&self, node: &str) -> anyhow::Result<()> {
        let node = self.node(node)?;
        for (network, addr) in self.networks.iter().zip(&node.addrs) {
            let endpoint = EndpointSettings {
                ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(addr.to_string()), ..Default::default() }),
                ..Default::default()
            };
            let request = NetworkConnectRequest { container: self.container_of(&node.name), endpoint_config: Some(endpoint) };
            self.docker
                .connect_network(&network.name, request)
                .await
                .with_context(|| format!("reconnecting {} to {}", node.name, network.name))?;
        }
        Ok(())
    }

    /// The daemons the supervisor of a node or guest runs (`pcmk-node status`), in one look.
    pub async fn running_services(&self, node: &str) -> anyhow::Result<Vec<Service>> {
        let out = self.supervise(node, Verb::Status).await?;
        let running = |service: &Service| out.stdout.lines().any(|l| l.trim() == format!("{} running", service.as_str()));
        Ok([Service::Corosync, Service::Pacemaker, Service::Pcsd].into_iter().filter(running).collect())
    }

    /// Starts, stops, restarts or kills one daemon on one node.
    pub async fn service(&self, node: &str, action: ServiceAction, service: Service) -> anyhow::Result<()> {
        let out = self.supervise(node, Verb::Service(action, service)).await?;
        if !out.success() {
            bail!("{} {} on {node} failed: {}", action.as_str(), service.as_str(), out.stderr.trim());
        }
        Ok(())
    }

    /// Makes the same nodes a cluster built from nothing, as `pcs cluster destroy`
    /// and `pcs cluster setup` would: the configuration is erased, pacemaker
    /// stops everywhere, its CIB and history are wiped, and it starts on an empty
    /// configuration (the harness's options only). Corosync, the nodes' files and
    /// their keys stay. Returns once the cluster is ready again; `timeout` bounds
    /// each of the two waits (resources stopped, cluster ready) on its own.
    pub async fn reset_pacemaker(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let (empty, _) = cib::seed(None, &[])?;
        let names = self.node_names();
        // Resources stop first: pacemaker stopped everywhere at once while they
        // ran did not stop within 60 s here. (`crm_resource --wait` is no help:
        // under load it waited past 60 s on the orphans' history deletes.)
        let first = names.first().context("a cluster has at least one node")?;
        let started = Instant::now();
        let erase = self.exec(first, &["cibadmin", "--erase", "--force"]).await?;
        if !erase.success() {
            bail!("erasing the configuration on {first} failed: {}", erase.stderr.trim());
        }
        loop {
            match self.status(first).await {
                Ok(status) if status.resources.iter().all(|r| !r.active) => break,
                Ok(status) if started.elapsed() >= timeout => {
                    let active: Vec<&str> = status.resources.iter().filter(|r| r.active).map(|r| r.id.as_str()).collect();
                    bail!("run {}: resources still active {timeout:?} after the configuration was erased: {}", self.run, active.join(", "));
                }
                Err(e) if started.elapsed() >= timeout => return Err(e),
                _ => tokio::time::sleep(POLL).await,
            }
        }
        // Stopped everywhere before any wipe: a node still running would hand its CIB back.
        // Its state is wiped next, so a stop that hangs may end in SIGKILL.
        self.service_everywhere(ServiceAction::ForceStop, Service::Pacemaker).await?;
        // Corosync too, as `pcs cluster destroy` does: the nodes start from nothing.
        self.service_everywhere(ServiceAction::Stop, Service::Corosync).await?;
        let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &empty);
        let wipe = format!(
            "set -e; rm -rf /var/lib/pacemaker/cib/* /var/lib/pacemaker/pengine/*; \
             echo '{encoded}' | base64 -d > {CIB_XML}; chown hacluster:haclient {CIB_XML}; chmod 0600 {CIB_XML}"
        );
        for node in &names {
            let out = self.exec(node, &["bash", "-c", &wipe]).await?;
            if !out.success() {
                bail!("wiping pacemaker's state on {node} failed: {}", out.stderr.trim());
            }
        }
        self.service_everywhere(ServiceAction::Start, Service::Corosync).await?;
        self.service_everywhere(ServiceAction::Start, Service::Pacemaker).await?;
        self.wait_ready(timeout).await
    }

    /// One daemon started, stopped or killed on every node at once.
    async fn service_everywhere(&self, action: ServiceAction, service: Service) -> anyhow::Result<()> {
        let done = future::join_all(self.node_names().into_iter().map(|n| self.service(n, action, service))).await;
        done.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deaf_node_drops_what_the_others_send_on_every_link() {
        let ruleset = deaf_ruleset(&[Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 1, 0, 1)]);
        assert!(ruleset.starts_with("table inet pcmk_deaf\ndelete table inet pcmk_deaf\n"), "{ruleset}");
        assert!(ruleset.contains("type filter hook input priority -200; policy accept;"), "{ruleset}");
        assert!(ruleset.contains("ip saddr { 10.0.0.1, 10.1.0.1 } counter drop"), "{ruleset}");
        assert!(!ruleset.contains("hook output"), "one way only: {ruleset}");
    }
}
