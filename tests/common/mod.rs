//! Shared set-up for the integration tests: they run real clusters on the local engine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pcmk_containers::Docker;
use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::{Cluster, ClusterOptions};
use pcmk_containers::image::{self, Distro, Mirrors, NodeImage};
use pcmk_containers::run::{self, RunId};

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn hardened() -> Candidate {
    Candidate::load(&repo_path("candidates/hardened")).expect("the bundled candidate loads")
}

pub async fn docker() -> Docker {
    pcmk_containers::engine::connect().await.expect("the Docker engine is reachable")
}

pub async fn node_image(docker: &Docker, distro: Distro) -> NodeImage {
    image::ensure_node_image(docker, distro, &Mirrors::default(), &|_| {}).await.expect("node image")
}

pub fn test_run_id(prefix: &str) -> RunId {
    RunId::parse(&format!("t-{prefix}-{:06x}", rand::random::<u32>() & 0xff_ffff)).expect("valid run id")
}

pub fn options(prefix: &str, nodes: Option<usize>) -> ClusterOptions {
    ClusterOptions { nodes, origin: "test".into(), run_id: Some(test_run_id(prefix)), ready_timeout: Duration::from_secs(90), ..Default::default() }
}

pub async fn up(docker: &Docker, distro: Distro, prefix: &str, nodes: Option<usize>) -> Cluster {
    let image = node_image(docker, distro).await;
    Cluster::up(docker, &hardened(), &image, &options(prefix, nodes)).await.expect("cluster comes up")
}

/// Containers and networks still labelled with `run`.
pub async fn leftovers(docker: &Docker, run: &RunId) -> (usize, usize, usize) {
    (
        run::list_containers(docker, Some(run)).await.unwrap().len(),
        run::list_networks(docker, Some(run)).await.unwrap().len(),
        run::list_volumes(docker, Some(run)).await.unwrap().len(),
    )
}

/// Containers, networks and volumes labelled as made by process `pid`.
pub async fn made_by(docker: &Docker, pid: u32) -> (usize, usize, usize) {
    let mine = |l: &run::Labelled| l.labels.get(run::LABEL_OWNER_PID).is_some_and(|p| *p == pid.to_string());
    (
        run::list_containers(docker, None).await.unwrap().iter().filter(|l| mine(l)).count(),
        run::list_networks(docker, None).await.unwrap().iter().filter(|l| mine(l)).count(),
        run::list_volumes(docker, None).await.unwrap().iter().filter(|l| mine(l) && l.labels.contains_key(run::LABEL_RUN)).count(),
    )
}

pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"));
    // The tests' runs keep their scenario times apart from the user's.
    command.env("PCMK_COMPLY_CACHE_DIR", test_cache_dir());
    command
}

pub fn test_cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("pcmk-test-cache-{}", std::process::id()))
}

/// A copy of candidates/hardened in a fresh directory, changed by `edit`.
pub fn hardened_variant(name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcmk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(repo_path("candidates/hardened")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    edit(&dir);
    dir
}
