//! The figures the README quotes, measured on the local engine. Prints each
//! figure as a median with its spread; asserts nothing about time.
//!
//! `cargo bench --bench harness` runs everything but the cold build;
//! `cargo bench --bench harness -- --cold` adds a cold image build (offline base included).

use std::time::{Duration, Instant};

use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::{Cluster, ClusterOptions};
use pcmk_containers::image::{self, Distro, Mirrors};

const RUNS: usize = 5;

struct Figure {
    name: &'static str,
    samples: Vec<Duration>,
    target: &'static str,
}

impl Figure {
    fn print(&self) {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let median = sorted[sorted.len() / 2];
        println!(
            "{:<44} median {:>9.3}s  min {:>9.3}s  max {:>9.3}s  n={}  target {}",
            self.name,
            median.as_secs_f64(),
            sorted[0].as_secs_f64(),
            sorted[sorted.len() - 1].as_secs_f64(),
            sorted.len(),
            self.target
        );
    }
}

fn main() -> anyhow::Result<()> {
    let cold = std::env::args().any(|a| a == "--cold");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(bench(cold))
}

async fn bench(cold: bool) -> anyhow::Result<()> {
    let docker = pcmk_containers::engine::connect().await?;
    let mirrors = Mirrors::default();
    let mut figures = Vec::new();

    let image = image::ensure_node_image(&docker, Distro::Bookworm, &mirrors, &|_| {}).await?;
    let mut lookups = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let again = image::ensure_node_image(&docker, Distro::Bookworm, &mirrors, &|_| {}).await?;
        lookups.push(started.elapsed());
        anyhow::ensure!(!again.built, "a cached lookup must not build");
    }
    figures.push(Figure { name: "image lookup, cached (bookworm)", samples: lookups, target: "<= 1 s" });

    let candidate = Candidate::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/candidates/hardened")))?;
    let mut to_ready = Vec::new();
    let mut teardown = Vec::new();
    for _ in 0..RUNS {
        let options = ClusterOptions { origin: "bench".into(), ..ClusterOptions::default() };
        let started = Instant::now();
        let cluster = Cluster::up(&docker, &candidate, &image, &options).await?;
        to_ready.push(started.elapsed());
        let started = Instant::now();
        cluster.down().await?;
        teardown.push(started.elapsed());
    }
    figures.push(Figure { name: "3-node bookworm cluster, create to ready", samples: to_ready, target: "<= 8 s" });
    figures.push(Figure { name: "3-node cluster teardown", samples: teardown, target: "-" });

    // Whole processes, as a CI job runs them.
    let binary = env!("CARGO_BIN_EXE_pcmk-comply");
    let root = env!("CARGO_MANIFEST_DIR");
    let mut lints = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let status = std::process::Command::new(binary).arg("lint").current_dir(root).stdout(std::process::Stdio::null()).status()?;
        lints.push(started.elapsed());
        anyhow::ensure!(status.success(), "lint of candidates/hardened failed");
    }
    figures.push(Figure { name: "pcmk-comply lint candidates/hardened", samples: lints, target: "<= 50 ms" });
    let runs: [(&'static str, &[&str], &'static str); 2] = [
        ("pcmk-comply run, practices 1-4, hardened", &["run", "--tags", "not @failover and not @backup"], "<= 60 s"),
        ("pcmk-comply run, @failover and @backup", &["run", "features/failover.feature", "features/backup.feature"], "<= 180 s"),
    ];
    for (name, args, target) in runs {
        let started = Instant::now();
        let output = std::process::Command::new(binary).args(args).current_dir(root).output()?;
        anyhow::ensure!(output.status.success(), "{name} failed:\n{}", String::from_utf8_lossy(&output.stdout));
        figures.push(Figure { name, samples: vec![started.elapsed()], target });
        for line in String::from_utf8_lossy(&output.stdout).lines().filter(|l| l.starts_with("measured: failover")) {
            println!("{line}");
        }
    }

    if cold {
        // A mirror URL that differs only in spelling gives a recipe of its own,
        // so this builds from nothing without touching the cached images.
        let cold_mirrors = Mirrors { debian: format!("{}/", mirrors.debian.trim_end_matches('/')), ..mirrors.clone() };
        let started = Instant::now();
        let built = image::ensure_node_image(&docker, Distro::Bookworm, &cold_mirrors, &|_| {}).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(built.built, "the cold build must build");
        image::remove(&docker, &built.tag).await?;
        image::remove(&docker, &built.base).await?;
        figures.push(Figure { name: "cold image build incl. debootstrap (bookworm)", samples: vec![elapsed], target: "<= 240 s" });
    }

    println!("\npcmk-comply benchmark ({} cores, engine {})", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), docker.version().await?.version.unwrap_or_default());
    for figure in &figures {
        figure.print();
    }
    Ok(())
}
