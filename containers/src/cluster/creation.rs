//! One container of a run, made the way every node and helper is made:
//! created on the run's networks at fixed addresses, given its files as an
//! archive, and its state on volumes labelled with the run.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use anyhow::Context;
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Mount, MountType, MountVolumeOptions, NetworkConnectRequest,
    NetworkingConfig,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;

use super::deployment::archive_paths;
use super::{Cluster, Network, EXEC_TIMEOUT, LOG_COLLECTOR, NODE_SHM_BYTES};
use crate::run::LABEL_NODE;
use crate::session::Session;
use crate::system_dirs::{self, SystemDir};

impl Cluster {
    /// Creates, fills and starts one container on the run's networks.
    pub(super) async fn create_container(
        &self,
        container: &str,
        hostname: &str,
        addrs: &[Option<Ipv4Addr>],
        role: &str,
        archive: &[u8],
    ) -> anyhow::Result<()> {
        self.create_container_from((&self.image, &self.system_dirs), container, hostname, addrs, role, archive).await
    }

    pub(super) async fn create_container_from(
        &self,
        (image, system_dirs): (&str, &[SystemDir]),
        container: &str,
        hostname: &str,
        addrs: &[Option<Ipv4Addr>],
        role: &str,
        archive: &[u8],
    ) -> anyhow::Result<()> {
        let mut attachments = self.attachments(addrs);
        let (first, first_addr) = attachments.next().context("a container needs at least one network")?;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            hostname: Some(hostname.to_string()),
            labels: Some(self.labels_of(role)),
            host_config: Some(self.host_config(system_dirs, archive, &first.name)?),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(first.name.clone(), endpoint(first_addr))])),
            }),
            ..Default::default()
        };
        let create = CreateContainerOptionsBuilder::default().name(container).build();
        self.docker.create_container(Some(create), body).await.with_context(|| format!("creating {hostname}"))?;
        self.attach(container, hostname, attachments).await?;
        self.docker.start_container(container, None).await.with_context(|| format!("starting {hostname}"))?;
        self.deliver(container, hostname, archive).await
    }

    /// The run's labels and the container's role (node or guest name).
    pub(super) fn labels_of(&self, role: &str) -> HashMap<String, String> {
        let mut labels = self.labels.clone();
        labels.insert(LABEL_NODE.into(), role.to_string());
        labels
    }

    /// The run's networks a container joins, with its address on each, link order.
    pub(super) fn attachments<'a>(&'a self, addrs: &'a [Option<Ipv4Addr>]) -> impl Iterator<Item = (&'a Network, &'a Ipv4Addr)> + 'a {
        self.networks.iter().zip(addrs).filter_map(|(n, a)| Some((n, a.as_ref()?)))
    }

    /// What every container of a run gets from the engine, nodes and guests
    /// alike: capabilities, limits, `/run`, the system directories, its own
    /// state volumes, the log collector's name; on `network_mode`.
    pub(super) fn host_config(&self, system_dirs: &[SystemDir], archive: &[u8], network_mode: &str) -> anyhow::Result<HostConfig> {
        // Through /etc/hosts, not Docker's DNS: a candidate's `flush ruleset` also flushes the DNS redirect.
        let log_collector = self.log_collector_address()?;
        Ok(HostConfig {
            network_mode: Some(network_mode.to_string()),
            cap_add: Some(vec!["NET_ADMIN".into()]),
            cap_drop: Some(
                ["MKNOD", "SYS_CHROOT", "SETFCAP"]
                    .into_iter()
                    .filter(|c| !(self.ssh_server && *c == "SYS_CHROOT"))
                    .map(String::from)
                    .collect(),
            ),
            privileged: Some(false),
            memory: Some(self.limits.0),
            memory_swap: Some(self.limits.0),
            pids_limit: Some(self.limits.1),
            shm_size: Some(NODE_SHM_BYTES),
            // A reboot (fencing) clears /run as on a real host: no stale pid or resource state.
            tmpfs: Some(HashMap::from([("/run".to_string(), "rw,nosuid,nodev,mode=0755,size=64m".to_string())])),
            mounts: Some(system_dirs::mounts(system_dirs, &archive_paths(archive)?).into_iter().chain(self.state_volumes()).collect()),
            init: Some(false),
            extra_hosts: Some(
                std::iter::once(LOG_COLLECTOR)
                    .chain(self.log_host_aliases.iter().map(String::as_str))
                    .map(|name| format!("{name}:{log_collector}"))
                    .collect(),
            ),
            ..Default::default()
        })
    }

    /// Joins a container to further networks, each at its fixed address.
    pub(super) async fn attach<'a>(
        &self,
        container: &str,
        hostname: &str,
        attachments: impl Iterator<Item = (&'a Network, &'a Ipv4Addr)>,
    ) -> anyhow::Result<()> {
        for (network, addr) in attachments {
            let request = NetworkConnectRequest { container: container.to_string(), endpoint_config: Some(endpoint(addr)) };
            self.docker
                .connect_network(&network.name, request)
                .await
                .with_context(|| format!("attaching {hostname} to {}", network.name))?;
        }
        Ok(())
    }

    /// Hands a started container its files; its boot waits for them.
    pub(super) async fn deliver(&self, container: &str, hostname: &str, archive: &[u8]) -> anyhow::Result<()> {
        // Through a shell the node needs anyway, not the engine's upload, which
        // here starts a helper process and mounts the container's filesystem
        // once more (about 0.15 s of CPU per container); the node's boot waits.
        let delivery = tokio::time::timeout(EXEC_TIMEOUT, Session::open_delivering(&self.docker, container, archive));
        let shell = delivery
            .await
            .map_err(|_| anyhow::anyhow!("not done within {EXEC_TIMEOUT:?}"))
            .and_then(|done| done)
            .with_context(|| format!("copying files into {hostname}"))?;
        self.shells.lock().unwrap_or_else(|e| e.into_inner()).entry(container.to_string()).or_default().push(shell);
        Ok(())
    }

    /// Anonymous volumes for the directories a node writes all the time (its
    /// logs, the CIB and the scheduler's inputs), so those writes bypass the
    /// storage driver; like a disk they outlive a reboot (fencing), and they go
    /// with the container. Labelled with the run, so its removal finds them.
    pub(super) fn state_volumes(&self) -> impl Iterator<Item = Mount> + '_ {
        ["/var/log", "/var/lib/pacemaker"].into_iter().map(|target| Mount {
            target: Some(target.into()),
            typ: Some(MountType::VOLUME),
            volume_options: Some(MountVolumeOptions { labels: Some(self.labels.clone()), ..Default::default() }),
            ..Default::default()
        })
    }
}

/// An endpoint at a fixed address: nodes and guests never take one the engine picks.
fn endpoint(addr: &Ipv4Addr) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(addr.to_string()), ..Default::default() }),
        ..Default::default()
    }
}
