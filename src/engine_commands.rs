//! Commands on the engine alone: images, clusters left running, clean-up.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use pcmk_containers::cluster::{Cluster, ClusterOptions};
use pcmk_containers::image;
use pcmk_containers::run::{self, RunId};
use pcmk_containers::{engine, system_dirs};
use pcmk_model::node::Distro;

use crate::images;
use crate::progress::Progress;

pub async fn image_build(distro: String) -> anyhow::Result<ExitCode> {
    let distros = if distro == "all" { Distro::ALL.to_vec() } else { vec![distro.parse().map_err(anyhow::Error::msg)?] };
    let docker = engine::connect().await?;
    let prepared = images::prepare(&docker, &distros).await?;
    eprintln!("images: {} prepared in {:.1}s, {} built", prepared.images.len(), prepared.took.as_secs_f64(), prepared.built.len());
    Ok(ExitCode::SUCCESS)
}

pub async fn image_list() -> anyhow::Result<ExitCode> {
    let docker = engine::connect().await?;
    for image in image::list_images(&docker).await? {
        println!("{:<48} {:<9} {:>5} MB", image.tag, image.distro, image.size_bytes / 1_000_000);
    }
    Ok(ExitCode::SUCCESS)
}

pub struct ClusterUp {
    pub candidate: PathBuf,
    pub nodes: Option<usize>,
    pub distro: Option<Distro>,
    pub ready_timeout: u64,
    pub keep: bool,
    pub run_id: Option<RunId>,
}

pub async fn cluster_up(ClusterUp { candidate, nodes, distro, ready_timeout, keep, run_id }: ClusterUp) -> anyhow::Result<ExitCode> {
    let candidate = crate::policy_run::load_converting(&candidate).await?;
    let distro = distro.or(candidate.distro).unwrap_or(Distro::Bookworm);
    let docker = engine::connect().await?;
    let image = images::prepare(&docker, &[distro]).await?.image(distro);
    let options = ClusterOptions {
        nodes,
        ready_timeout: Duration::from_secs(ready_timeout),
        origin: "cluster-up".into(),
        run_id,
        keep_on_failure: keep,
        ..ClusterOptions::default()
    };
    let progress = Progress::new("cluster");
    progress.phase("starting nodes");
    let started = Instant::now();
    let mut cluster = Cluster::start(&docker, &candidate, &image, &options).await?;
    progress.phase("waiting for quorum, a DC and every node online");
    if let Err(e) = cluster.wait_ready(options.ready_timeout).await {
        progress.finish("not ready");
        if keep {
            cluster.keep();
            return Err(e.context(format!("kept run {0}; remove it with `pcmk-comply cluster down --run {0}`", cluster.run)));
        }
        return Err(e);
    }
    progress.finish(&format!("ready in {:.1}s", started.elapsed().as_secs_f64()));
    cluster.keep();
    print_cluster(&cluster, distro);
    Ok(ExitCode::SUCCESS)
}

pub async fn cluster_down(run: Option<RunId>) -> anyhow::Result<ExitCode> {
    let docker = engine::connect().await?;
    let runs = match run {
        Some(run) => vec![run],
        None => run::runs_with_origin(&docker, "cluster-up").await?,
    };
    if runs.is_empty() {
        println!("no cluster to remove");
    }
    remove_runs(&docker, &runs).await.map_err(|(_, e)| e)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn gc(all: bool) -> anyhow::Result<ExitCode> {
    let docker = engine::connect().await?;
    let runs = run::orphaned_runs(&docker, all).await?;
    let removed = remove_runs(&docker, &runs).await;
    println!("gc: {} run(s) removed", runs.len() - removed.as_ref().err().map_or(0, |(failed, _)| *failed));
    removed.map_err(|(_, e)| e)?;
    let volumes = system_dirs::remove_stale(&docker).await?;
    println!("gc: {volumes} volume(s) of removed images or killed copies removed");
    Ok(ExitCode::SUCCESS)
}

/// Removes each run, going on past one the engine refuses; the error names
/// every run that is left, and how many.
async fn remove_runs(docker: &pcmk_containers::Docker, runs: &[run::RunId]) -> Result<(), (usize, anyhow::Error)> {
    let mut failures = Vec::new();
    for run in runs {
        match run::remove_run(docker, run).await {
            Ok(()) => println!("removed run {run}"),
            Err(e) => failures.push(format!("removing run {run}: {e:#}")),
        }
    }
    match failures.len() {
        0 => Ok(()),
        n => Err((n, anyhow::anyhow!("{}", failures.join("\n")))),
    }
}

fn print_cluster(cluster: &Cluster, distro: Distro) {
    println!("run {} ({distro}, image {})", cluster.run, cluster.image);
    for network in &cluster.networks {
        println!("network {:<28} {}", network.name, network.subnet);
    }
    for node in &cluster.nodes {
        let addrs: Vec<String> = node.addrs.iter().map(|a| a.to_string()).collect();
        println!("node {:<12} nodeid {:<3} {:<36} {}", node.name, node.nodeid, cluster.container_of(&node.name), addrs.join(", "));
    }
    for setting in &cluster.harness_settings {
        println!("harness set {}={} (the candidate leaves it unset: {})", setting.name, setting.value, setting.why);
    }
    for file in &cluster.mapped_files {
        println!("harness mapped the candidate's node addresses in {file} onto the run's network");
    }
    println!("remove with: pcmk-comply cluster down --run {}", cluster.run);
}
