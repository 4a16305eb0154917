//! pcmk-comply: prove a Pacemaker/Corosync configuration against policy on
//! throwaway clusters.

mod progress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::{Cluster, ClusterOptions};
use pcmk_containers::image::{self, Distro, Mirrors};
use pcmk_containers::run::{self, RunId};
use pcmk_containers::{engine, error::InputError, system_dirs};

use pcmk_reports::{waivers, Outputs};
use pcmk_steps::durations;
use pcmk_steps::policy::FeatureSource;
use pcmk_steps::runner::{self, Report, RunOptions, Shard};
use pcmk_steps::world::{Mode, RunContext};

use crate::progress::Progress;

/// Exit codes: 0 success, 1 policy failure, 2 bad input or infrastructure error.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(name = "pcmk-comply", version, about = "Compliance-as-code for Pacemaker/Corosync clusters")]
struct Cli {
    /// Show every command run in a node and its output (secrets redacted).
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prove the policy on throwaway clusters built from a candidate.
    Run {
        #[command(flatten)]
        policy: PolicyArgs,
        /// bookworm or trixie; defaults to the candidate's, else bookworm.
        #[arg(long, value_parser = parse_distro)]
        distro: Option<Distro>,
        /// Number of nodes (1 to 16); defaults to the candidate's.
        #[arg(long)]
        nodes: Option<usize>,
        /// Scenarios on the shared cluster at once.
        #[arg(long, default_value_t = runner::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// `@destructive` scenarios (each on a cluster of its own) at once; their clusters start 3 at a time.
        #[arg(long = "clusters", default_value_t = runner::DEFAULT_OWN_CLUSTERS)]
        own_clusters: usize,
    },
    /// Check the `@static` scenarios against the candidate's files alone (no Docker).
    Lint {
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List every step a policy author can use, with its meaning and an example.
    Steps,
    /// Why a scenario matters and how to fix it: by name (substring) or by @tag.
    Explain {
        query: String,
        #[command(flatten)]
        policy: FeatureArgs,
    },
    /// The built-in policy: `policy export DIR` writes its feature files out for editing.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Build or list node images.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Start or remove a throwaway cluster built from a candidate.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Before an upgrade: the policy on two versions, the verdicts that changed,
    /// and what in the candidate the newer version removed or changed.
    Compare {
        #[arg(long, default_value = "candidates/hardened")]
        candidate: PathBuf,
        #[arg(long, value_parser = parse_distro, default_value = "bookworm")]
        from: Distro,
        #[arg(long, value_parser = parse_distro, default_value = "trixie")]
        to: Distro,
        /// Cucumber tag expression, e.g. "not @destructive".
        #[arg(long)]
        tags: Option<String>,
        #[command(flatten)]
        features: FeatureArgs,
        /// Write both runs and their difference as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write both runs side by side as a self-contained HTML page.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
    },
    /// Combine the `--json` results of sharded runs into one report.
    Merge {
        /// Cucumber JSON files written by `run --shard I/N --json FILE`.
        #[arg(required = true, value_name = "JSON_FILES")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        outputs: OutputArgs,
    },
    /// Remove containers and networks that dead runs left behind.
    Gc {
        /// Also remove runs whose owning process is still alive.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
enum ImageCommand {
    /// Build the node image (reused when its inputs are unchanged).
    Build {
        /// bookworm, trixie or all.
        #[arg(long, default_value = "bookworm")]
        distro: String,
    },
    /// List the images the harness has built.
    List,
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Build a cluster from a candidate, wait until it is ready, and leave it running.
    Up {
        #[arg(long, default_value = "candidates/hardened")]
        candidate: PathBuf,
        /// Number of nodes (1 to 16); defaults to the candidate's.
        #[arg(long)]
        nodes: Option<usize>,
        /// bookworm or trixie; defaults to the candidate's, else bookworm.
        #[arg(long, value_parser = parse_distro)]
        distro: Option<Distro>,
        /// Seconds to wait for quorum, a DC and every node online.
        #[arg(long, default_value_t = 120)]
        ready_timeout: u64,
        /// Keep the containers when start-up fails, for debugging.
        #[arg(long)]
        keep: bool,
        /// Use this run id instead of a random one.
        #[arg(long, value_parser = parse_run_id)]
        run_id: Option<RunId>,
    },
    /// Remove clusters made by `cluster up` (or one run, with --run).
    Down {
        #[arg(long, value_parser = parse_run_id)]
        run: Option<RunId>,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Write the built-in feature files into DIR.
    Export { dir: PathBuf },
}

/// Which scenarios: the built-in policy, the user's own, or both.
#[derive(clap::Args)]
struct FeatureArgs {
    /// Feature files or directories to run instead of the built-in policy.
    #[arg(value_name = "FEATURE_PATHS")]
    only: Vec<PathBuf>,
    /// Feature files or directories to run as well as the built-in policy.
    #[arg(long = "features", value_name = "PATH")]
    extra: Vec<PathBuf>,
    /// Leave the built-in policy out (with --features).
    #[arg(long)]
    no_builtin: bool,
}

impl FeatureArgs {
    fn sources(&self) -> Vec<FeatureSource> {
        let builtin = self.only.is_empty() && !self.no_builtin;
        let paths = self.only.iter().chain(&self.extra).cloned().map(FeatureSource::Path);
        builtin.then_some(FeatureSource::Builtin).into_iter().chain(paths).collect()
    }
}

#[derive(clap::Args)]
struct PolicyArgs {
    /// The candidate: a directory, a pcs config backup, a crm report, a
    /// sosreport, a CIB or a corosync.conf.
    #[arg(long, default_value = "candidates/hardened")]
    candidate: PathBuf,
    /// Cucumber tag expression, e.g. "@communication and @critical".
    #[arg(long)]
    tags: Option<String>,
    #[command(flatten)]
    features: FeatureArgs,
    /// Fail the run when a scenario has nothing to judge in the candidate.
    #[arg(long)]
    strict: bool,
    /// A policy parameter, NAME=VALUE (overrides the candidate's [policy]); see `pcmk-comply steps`.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = pcmk_steps::parameters::parse_cli)]
    params: Vec<pcmk_steps::parameters::Given>,
    /// Run only slice I of N (e.g. 2/4), for a CI matrix; `merge` joins the slices.
    #[arg(long, value_parser = parse_shard)]
    shard: Option<Shard>,
    #[command(flatten)]
    outputs: OutputArgs,
}

#[derive(clap::Args)]
struct OutputArgs {
    /// Write JUnit XML (GitLab, Jenkins).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write Cucumber JSON (also the input of `merge`).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write SARIF 2.1.0 (code scanning).
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Write a self-contained HTML compliance report.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Accepted failures: scenario or tag, justification, owner, expiry date.
    #[arg(long, value_name = "waivers.toml")]
    waivers: Option<PathBuf>,
}

impl OutputArgs {
    fn outputs(&self) -> Outputs {
        Outputs { junit: self.junit.clone(), json: self.json.clone(), sarif: self.sarif.clone(), html: self.report.clone() }
    }

    fn waiver_lookup(&self, waivers: &[waivers::Waiver]) -> Option<runner::WaiverLookup> {
        let waivers = waivers.to_vec();
        let today = waivers::today();
        (!waivers.is_empty()).then(|| Arc::new(move |v: &pcmk_model::verdict::Verdict| waivers::waiver_for(&waivers, today, v)) as runner::WaiverLookup)
    }

    /// Waivers are read before anything runs, so a mistake in them costs no cluster.
    fn load_waivers(&self) -> Result<Vec<waivers::Waiver>, InputError> {
        self.waivers.as_deref().map(waivers::load).transpose().map(Option::unwrap_or_default)
    }
}

impl PolicyArgs {
    fn features(&self) -> Vec<FeatureSource> {
        self.features.sources()
    }


    /// Loads the candidate and says what it was found to be and hold.
    async fn load_candidate(&self) -> anyhow::Result<Arc<Candidate>> {
        convert_crm_text(&self.candidate).await?;
        let candidate = Candidate::load(&self.candidate)?;
        for line in &candidate.inventory {
            println!("candidate: {line}");
        }
        Ok(Arc::new(candidate))
    }
}

/// `crm configure show` text is turned into a CIB by the real crmsh once
/// (then cached); that needs the engine and the bookworm node image.
async fn convert_crm_text(path: &std::path::Path) -> anyhow::Result<()> {
    let Ok(meta) = std::fs::metadata(path) else { return Ok(()) };
    if !meta.is_file() || meta.len() > pcmk_containers::tree::MAX_FILE_BYTES {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&std::fs::read(path)?).into_owned();
    if !pcmk_containers::crmsh::is_crm_text(&text) || pcmk_containers::crmsh::cached(&text).is_some() {
        return Ok(());
    }
    let docker = engine::connect().await.map_err(|e| InputError::new(path, None, format!("crm configure show text needs crmsh, run in a node container, to become a CIB: {e:#}")))?;
    let progress = Progress::new("image bookworm");
    let image = image::ensure_node_image(&docker, Distro::Bookworm, &Mirrors::default(), &|e| progress.event(e)).await?;
    progress.finish(&image.tag);
    eprintln!("candidate: converting {} to a CIB with crmsh", path.display());
    pcmk_containers::crmsh::convert(&docker, &image, &text, path).await?;
    Ok(())
}

fn parse_distro(s: &str) -> Result<Distro, String> {
    s.parse()
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
}

fn parse_run_id(s: &str) -> Result<RunId, String> {
    RunId::parse(s).ok_or_else(|| "a run id is 1 to 24 characters of a-z, 0-9 and -".to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut filter = tracing_subscriber::EnvFilter::from_env("PCMK_COMPLY_LOG").add_directive(format!("{}=info", pcmk_steps::world::PROGRESS_LOG).parse().expect("a valid directive"));
    if cli.verbose {
        filter = filter.add_directive(pcmk_containers::cluster::EXEC_LOG_DIRECTIVE.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_level(false)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pcmk-comply: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let code = runtime.block_on(run_until_signal(cli));
    runtime.shutdown_timeout(Duration::from_secs(5));
    code
}

/// Runs the command; SIGINT or SIGTERM cancels it and removes every run it started.
async fn run_until_signal(cli: Cli) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut interrupt, mut terminate) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(i), Ok(t)) => (i, t),
        _ => {
            eprintln!("pcmk-comply: cannot install signal handlers");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let signal_code = tokio::select! {
        result = dispatch(cli) => return report(result),
        _ = interrupt.recv() => 130,
        _ = terminate.recv() => 143,
    };
    // The command future is dropped by now; its guards removed what they owned.
    // Whatever a cancelled step had not yet handed to a guard goes by label.
    eprintln!("pcmk-comply: interrupted; removing this run's containers and networks");
    if let Ok(docker) = engine::connect().await {
        for run in run::active_runs() {
            if let Err(e) = run::remove_run(&docker, &run).await {
                eprintln!("pcmk-comply: could not remove run {run}: {e:#}; `pcmk-comply gc` will");
            }
        }
    }
    ExitCode::from(signal_code)
}

fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<InputError>() {
                Some(input) => eprintln!("pcmk-comply: error: {input}"),
                None => eprintln!("pcmk-comply: error: {e:#}"),
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { policy, distro, nodes, concurrency, own_clusters } => {
            let started = Instant::now();
            let candidate = policy.load_candidate().await?;
            check_policy_args(&policy)?;
            let waivers = policy.outputs.load_waivers()?;
            let distro = distro.or(candidate.distro).unwrap_or(Distro::Bookworm);
            let docker = engine::connect().await?;
            let progress = Progress::new(&format!("image {distro}"));
            let image = image::ensure_node_image(&docker, distro, &Mirrors::default(), &|e| progress.event(e)).await?;
            progress.finish(&image.tag);
            let image_phase = started.elapsed();
            let options = ClusterOptions { nodes, origin: "run".into(), ..ClusterOptions::default() };
            let params = policy.params.clone();
            let ctx = RunContext::new(candidate, Mode::Live { docker, image, options });
            let options = RunOptions { features: policy.features(), params, strict: policy.strict, tags: policy.tags.clone(), static_only: false, concurrency, own_clusters, quiet: false, shard: policy.shard, waiver: policy.outputs.waiver_lookup(&waivers), durations: durations::default_file() };
            let mut report = runner::run(ctx, options).await?;
            report.info.distro = Some(distro.to_string());
            report.info.phases.insert(0, ("image".into(), image_phase));
            finish(report, &waivers, &policy.outputs, &format!("run on {distro}"), started)
        }
        Command::Lint { policy } => {
            let started = Instant::now();
            let candidate = policy.load_candidate().await?;
            check_policy_args(&policy)?;
            let waivers = policy.outputs.load_waivers()?;
            let params = policy.params.clone();
            let ctx = RunContext::new(candidate, Mode::Static);
            let options = RunOptions { features: policy.features(), params, strict: policy.strict, tags: policy.tags.clone(), static_only: true, concurrency: 1, own_clusters: 1, quiet: false, shard: policy.shard, waiver: policy.outputs.waiver_lookup(&waivers), durations: durations::default_file() };
            let report = runner::run(ctx, options).await?;
            finish(report, &waivers, &policy.outputs, "lint", started)
        }
        Command::Compare { candidate, from, to, tags, features, json, report } => {
            let started = Instant::now();
            let candidate = Arc::new(Candidate::load(&candidate)?);
            if let Some(tags) = &tags {
                runner::parse_tags(tags).map_err(|e| InputError::new("--tags", None, e))?;
            }
            let features = features.sources();
            let docker = engine::connect().await?;
            let mut reports = Vec::new();
            let mut images = Vec::new();
            for distro in [from, to] {
                let progress = Progress::new(&format!("image {distro}"));
                let image = image::ensure_node_image(&docker, distro, &Mirrors::default(), &|e| progress.event(e)).await?;
                progress.finish(&image.tag);
                images.push(image.clone());
                eprintln!("compare: running the policy on {distro}");
                let options = ClusterOptions { origin: "compare".into(), ..ClusterOptions::default() };
                let ctx = RunContext::new(candidate.clone(), Mode::Live { docker: docker.clone(), image, options });
                let run = RunOptions { features: features.clone(), params: Vec::new(), strict: false, tags: tags.clone(), static_only: false, concurrency: runner::DEFAULT_CONCURRENCY, own_clusters: runner::DEFAULT_OWN_CLUSTERS, quiet: true, shard: None, waiver: None, durations: durations::default_file() };
                let mut report = runner::run(ctx, run).await?;
                report.info.distro = Some(distro.to_string());
                reports.push(report);
            }
            let (before, after) = (&reports[0], &reports[1]);
            let files: Vec<(String, String)> = candidate
                .files
                .iter()
                .filter_map(|f| std::str::from_utf8(&f.content).ok().map(|t| (f.source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), t.to_string())))
                .collect();
            let mut findings = pcmk_reports::compare::removed_in_pacemaker3(&files);
            if let Some(cib) = candidate.file_at(pcmk_containers::candidate::CIB_XML) {
                let check = "crm_verify --xml-file /tmp/candidate-cib.xml 2>&1; echo '### upgrade'; cp /tmp/candidate-cib.xml /tmp/upgraded.xml && CIB_file=/tmp/upgraded.xml cibadmin --upgrade --force 2>&1";
                let out = pcmk_containers::cluster::run_tool(&docker, &images[1], &[("/tmp/candidate-cib.xml", &cib.content)], "root", &["sh", "-c", &format!("echo '### verify'; {check}")]).await?;
                findings.extend(pcmk_reports::compare::tool_findings(&to.to_string(), &out.stdout));
            }
            let rows = pcmk_reports::compare::rows(before, after);
            let versions = |r: &Report| r.info.versions.iter().filter(|(p, _)| ["pacemaker", "corosync", "pcs"].contains(&p.as_str())).map(|(p, v)| format!("{p} {v}")).collect::<Vec<_>>().join(", ");
            println!("compare {}: {from} ({}) → {to} ({})", candidate.origin.display(), versions(before), versions(after));
            for row in rows.iter().filter(|r| r.change != pcmk_reports::compare::Change::Same) {
                println!("{:<10} {} » {}", row.change.word(), row.feature, row.scenario);
                if let Some(reason) = row.after.and_then(|v| v.reason.as_deref()).filter(|_| row.change != pcmk_reports::compare::Change::Fixed) {
                    for line in reason.lines() {
                        println!("           {to}: {line}");
                    }
                }
            }
            let count = |c: pcmk_reports::compare::Change| rows.iter().filter(|r| r.change == c).count();
            use pcmk_reports::compare::Change;
            println!(
                "{} scenarios: {} regressed, {} new errors, {} fixed, {} missing, {} same",
                rows.len(),
                count(Change::Regressed),
                count(Change::NewError),
                count(Change::Fixed),
                count(Change::Missing),
                count(Change::Same)
            );
            println!("configuration findings for {to}:");
            for f in &findings {
                println!("  {:<8} {}: {}", if f.breaks { "BREAKS" } else { "CHANGES" }, f.place, f.message);
            }
            if findings.is_empty() {
                println!("  none");
            }
            if let Some(path) = &json {
                std::fs::write(path, pcmk_reports::compare::render_json(&from.to_string(), before, &to.to_string(), after, &findings)?).with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(path) = &report {
                std::fs::write(path, pcmk_reports::compare::render_html(&from.to_string(), before, &to.to_string(), after, &findings)).with_context(|| format!("writing {}", path.display()))?;
            }
            for error in before.infra_errors.iter().chain(&after.infra_errors) {
                eprintln!("pcmk-comply: {error}");
            }
            println!("compare: done in {:.1}s", started.elapsed().as_secs_f64());
            if !before.infra_errors.is_empty() || !before.policy_errors.is_empty() || before.verdicts.is_empty() {
                eprintln!("pcmk-comply: the policy did not run cleanly on {from}, so there is nothing to compare against");
                return Ok(ExitCode::from(EXIT_ERROR));
            }
            let regressed = count(Change::Regressed) + count(Change::NewError) > 0 || findings.iter().any(|f| f.breaks) || !after.infra_errors.is_empty();
            Ok(ExitCode::from(if regressed { 1 } else { 0 }))
        }
        Command::Merge { inputs, outputs } => {
            let started = Instant::now();
            let waivers = outputs.load_waivers()?;
            let mut report = pcmk_reports::cucumber_json::merge(&inputs)?;
            for verdict in &mut report.verdicts {
                verdict.waived_by = waivers::waiver_for(&waivers, waivers::today(), verdict);
                pcmk_steps::collector::print_verdict(verdict);
            }
            finish(report, &waivers, &outputs, &format!("merge of {} file(s)", inputs.len()), started)
        }
        Command::Explain { query, policy } => {
            let sources = policy.sources();
            let found = pcmk_steps::explain::explain(&sources, &query)?;
            if found.is_empty() {
                let searched = sources.iter().map(FeatureSource::describe).collect::<Vec<_>>().join(", ");
                return Err(InputError::new(searched, None, format!("no scenario matches `{query}`")).into());
            }
            for e in found {
                println!("{} » {}  ({}:{})  {}", e.feature, e.scenario, e.file.display(), e.line, e.tags.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(" "));
                println!("  why: {}", e.guidance.rationale);
                println!("  fix: {}\n", e.guidance.remediation.as_deref().unwrap_or("(the scenario gives none)"));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy { command: PolicyCommand::Export { dir } } => {
            for file in pcmk_steps::policy::export(&dir).map_err(|e| InputError::new(&dir, None, format!("cannot write: {e}")))? {
                println!("{}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Steps => {
            for step in pcmk_steps::catalogue::STEPS {
                let scope = if step.static_ok { "lint and run" } else { "run only" };
                println!("{}\n    {} ({scope})\n    e.g. {}\n", step.pattern, step.meaning, step.example.replace('\n', "\n         "));
            }
            println!("Parameters of the built-in policy (set them in candidate.toml [policy] or with --param NAME=VALUE):");
            for p in runner::declared_parameters(&[FeatureSource::Builtin]).await {
                println!("  {} = {}  ({}) {}", p.name, p.default, p.feature, p.meaning);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Image { command: ImageCommand::Build { distro } } => {
            let distros = if distro == "all" { Distro::ALL.to_vec() } else { vec![distro.parse().map_err(anyhow::Error::msg)?] };
            let docker = engine::connect().await?;
            for distro in distros {
                let progress = Progress::new(&format!("image {distro}"));
                let started = Instant::now();
                let image = image::ensure_node_image(&docker, distro, &Mirrors::default(), &|e| progress.event(e)).await?;
                progress.finish(&format!(
                    "{} {} in {:.1}s",
                    image.tag,
                    if image.built { "built" } else { "up to date" },
                    started.elapsed().as_secs_f64()
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Image { command: ImageCommand::List } => {
            let docker = engine::connect().await?;
            for image in image::list_images(&docker).await? {
                println!("{:<48} {:<9} {:>5} MB", image.tag, image.distro, image.size_bytes / 1_000_000);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cluster { command: ClusterCommand::Up { candidate, nodes, distro, ready_timeout, keep, run_id } } => {
            let candidate = Candidate::load(&candidate)?;
            let distro = distro.or(candidate.distro).unwrap_or(Distro::Bookworm);
            let docker = engine::connect().await?;
            let progress = Progress::new(&format!("image {distro}"));
            let image = image::ensure_node_image(&docker, distro, &Mirrors::default(), &|e| progress.event(e)).await?;
            progress.finish(&image.tag);
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
        Command::Cluster { command: ClusterCommand::Down { run } } => {
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
        Command::Gc { all } => {
            let docker = engine::connect().await?;
            let runs = run::orphaned_runs(&docker, all).await?;
            let removed = remove_runs(&docker, &runs).await;
            println!("gc: {} run(s) removed", runs.len() - removed.as_ref().err().map_or(0, |(failed, _)| *failed));
            removed.map_err(|(_, e)| e)?;
            let volumes = system_dirs::remove_stale(&docker).await?;
            println!("gc: {volumes} volume(s) of removed images or killed copies removed");
            Ok(ExitCode::SUCCESS)
        }
    }
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

fn check_policy_args(policy: &PolicyArgs) -> Result<(), InputError> {
    if let Some(tags) = &policy.tags {
        runner::parse_tags(tags).map_err(|e| InputError::new("--tags", None, e))?;
    }
    Ok(())
}

/// Applies the waivers, writes the requested files, prints the summary and
/// turns the report into the exit code.
fn finish(mut report: Report, waivers: &[waivers::Waiver], outputs: &OutputArgs, what: &str, started: Instant) -> anyhow::Result<ExitCode> {
    waivers::apply(&mut report, waivers, waivers::today());
    report.info.phases.push(("total".into(), started.elapsed()));
    outputs.outputs().write(&report)?;
    for error in &report.policy_errors {
        eprintln!("pcmk-comply: error: {}", error.0);
    }
    for error in &report.infra_errors {
        eprintln!("pcmk-comply: {error}");
    }
    for note in &report.harness_notes {
        println!("note: {note}");
    }
    for figure in &report.measurements {
        println!("measured: {figure}");
    }
    for waiver in &report.expired_waivers {
        eprintln!("pcmk-comply: {waiver}");
    }
    for waiver in &report.unused_waivers {
        println!("note: {waiver}");
    }
    println!("phases: {}", phase_summary(&report.info.phases));
    println!("{what}: {} scenarios: {} in {:.1}s", report.verdicts.len(), pcmk_model::verdict::summary(&report.verdicts), started.elapsed().as_secs_f64());
    if report.verdicts.is_empty() && report.policy_errors.is_empty() {
        if let Some(shard) = &report.info.shard {
            println!("note: shard {shard} holds no scenario of this selection");
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("pcmk-comply: no scenario matched; check the feature paths, --tags and --shard");
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    Ok(ExitCode::from(report.exit_code()))
}

/// Phases with their total time, in first-seen order: `cluster start 9× 57.1s`.
fn phase_summary(phases: &[(String, Duration)]) -> String {
    let mut totals: Vec<(&str, usize, Duration)> = Vec::new();
    for (name, took) in phases {
        match totals.iter_mut().find(|(n, _, _)| n == name) {
            Some(total) => {
                total.1 += 1;
                total.2 += *took;
            }
            None => totals.push((name, 1, *took)),
        }
    }
    totals
        .iter()
        .map(|(name, n, took)| if *n > 1 { format!("{name} {n}× {:.1}s", took.as_secs_f64()) } else { format!("{name} {:.1}s", took.as_secs_f64()) })
        .collect::<Vec<_>>()
        .join("; ")
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
