//! The harness's side of test fencing: it follows every node's console for
//! `fence_pcmk_comply` requests, powers the target's container off (or
//! restarts it) and answers the requesting node. The nodes never get the
//! Docker socket; this is the only way they can reach the engine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bollard::query_parameters::{KillContainerOptionsBuilder, LogsOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

pub const AGENT: &str = include_str!("../image/fence_pcmk_comply");
pub const AGENT_PATH: &str = "/usr/sbin/fence_pcmk_comply";
pub const AGENT_TYPE: &str = "fence_pcmk_comply";
const REQUEST: &str = "PCMK-COMPLY-FENCE ";

/// One fencing action the cluster asked for and the harness carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceAction {
    pub requester: String,
    pub target: String,
    pub action: String,
    pub at: SystemTime,
    pub succeeded: bool,
    /// The id of the device in the CIB that asked (`comply_device`), when known.
    pub device: Option<String>,
}

/// Follows the nodes' consoles for as long as it lives.
pub struct FenceWatcher {
    tasks: Vec<JoinHandle<()>>,
    pub actions: Arc<Mutex<Vec<FenceAction>>>,
    mode: Arc<Mutex<FenceMode>>,
}

/// How the harness's fence device answers, as fence_dummy's modes in
/// Pacemaker's cts-fencing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FenceMode {
    /// Powers the target off (or restarts it) at once.
    #[default]
    Works,
    /// Answers every request with a failure, powering nothing off.
    Fails,
    /// Fails, as `Fails` does, the requests to fence a target (its node name)
    /// with a device (its id in the CIB) listed as that pair; the others work.
    FailsOn(Vec<(String, String)>),
    /// Waits this long, then powers the target off and answers: a fencer
    /// whose timeout is shorter has given up by then (the power-off is late).
    Slow(Duration),
}

impl FenceMode {
    /// Whether a request to fence `target` with `device` fails in this mode.
    fn fails(&self, target: &str, device: Option<&str>) -> bool {
        match self {
            FenceMode::Fails => true,
            FenceMode::FailsOn(pairs) => device.is_some_and(|d| pairs.iter().any(|(t, p)| t == target && p == d)),
            FenceMode::Works | FenceMode::Slow(_) => false,
        }
    }
}

/// The harness's answer while it makes the fence device fail.
pub const FAILING: &str = "the fence device fails (a scenario made it fail)";

impl Drop for FenceWatcher {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FenceWatcher {
    /// `nodes`: node name → container name, for every node of the cluster.
    pub fn start(docker: &Docker, nodes: HashMap<String, String>) -> FenceWatcher {
        let actions = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(FenceMode::Works));
        let nodes = Arc::new(nodes);
        let tasks = nodes
            .keys()
            .map(|requester| {
                let (docker, nodes, actions, requester) = (docker.clone(), nodes.clone(), actions.clone(), requester.clone());
                let mode = mode.clone();
                tokio::spawn(async move { follow(docker, nodes, requester, actions, mode).await })
            })
            .collect();
        FenceWatcher { tasks, actions, mode }
    }

    /// How every fencing request is answered from now on.
    pub fn set_mode(&self, mode: FenceMode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    pub fn actions(&self) -> Vec<FenceAction> {
        self.actions.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Follows one node's console; a node that was powered off is followed again once it runs.
async fn follow(
    docker: Docker,
    nodes: Arc<HashMap<String, String>>,
    requester: String,
    actions: Arc<Mutex<Vec<FenceAction>>>,
    mode: Arc<Mutex<FenceMode>>,
) {
    let container = nodes[&requester].clone();
    loop {
        let since = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i32 - 1).unwrap_or(0);
        let options = LogsOptionsBuilder::default().follow(true).stdout(true).stderr(false).since(since).tail("0").build();
        let mut stream = docker.logs(&container, Some(options));
        while let Some(Ok(chunk)) = stream.next().await {
            for line in chunk.to_string().lines() {
                if let Some(request) = line.trim().strip_prefix(REQUEST) {
                    let now = mode.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    carry_out(&docker, &nodes, &requester, request, now, &actions).await;
                }
            }
        }
        if docker.inspect_container(&container, None).await.is_err() {
            return; // removed: the run is over
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Carries out one request and records it, before the requester hears the
/// answer: whatever the cluster does on a success comes after the record.
async fn carry_out(
    docker: &Docker,
    nodes: &HashMap<String, String>,
    requester: &str,
    request: &str,
    mode: FenceMode,
    actions: &Mutex<Vec<FenceAction>>,
) -> Option<()> {
    let mut words = request.split_whitespace();
    let (id, action, target) = (words.next()?, words.next()?, words.next()?);
    let valid_id = id.chars().all(|c| c.is_ascii_digit() || c == '-');
    if !valid_id {
        return None;
    }
    let device = words.next().filter(|d| d.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))).map(str::to_string);
    let fails = mode.fails(target, device.as_deref());
    let outcome = match nodes.get(target) {
        None => Err(format!("unknown node {target}")),
        Some(_) if fails => Err(FAILING.to_string()),
        Some(target_container) => {
            if let FenceMode::Slow(delay) = mode {
                tokio::time::sleep(delay).await;
            }
            power(docker, target_container, action).await
        }
    };
    let answer = match &outcome {
        Ok(()) => "ok".to_string(),
        Err(e) => e.replace(['\n', '\''], " "),
    };
    let record = FenceAction {
        requester: requester.to_string(),
        target: target.to_string(),
        action: action.to_string(),
        at: SystemTime::now(),
        succeeded: outcome.is_ok(),
        device,
    };
    actions.lock().unwrap_or_else(|e| e.into_inner()).push(record);
    // The requester may be the target of its own reboot; then nobody waits for the answer.
    if target != requester || action != "off" {
        let write = format!("mkdir -p /run/pcmk-comply-fence && echo '{answer}' > /run/pcmk-comply-fence/{id}.done");
        let _ = crate::session::exec_in(docker, &nodes[requester], "root", &["sh", "-c", &write]).await;
    }
    Some(())
}

async fn power(docker: &Docker, container: &str, action: &str) -> Result<(), String> {
    let kill = KillContainerOptionsBuilder::default().signal("KILL").build();
    match docker.kill_container(container, Some(kill)).await {
        // Already off counts as off.
        Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => {}
        Err(e) => return Err(e.to_string()),
    }
    if action == "reboot" {
        docker.start_container(container, None).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device first for one node and the fallback of another fails only for the first.
    #[test]
    fn a_first_level_fails_for_its_own_target_only() {
        let crossed = FenceMode::FailsOn(vec![("node1".into(), "ipmi".into()), ("node2".into(), "pdu".into())]);
        assert!(crossed.fails("node1", Some("ipmi")) && crossed.fails("node2", Some("pdu")));
        assert!(!crossed.fails("node1", Some("pdu")) && !crossed.fails("node2", Some("ipmi")));
        assert!(!crossed.fails("node1", None), "an agent that names no device is not one of them");
        assert!(FenceMode::Fails.fails("node3", None) && !FenceMode::Slow(Duration::from_secs(1)).fails("node3", None));
    }
}
