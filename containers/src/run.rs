//! Run identity, labels and clean-up. Everything the harness creates carries
//! `io.pcmk-comply.run=<run id>`; removal always goes by that label, so one
//! mechanism serves normal teardown, errors, panics, signals and `gc`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use rand::Rng;

pub const LABEL_RUN: &str = "io.pcmk-comply.run";
/// The prefix of the labels that say which process made an object.
pub const OWNER_LABELS: &str = "io.pcmk-comply.owner-";
pub const LABEL_OWNER_PID: &str = "io.pcmk-comply.owner-pid";
pub const LABEL_OWNER_HOST: &str = "io.pcmk-comply.owner-host";
/// The owner's start time in clock ticks since boot: with the pid, it tells
/// a live owner from a recycled pid.
pub const LABEL_OWNER_START: &str = "io.pcmk-comply.owner-start";
pub const LABEL_ORIGIN: &str = "io.pcmk-comply.origin";
pub const LABEL_NODE: &str = "io.pcmk-comply.node";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(String);

impl RunId {
    pub fn generate() -> Self {
        RunId(format!("{:08x}", rand::thread_rng().gen::<u32>()))
    }

    /// Accepts a caller-chosen id (tests use this to find their own resources).
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 24 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        ok.then(|| RunId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RunId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Labels for every object of a run; `origin` says which command made it.
pub fn labels(run: &RunId, origin: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_RUN.to_string(), run.to_string()),
        (LABEL_OWNER_PID.to_string(), std::process::id().to_string()),
        (LABEL_OWNER_HOST.to_string(), host_name()),
        (LABEL_OWNER_START.to_string(), process_start(std::process::id()).unwrap_or_default()),
        (LABEL_ORIGIN.to_string(), origin.to_string()),
    ])
}

/// Runs this process is still building or using: a signal handler removes them.
fn active() -> &'static Mutex<BTreeSet<RunId>> {
    static ACTIVE: OnceLock<Mutex<BTreeSet<RunId>>> = OnceLock::new();
    ACTIVE.get_or_init(Default::default)
}

pub fn register(run: &RunId) {
    active().lock().unwrap_or_else(|e| e.into_inner()).insert(run.clone());
}

pub fn unregister(run: &RunId) {
    active().lock().unwrap_or_else(|e| e.into_inner()).remove(run);
}

pub fn active_runs() -> Vec<RunId> {
    active().lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
}

/// One labelled object as the engine reports it.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub id: String,
    pub name: String,
    pub labels: HashMap<String, String>,
}

fn label_filter(value: Option<&RunId>) -> HashMap<String, Vec<String>> {
    let label = match value {
        Some(run) => format!("{LABEL_RUN}={run}"),
        None => LABEL_RUN.to_string(),
    };
    label_is(label)
}

fn label_is(label: String) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![label])])
}

pub async fn list_containers(docker: &Docker, run: Option<&RunId>) -> anyhow::Result<Vec<Labelled>> {
    let options = ListContainersOptionsBuilder::default().all(true).filters(&label_filter(run)).build();
    Ok(docker
        .list_containers(Some(options))
        .await?
        .into_iter()
        .map(|c| Labelled {
            id: c.id.unwrap_or_default(),
            name: c.names.and_then(|n| n.first().cloned()).unwrap_or_default().trim_start_matches('/').to_string(),
            labels: c.labels.unwrap_or_default(),
        })
        .collect())
}

pub async fn list_networks(docker: &Docker, run: Option<&RunId>) -> anyhow::Result<Vec<Labelled>> {
    let options = ListNetworksOptionsBuilder::default().filters(&label_filter(run)).build();
    Ok(docker
        .list_networks(Some(options))
        .await?
        .into_iter()
        .map(|n| Labelled { id: n.id.unwrap_or_default(), name: n.name.unwrap_or_default(), labels: n.labels.unwrap_or_default() })
        .collect())
}

/// A run's volumes: its nodes' own, which normally go with their containers.
pub async fn list_volumes(docker: &Docker, run: Option<&RunId>) -> anyhow::Result<Vec<Labelled>> {
    volumes_where(docker, &label_filter(run)).await
}

/// Volumes that carry `label` (`name` or `name=value`), whatever their run.
pub async fn volumes_labelled(docker: &Docker, label: &str) -> anyhow::Result<Vec<Labelled>> {
    volumes_where(docker, &label_is(label.to_string())).await
}

async fn volumes_where(docker: &Docker, filters: &HashMap<String, Vec<String>>) -> anyhow::Result<Vec<Labelled>> {
    let options = ListVolumesOptionsBuilder::default().filters(filters).build();
    Ok(docker
        .list_volumes(Some(options))
        .await?
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| Labelled { id: v.name.clone(), name: v.name, labels: v.labels })
        .collect())
}

/// Removes every container, network and volume of `run`. Idempotent. It
/// repeats until a listing comes back empty, because a create request that was
/// in flight when the run was cancelled can still land after the first pass.
pub async fn remove_run(docker: &Docker, run: &RunId) -> anyhow::Result<()> {
    let force = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
    let mut refused = String::new();
    for _pass in 0..REMOVAL_PASSES {
        let containers = list_containers(docker, Some(run)).await?;
        let networks = list_networks(docker, Some(run)).await?;
        let volumes = list_volumes(docker, Some(run)).await?;
        if containers.is_empty() && networks.is_empty() && volumes.is_empty() {
            return Ok(());
        }
        let removals = containers.iter().map(|c| docker.remove_container(&c.id, Some(force.clone())));
        for result in futures_util::future::join_all(removals).await {
            ignore_missing(result)?;
        }
        for network in networks {
            // 403: a container created late is still attached; the next pass removes both.
            match docker.remove_network(&network.id).await {
                Err(bollard::errors::Error::DockerResponseServerError { status_code: 403, message }) => {
                    refused = format!("; the engine last said of network {}: {message}", network.name);
                }
                other => ignore_missing(other)?,
            }
        }
        // 409: still in use by a container created late; the next pass removes both.
        for volume in volumes {
            ignore_missing(docker.remove_volume(&volume.name, None::<bollard::query_parameters::RemoveVolumeOptions>).await)?;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let left = list_containers(docker, Some(run)).await?.len()
        + list_networks(docker, Some(run)).await?.len()
        + list_volumes(docker, Some(run)).await?.len();
    anyhow::ensure!(left == 0, "{left} object(s) of run {run} survived {REMOVAL_PASSES} removal passes{refused}");
    Ok(())
}

const REMOVAL_PASSES: usize = 6;

pub(crate) fn ignore_missing(result: Result<(), bollard::errors::Error>) -> anyhow::Result<()> {
    match result {
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        // A removal already under way (e.g. a parallel gc) finishes the job for us.
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(()),
        other => Ok(other?),
    }
}

/// Blocking removal for paths with no async context left (Drop during a panic
/// or a cancelled future). It opens its own connection on its own thread: the
/// caller's runtime may be the one blocked here.
pub fn remove_run_blocking(run: &RunId) {
    let run = run.clone();
    let cleanup = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let result = match runtime {
            Ok(runtime) => runtime.block_on(async {
                let docker = crate::engine::connect().await?;
                remove_run(&docker, &run).await
            }),
            Err(e) => Err(e.into()),
        };
        if let Err(e) = result {
            eprintln!("pcmk-comply: could not remove run {run}: {e:#}; `pcmk-comply gc` will");
        }
    });
    let _ = cleanup.join();
}

/// Field 22 of /proc/PID/stat (start time); the command name before it may hold spaces.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_string)
}

/// Whether another live process on this host made the object.
pub(crate) fn owner_alive(labels: &HashMap<String, String>) -> bool {
    let same_host = labels.get(LABEL_OWNER_HOST).map(String::as_str) == Some(host_name().as_str());
    let (Some(pid), Some(start)) = (labels.get(LABEL_OWNER_PID), labels.get(LABEL_OWNER_START)) else { return false };
    if !same_host || made_here(labels) {
        return false;
    }
    pid.parse().ok().and_then(process_start).as_ref() == Some(start)
}

/// Whether this process made the object.
pub(crate) fn made_here(labels: &HashMap<String, String>) -> bool {
    labels.get(LABEL_OWNER_PID) == Some(&std::process::id().to_string())
}

/// Which runs `gc` may remove: those whose owning process is gone (all runs with `everything`).
pub async fn orphaned_runs(docker: &Docker, everything: bool) -> anyhow::Result<Vec<RunId>> {
    let mut runs = BTreeSet::new();
    let objects =
        list_containers(docker, None).await?.into_iter().chain(list_networks(docker, None).await?).chain(list_volumes(docker, None).await?);
    for object in objects {
        if everything || !owner_alive(&object.labels) {
            if let Some(run) = object.labels.get(LABEL_RUN).and_then(|r| RunId::parse(r)) {
                runs.insert(run);
            }
        }
    }
    Ok(runs.into_iter().collect())
}

/// Runs made by a given command (e.g. `cluster up`), for `cluster down`.
pub async fn runs_with_origin(docker: &Docker, origin: &str) -> anyhow::Result<Vec<RunId>> {
    let runs: BTreeSet<RunId> = list_containers(docker, None)
        .await?
        .into_iter()
        .filter(|c| c.labels.get(LABEL_ORIGIN).map(String::as_str) == Some(origin))
        .filter_map(|c| c.labels.get(LABEL_RUN).and_then(|r| RunId::parse(r)))
        .collect();
    Ok(runs.into_iter().collect())
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
            remove_run_blocking(&self.run);
        }
        unregister(&self.run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_recognised_by_pid_and_start_time() {
        let start = process_start(std::process::id()).expect("readable /proc/self/stat");
        assert!(start.parse::<u64>().is_ok(), "{start}");
        let mut labels = labels(&RunId::generate(), "test");
        assert_eq!(labels[LABEL_OWNER_START], start);
        // Our own runs are never "alive elsewhere"; a child's would be.
        assert!(!owner_alive(&labels));
        let child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        labels.insert(LABEL_OWNER_PID.into(), child.id().to_string());
        labels.insert(LABEL_OWNER_START.into(), process_start(child.id()).unwrap());
        assert!(owner_alive(&labels));
        labels.insert(LABEL_OWNER_START.into(), "1".into());
        assert!(!owner_alive(&labels), "a recycled pid is not the owner");
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn run_ids_are_restricted() {
        assert!(RunId::parse("t-sig-00ff12").is_some());
        for bad in ["", "UPPER", "a/b", "x".repeat(25).as_str()] {
            assert!(RunId::parse(bad).is_none(), "{bad}");
        }
    }
}
