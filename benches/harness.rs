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

/// Lints `count` generated variations of candidates/hardened, one after the other, on one thread.
fn lint_throughput(count: usize) -> anyhow::Result<(usize, Duration)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = root.join("candidates/hardened");
    let dir = std::env::temp_dir().join(format!("pcmk-bench-candidates-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ciphers = ["aes256", "aes192", "aes128", "none"];
    let mut paths = Vec::new();
    for i in 0..count {
        let path = dir.join(format!("c{i:04}"));
        std::fs::create_dir_all(&path)?;
        for entry in std::fs::read_dir(&base)? {
            let entry = entry?;
            std::fs::copy(entry.path(), path.join(entry.file_name()))?;
        }
        let conf = std::fs::read_to_string(path.join("corosync.conf"))?
            .replace("cluster_name: hardened", &format!("cluster_name: generated{i}"))
            .replace("crypto_cipher: aes256", &format!("crypto_cipher: {}", ciphers[i % ciphers.len()]))
            .replace("token: 3000", &format!("token: {}", 1000 + i));
        std::fs::write(path.join("corosync.conf"), conf)?;
        paths.push(path);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let features = vec![root.join("features")];
    let started = Instant::now();
    for path in &paths {
        let candidate = std::sync::Arc::new(Candidate::load(path)?);
        let ctx = pcmk_steps::world::RunContext::new(candidate, pcmk_steps::world::Mode::Static);
        let options = pcmk_steps::runner::RunOptions { features: features.clone(), tags: None, static_only: true, concurrency: 1, quiet: true, shard: None, waiver: None };
        let report = runtime.block_on(pcmk_steps::runner::run(ctx, options))?;
        anyhow::ensure!(!report.verdicts.is_empty(), "{} gave no verdicts", path.display());
    }
    let took = started.elapsed();
    std::fs::remove_dir_all(&dir)?;
    Ok((paths.len(), took))
}

/// Summed scenario durations of the given features' scenarios in a Cucumber JSON file.
fn summed_durations(json: &std::path::Path, tags: &[&str]) -> anyhow::Result<Duration> {
    let features: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json)?)?;
    let mut nanos = 0u64;
    for element in features.as_array().into_iter().flatten().flat_map(|f| f["elements"].as_array().into_iter().flatten()) {
        let tagged = element["tags"].as_array().into_iter().flatten().any(|t| tags.iter().any(|want| t["name"] == format!("@{want}")));
        if tagged {
            nanos += element["steps"].as_array().into_iter().flatten().filter_map(|s| s["result"]["duration"].as_u64()).sum::<u64>();
        }
    }
    Ok(Duration::from_nanos(nanos))
}

/// The largest resident set of any child process waited for, in bytes.
fn peak_child_rss_bytes() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as u64 * 1024
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
    let (count, took) = lint_throughput(1000)?;
    figures.push(Figure { name: "lint, 1,000 generated candidates, 1 thread", samples: vec![took], target: ">= 200 candidates/s" });
    println!("lint throughput: {count} candidates in {:.2}s = {:.0} candidates/s on one thread", took.as_secs_f64(), count as f64 / took.as_secs_f64());

    // The whole policy, as the README's main job runs it; the peak memory of
    // the harness process is the largest of the children waited for.
    let json = std::env::temp_dir().join(format!("pcmk-bench-{}.json", std::process::id()));
    let started = Instant::now();
    let output = std::process::Command::new(binary).args(["run", "--json"]).arg(&json).current_dir(root).output()?;
    let whole = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    anyhow::ensure!(output.status.success(), "the whole policy failed on candidates/hardened:\n{stdout}");
    figures.push(Figure { name: "pcmk-comply run, whole policy, hardened", samples: vec![whole], target: "<= 90 s" });
    for line in stdout.lines().filter(|l| l.starts_with("measured: failover") || l.starts_with("phases: ") || l.starts_with("run on ")) {
        println!("{line}");
    }
    let destructive = summed_durations(&json, &["failover", "backup"])?;
    figures.push(Figure { name: "@failover and @backup scenarios, summed", samples: vec![destructive], target: "<= 180 s" });
    let peak = peak_child_rss_bytes();
    println!("peak memory of the harness process (max RSS): {:.1} MB (target <= 200 MB)", peak as f64 / 1e6);

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
