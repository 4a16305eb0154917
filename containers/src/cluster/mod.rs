//! The throwaway cluster: a private network per link, one container per node,
//! the candidate applied, corosync and pacemaker started under `pcmk-node`,
//! and a wait until `crm_mon` shows quorum, a DC and every node online.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, KillContainerOptionsBuilder, StopContainerOptionsBuilder};
use bollard::Docker;
use futures_util::{future, StreamExt};
use rand::{Rng, RngCore};

use crate::addresses::AddressMap;
use crate::candidate::Candidate;
use crate::cib::{self, HarnessSetting};
use crate::error::InputError;
use crate::fence::{self, FenceAction, FenceWatcher};
use crate::image::NodeImage;
use crate::redact::Redactor;
use crate::run::{self, RunId, LABEL_NODE};
use crate::session::{Session, ShellError};
use crate::system_dirs::SystemDir;
use pcmk_model::corosync_conf::{with_nodelist, PlacedNode};
use pcmk_model::node::{Placement, Service, CIB_XML, COROSYNC_CONF};
use pcmk_model::status::ClusterStatus;

/// The central log server's name on every node (an /etc/hosts entry), and its host part on link 0.
pub const LOG_COLLECTOR: &str = "loghost";
const LOG_COLLECTOR_HOST: u8 = 250;

/// The tracing target of commands run in nodes; `--verbose` turns it on.
pub const EXEC_LOG: &str = "pcmk_comply::exec";
pub const EXEC_LOG_DIRECTIVE: &str = "pcmk_comply::exec=info";
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);
/// The supervisor travels with every run, so changing it needs no image rebuild.
const SUPERVISOR: &str = include_str!("../../image/pcmk-node");
const POLL: Duration = Duration::from_millis(250);
/// The longest a wait follows a node's log before asking `crm_mon` again.
const JOIN_WAIT: Duration = Duration::from_secs(1);
/// How often a wait checks that every node's container still runs.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);
/// How long a node may be down while waiting before it counts as dead.
const NODE_DOWN_GRACE: Duration = Duration::from_secs(5);
const EXEC_TIMEOUT: Duration = Duration::from_secs(120);
/// Every IPC connection of Pacemaker and corosync keeps its rings in
/// /dev/shm (2–3 MB each): an idle node held 33–48 MB of Docker's default
/// 64 MB, and a node that ran out had daemons that could not connect to each
/// other (the reset flake). A host's is half its RAM; the memory limit still
/// bounds it.
const NODE_SHM_BYTES: i64 = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Overrides the candidate's node count.
    pub nodes: Option<usize>,
    pub ready_timeout: Duration,
    /// Which command made the cluster (a label; `cluster down` looks for `cluster-up`).
    pub origin: String,
    pub run_id: Option<RunId>,
    /// Keep the containers when start-up fails, for debugging.
    pub keep_on_failure: bool,
    pub memory_bytes: i64,
    pub pids_limit: i64,
    /// Nodes also sit on a public network, apart from the cluster's links
    /// (for the isolation probes).
    pub public_network: bool,
    /// Host names the nodes resolve to the log collector, besides `loghost`
    /// (the log servers the candidate forwards to).
    pub log_host_aliases: Vec<String>,
    /// Nodes may run sshd (it chroots to separate privileges), for `capture`'s
    /// tests; no run of a candidate asks for it.
    pub ssh_server: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            nodes: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            origin: "library".into(),
            run_id: None,
            keep_on_failure: false,
            memory_bytes: 1024 * 1024 * 1024,
            pids_limit: 1024,
            public_network: false,
            log_host_aliases: Vec::new(),
            ssh_server: false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub nodeid: u32,
    /// Address per link, link 0 first.
    pub addrs: Vec<Ipv4Addr>,
    /// Address on the public network, when the candidate asks for one.
    pub public_addr: Option<Ipv4Addr>,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    pub subnet: String,
}

pub struct Cluster {
    docker: Docker,
    pub run: RunId,
    pub image: String,
    system_dirs: Vec<SystemDir>,
    pub nodes: Vec<Node>,
    pub networks: Vec<Network>,
    /// Options the harness set that the candidate did not.
    pub harness_settings: Vec<HarnessSetting>,
    /// Candidate files in which node addresses were mapped onto the run's network.
    pub mapped_files: Vec<String>,
    labels: HashMap<String, String>,
    /// Index in `networks` of the public network, if any.
    pub public_link: Option<usize>,
    /// What every node receives at creation, kept to recreate a node.
    /// What each node receives, in the order of `nodes`.
    archives: Vec<Vec<u8>>,
    /// Memory bytes and pids per container.
    limits: (i64, i64),
    /// Nodes keep CAP_SYS_CHROOT, which sshd's privilege separation needs.
    ssh_server: bool,
    /// Names the nodes resolve to the log collector besides `loghost`.
    log_host_aliases: Vec<String>,
    fence: Option<FenceWatcher>,
    redactor: Redactor,
    /// Idle open shells per container, for root commands; one is opened
    /// whenever none is idle, so commands on a node never wait for each other.
    shells: std::sync::Mutex<HashMap<String, Vec<Session>>>,
    /// Containers on the run's networks that are not members; dropped before
    /// `guard`, and each removes its container as it goes.
    guests: Guests,
    guard: RunGuard,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("run", &self.run).field("nodes", &self.nodes).finish_non_exhaustive()
    }
}

mod creation;
mod deployment;
mod exec;
mod faults;
mod guests;
mod readiness;
mod supervisor;

pub(crate) use crate::run::RunGuard;
pub use crate::session::exec_in;
pub use crate::session::ExecOutput;
use deployment::{append, create_network, deployment, host_address, Layout};
pub use exec::{run_tool, run_tool_with, ToolGrant};
use guests::Guests;
pub use guests::{local_image, GuestSpec, Helper};
pub use readiness::{NodeStopped, NotReadyInTime};
pub use supervisor::{LossCounts, ServiceAction, Verb};

impl Cluster {
    /// Builds the cluster and waits until it is ready.
    pub async fn up(docker: &Docker, candidate: &Candidate, image: &NodeImage, options: &ClusterOptions) -> anyhow::Result<Cluster> {
        let mut cluster = Self::start(docker, candidate, image, options).await?;
        if let Err(e) = cluster.wait_ready(options.ready_timeout).await {
            if options.keep_on_failure {
                cluster.keep();
                return Err(e.context(format!(
                    "kept run {} for debugging; remove it with `pcmk-comply cluster down --run {}`",
                    cluster.run, cluster.run
                )));
            }
            return Err(e);
        }
        Ok(cluster)
    }

    /// Creates networks and nodes and starts them, without waiting for readiness.
    pub async fn start(docker: &Docker, candidate: &Candidate, image: &NodeImage, options: &ClusterOptions) -> anyhow::Result<Cluster> {
        let layout = Layout::plan(candidate, options.nodes)?;
        let (deployment, mut harness_settings) = deployment(candidate)?;
        let run = options.run_id.clone().unwrap_or_else(RunId::generate);
        run::register(&run);
        let guard = RunGuard { run: run.clone(), armed: true };
        let labels = run::labels(&run, &options.origin);

        let mut networks = Vec::new();
        for link in 0..layout.links {
            networks.push(create_network(docker, &run, &format!("link{link}"), &labels).await?);
        }
        // The public network comes after the links: no corosync link uses it.
        let public_link = if options.public_network || candidate.public_network {
            networks.push(create_network(docker, &run, "public", &labels).await?);
            Some(networks.len() - 1)
        } else {
            None
        };
        let nodes: Vec<Node> = layout
            .nodes
            .iter()
            .enumerate()
            .map(|(index, placed)| Node {
                name: placed.name.clone(),
                nodeid: placed.nodeid,
                addrs: networks[..layout.links].iter().map(|n| host_address(&n.subnet, index)).collect(),
                public_addr: public_link.map(|l| host_address(&networks[l].subnet, index)),
            })
            .collect();
        let conf_text = std::str::from_utf8(&candidate.corosync_file().content).expect("checked at load");
        let placed: Vec<PlacedNode> = nodes
            .iter()
            .map(|n| PlacedNode { name: n.name.clone(), nodeid: n.nodeid, addrs: n.addrs.iter().map(Ipv4Addr::to_string).collect() })
            .collect();
        let corosync_conf = with_nodelist(conf_text, candidate.corosync_conf(), &placed);
        let mut addresses = AddressMap::default();
        for (entry, node) in candidate.corosync_conf().nodes().iter().zip(&nodes) {
            for (link, addr) in &entry.addrs {
                if let (Ok(from), Some(to)) = (addr.parse::<Ipv4Addr>(), node.addrs.get(*link as usize)) {
                    addresses.insert(from, *to);
                }
            }
        }
        harness_settings.extend(deployment.move_virtual_ips(&mut addresses, &networks[0].subnet));
        let mut archives = Vec::new();
        let mut mapped_files = Vec::new();
        for index in 0..nodes.len() {
            let (archive, mapped) = deployment.archive(&corosync_conf, &addresses, index)?;
            archives.push(archive);
            mapped_files = mapped;
        }
        let cluster = Cluster {
            docker: docker.clone(),
            run,
            image: image.tag.clone(),
            system_dirs: image.system_dirs.clone(),
            nodes,
            networks,
            harness_settings,
            mapped_files,
            labels,
            public_link,
            archives: archives.clone(),
            limits: (options.memory_bytes, options.pids_limit),
            ssh_server: options.ssh_server,
            log_host_aliases: options.log_host_aliases.clone(),
            fence: None,
            redactor: deployment.redactor.clone(),
            shells: Default::default(),
            guests: Guests::default(),
            guard,
        };
        let node_addrs: Vec<Vec<Option<Ipv4Addr>>> =
            cluster.nodes.iter().map(|n| n.addrs.iter().copied().chain(n.public_addr).map(Some).collect()).collect();
        let containers: Vec<String> = cluster.nodes.iter().map(|n| cluster.container_of(&n.name)).collect();
        let starts = cluster
            .nodes
            .iter()
            .zip(&node_addrs)
            .zip(&containers)
            .zip(&archives)
            .map(|(((node, addrs), container), archive)| cluster.create_container(container, &node.name, addrs, &node.name, archive));
        for result in future::join_all(starts).await {
            result?;
        }
        let mut cluster = cluster;
        let containers = cluster.nodes.iter().map(|n| (n.name.clone(), cluster.container_of(&n.name))).collect();
        cluster.fence = Some(FenceWatcher::start(docker, containers));
        Ok(cluster)
    }

    /// The container of a node of this cluster; an error for an unknown node.
    fn node_container(&self, node: &str) -> anyhow::Result<String> {
        Ok(self.container_of(&self.node(node)?.name))
    }

    /// The container of a node or guest of this run.
    pub fn container_of(&self, name: &str) -> String {
        format!("pcmk-{}-{name}", self.run)
    }

    /// An address on link `link` for a guest: host part 200 and up, clear of the nodes'.
    /// Where a log collector guest sits, if a test starts one: known to every node as `loghost`.
    pub fn log_collector_address(&self) -> anyhow::Result<Ipv4Addr> {
        self.guest_address(0, LOG_COLLECTOR_HOST)
    }

    pub fn guest_address(&self, link: usize, host: u8) -> anyhow::Result<Ipv4Addr> {
        let network = self.networks.get(link).with_context(|| format!("run {} has no link {link}", self.run))?;
        let [a, b, c, _] = host_address(&network.subnet, 0).octets();
        Ok(Ipv4Addr::new(a, b, c, host))
    }

    /// How the harness's fence device answers every request from now on.
    pub fn set_fence_mode(&self, mode: fence::FenceMode) -> anyhow::Result<()> {
        let watcher = self.fence.as_ref().ok_or_else(|| anyhow::anyhow!("this cluster's fencing is not the harness's"))?;
        watcher.set_mode(mode);
        Ok(())
    }

    /// Fencing the cluster asked for and the harness carried out, oldest first.
    pub fn fence_actions(&self) -> Vec<FenceAction> {
        self.fence.as_ref().map(FenceWatcher::actions).unwrap_or_default()
    }

    /// Keeps the cluster after this process ends (`cluster up`, `--keep`).
    pub fn keep(&mut self) {
        self.guard.armed = false;
        self.guests.keep();
        run::unregister(&self.run);
    }

    /// Removes every container and network of this cluster.
    pub async fn down(mut self) -> anyhow::Result<()> {
        self.guard.armed = false;
        // The guests first, by their handles: removed by label first, a handle
        // would find its container gone, and testcontainers logs that as an error.
        self.guests.remove_all().await;
        run::remove_run(&self.docker, &self.run).await
    }

    pub fn node(&self, name: &str) -> anyhow::Result<&Node> {
        self.nodes.iter().find(|n| n.name == name).with_context(|| format!("no node named {name} in run {}", self.run))
    }

    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }
}
