//! What every scenario of one run shares: the candidate, where facts come
//! from, the shared cluster, the slots that bound scenarios and cluster
//! starts, and what the run records for its report.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::{Cluster, ClusterOptions};
use pcmk_containers::image::NodeImage;
use pcmk_containers::Docker;
use pcmk_model::measurement::Measurement;
use pcmk_model::report::{ClusterStart, SHARED_LANE};

use crate::facts::FactCache;
use crate::scenario_key::ScenarioKey;

/// The tracing target of progress lines (cluster start); the CLI shows them.
pub const PROGRESS_LOG: &str = "pcmk_comply::progress";

/// Where facts come from for this run. There is one per run, so the size of
/// its live variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Mode {
    /// `lint`: the candidate's files only.
    Static,
    /// `run`: clusters built from the candidate.
    Live { docker: Docker, image: NodeImage, options: ClusterOptions },
}

/// Why steps were not judged, per scenario: written by steps as they run
/// (`PolicyWorld::lacks`, through [`RunContext::record_unjudged`]), read by
/// the verdict writer as the scenario ends. The run owns it; the writer holds a handle.
pub type Unjudged = Arc<Mutex<BTreeMap<ScenarioKey, Vec<String>>>>;

/// A cluster and the facts gathered from it while it is unchanged.
pub struct LiveCluster {
    pub cluster: crate::engine::Engine,
    pub facts: FactCache,
    /// Held by a probe from outside the cluster: its listeners and the nodes'
    /// UDP counters are shared by every scenario on this cluster.
    pub probe_turn: Arc<tokio::sync::Mutex<()>>,
    /// The timeline's lane for this cluster and the scenarios on it.
    pub lane: String,
    /// Corosync's token + consensus once a step has read it, for the figures of later steps.
    pub corosync_floor: OnceLock<Duration>,
}

/// What every scenario of one run shares.
pub struct RunContext {
    pub candidate: Arc<Candidate>,
    pub mode: Mode,
    /// The shared cluster, or why it could not be built (not retried per scenario).
    shared: tokio::sync::Mutex<Option<Result<Arc<LiveCluster>, String>>>,
    infra_errors: Mutex<Vec<String>>,
    /// Harness settings of every cluster made (reported once).
    pub harness_notes: Mutex<Vec<String>>,
    /// Figures measured on the way (failover times, fencing).
    measurements: Mutex<Vec<Measurement>>,
    /// When the run started: the timeline's zero.
    epoch: Instant,
    /// Every cluster brought up, on its lane.
    cluster_starts: Mutex<Vec<ClusterStart>>,
    /// The lane of the cluster each scenario ran on, if it used one.
    lanes: Mutex<BTreeMap<ScenarioKey, String>>,
    /// Clusters of scenarios' own made so far: they name their lanes.
    own_clusters_made: AtomicUsize,
    /// Named texts a run produced (e.g. a restored configuration), for reports and snapshots.
    artifacts: Mutex<std::collections::BTreeMap<String, String>>,
    /// Cluster package versions, from the first cluster built.
    versions: Mutex<std::collections::BTreeMap<String, String>>,
    /// Wall time of the harness's own phases (cluster start, teardown).
    phases: Mutex<Vec<(String, std::time::Duration)>>,
    /// Why steps of each scenario were not judged (the candidate lacks the
    /// evidence), shared with the verdict writer.
    pub unjudged: Unjudged,
    /// Paths the selected scenarios' steps name: every gathering stats and
    /// hashes them beside the policy's own (set once, before any scenario).
    named_paths: std::sync::OnceLock<Vec<String>>,
    /// How many scenarios and cluster starts at once (set by the runner).
    limits: std::sync::OnceLock<Limits>,
}

/// Slots a scenario waits for before its first step, and cluster starts.
struct Limits {
    /// Scenarios running on the shared cluster.
    shared_scenarios: Arc<tokio::sync::Semaphore>,
    /// Scenarios holding a cluster of their own.
    own_clusters: Arc<tokio::sync::Semaphore>,
    /// Clusters starting: the CPU-heavy part of a cluster's life.
    cluster_starts: Arc<tokio::sync::Semaphore>,
}

/// Clusters starting at once. Measured on 2 cores: one start alone takes 6.6 s,
/// 3 at once about 12 s each, mostly corosync's and pacemaker's timers; with
/// 3 a whole-policy run took 91–95 s against 100 s with 2 (2026-11-29), and with 4 a node
/// missed its cluster twice in about 180 starts. A running cluster costs little.
pub const CLUSTER_STARTS_AT_ONCE: usize = 3;

impl Limits {
    fn new(shared_scenarios: usize, own_clusters: usize) -> Limits {
        let semaphore = |count: usize| Arc::new(tokio::sync::Semaphore::new(count.max(1)));
        Limits {
            shared_scenarios: semaphore(shared_scenarios),
            own_clusters: semaphore(own_clusters),
            cluster_starts: semaphore(CLUSTER_STARTS_AT_ONCE),
        }
    }
}

impl RunContext {
    pub fn new(candidate: Arc<Candidate>, mode: Mode) -> Arc<RunContext> {
        Arc::new(RunContext {
            candidate,
            mode,
            shared: tokio::sync::Mutex::new(None),
            infra_errors: Mutex::new(Vec::new()),
            harness_notes: Mutex::new(Vec::new()),
            measurements: Mutex::new(Vec::new()),
            epoch: Instant::now(),
            cluster_starts: Mutex::new(Vec::new()),
            lanes: Mutex::new(BTreeMap::new()),
            own_clusters_made: AtomicUsize::new(0),
            artifacts: Mutex::new(Default::default()),
            versions: Mutex::new(Default::default()),
            phases: Mutex::new(Vec::new()),
            unjudged: Default::default(),
            named_paths: std::sync::OnceLock::new(),
            limits: std::sync::OnceLock::new(),
        })
    }

    /// Declares the paths the selected scenarios name; the first call wins.
    pub fn declare_paths(&self, paths: Vec<String>) {
        let _ = self.named_paths.set(paths);
    }

    /// Sets how many scenarios may run on the shared cluster and how many may
    /// hold a cluster of their own at once; the first call wins.
    pub fn set_limits(&self, shared_scenarios: usize, own_clusters: usize) {
        let _ = self.limits.set(Limits::new(shared_scenarios, own_clusters));
    }

    fn limits(&self) -> &Limits {
        self.limits.get_or_init(|| Limits::new(1, 1))
    }

    /// Waits for a slot: on the shared cluster, or for a cluster of the scenario's own.
    pub(crate) async fn scenario_slot(&self, own_cluster: bool) -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
        let limits = self.limits();
        let slots = if own_cluster { &limits.own_clusters } else { &limits.shared_scenarios };
        slots.clone().acquire_owned().await.map_err(|e| anyhow!("scenario slots closed: {e}"))
    }

    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    pub fn record_infra_error(&self, message: String) {
        self.infra_errors.lock().unwrap_or_else(|e| e.into_inner()).push(message);
    }

    pub fn record_measurement(&self, measurement: Measurement) {
        self.measurements.lock().unwrap_or_else(|e| e.into_inner()).push(measurement);
    }

    pub fn measurements(&self) -> Vec<Measurement> {
        self.measurements.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// When the run started: the timeline's zero.
    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    /// The time from the start of the run to `at`.
    pub fn since_start(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.epoch)
    }

    pub fn cluster_starts(&self) -> Vec<ClusterStart> {
        self.cluster_starts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Notes the lane of the cluster a scenario ran on.
    pub fn record_lane(&self, scenario: ScenarioKey, lane: String) {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner()).insert(scenario, lane);
    }

    pub fn lanes(&self) -> BTreeMap<ScenarioKey, String> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn record_artifact(&self, name: String, text: String) {
        self.artifacts.lock().unwrap_or_else(|e| e.into_inner()).insert(name, text);
    }

    pub fn artifacts(&self) -> std::collections::BTreeMap<String, String> {
        self.artifacts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn versions(&self) -> std::collections::BTreeMap<String, String> {
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn phases(&self) -> Vec<(String, std::time::Duration)> {
        self.phases.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A step of `scenario` was not judged, for `reason`.
    pub fn record_unjudged(&self, scenario: ScenarioKey, reason: String) {
        self.unjudged.lock().unwrap_or_else(|e| e.into_inner()).entry(scenario).or_default().push(reason);
    }

    pub fn record_phase(&self, name: &str, took: std::time::Duration) {
        self.phases.lock().unwrap_or_else(|e| e.into_inner()).push((name.to_string(), took));
    }

    pub fn infra_errors(&self) -> Vec<String> {
        self.infra_errors.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A place among the clusters starting (they start in the order places are taken).
    pub(crate) async fn cluster_start_turn(&self) -> anyhow::Result<tokio::sync::OwnedSemaphorePermit> {
        self.limits().cluster_starts.clone().acquire_owned().await.map_err(|e| anyhow!("cluster start slots closed: {e}"))
    }

    /// Builds a cluster from the candidate, in `turn` if one was already taken.
    pub(crate) async fn build_cluster(
        &self,
        turn: Option<tokio::sync::OwnedSemaphorePermit>,
        shared: bool,
    ) -> anyhow::Result<Arc<LiveCluster>> {
        let Mode::Live { docker, image, options } = &self.mode else {
            return Err(anyhow!("this step needs a running cluster; tag the scenario @live (lint runs only @static scenarios)"));
        };
        let _turn = match turn {
            Some(turn) => turn,
            None => self.cluster_start_turn().await?,
        };
        // The shared cluster carries the isolation probes: it always gets a public network.
        let options =
            &pcmk_containers::cluster::ClusterOptions { public_network: shared, log_host_aliases: self.log_hosts(), ..options.clone() };
        let lane = if shared {
            SHARED_LANE.to_string()
        } else {
            format!("own cluster {}", self.own_clusters_made.fetch_add(1, Ordering::Relaxed) + 1)
        };
        let started = Instant::now();
        tracing::info!(target: PROGRESS_LOG, "cluster: starting nodes from {}", self.candidate.origin.display());
        let cluster = match Cluster::up(docker, &self.candidate, image, options).await {
            // Seen about once in 80 starts with 4 clusters starting at once on 2 cores:
            // one node never joined. Once more, in the open; a second miss is an error.
            Err(e) if e.downcast_ref::<pcmk_containers::cluster::NotReadyInTime>().is_some() => {
                let first_line = e.to_string().lines().next().unwrap_or_default().to_string();
                // All of it (views, corosync's links, logs): the cause of these misses is not known yet.
                self.add_harness_note(format!("harness started a cluster a second time after: {e:#}"));
                tracing::info!(target: PROGRESS_LOG, "cluster: {first_line}; starting it once more");
                Cluster::up(docker, &self.candidate, image, options).await?
            }
            other => other?,
        };
        self.record_phase("cluster start", started.elapsed());
        let start = ClusterStart { lane: lane.clone(), at: self.since_start(started), took: started.elapsed() };
        self.cluster_starts.lock().unwrap_or_else(|e| e.into_inner()).push(start);
        tracing::info!(target: PROGRESS_LOG, "cluster: run {} ready in {:.1}s", cluster.run, started.elapsed().as_secs_f64());
        if self.versions.lock().unwrap_or_else(|e| e.into_inner()).is_empty() {
            let versions = cluster.package_versions(&cluster.nodes[0].name, &["pacemaker", "corosync", "pcs", "crmsh"]).await?;
            *self.versions.lock().unwrap_or_else(|e| e.into_inner()) = versions;
        }
        let settings = cluster.harness_settings.iter().map(|s| format!("harness set {}={} ({})", s.name, s.value, s.why));
        let mapped =
            cluster.mapped_files.iter().map(|f| format!("harness mapped the candidate's node addresses in {f} onto the run's network"));
        for note in settings.chain(mapped) {
            self.add_harness_note(note);
        }
        Ok(Arc::new(LiveCluster {
            cluster: crate::engine::Engine::new(cluster),
            facts: FactCache::for_paths(self.named_paths.get().cloned().unwrap_or_default()),
            probe_turn: Default::default(),
            lane,
            corosync_floor: OnceLock::new(),
        }))
    }

    /// The host names the candidate's rsyslog forwards to: the nodes resolve
    /// them to the run's log collector.
    fn log_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .candidate
            .files
            .iter()
            .filter(|f| f.placement.path.starts_with("/etc/rsyslog"))
            .flat_map(|f| crate::facts::rsyslog::forward_targets(&String::from_utf8_lossy(&f.content)))
            .map(|(host, _)| host)
            // Host names only (an untrusted candidate's text goes into the engine's host list).
            .filter(|h| {
                h.len() <= 253
                    && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                    && h.chars().any(|c| c.is_ascii_alphabetic())
            })
            .filter(|h| h != pcmk_containers::cluster::LOG_COLLECTOR)
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    pub(crate) fn add_harness_note(&self, note: String) {
        let mut notes = self.harness_notes.lock().unwrap_or_else(|e| e.into_inner());
        if !notes.contains(&note) {
            notes.push(note);
        }
    }

    /// The run's shared cluster, built on first use.
    pub async fn shared_cluster(&self) -> anyhow::Result<Arc<LiveCluster>> {
        let mut slot = self.shared.lock().await;
        match slot.as_ref() {
            Some(Ok(live)) => return Ok(live.clone()),
            Some(Err(why)) => return Err(anyhow!("the shared cluster could not be built: {why}")),
            None => {}
        }
        let built = self.build_cluster(None, true).await;
        *slot = Some(built.as_ref().map(Arc::clone).map_err(|e| format!("{e:#}")));
        built
    }

    /// Removes the shared cluster at the end of the run.
    pub async fn shutdown(&self) -> anyhow::Result<()> {
        let live = self.shared.lock().await.take();
        if let Some(Ok(live)) = live {
            // Still referenced (a step leaked it): its drop guard removes it.
            if let Ok(live) = Arc::try_unwrap(live) {
                live.cluster.down().await.map_err(|fault| anyhow!("{fault}"))?;
            }
        }
        Ok(())
    }
}
