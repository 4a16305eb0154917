//! Runs the policy: feature files through cucumber, against the candidate's
//! files (`lint`) or clusters built from it (`run`), into verdicts.

use std::path::PathBuf;
use std::sync::Arc;

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::{gherkin, World as _};

use crate::verdict::{Outcome, PolicyError, Verdict, VerdictWriter};
use crate::world::{PolicyWorld, RunContext, RUN};

/// Scenarios at once: those on the shared cluster only read, so the engine bounds this, not correctness.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// `@destructive` scenarios at once, each on a 3-node cluster of its own. Measured on
/// 2 cores: the whole policy took 283 s one at a time, 132 s with 3, 118–136 s with 4
/// (failover 1.9–2.1 s above Corosync's floor either way); 4 at once also left one
/// node out of a starting cluster once in 80 starts, so 3.
pub const DEFAULT_OWN_CLUSTERS: usize = 3;

pub struct RunOptions {
    pub features: Vec<PathBuf>,
    /// A cucumber tag expression, e.g. `@communication and not @slow`.
    pub tags: Option<String>,
    /// `lint`: only scenarios tagged `@static`.
    pub static_only: bool,
    /// Scenarios run at once.
    pub concurrency: usize,
    /// Of those, scenarios with a cluster of their own (`@destructive`) at once.
    pub own_clusters: usize,
    pub quiet: bool,
    /// Run only this deterministic slice of the scenarios.
    pub shard: Option<Shard>,
    /// Says which waiver, if any, covers a failing scenario (shown as it finishes).
    pub waiver: Option<WaiverLookup>,
}

pub type WaiverLookup = Arc<dyn Fn(&Verdict) -> Option<String> + Send + Sync>;

/// Slice `index` (1-based) of `count`: a CI matrix spreads one policy run over
/// `count` runners. A scenario's slice depends only on its feature and name,
/// so slices are disjoint, complete, and stable when other scenarios change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("a shard is I/N with 1 <= I <= N, e.g. 2/4; got `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse::<u32>().map_err(|_| bad())?, n.trim().parse::<u32>().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    pub fn contains(&self, feature: &str, scenario: &str) -> bool {
        // FNV-1a: stable across platforms and compiler versions, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in feature.bytes().chain([0]).chain(scenario.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hash % u64::from(self.count) == u64::from(self.index - 1)
    }
}

/// What was tested, where and how long it took: for reports.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// `run`, `lint` or `merge`.
    pub command: String,
    pub candidate: String,
    pub distro: Option<String>,
    /// Package versions on the nodes (pacemaker, corosync, pcs, crmsh).
    pub versions: std::collections::BTreeMap<String, String>,
    /// Wall time per phase, in order.
    pub phases: Vec<(String, std::time::Duration)>,
    pub shard: Option<String>,
    /// (path on the node, file in the candidate), to point findings at the candidate's lines.
    pub candidate_files: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
    pub policy_errors: Vec<PolicyError>,
    pub infra_errors: Vec<String>,
    pub harness_notes: Vec<String>,
    pub measurements: Vec<String>,
    pub artifacts: std::collections::BTreeMap<String, String>,
    pub info: RunInfo,
    /// Waivers that expired: each fails the run.
    pub expired_waivers: Vec<String>,
    /// Waivers that matched no failing scenario.
    pub unused_waivers: Vec<String>,
}

impl Report {
    pub fn new(verdicts: Vec<Verdict>, info: RunInfo) -> Report {
        Report {
            verdicts,
            policy_errors: Vec::new(),
            infra_errors: Vec::new(),
            harness_notes: Vec::new(),
            measurements: Vec::new(),
            artifacts: Default::default(),
            info,
            expired_waivers: Vec::new(),
            unused_waivers: Vec::new(),
        }
    }

    /// 0 all passed or waived, 1 a policy failure or an expired waiver, 2 bad input or an infrastructure error.
    pub fn exit_code(&self) -> u8 {
        if !self.infra_errors.is_empty() || !self.policy_errors.is_empty() || self.verdicts.iter().any(|v| v.outcome == Outcome::Undefined) {
            2
        } else if self.verdicts.iter().any(Verdict::counts_as_failure) || !self.expired_waivers.is_empty() {
            1
        } else {
            0
        }
    }
}

pub fn parse_tags(expr: &str) -> Result<TagOperation, String> {
    expr.parse::<TagOperation>().map_err(|e| format!("bad tag expression `{expr}`: {e}"))
}

fn has_tag(feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario, tag: &str) -> bool {
    feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags).any(|t| t == tag)
}

pub async fn run(ctx: Arc<RunContext>, options: RunOptions) -> anyhow::Result<Report> {
    let tags = options.tags.as_deref().map(parse_tags).transpose().map_err(anyhow::Error::msg)?;
    for path in &options.features {
        if !path.exists() {
            return Err(pcmk_containers::error::InputError::new(path, None, "no such feature file or directory").into());
        }
    }
    let writer = VerdictWriter { quiet: options.quiet, waiver: options.waiver.clone(), ..VerdictWriter::default() };
    let collected = writer.collected.clone();
    let static_only = options.static_only;
    let shard = options.shard;
    ctx.limit_own_clusters(options.own_clusters);
    for path in &options.features {
        let mut cli: cucumber::cli::Opts<cucumber::parser::basic::Cli, cucumber::runner::basic::Cli, cucumber::cli::Empty> = Default::default();
        cli.runner.concurrency = Some(options.concurrency.max(1));
        let tags = tags.clone();
        let filter = move |feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario| {
            let all_tags = feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags);
            (!static_only || has_tag(feature, rule, scenario, "static"))
                && tags.as_ref().is_none_or(|t| t.eval(all_tags))
                && shard.is_none_or(|s| s.contains(&feature.name, &scenario.name))
        };
        let cucumber = PolicyWorld::cucumber()
            .with_writer(writer.clone())
            .with_cli(cli)
            .before(|feature, rule, scenario, world| {
                world.destructive = has_tag(feature, rule, scenario, "destructive");
                Box::pin(async move {
                    if world.destructive && world.ctx.is_live() {
                        // A failure is recorded as an infrastructure error; the first step meets it again.
                        let _ = world.reserve_own_cluster().await;
                    }
                })
            })
            .after(|_, _, _, _, world| {
                Box::pin(async move {
                    if let Some(world) = world {
                        world.finish().await;
                    }
                })
            });
        RUN.scope(ctx.clone(), cucumber.filter_run(path.clone(), filter)).await;
    }
    let scenarios_done = std::time::Instant::now();
    let shutdown = ctx.shutdown().await;
    let info = RunInfo {
        command: if ctx.is_live() { "run" } else { "lint" }.into(),
        candidate: ctx.candidate.origin.display().to_string(),
        versions: ctx.versions(),
        phases: ctx.phases(),
        shard: options.shard.map(|s| format!("{}/{}", s.index, s.count)),
        candidate_files: ctx.candidate.files.iter().map(|f| (f.placement.path.clone(), f.source.display().to_string())).collect(),
        ..RunInfo::default()
    };
    let mut report = Report::new(Vec::new(), info);
    if ctx.is_live() {
        report.info.phases.push(("shared cluster teardown".into(), scenarios_done.elapsed()));
    }
    let collected = std::mem::take(&mut *collected.lock().unwrap_or_else(|e| e.into_inner()));
    report.verdicts = collected.verdicts.into_values().collect();
    report.policy_errors = collected.policy_errors;
    report.infra_errors = ctx.infra_errors();
    if let Err(e) = shutdown {
        report.infra_errors.push(format!("infrastructure error: removing the shared cluster: {e:#}"));
    }
    report.harness_notes = ctx.harness_notes.lock().unwrap_or_else(|e| e.into_inner()).clone();
    report.measurements = ctx.measurements();
    report.artifacts = ctx.artifacts();
    Ok(report)
}
