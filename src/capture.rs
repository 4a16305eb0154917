//! `pcmk-comply capture`: a candidate of a running cluster's nodes, over SSH.

use std::path::PathBuf;
use std::process::ExitCode;

use pcmk_containers::capture::{self, CaptureOptions};

pub struct Capture {
    pub nodes: Vec<String>,
    pub out: PathBuf,
    pub ssh_config: Option<PathBuf>,
    pub ssh_options: Vec<String>,
    pub sudo: bool,
    pub allow_partial: bool,
}

pub async fn capture(args: Capture) -> anyhow::Result<ExitCode> {
    let mut ssh_args = Vec::new();
    if let Some(config) = &args.ssh_config {
        ssh_args.extend(["-F".to_string(), config.display().to_string()]);
    }
    for option in &args.ssh_options {
        ssh_args.extend(["-o".to_string(), option.clone()]);
    }
    let options = CaptureOptions { nodes: args.nodes, out: args.out.clone(), ssh_args, sudo: args.sudo, allow_partial: args.allow_partial };
    let manifest = capture::capture(&options, &|line| eprintln!("capture: {line}")).await?;
    let complete = manifest.nodes.iter().filter(|n| n.complete).count();
    println!("captured {complete} of {} nodes into {}", manifest.nodes.len(), args.out.display());
    for node in manifest.nodes.iter().filter(|n| !n.complete) {
        println!("  {}: {}", node.name, node.problems.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}
