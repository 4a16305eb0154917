//! The figures docs/performance.md keeps, measured on the local engine. Prints each
//! figure as a median with its spread; asserts nothing about time.
//!
//! `cargo bench --bench harness` runs everything but the cold builds;
//! `-- --cold` adds 5 cold image builds per distro (offline base included, ~20 min);
//! `-- --only lint,cold` runs just those sections (lookup, cluster, lint, failover, policy, real, cold, fresh);
//! `fresh` (fresh clone to first verdict, ~6 min a sample, `--fresh-runs N` of them) runs only when named;
//! `-- --policy-runs N` repeats the whole policy N times (5 by default).

use std::time::{Duration, Instant};

#[path = "harness/fresh_clone.rs"]
mod fresh_clone;

use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::{exec_in, Cluster, ClusterOptions};
use pcmk_containers::image::{self, Mirrors};
use pcmk_model::measurement::Kind;
use pcmk_model::node::Distro;
use pcmk_model::report::Report;

const RUNS: usize = 5;

struct Figure {
    name: String,
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

/// Prints a figure as soon as it is measured (a later failure keeps it) and keeps it for the summary.
fn record(figures: &mut Vec<Figure>, figure: Figure) {
    figure.print();
    figures.push(figure);
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
    let features = vec![pcmk_steps::policy::FeatureSource::Builtin];
    let started = Instant::now();
    for path in &paths {
        let candidate = std::sync::Arc::new(Candidate::load(path)?);
        let ctx = pcmk_steps::run_context::RunContext::new(candidate, pcmk_steps::run_context::Mode::Static);
        let options = pcmk_steps::runner::RunOptions {
            features: features.clone(),
            params: Vec::new(),
            strict: false,
            tags: None,
            static_only: true,
            concurrency: 1,
            own_clusters: 1,
            on_verdict: None,
            shard: None,
            waiver: None,
            durations: None,
        };
        let report = runtime.block_on(pcmk_steps::runner::run(ctx, options))?;
        anyhow::ensure!(!report.verdicts.is_empty(), "{} gave no verdicts", path.display());
    }
    let took = started.elapsed();
    std::fs::remove_dir_all(&dir)?;
    Ok((paths.len(), took))
}

/// What one whole `pcmk-comply` process did: wall time, exit code, stdout, peak memory.
struct ProcessRun {
    took: Duration,
    code: i32,
    stdout: String,
    max_rss_bytes: u64,
}

/// Runs the CLI to its end and reads its own peak resident set from wait4.
fn run_cli(args: &[&str]) -> anyhow::Result<ProcessRun> {
    let out_path = std::env::temp_dir().join(format!("pcmk-bench-out-{}", std::process::id()));
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: the pid is our unwaited child; wait4 fills the status and the struct it is given.
    let usage = unsafe {
        anyhow::ensure!(libc::wait4(child.id() as libc::pid_t, &mut status, 0, usage.as_mut_ptr()) > 0, "wait4 failed");
        usage.assume_init()
    };
    let took = started.elapsed();
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    let stdout = std::fs::read_to_string(&out_path)?;
    std::fs::remove_file(&out_path)?;
    Ok(ProcessRun { took, code, stdout, max_rss_bytes: usage.ru_maxrss as u64 * 1024 })
}

/// A `run` with `--report-json`: the process's figures and the typed report
/// it wrote, from which every figure below is read (never the console's text).
fn run_with_report(args: &[&str]) -> anyhow::Result<(ProcessRun, Report)> {
    let json = std::env::temp_dir().join(format!("pcmk-bench-report-{}.json", std::process::id()));
    let mut args = args.to_vec();
    let json_arg = json.to_str().unwrap_or_default().to_string();
    args.extend(["--report-json", &json_arg]);
    let run = run_cli(&args)?;
    let report = pcmk_reports::report_json::read(&json).map_err(|e| anyhow::anyhow!("{e:#}; the run said:\n{}", run.stdout))?;
    std::fs::remove_file(&json)?;
    Ok((run, report))
}

/// The failover the report measured, and the part above corosync's floor (token + consensus).
fn failover_measured(report: &Report) -> Option<(Duration, Duration)> {
    let measured = report.measurements.iter().find(|m| m.kind == Kind::Failover)?;
    let took = measured.took?;
    Some((took, took.saturating_sub(measured.floor?)))
}

/// One scenario only: a killed node's resource moves. Its own feature file, so nothing else runs beside it.
const FAILOVER_FEATURE: &str = "@failover\nFeature: Failover time\n\n  @live @destructive\n  Scenario: A killed node's resource moves\n    When the node running \"service\" is killed\n    Then \"service\" runs on another node within 30 seconds\n";

/// Machine-wide CPU time so far spent working (all cores, from /proc/stat: user,
/// nice, system, irq, softirq). Steal is the hypervisor's, not the work's.
fn busy_cpu() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let fields: Vec<u64> = stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    anyhow::ensure!(fields.len() >= 7, "unexpected /proc/stat");
    let working = fields[0] + fields[1] + fields[2] + fields[5] + fields[6];
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Duration::from_secs_f64(working as f64 / ticks))
}

/// Machine-wide CPU per call of `poll`, over `count` calls one after the other.
async fn cpu_per_call<F, Fut>(count: u32, mut poll: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let before = busy_cpu()?;
    for _ in 0..count {
        poll().await?;
    }
    Ok((busy_cpu()? - before) / count)
}

fn arg_value(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

const SECTIONS: [&str; 8] = ["lookup", "cluster", "lint", "failover", "policy", "real", "cold", "fresh"];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut sections: Vec<String> = match args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)) {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => SECTIONS[..5].iter().map(|s| s.to_string()).collect(),
    };
    if args.iter().any(|a| a == "--cold") {
        sections.push("cold".into());
    }
    if let Some(unknown) = sections.iter().find(|s| !SECTIONS.contains(&s.as_str())) {
        anyhow::bail!("unknown section `{unknown}`; sections: {}", SECTIONS.join(", "));
    }
    let policy_runs = arg_value("--policy-runs").unwrap_or(RUNS).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(bench(&sections, policy_runs))
}

async fn bench(sections: &[String], policy_runs: usize) -> anyhow::Result<()> {
    let wants = |name: &str| sections.iter().any(|s| s == name);
    let docker = pcmk_containers::engine::connect().await?;
    let mirrors = Mirrors::default();
    let mut figures = Vec::new();

    let image = image::ensure_node_image(&docker, Distro::Bookworm, &mirrors, &|_| {}).await?;
    if wants("lookup") {
        let mut lookups = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            let again = image::ensure_node_image(&docker, Distro::Bookworm, &mirrors, &|_| {}).await?;
            lookups.push(started.elapsed());
            anyhow::ensure!(!again.built, "a cached lookup must not build");
        }
        record(&mut figures, Figure { name: "image lookup, cached (bookworm)".into(), samples: lookups, target: "<= 1 s" });
    }

    if wants("cluster") {
        let candidate = Candidate::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/candidates/hardened")))?;
        let (mut to_ready, mut start_cpu) = (Vec::new(), Vec::new());
        let mut teardown = Vec::new();
        for _ in 0..RUNS {
            let options = ClusterOptions { origin: "bench".into(), ..ClusterOptions::default() };
            let (started, cpu_before) = (Instant::now(), busy_cpu()?);
            let cluster = Cluster::up(&docker, &candidate, &image, &options).await?;
            to_ready.push(started.elapsed());
            start_cpu.push(busy_cpu()? - cpu_before);
            let started = Instant::now();
            cluster.down().await?;
            teardown.push(started.elapsed());
        }
        record(&mut figures, Figure { name: "3-node bookworm cluster, create to ready".into(), samples: to_ready, target: "<= 8 s" });
        record(&mut figures, Figure { name: "machine CPU per cluster start".into(), samples: start_cpu, target: "-" });
        record(&mut figures, Figure { name: "3-node cluster teardown".into(), samples: teardown, target: "-" });

        // What a status poll costs the machine, through `docker exec` and through the
        // node's open shell (the harness's way); the idle cluster's own load is in both.
        let cluster =
            Cluster::up(&docker, &candidate, &image, &ClusterOptions { origin: "bench".into(), ..ClusterOptions::default() }).await?;
        let (mut by_exec, mut by_shell) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let node1 = cluster.container_of("node1");
            by_exec.push(
                cpu_per_call(20, || async {
                    exec_in(&docker, &node1, "root", &["crm_mon", "--one-shot", "--output-as=xml"]).await.map(drop)
                })
                .await?,
            );
            by_shell.push(cpu_per_call(20, || async { cluster.status("node1").await.map(drop) }).await?);
        }
        cluster.down().await?;
        record(&mut figures, Figure { name: "CPU per status poll, docker exec".into(), samples: by_exec, target: "-" });
        record(&mut figures, Figure { name: "CPU per status poll, open shell".into(), samples: by_shell, target: "-" });
    }

    if wants("lint") {
        // Whole processes, as a CI job runs them.
        let mut lints = Vec::new();
        for _ in 0..10 {
            let lint = run_cli(&["lint"])?;
            anyhow::ensure!(lint.code == 0, "lint of candidates/hardened failed:\n{}", lint.stdout);
            lints.push(lint.took);
        }
        record(&mut figures, Figure { name: "pcmk-comply lint candidates/hardened".into(), samples: lints, target: "<= 50 ms" });
        let mut throughput = Vec::new();
        for _ in 0..RUNS {
            // Its own thread: lint's one-thread runtime cannot start inside this one.
            let (count, took) =
                std::thread::spawn(|| lint_throughput(1000)).join().map_err(|_| anyhow::anyhow!("lint throughput panicked"))??;
            println!(
                "lint throughput: {count} candidates in {:.2}s = {:.0} candidates/s on one thread",
                took.as_secs_f64(),
                count as f64 / took.as_secs_f64()
            );
            throughput.push(took);
        }
        record(
            &mut figures,
            Figure {
                name: "lint, 1,000 generated candidates, 1 thread".into(),
                samples: throughput,
                target: "<= 5 s (>= 200 candidates/s)",
            },
        );
    }

    if wants("failover") {
        // One failover at a time, nothing else running, as docs/performance.md gives it.
        let feature = std::env::temp_dir().join(format!("pcmk-bench-failover-{}.feature", std::process::id()));
        std::fs::write(&feature, FAILOVER_FEATURE)?;
        let (mut failover, mut above_floor) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (run, report) = run_with_report(&["run", feature.to_str().unwrap_or_default()])?;
            anyhow::ensure!(run.code == 0, "the failover scenario failed on candidates/hardened:\n{}", run.stdout);
            let (took, above) = failover_measured(&report).ok_or_else(|| anyhow::anyhow!("no failover measured:\n{}", run.stdout))?;
            failover.push(took);
            above_floor.push(above);
        }
        std::fs::remove_file(&feature)?;
        record(&mut figures, Figure { name: "failover, kill to running elsewhere".into(), samples: failover, target: "-" });
        record(&mut figures, Figure { name: "failover above token + consensus".into(), samples: above_floor, target: "<= 2 s" });
    }

    if wants("policy") {
        // The whole policy, as the README's main job runs it, repeated: every run
        // must give the same verdicts (the flakiness series).
        let (mut whole, mut memory, mut destructive, mut machine_cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut phases: Vec<(String, Vec<Duration>)> = Vec::new();
        let mut first_outcomes = None;
        for i in 0..policy_runs {
            // The machine's CPU over the run tells a slower machine from a costlier run.
            let cpu_before = busy_cpu()?;
            let (run, report) = run_with_report(&["run"])?;
            machine_cpu.push(busy_cpu()? - cpu_before);
            let verdicts = &report.verdicts;
            let outcomes: std::collections::BTreeMap<String, pcmk_model::verdict::Outcome> =
                verdicts.iter().map(|v| (format!("{} » {}", v.feature, v.scenario), v.outcome)).collect();
            let passed = verdicts.iter().filter(|v| v.outcome == pcmk_model::verdict::Outcome::Passed).count();
            let second_starts = report.harness_notes.iter().filter(|n| n.starts_with("harness started a cluster a second time")).count();
            let totals = pcmk_reports::console::phase_totals(&report.info.phases);
            let phase_line = totals
                .iter()
                .map(|(name, count, took)| format!("{name} {count}× {:.1}s", took.as_secs_f64()))
                .collect::<Vec<_>>()
                .join("; ");
            println!("whole policy run {}/{policy_runs}: exit {}, {:.1}s, {passed}/{} scenarios passed, {second_starts} second cluster start(s), phases: {phase_line}", i + 1, run.code, run.took.as_secs_f64(), outcomes.len());
            if second_starts > 0 {
                // Its note holds the whole diagnosis of the start-up miss, whose cause is not known yet.
                let kept = std::env::temp_dir().join(format!("pcmk-bench-second-start-{}-{}.log", std::process::id(), i + 1));
                std::fs::write(&kept, &run.stdout)?;
                println!("  the run's output, with the diagnosis of the miss: {}", kept.display());
            }
            anyhow::ensure!(run.code == 0, "the whole policy failed on candidates/hardened:\n{}", run.stdout);
            match &first_outcomes {
                None => first_outcomes = Some(outcomes),
                Some(first) => anyhow::ensure!(*first == outcomes, "run {} gave other verdicts than run 1", i + 1),
            }
            whole.push(run.took);
            memory.push(run.max_rss_bytes);
            destructive.push(verdicts.iter().filter(|v| v.has_tag("failover") || v.has_tag("backup")).map(|v| v.duration).sum());
            for (name, _, took) in totals {
                match phases.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, samples)) => samples.push(took),
                    None => phases.push((name.to_string(), vec![took])),
                }
            }
        }
        println!("flakiness: {policy_runs} whole-policy runs in a row, identical verdicts in all of them");
        record(&mut figures, Figure { name: "pcmk-comply run, whole policy, hardened".into(), samples: whole, target: "<= 90 s" });
        for (name, samples) in phases {
            let name = format!("  phase {name} (summed over clusters)");
            record(&mut figures, Figure { name, samples, target: "-" });
        }
        // A sum of scenario times that overlap: no wall-time target applies to it.
        record(&mut figures, Figure { name: "@failover and @backup scenarios, summed".into(), samples: destructive, target: "-" });
        record(&mut figures, Figure { name: "machine CPU per whole-policy run".into(), samples: machine_cpu, target: "-" });
        memory.sort();
        println!("peak memory of the harness process (max RSS per whole-policy run): median {:.1} MB, min {:.1} MB, max {:.1} MB, n={} (target <= 200 MB)", memory[memory.len() / 2] as f64 / 1e6, memory[0] as f64 / 1e6, memory[memory.len() - 1] as f64 / 1e6, memory.len());
    }

    if wants("real") {
        // The whole policy on a real pcs-made cluster with seven resources (a VIP and an
        // application in a group, a clone, a promotable resource, three fence devices):
        // its own resources, stand-ins and accounts must cost no more than the bundled candidate's.
        let candidate = "tests/fixtures/real/pcs-backup/lab-backup.tar.bz2";
        let mut whole = Vec::new();
        let mut first = None;
        for i in 0..policy_runs {
            let (run, report) = run_with_report(&["run", "--candidate", candidate])?;
            let verdicts = pcmk_model::verdict::summary(&report.verdicts);
            println!("real-world run {}/{policy_runs}: exit {}, {:.1}s, {verdicts}", i + 1, run.code, run.took.as_secs_f64());
            anyhow::ensure!(run.code == 1, "the pcs-made cluster should fail the policy on what it lacks (exit 1):\n{}", run.stdout);
            match &first {
                None => first = Some(verdicts),
                Some(first) => anyhow::ensure!(*first == verdicts, "run {} gave other counts than run 1: {verdicts}", i + 1),
            }
            whole.push(run.took);
        }
        record(
            &mut figures,
            Figure {
                name: "pcmk-comply run, whole policy, pcs-made cluster (7 resources)".into(),
                samples: whole,
                target: "within the hardened range",
            },
        );
    }

    if wants("cold") {
        // A mirror URL that differs only in spelling gives a recipe of its own, so
        // this builds from nothing without touching the cached images; each build's
        // images are removed, so the next one is cold again.
        let cold_mirrors = Mirrors { debian: format!("{}/", mirrors.debian.trim_end_matches('/')), ..mirrors.clone() };
        for distro in [Distro::Bookworm, Distro::Trixie] {
            let mut builds = Vec::new();
            for _ in 0..RUNS {
                let started = Instant::now();
                let built = image::ensure_node_image(&docker, distro, &cold_mirrors, &|_| {}).await?;
                builds.push(started.elapsed());
                anyhow::ensure!(built.built, "the cold build must build");
                image::remove(&docker, &built.tag).await?;
                image::remove(&docker, &built.base).await?;
            }
            let name = format!("cold image build incl. debootstrap ({distro})");
            record(&mut figures, Figure { name, samples: builds, target: "<= 240 s" });
        }
    }

    if wants("fresh") {
        let mut firsts = Vec::new();
        for _ in 0..arg_value("--fresh-runs").unwrap_or(1).max(1) {
            let fresh = fresh_clone::measure(&docker, &mirrors).await?;
            println!(
                "fresh clone: compiled at {:.1}s, images ready at {:.1}s, first verdict at {:.1}s: {}",
                fresh.compiled.as_secs_f64(),
                fresh.images_ready.as_secs_f64(),
                fresh.first_verdict.as_secs_f64(),
                fresh.first_line
            );
            firsts.push(fresh.first_verdict);
        }
        record(
            &mut figures,
            Figure { name: "fresh clone to first verdict (no images, own crates unbuilt)".into(), samples: firsts, target: "<= 300 s" },
        );
    }

    println!(
        "\npcmk-comply benchmark ({} cores, engine {})",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        docker.version().await?.version.unwrap_or_default()
    );
    for figure in &figures {
        figure.print();
    }
    Ok(())
}
