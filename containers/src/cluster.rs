//! The throwaway cluster: a private network per link, one container per node,
//! the candidate applied, corosync and pacemaker started under `pcmk-node`,
//! and a wait until `crm_mon` shows quorum, a DC and every node online.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig, Mount, MountType,
    MountVolumeOptions, NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::{future, StreamExt};
use rand::{Rng, RngCore};

use crate::candidate::{Candidate, Placement, Service, CIB_XML, COROSYNC_CONF};
use crate::addresses::AddressMap;
use crate::cib::{self, HarnessSetting};
use crate::corosync_conf::{with_nodelist, PlacedNode};
use crate::error::InputError;
use crate::fence::{self, FenceAction, FenceWatcher};
use crate::image::NodeImage;
use crate::redact::Redactor;
use crate::run::{self, RunId, LABEL_NODE};
use crate::session::{Session, ShellError};
use crate::status::ClusterStatus;
use crate::system_dirs::{self, SystemDir};

/// The central log server's name on every node (an /etc/hosts entry), and its host part on link 0.
pub const LOG_COLLECTOR: &str = "loghost";
const LOG_COLLECTOR_HOST: u8 = 250;

/// The tracing target of commands run in nodes; `--verbose` turns it on.
pub const EXEC_LOG: &str = "pcmk_comply::exec";
pub const EXEC_LOG_DIRECTIVE: &str = "pcmk_comply::exec=info";
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);
/// The supervisor travels with every run, so changing it needs no image rebuild.
const SUPERVISOR: &str = include_str!("../image/pcmk-node");
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
/// Output kept from one command run in a node; more is cut, so a hostile
/// candidate cannot fill the harness's memory through a node's output.
pub(crate) const MAX_EXEC_OUTPUT: usize = 8 * 1024 * 1024;

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

/// Output of a command run in a node.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Removes a run's objects when dropped, unless disarmed: the one clean-up
/// path for errors, panics and cancelled futures.
pub(crate) struct RunGuard {
    pub(crate) run: RunId,
    pub(crate) armed: bool,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if self.armed {
            run::remove_run_blocking(&self.run);
        }
        run::unregister(&self.run);
    }
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
    archive: Vec<u8>,
    /// Memory bytes and pids per container.
    limits: (i64, i64),
    /// Names the nodes resolve to the log collector besides `loghost`.
    log_host_aliases: Vec<String>,
    fence: Option<FenceWatcher>,
    redactor: Redactor,
    /// Idle open shells per container, for root commands; one is opened
    /// whenever none is idle, so commands on a node never wait for each other.
    shells: std::sync::Mutex<HashMap<String, Vec<Session>>>,
    guard: RunGuard,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("run", &self.run).field("nodes", &self.nodes).finish_non_exhaustive()
    }
}

/// What one node receives: files, and the plan `pcmk-node` applies at first boot.
struct Deployment {
    /// Files whose owner and mode the plan sets, and whether they are
    /// configuration text whose addresses are mapped (secrets are not).
    files: Vec<(Placement, Vec<u8>, bool)>,
    /// Files the plan consumes and deletes (passwords).
    transient: Vec<(String, Vec<u8>)>,
    plan: String,
    corosync_conf: Placement,
    /// Generated keys, passwords and CIB credentials: never printed.
    redactor: Redactor,
}

impl Cluster {
    /// Builds the cluster and waits until it is ready.
    pub async fn up(docker: &Docker, candidate: &Candidate, image: &NodeImage, options: &ClusterOptions) -> anyhow::Result<Cluster> {
        let mut cluster = Self::start(docker, candidate, image, options).await?;
        if let Err(e) = cluster.wait_ready(options.ready_timeout).await {
            if options.keep_on_failure {
                cluster.keep();
                return Err(e.context(format!("kept run {} for debugging; remove it with `pcmk-comply cluster down --run {}`", cluster.run, cluster.run)));
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
        let (archive, mapped_files) = deployment.archive(&corosync_conf, &addresses)?;
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
            archive: archive.clone(),
            limits: (options.memory_bytes, options.pids_limit),
            log_host_aliases: options.log_host_aliases.clone(),
            fence: None,
            redactor: deployment.redactor.clone(),
            shells: Default::default(),
            guard,
        };
        let node_addrs: Vec<Vec<Option<Ipv4Addr>>> = cluster.nodes.iter().map(|n| n.addrs.iter().copied().chain(n.public_addr).map(Some).collect()).collect();
        let containers: Vec<String> = cluster.nodes.iter().map(|n| cluster.container_of(&n.name)).collect();
        let starts = cluster
            .nodes
            .iter()
            .zip(&node_addrs)
            .zip(&containers)
            .map(|((node, addrs), container)| cluster.create_container(container, &node.name, addrs, &node.name, &archive));
        for result in future::join_all(starts).await {
            result?;
        }
        let mut cluster = cluster;
        let containers = cluster.nodes.iter().map(|n| (n.name.clone(), cluster.container_of(&n.name))).collect();
        cluster.fence = Some(FenceWatcher::start(docker, containers));
        Ok(cluster)
    }

    /// Creates, fills and starts one container on the run's networks.
    async fn create_container(&self, container: &str, hostname: &str, addrs: &[Option<Ipv4Addr>], role: &str, archive: &[u8]) -> anyhow::Result<()> {
        self.create_container_from((&self.image, &self.system_dirs), container, hostname, addrs, role, archive).await
    }

    async fn create_container_from(
        &self,
        (image, system_dirs): (&str, &[SystemDir]),
        container: &str,
        hostname: &str,
        addrs: &[Option<Ipv4Addr>],
        role: &str,
        archive: &[u8],
    ) -> anyhow::Result<()> {
        let mut labels = self.labels.clone();
        labels.insert(LABEL_NODE.into(), role.to_string());
        let endpoint = |addr: &Ipv4Addr| EndpointSettings {
            ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(addr.to_string()), ..Default::default() }),
            ..Default::default()
        };
        // Through /etc/hosts, not Docker's DNS: a candidate's `flush ruleset` also flushes the DNS redirect.
        let log_collector = self.log_collector_address()?;
        let mut attachments = self.networks.iter().zip(addrs).filter_map(|(n, a)| Some((n, a.as_ref()?)));
        let (first, first_addr) = attachments.next().context("a container needs at least one network")?;
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            hostname: Some(hostname.to_string()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some(first.name.clone()),
                cap_add: Some(vec!["NET_ADMIN".into()]),
                cap_drop: Some(vec!["MKNOD".into(), "SYS_CHROOT".into(), "SETFCAP".into()]),
                privileged: Some(false),
                memory: Some(self.limits.0),
                memory_swap: Some(self.limits.0),
                pids_limit: Some(self.limits.1),
                shm_size: Some(NODE_SHM_BYTES),
                // A reboot (fencing) clears /run as on a real host: no stale pid or resource state.
                tmpfs: Some(HashMap::from([("/run".to_string(), "rw,nosuid,nodev,mode=0755,size=64m".to_string())])),
                mounts: Some(system_dirs::mounts(system_dirs, &archive_paths(archive)?).into_iter().chain(self.state_volumes()).collect()),
                init: Some(false),
                extra_hosts: Some(std::iter::once(LOG_COLLECTOR).chain(self.log_host_aliases.iter().map(String::as_str)).map(|name| format!("{name}:{log_collector}")).collect()),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig { endpoints_config: Some(HashMap::from([(first.name.clone(), endpoint(first_addr))])) }),
            ..Default::default()
        };
        let create = CreateContainerOptionsBuilder::default().name(container).build();
        self.docker.create_container(Some(create), body).await.with_context(|| format!("creating {hostname}"))?;
        for (network, addr) in attachments {
            let request = NetworkConnectRequest { container: container.to_string(), endpoint_config: Some(endpoint(addr)) };
            self.docker.connect_network(&network.name, request).await.with_context(|| format!("attaching {hostname} to {}", network.name))?;
        }
        self.docker.start_container(container, None).await.with_context(|| format!("starting {hostname}"))?;
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
    fn state_volumes(&self) -> impl Iterator<Item = Mount> + '_ {
        ["/var/log", "/var/lib/pacemaker"].into_iter().map(|target| Mount {
            target: Some(target.into()),
            typ: Some(MountType::VOLUME),
            volume_options: Some(MountVolumeOptions { labels: Some(self.labels.clone()), ..Default::default() }),
            ..Default::default()
        })
    }

    /// Adds a container that is not a cluster member (a rogue host, a collector)
    /// to the run's networks; it goes with the run. Exec into it by `spec.name`.
    pub async fn add_guest(&self, spec: GuestSpec) -> anyhow::Result<()> {
        let mut plan = String::new();
        let mut archive = tar::Builder::new(Vec::new());
        for (placement, content) in &spec.files {
            append(&mut archive, &placement.path, placement.mode, content)?;
            plan.push_str(&format!("file\t{}\t{}\t{}\t{:o}\n", placement.path, placement.owner, placement.group, placement.mode));
        }
        for service in &spec.services {
            plan.push_str(&format!("autostart\t{}\n", service.as_str()));
        }
        append(&mut archive, "/etc/pcmk-comply/plan", 0o600, plan.as_bytes())?;
        append(&mut archive, "/usr/local/sbin/pcmk-node", 0o755, SUPERVISOR.as_bytes())?;
        let archive = archive.into_inner()?;
        self.create_container(&self.container_of(&spec.name), &spec.hostname, &spec.addrs, &spec.name, &archive).await
    }

    /// Removes a node's or guest's container outright (its addresses become free).
    pub async fn remove_container(&self, name: &str) -> anyhow::Result<()> {
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        self.docker.remove_container(&self.container_of(name), Some(options)).await.with_context(|| format!("removing {name}"))
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

    /// Fencing the cluster asked for and the harness carried out, oldest first.
    pub fn fence_actions(&self) -> Vec<FenceAction> {
        self.fence.as_ref().map(FenceWatcher::actions).unwrap_or_default()
    }

    /// Keeps the cluster after this process ends (`cluster up`, `--keep`).
    pub fn keep(&mut self) {
        self.guard.armed = false;
        run::unregister(&self.run);
    }

    /// Removes every container and network of this cluster.
    pub async fn down(mut self) -> anyhow::Result<()> {
        self.guard.armed = false;
        run::remove_run(&self.docker, &self.run).await
    }

    pub fn node(&self, name: &str) -> anyhow::Result<&Node> {
        self.nodes.iter().find(|n| n.name == name).with_context(|| format!("no node named {name} in run {}", self.run))
    }

    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    /// Runs `cmd` in `node` as root and collects its output.
    pub async fn exec(&self, node: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        self.exec_as(node, "root", cmd).await
    }

    /// Runs `cmd` as `user` in a node or guest: as root in an open shell,
    /// as anyone else by `docker exec` (the engine sets up the user's groups).
    pub async fn exec_as(&self, node: &str, user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        let container = self.container_of(node);
        let run = async {
            if user == "root" {
                self.run_in_shell(&container, cmd).await
            } else {
                exec_in(&self.docker, &container, user, cmd).await
            }
        };
        let out = tokio::time::timeout(EXEC_TIMEOUT, run)
            .await
            .map_err(|_| anyhow::anyhow!("`{}` on {node} did not finish within {EXEC_TIMEOUT:?}", cmd.join(" ")))?
            .with_context(|| format!("running `{}` on {node}", cmd.join(" ")))?;
        self.log_exec(node, user, cmd, &out);
        Ok(out)
    }

    /// Runs `cmd` in an idle shell of the container, or a new one. Shells
    /// left by a node that stopped or restarted are dropped unused; a shell
    /// whose command failed or was abandoned (timeout) is never reused.
    async fn run_in_shell(&self, container: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        let shells = || self.shells.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // Bound first: the lock must not be held across the command.
            let idle = shells().get_mut(container).and_then(Vec::pop);
            let Some(mut shell) = idle else { break };
            match shell.run(cmd).await {
                Ok(out) => {
                    shells().entry(container.to_string()).or_default().push(shell);
                    return Ok(out);
                }
                Err(ShellError::Stale) => continue,
                Err(ShellError::Failed(e)) => return Err(e),
            }
        }
        // A new shell that ends at once is a node that is down: an error, as `docker exec` gives.
        let mut shell = Session::open(&self.docker, container).await?;
        let out = shell.run(cmd).await?;
        shells().entry(container.to_string()).or_default().push(shell);
        Ok(out)
    }

    /// `--verbose`: the command and its output, secrets redacted.
    fn log_exec(&self, node: &str, user: &str, cmd: &[&str], out: &ExecOutput) {
        if tracing::enabled!(target: EXEC_LOG, tracing::Level::INFO) {
            let r = |t: &str| self.redactor.redact(t.trim_end());
            tracing::info!(target: EXEC_LOG, "{node} ({user})$ {} → exit {}\n{}{}", r(&cmd.join(" ")), out.code, r(&out.stdout), if out.stderr.trim().is_empty() { String::new() } else { format!("\nstderr: {}", r(&out.stderr)) });
        }
    }

    /// Hides the run's secrets in text about to be printed.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Installed versions of `packages` on `node`; absent packages are left out.
    pub async fn package_versions(&self, node: &str, packages: &[&str]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
        let mut cmd = vec!["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"];
        cmd.extend_from_slice(packages);
        let out = self.exec(node, &cmd).await?;
        Ok(out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect())
    }

    /// `crm_mon` as seen from `node`; an error when pacemaker cannot answer there.
    pub async fn status(&self, node: &str) -> anyhow::Result<ClusterStatus> {
        self.node(node)?;
        let out = self.exec(node, &["crm_mon", "--one-shot", "--output-as=xml"]).await?;
        if out.stdout.trim().is_empty() {
            bail!("crm_mon on {node} answered nothing (exit {}): {}", out.code, out.stderr.trim());
        }
        ClusterStatus::parse(&out.stdout).map_err(|e| anyhow::anyhow!("{node}: {e}"))
    }

    /// Waits until every node in `ask` sees a DC, quorum and exactly `members` online.
    pub async fn wait_for_members(&self, ask: &[&str], members: &[&str], timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut down_since: HashMap<&str, Instant> = HashMap::new();
        let mut checked_liveness: Option<Instant> = None;
        let mut joined: Vec<&str> = Vec::new();
        loop {
            // Each view costs about 50 ms of the machine's CPU (crm_mon through the
            // node's shell): the others are asked only once the first agrees.
            let Some((first, others)) = ask.split_first() else { bail!("no node to ask") };
            if self.status(first).await.is_ok_and(|s| s.has_members(members)) {
                let views = future::join_all(others.iter().map(|n| self.status(n))).await;
                if views.iter().all(|v| v.as_ref().is_ok_and(|s| s.has_members(members))) {
                    return Ok(started.elapsed());
                }
            }
            // A node that stays down will not come back by waiting: say so early.
            // A fencing reboot stops a node for a moment, so only a lasting stop counts.
            if checked_liveness.is_none_or(|at| at.elapsed() >= LIVENESS_CHECK) {
                checked_liveness = Some(Instant::now());
                for node in ask {
                    if self.running(node).await? {
                        down_since.remove(node);
                    } else if down_since.entry(node).or_insert_with(Instant::now).elapsed() > NODE_DOWN_GRACE {
                        let logs = self.recent_logs(ask, 15).await;
                        return Err(NodeStopped(format!("run {}: node {node} stopped running while the cluster was awaited\n{logs}", self.run)).into());
                    }
                }
            }
            if started.elapsed() >= timeout {
                let views = future::join_all(ask.iter().map(|n| self.status(n))).await;
                let last: Vec<String> = ask
                    .iter()
                    .zip(&views)
                    .map(|(node, view)| match view {
                        Ok(s) => format!("{node}: dc={} quorate={} members={:?}", s.dc.as_deref().unwrap_or("none"), s.quorate, s.members()),
                        Err(e) => format!("{node}: {e:#}"),
                    })
                    .collect();
                let logs = self.recent_logs(ask, 15).await;
                // Corosync's own view (links, membership) tells a network miss from a daemon's.
                let mut corosync = String::new();
                for node in ask {
                    let view = match self.exec(node, &["sh", "-c", "corosync-cfgtool -s; corosync-quorumtool -s"]).await {
                        Ok(out) => format!("{}{}", out.stdout, out.stderr),
                        Err(e) => format!("{e:#}\n"),
                    };
                    corosync.push_str(&format!("--- {node} corosync view ---\n{view}"));
                }
                return Err(NotReadyInTime(format!(
                    "run {}: the cluster did not reach quorum with members {members:?} within {timeout:?}\nlast view:\n  {}\n{corosync}{logs}",
                    self.run,
                    last.join("\n  ")
                ))
                .into());
            }
            // A node that has never joined a DC (a new container) cannot agree yet:
            // follow its log instead of asking `crm_mon` (a cluster start took 20–45 views).
            match ask.iter().find(|n| !joined.contains(n)) {
                Some(node) => match self.await_join(node).await {
                    Join::Joined => joined.push(node),
                    Join::NotYet => {}
                    // It will not join by waiting (the start-up miss: a pacemakerd
                    // staying down after a fatal error, its cause not yet proven).
                    Join::StaysDown(why) => {
                        let logs = self.recent_logs(ask, 15).await;
                        return Err(NotReadyInTime(format!("run {}: {node} stays down ({why}) while the cluster was awaited\n{logs}", self.run)).into());
                    }
                },
                None => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Whether `node`'s controller has joined a DC at least once, waiting up to
    /// `JOIN_WAIT` for it. Joined is not an answer on its own (a log may be
    /// elsewhere): it only saves views that could not agree yet.
    async fn await_join(&self, node: &str) -> Join {
        match self.exec(node, &["pcmk-node", "await-join", &JOIN_WAIT.as_secs_f64().to_string()]).await {
            Ok(out) if out.success() => Join::Joined,
            Ok(out) if out.code == 3 => Join::StaysDown(out.stderr.trim().to_string()),
            Ok(_) => Join::NotYet,
            Err(_) => {
                tokio::time::sleep(POLL).await;
                Join::NotYet
            }
        }
    }

    /// Waits until all nodes agree (quorum, a DC, every node online) and every
    /// node's boot has started its services, as a host that reached multi-user.target.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let names = self.node_names();
        let ready = async {
            self.wait_for_members(&names, &names, timeout).await?;
            self.wait_booted(&names, timeout.saturating_sub(started.elapsed())).await
        };
        tokio::pin!(ready);
        loop {
            tokio::select! {
                result = &mut ready => {
                    result?;
                    // A service that failed at the end of the boot, after the members agreed.
                    self.refuse_failed_starts(&names).await?;
                    return Ok(started.elapsed());
                }
                // A daemon that refused the configuration will not come up by waiting: say so at once.
                _ = tokio::time::sleep(Duration::from_secs(1)) => self.refuse_failed_starts(&names).await?,
            }
        }
    }

    /// Waits until each node's boot has started (or failed to start) its services.
    async fn wait_booted(&self, nodes: &[&str], timeout: Duration) -> anyhow::Result<()> {
        let seconds = timeout.as_secs().clamp(1, EXEC_TIMEOUT.as_secs() - 10).to_string();
        let await_boot = ["pcmk-node", "await-boot", seconds.as_str()];
        let waits = future::join_all(nodes.iter().map(|n| self.exec(n, &await_boot))).await;
        for (node, out) in nodes.iter().zip(waits) {
            let out = out?;
            if !out.success() {
                let logs = self.recent_logs(&[node], 15).await;
                return Err(NotReadyInTime(format!("run {}: {node}: {}\n{logs}", self.run, out.stderr.trim())).into());
            }
        }
        Ok(())
    }

    /// An error naming every node whose supervisor says a service failed to start.
    async fn refuse_failed_starts(&self, nodes: &[&str]) -> anyhow::Result<()> {
        let mut failed = Vec::new();
        for node in nodes {
            if let Some(line) = self.console(node, 20).await.lines().find(|l| l.contains("failed to start")) {
                failed.push((*node, line.trim().trim_start_matches("pcmk-node: ").to_string()));
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        let failed_nodes: Vec<&str> = failed.iter().map(|(n, _)| *n).collect();
        let logs = self.recent_logs(&failed_nodes, 15).await;
        let what: Vec<String> = failed.iter().map(|(n, why)| format!("{n}: {why}")).collect();
        bail!("run {}: the cluster cannot become ready ({})\n{logs}", self.run, what.join("; "))
    }

    /// The last corosync and pacemaker log lines of each node, for error messages;
    /// for a node that is no longer running, its console output instead.
    pub async fn recent_logs(&self, nodes: &[&str], lines: usize) -> String {
        let mut out = String::new();
        for node in nodes {
            let text = match self.running(node).await {
                Ok(true) => match self.exec(node, &["pcmk-node", "logs", &lines.to_string()]).await {
                    Ok(o) => format!("{}{}", o.stdout, o.stderr),
                    Err(e) => format!("no logs: {e:#}\n"),
                },
                Ok(false) => format!("(node is not running)\n{}", self.console(node, lines).await),
                Err(e) => format!("no logs: {e:#}\n"),
            };
            out.push_str(&format!("--- {node} logs ---\n{text}"));
        }
        out
    }

    /// Whether the node's container is running.
    pub async fn running(&self, node: &str) -> anyhow::Result<bool> {
        let container = &self.node_container(node)?;
        let state = self.docker.inspect_container(container, None).await.with_context(|| format!("inspecting {node}"))?.state;
        Ok(state.and_then(|s| s.running).unwrap_or(false))
    }

    /// The container's own output (the supervisor's messages).
    async fn console(&self, node: &str, lines: usize) -> String {
        let Ok(node) = self.node(node) else { return String::new() };
        let options = bollard::query_parameters::LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&lines.to_string()).build();
        let mut stream = self.docker.logs(&self.container_of(&node.name), Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        text
    }

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
        self.stop_node(node).await?;
        self.remove_container(node).await?;
        let addrs: Vec<Option<Ipv4Addr>> = placed.addrs.iter().copied().chain(placed.public_addr).map(Some).collect();
        self.create_container_from((&image.tag, &image.system_dirs), &self.container_of(&placed.name), &placed.name, &addrs, &placed.name, &self.archive).await
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

    /// Heals a partition made by `disconnect_node`.
    pub async fn reconnect_node(&self, node: &str) -> anyhow::Result<()> {
        let node = self.node(node)?;
        for (network, addr) in self.networks.iter().zip(&node.addrs) {
            let endpoint = EndpointSettings {
                ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(addr.to_string()), ..Default::default() }),
                ..Default::default()
            };
            let request = NetworkConnectRequest { container: self.container_of(&node.name), endpoint_config: Some(endpoint) };
            self.docker.connect_network(&network.name, request).await.with_context(|| format!("reconnecting {} to {}", node.name, network.name))?;
        }
        Ok(())
    }

    /// The daemons the supervisor of a node or guest runs (`pcmk-node status`), in one look.
    pub async fn running_services(&self, node: &str) -> anyhow::Result<Vec<Service>> {
        let out = self.exec(node, &["pcmk-node", "status"]).await?;
        let running = |service: &Service| out.stdout.lines().any(|l| l.trim() == format!("{} running", service.as_str()));
        Ok([Service::Corosync, Service::Pacemaker, Service::Pcsd].into_iter().filter(running).collect())
    }

    /// Starts, stops, restarts or kills one daemon on one node.
    pub async fn service(&self, node: &str, action: ServiceAction, service: Service) -> anyhow::Result<()> {
        let out = self.exec(node, &["pcmk-node", action.as_str(), service.as_str()]).await?;
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

/// Nodes that kept running but never formed the expected cluster in time, or
/// whose daemons ended and will not restart (as opposed to a daemon that
/// refused its configuration, which fails at once).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotReadyInTime(pub String);

/// What a node's log and supervisor say of its joining a DC.
enum Join {
    Joined,
    NotYet,
    /// Daemons that ended unasked and will not be restarted, with how they ended.
    StaysDown(String),
}

/// A node's container stopped and stayed stopped while the cluster was awaited:
/// the cluster's own doing (a daemon, fencing), not the harness's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NodeStopped(pub String);

/// A container on the run's networks that is not a cluster member.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Unique in the run; `exec` takes it.
    pub name: String,
    pub hostname: String,
    /// Address per link network (index = link); `None` leaves it off that link.
    pub addrs: Vec<Option<Ipv4Addr>>,
    pub files: Vec<(Placement, Vec<u8>)>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Restart,
    Kill,
    /// A stop that ends in SIGKILL after 20 s, as `pcs cluster destroy`.
    ForceStop,
}

impl ServiceAction {
    fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
            ServiceAction::Kill => "kill",
            ServiceAction::ForceStop => "force-stop",
        }
    }
}

/// Runs `cmd` by `docker exec` (as the harness does for users other than root).
pub async fn exec_in(docker: &Docker, container: &str, user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
    let config = CreateExecOptions {
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        user: Some(user.to_string()),
        ..Default::default()
    };
    let exec = docker.create_exec(container, config).await?;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let StartExecResults::Attached { mut output, .. } = docker.start_exec(&exec.id, None).await? {
        while let Some(chunk) = output.next().await {
            match chunk? {
                bollard::container::LogOutput::StdOut { message } => append_bounded(&mut stdout, &message),
                bollard::container::LogOutput::StdErr { message } => append_bounded(&mut stderr, &message),
                _ => {}
            }
        }
    }
    let code = docker.inspect_exec(&exec.id).await?.exit_code.unwrap_or(-1);
    Ok(ExecOutput {
        code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

fn append(archive: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, content: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    archive.append_data(&mut header, path.trim_start_matches('/'), content)
}

/// Where an archive made by `append` places its files.
fn archive_paths(archive: &[u8]) -> std::io::Result<Vec<String>> {
    let mut paths = Vec::new();
    for entry in tar::Archive::new(archive).entries()? {
        paths.push(format!("/{}", entry?.path()?.display()));
    }
    Ok(paths)
}

pub(crate) fn append_bounded(buffer: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_EXEC_OUTPUT.saturating_sub(buffer.len());
    buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// Node names, ids and link count, from the candidate's nodelist and the requested size.
struct Layout {
    nodes: Vec<PlacedNode>,
    links: usize,
}

impl Layout {
    fn plan(candidate: &Candidate, requested: Option<usize>) -> Result<Layout, InputError> {
        let entries = candidate.corosync_conf().nodes();
        let file = &candidate.corosync_file().source;
        let count = requested.or(candidate.nodes).unwrap_or(if entries.is_empty() { 3 } else { entries.len() });
        if !(1..=crate::candidate::MAX_NODES).contains(&count) {
            return Err(InputError::new(&candidate.origin, None, format!("{count} nodes asked for; a throwaway cluster has 1 to {}", crate::candidate::MAX_NODES)));
        }
        let mut nodes: Vec<PlacedNode> = Vec::new();
        let mut next_id = entries.iter().filter_map(|e| e.nodeid).max().unwrap_or(0) + 1;
        for index in 0..count {
            let entry = entries.get(index);
            let nodeid = match entry.and_then(|e| e.nodeid) {
                Some(id) => id,
                None => {
                    next_id += 1;
                    next_id - 1
                }
            };
            let name = entry.and_then(|e| e.name.clone()).unwrap_or_else(|| format!("node{nodeid}"));
            if !valid_hostname(&name) {
                return Err(InputError::new(file, entry.map(|e| e.line), format!("node name `{name}` is not a valid host name")));
            }
            if nodes.iter().any(|n| n.name == name || n.nodeid == nodeid) {
                return Err(InputError::new(file, entry.map(|e| e.line), format!("node `{name}` (nodeid {nodeid}) appears twice")));
            }
            nodes.push(PlacedNode { name, nodeid, addrs: Vec::new() });
        }
        let links = entries.iter().map(|e| e.addrs.iter().map(|(l, _)| *l as usize + 1).max().unwrap_or(1)).max().unwrap_or(1);
        if links > 8 {
            return Err(InputError::new(file, None, format!("{links} links; knet supports at most 8")));
        }
        Ok(Layout { nodes, links })
    }
}

fn valid_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn host_address(subnet: &str, index: usize) -> Ipv4Addr {
    let base: Ipv4Addr = subnet.split('/').next().and_then(|s| s.parse().ok()).expect("subnets are ours");
    let [a, b, c, _] = base.octets();
    Ipv4Addr::new(a, b, c, 11 + index as u8)
}

/// A /24 of its own per network, so concurrent runs never share addresses.
async fn create_network(docker: &Docker, run: &RunId, role: &str, labels: &HashMap<String, String>) -> anyhow::Result<Network> {
    let name = format!("pcmk-{run}-{role}");
    let mut last_error = None;
    for _ in 0..32 {
        let third = rand::thread_rng().gen_range(0..=255u8);
        let subnet = format!("10.213.{third}.0/24");
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            labels: Some(labels.clone()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig { subnet: Some(subnet.clone()), gateway: Some(format!("10.213.{third}.1")), ..Default::default() }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => return Ok(Network { name, subnet }),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) if message.contains("overlap") => last_error = Some(message),
            Err(e) => return Err(e).with_context(|| format!("creating network {name}")),
        }
    }
    bail!("no free /24 in 10.213.0.0/16 for {name}: {}", last_error.unwrap_or_default())
}

fn deployment(candidate: &Candidate) -> Result<(Deployment, Vec<HarnessSetting>), InputError> {
    let mut files: Vec<(Placement, Vec<u8>, bool)> = Vec::new();
    let mut transient: Vec<(String, Vec<u8>)> = Vec::new();
    let mut plan = String::new();
    let mut groups: Vec<&str> = Vec::new();
    for user in &candidate.users {
        for group in &user.groups {
            if !groups.contains(&group.as_str()) {
                groups.push(group);
                plan.push_str(&format!("group\t{group}\n"));
            }
        }
        plan.push_str(&format!("user\t{}\t{}\n", user.name, user.groups.join(",")));
        if let Some(password) = &user.password {
            let path = format!("/etc/pcmk-comply/password-{}", user.name);
            transient.push((path.clone(), password.0.as_bytes().to_vec()));
            plan.push_str(&format!("password\t{}\t{path}\n", user.name));
        }
    }
    let cib_file = candidate.file_at(CIB_XML);
    let cib_text = match cib_file {
        Some(f) => Some(std::str::from_utf8(&f.content).map_err(|_| InputError::new(&f.source, None, "not UTF-8"))?),
        None => None,
    };
    let placed: Vec<String> = candidate.files.iter().map(|f| f.placement.path.clone()).collect();
    let (cib, settings) = cib::seed(cib_text.zip(cib_file.map(|f| f.source.as_path())), &placed)?;
    for file in &candidate.files {
        if file.placement.path != CIB_XML && file.placement.path != COROSYNC_CONF {
            // Keys are bytes: no address mapping may touch them.
            files.push((file.placement.clone(), file.content.clone(), !file.secret));
        }
    }
    let cib_placement = cib_file
        .map(|f| f.placement.clone())
        .unwrap_or(Placement { path: CIB_XML.into(), owner: "hacluster".into(), group: "haclient".into(), mode: 0o600 });
    files.push((cib_placement, cib.into_bytes(), true));
    let mut rng = rand::thread_rng();
    for secret in &candidate.secrets {
        let mut bytes = vec![0u8; secret.bytes];
        rng.fill_bytes(&mut bytes);
        files.push((secret.placement.clone(), bytes, false));
    }
    for service in &candidate.services {
        plan.push_str(&format!("autostart\t{}\n", service.as_str()));
    }
    let corosync_conf = candidate.corosync_file().placement.clone();
    let mut redactor = Redactor::default();
    for (_, content) in &transient {
        redactor.add(content);
    }
    for (placement, content, _) in &files {
        let generated = candidate.secrets.iter().any(|s| s.placement.path == placement.path);
        let brought = candidate.files.iter().any(|f| f.secret && f.placement.path == placement.path);
        if !placement.path.ends_with("cib.xml") && (generated || brought) {
            redactor.add(content);
        }
    }
    for value in cib_text.map(crate::redact::cib_secret_values).unwrap_or_default() {
        redactor.add(value.as_bytes());
    }
    Ok((Deployment { files, transient, plan, corosync_conf, redactor }, settings))
}

impl Deployment {
    /// A VIP outside every node link's /24 could not come up in the lab: it
    /// moves to the first link's network (host 100 and up), and is reported.
    fn move_virtual_ips(&self, addresses: &mut AddressMap, subnet: &str) -> Vec<HarnessSetting> {
        let Some(cib) = self.files.iter().find(|(p, _, _)| p.path == CIB_XML).and_then(|(_, c, _)| std::str::from_utf8(c).ok()) else { return Vec::new() };
        let Ok(doc) = roxmltree::Document::parse(cib) else { return Vec::new() };
        let [a, b, c, _] = host_address(subnet, 0).octets();
        let mut settings = Vec::new();
        for (index, (id, vip)) in crate::stand_in::virtual_ips(&doc).into_iter().enumerate() {
            if addresses.maps(vip) || index >= 50 {
                continue;
            }
            let to = Ipv4Addr::new(a, b, c, 100 + index as u8);
            addresses.insert_exact(vip, to);
            settings.push(HarnessSetting { name: format!("address of {id}"), value: to.to_string(), why: format!("the VIP {vip} is outside the lab's networks") });
        }
        settings
    }

    /// The tar uploaded to `/` of every node, and the files whose addresses were mapped.
    fn archive(&self, corosync_conf: &str, addresses: &AddressMap) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
        let mut plan = self.plan.clone();
        let mut mapped = Vec::new();
        let mut archive = tar::Builder::new(Vec::new());
        let placed = self
            .files
            .iter()
            .map(|(p, c, text)| (p, c.as_slice(), *text))
            .chain(std::iter::once((&self.corosync_conf, corosync_conf.as_bytes(), false)));
        for (placement, content, text) in placed {
            let rewritten = std::str::from_utf8(content).ok().filter(|_| text).and_then(|t| addresses.apply(t));
            if rewritten.is_some() {
                mapped.push(placement.path.clone());
            }
            let content = rewritten.as_deref().map(str::as_bytes).unwrap_or(content);
            append(&mut archive, &placement.path, placement.mode, content)?;
            plan.push_str(&format!("file\t{}\t{}\t{}\t{:o}\n", placement.path, placement.owner, placement.group, placement.mode));
        }
        for (path, content) in &self.transient {
            append(&mut archive, path, 0o600, content)?;
        }
        append(&mut archive, "/etc/pcmk-comply/plan", 0o600, plan.as_bytes())?;
        append(&mut archive, "/usr/local/sbin/pcmk-node", 0o755, SUPERVISOR.as_bytes())?;
        append(&mut archive, fence::AGENT_PATH, 0o755, fence::AGENT.as_bytes())?;
        Ok((archive.into_inner()?, mapped))
    }
}

/// Runs one command in a throwaway container of `image`, off every network,
/// with `files` placed first: for checks that need a node's tools but no
/// cluster (e.g. another version's `crm_verify`). Removed however it ends.
pub async fn run_tool(docker: &Docker, image: &NodeImage, files: &[(&str, &[u8])], user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
    let run = RunId::generate();
    run::register(&run);
    let mut guard = RunGuard { run: run.clone(), armed: true };
    let container = format!("pcmk-{run}-tool");
    let defaults = ClusterOptions::default();
    let body = ContainerCreateBody {
        image: Some(image.tag.clone()),
        cmd: Some(vec!["sleep".into(), "600".into()]),
        entrypoint: Some(vec![]),
        labels: Some(run::labels(&run, "tool")),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            privileged: Some(false),
            memory: Some(defaults.memory_bytes),
            memory_swap: Some(defaults.memory_bytes),
            pids_limit: Some(defaults.pids_limit),
            ..Default::default()
        }),
        ..Default::default()
    };
    let create = CreateContainerOptionsBuilder::default().name(&container).build();
    docker.create_container(Some(create), body).await.context("creating a tool container")?;
    let mut archive = tar::Builder::new(Vec::new());
    for (path, content) in files {
        append(&mut archive, path, 0o644, content)?;
    }
    docker.start_container(&container, None).await.context("starting the tool container")?;
    let used = async {
        Session::open_delivering(docker, &container, &archive.into_inner()?).await.context("copying files into the tool container")?;
        exec_in(docker, &container, user, cmd).await
    };
    let out = tokio::time::timeout(EXEC_TIMEOUT, used).await;
    run::remove_run(docker, &run).await?;
    guard.armed = false;
    out.map_err(|_| anyhow::anyhow!("`{}` did not finish within {EXEC_TIMEOUT:?}", cmd.join(" ")))?
}
