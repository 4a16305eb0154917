//! `run` and `lint`: the policy on one candidate or several, into one report
//! and one exit code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::ClusterOptions;
use pcmk_containers::engine;
use pcmk_containers::error::InputError;
use pcmk_containers::{crmsh, crmsh_engine};
use pcmk_model::node::Distro;
use pcmk_model::report::Report;
use pcmk_reports::console::{self, Stream};
use pcmk_reports::waivers;
use pcmk_steps::durations;
use pcmk_steps::run_context::{Mode, RunContext};
use pcmk_steps::runner::{self, RunOptions};
use pcmk_steps::selection::{self, Selection};

use crate::args::{OutputArgs, PolicyArgs};
use crate::EXIT_ERROR;

/// How the policy is proven: from the files alone, or on clusters.
pub enum How {
    Lint,
    Run { distro: Option<Distro>, nodes: Option<usize>, concurrency: usize, own_clusters: usize },
}

pub async fn prove(policy: PolicyArgs, how: How) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    check_policy_args(&policy)?;
    let waivers = policy.outputs.load_waivers()?;
    let named = candidate_paths(&policy.candidates)?;
    let mut reports = Vec::new();
    let mut what = String::from("lint");
    for (path, loaded) in named {
        let candidate = match loaded {
            Some(candidate) => said(candidate),
            None => load_candidate(&path).await?,
        };
        let options = RunOptions {
            features: policy.features(),
            params: policy.params.clone(),
            strict: policy.strict,
            tags: policy.tags.clone(),
            static_only: matches!(how, How::Lint),
            concurrency: 1,
            own_clusters: 1,
            on_verdict: Some(console::shown_as_they_end()),
            shard: policy.shard,
            waiver: policy.outputs.waiver_lookup(&waivers),
            durations: durations::default_file(),
        };
        let report = match &how {
            How::Lint => runner::run(RunContext::new(candidate, Mode::Static), options).await?,
            How::Run { distro, nodes, concurrency, own_clusters } => {
                // Failover, fencing, partitions and rogue nodes need a second node.
                let count = candidate.planned_nodes(*nodes);
                if count < 2 {
                    return Err(InputError::new(&candidate.origin, None, format!("a {count}-node cluster: `run` proves failover, fencing and membership, which need 2 or more nodes (`lint` judges a one-node candidate's files)")).into());
                }
                let distro = distro.or(candidate.distro).unwrap_or(Distro::Bookworm);
                let docker = engine::connect().await?;
                let prepared = crate::images::prepare(&docker, &images_needed(&policy, &candidate, distro).await?).await?;
                let image = prepared.image(distro);
                // What corosync refuses, it refuses before any cluster starts.
                pcmk_containers::corosync_check::corosync_accepts(&docker, &image, &candidate).await?;
                let cluster = ClusterOptions { nodes: *nodes, origin: "run".into(), ..ClusterOptions::default() };
                let options = RunOptions { concurrency: *concurrency, own_clusters: *own_clusters, ..options };
                let mut report = runner::run(RunContext::new(candidate, Mode::Live { docker, image, options: cluster }), options).await?;
                report.info.distro = Some(distro.to_string());
                report.info.phases.splice(0..0, prepared.phases());
                what = format!("run on {distro}");
                report
            }
        };
        reports.push(report);
    }
    finish(Report::combine(reports), &waivers, &policy.outputs, &what, started)
}

/// The candidate's own image, and those the selected scenarios name (the
/// rolling upgrade's newer release), prepared together before any scenario starts.
async fn images_needed(policy: &PolicyArgs, candidate: &Candidate, own: Distro) -> anyhow::Result<Vec<Distro>> {
    let selection =
        Selection::new(policy.tags.as_deref(), false, policy.shard, &candidate.origin.display().to_string()).map_err(anyhow::Error::msg)?;
    let mut distros = selection::distros_named(&policy.features(), &selection).await;
    distros.insert(own);
    Ok(distros.into_iter().collect())
}

/// The candidates named: each path as it is (loaded, where it loads as it
/// is), except a directory that is no candidate itself but holds candidate
/// directories, which stands for them.
fn candidate_paths(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Option<Candidate>)>, InputError> {
    let mut out = Vec::new();
    for path in paths {
        match Candidate::load(path) {
            Ok(candidate) => out.push((path.clone(), Some(candidate))),
            Err(e) if path.is_dir() && e.message.starts_with("not a candidate") => {
                let mut inner: Vec<PathBuf> = std::fs::read_dir(path)
                    .map_err(|err| InputError::new(path, None, format!("cannot read: {err}")))?
                    .filter_map(Result::ok)
                    .map(|entry| entry.path())
                    .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
                    .collect();
                inner.sort();
                if inner.is_empty() {
                    return Err(e);
                }
                out.extend(inner.into_iter().map(|p| (p, None)));
            }
            // Loaded again on its turn, after any conversion (crmsh text), to say why not.
            Err(_) => out.push((path.clone(), None)),
        }
    }
    Ok(out)
}

/// Loads a candidate and says what it was found to be and hold.
async fn load_candidate(path: &Path) -> anyhow::Result<Arc<Candidate>> {
    Ok(said(load_converting(path).await?))
}

/// Says what the candidate was found to be and hold.
fn said(candidate: Candidate) -> Arc<Candidate> {
    for line in &candidate.inventory {
        println!("candidate: {line}");
    }
    Arc::new(candidate)
}

/// Loads a candidate, converting the `crm configure show` text it holds
/// (alone, in a directory under any name, as a manifest's CIB or base) to a
/// CIB with the real crmsh first: loading reads conversions from the cache
/// and notes the texts it lacks, which are converted (that needs the engine
/// and the bookworm node image) before it loads again.
pub(crate) async fn load_converting(path: &Path) -> anyhow::Result<Candidate> {
    let mut engine = None;
    // Each round converts at least one text the last load lacked; a candidate holds few.
    for _ in 0..64 {
        let (loaded, unconverted) = crmsh::unconverted_during(|| Candidate::load(path));
        let error = match loaded {
            Ok(candidate) => return Ok(candidate),
            Err(e) if unconverted.is_empty() => return Err(e.into()),
            Err(e) => e,
        };
        let (docker, image) = match &engine {
            Some(engine) => engine,
            None => {
                let docker = engine::connect().await.map_err(|e| {
                    InputError::new(
                        &error.file,
                        None,
                        format!("crm configure show text needs crmsh, run in a node container, to become a CIB: {e:#}"),
                    )
                })?;
                let image = crate::images::prepare(&docker, &[Distro::Bookworm]).await?.image(Distro::Bookworm);
                engine.insert((docker, image))
            }
        };
        for text in unconverted {
            eprintln!("candidate: converting {} to a CIB with crmsh", text.source.display());
            crmsh_engine::convert(docker, image, &text.text, &text.source).await?;
        }
    }
    Err(InputError::new(path, None, "holds more crm configure show texts than pcmk-comply converts for one candidate").into())
}

fn check_policy_args(policy: &PolicyArgs) -> Result<(), InputError> {
    if let Some(tags) = &policy.tags {
        pcmk_steps::selection::parse_tags(tags).map_err(|e| InputError::new("--tags", None, e))?;
    }
    Ok(())
}

/// Applies the waivers, writes the requested files, prints the summary and
/// turns the report into the exit code.
pub fn finish(
    mut report: Report,
    waivers: &[waivers::Waiver],
    outputs: &OutputArgs,
    what: &str,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    waivers::apply(&mut report, waivers, waivers::today());
    report.info.phases.push(("total".into(), started.elapsed()));
    outputs.outputs().write(&report)?;
    for (stream, line) in console::closing(&report, what, started.elapsed()) {
        match stream {
            Stream::Out => println!("{line}"),
            Stream::Err => eprintln!("{line}"),
        }
    }
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
