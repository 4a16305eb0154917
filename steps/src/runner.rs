//! Runs the policy: feature files through cucumber, against the candidate's
//! files (`lint`) or clusters built from it (`run`), into verdicts.

use std::path::PathBuf;
use std::sync::Arc;

use cucumber::{gherkin, World as _};

use crate::durations::Durations;
use crate::policy::FeatureSource;
use crate::selection::{has_tag, parse_source, ScenarioFilter, Selection, Shard};
use pcmk_model::report::{Report, RunInfo};

use crate::collector::{VerdictWriter, WaiverLookup};
use crate::run_context::RunContext;
use crate::world::{PolicyWorld, RUN};

/// Scenarios on the shared cluster at once: they only read, so the engine bounds this, not correctness.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// `@destructive` scenarios at once, each on a 3-node cluster of its own. Most of
/// such a scenario is waiting (token timeouts, a 40 s partition); cluster starts,
/// the costly part, are limited on their own (`run_context::CLUSTER_STARTS_AT_ONCE`).
pub const DEFAULT_OWN_CLUSTERS: usize = 6;

pub struct RunOptions {
    pub features: Vec<crate::policy::FeatureSource>,
    /// `--strict`: a scenario with nothing to judge fails the run.
    pub strict: bool,
    /// Policy parameter values given for the run (`--param`); they override the candidate's `[policy]`.
    pub params: Vec<crate::parameters::Given>,
    /// A cucumber tag expression, e.g. `@communication and not @slow`.
    pub tags: Option<String>,
    /// `lint`: only scenarios tagged `@static`.
    pub static_only: bool,
    /// Scenarios on the shared cluster at once.
    pub concurrency: usize,
    /// Scenarios with a cluster of their own (`@destructive`) at once.
    pub own_clusters: usize,
    /// Shown each verdict as its scenario ends; None shows nothing.
    pub on_verdict: Option<crate::collector::VerdictSink>,
    /// Run only this deterministic slice of the scenarios.
    pub shard: Option<Shard>,
    /// Says which waiver, if any, covers a failing scenario (shown as it finishes).
    pub waiver: Option<WaiverLookup>,
    /// Where a live run keeps scenario times for the next one's start order
    /// (`durations::default_file()`); `None` keeps none.
    pub durations: Option<PathBuf>,
}

/// The scenarios of one feature path in the order they should start, as
/// cucumber starts them in the order they arrive: those with a cluster of
/// their own first (they take longest); within each group those never timed on
/// this machine (`@slow` ones leading), then the longest last time; otherwise
/// file order. Every scenario becomes a feature of its own (same name, path,
/// tags and background), which is what lets the order cross files.
/// Parse errors come first, so a broken file is reported before anything runs.
struct StartOrder {
    errors: Vec<cucumber::parser::Error>,
    parts: Vec<(StartKey, gherkin::Feature)>,
}

/// Every parameter the features of `sources` declare.
pub async fn declared_parameters(sources: &[FeatureSource]) -> Vec<crate::parameters::Declared> {
    let mut declared = Vec::new();
    for source in sources {
        for feature in parse_source(source).await.into_iter().flatten() {
            declared.extend(crate::parameters::declared(&feature));
        }
    }
    declared
}

impl StartOrder {
    async fn parse(
        source: &FeatureSource,
        selected: &ScenarioFilter,
        durations: &Durations,
        params: &[crate::parameters::Given],
    ) -> anyhow::Result<StartOrder> {
        let mut order = StartOrder { errors: Vec::new(), parts: Vec::new() };
        for feature in parse_source(source).await {
            match feature {
                Ok(mut feature) => {
                    let declared = crate::parameters::declared(&feature);
                    crate::parameters::substitute(&mut feature, &declared, params).map_err(anyhow::Error::msg)?;
                    order.parts.extend(one_feature_per_scenario(feature, selected, durations));
                }
                Err(error) => order.errors.push(error),
            }
        }
        order.parts.sort_by_key(|(key, _)| *key);
        Ok(order)
    }

    fn needs_shared_cluster(&self) -> bool {
        self.parts.iter().any(|(key, _)| key.shared_cluster)
    }
}

impl cucumber::Parser<PathBuf> for StartOrder {
    type Cli = cucumber::parser::basic::Cli;
    type Output = futures_util::stream::Iter<std::vec::IntoIter<cucumber::parser::Result<gherkin::Feature>>>;

    fn parse(self, _: PathBuf, _: Self::Cli) -> Self::Output {
        let errors = self.errors.into_iter().map(Err);
        futures_util::stream::iter(errors.chain(self.parts.into_iter().map(|(_, part)| Ok(part))).collect::<Vec<_>>())
    }
}

/// When a scenario starts: the smaller key first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct StartKey {
    shared_cluster: bool,
    /// (never timed, `@slow` and never timed, last time), largest first.
    expected: std::cmp::Reverse<(bool, bool, std::time::Duration)>,
}

/// Splits a feature into features of one selected scenario each, in file order.
fn one_feature_per_scenario(
    mut feature: gherkin::Feature,
    selected: &ScenarioFilter,
    durations: &Durations,
) -> Vec<(StartKey, gherkin::Feature)> {
    let key = |feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario| StartKey {
        shared_cluster: !has_tag(feature, rule, scenario, "destructive"),
        expected: std::cmp::Reverse(match durations.expected(&feature.name, &scenario.name) {
            Some(last) => (false, false, last),
            None => (true, has_tag(feature, rule, scenario, "slow"), std::time::Duration::ZERO),
        }),
    };
    let scenarios = std::mem::take(&mut feature.scenarios);
    let rules = std::mem::take(&mut feature.rules);
    let mut parts = Vec::new();
    for scenario in scenarios.into_iter().filter(|s| selected(&feature, None, s)) {
        parts.push((key(&feature, None, &scenario), gherkin::Feature { scenarios: vec![scenario], ..feature.clone() }));
    }
    for mut rule in rules {
        let scenarios = std::mem::take(&mut rule.scenarios);
        for scenario in scenarios.into_iter().filter(|s| selected(&feature, Some(&rule), s)) {
            let key = key(&feature, Some(&rule), &scenario);
            parts.push((
                key,
                gherkin::Feature { rules: vec![gherkin::Rule { scenarios: vec![scenario], ..rule.clone() }], ..feature.clone() },
            ));
        }
    }
    parts
}

pub async fn run(ctx: Arc<RunContext>, options: RunOptions) -> anyhow::Result<Report> {
    let selection = Arc::new(
        Selection::new(options.tags.as_deref(), options.static_only, options.shard, &ctx.candidate.origin.display().to_string())
            .map_err(anyhow::Error::msg)?,
    );
    for source in &options.features {
        if let FeatureSource::Path(path) = source {
            if !path.exists() {
                return Err(pcmk_model::error::InputError::new(path, None, "no such feature file or directory").into());
            }
        }
    }
    let params = parameters_given(&ctx, &options).await?;
    let writer = VerdictWriter {
        on_verdict: options.on_verdict.clone(),
        waiver: options.waiver.clone(),
        unjudged: ctx.unjudged.clone(),
        ..VerdictWriter::default()
    };
    let collected = writer.collected.clone();
    ctx.set_limits(options.concurrency, options.own_clusters);
    let durations = if ctx.is_live() { Durations::load_from(options.durations.clone()) } else { Durations::default() };
    let mut orders = Vec::new();
    for source in &options.features {
        let selection = selection.clone();
        let filter = move |feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario| {
            selection.takes(feature, rule, scenario)
        };
        orders.push((source, StartOrder::parse(source, &filter, &durations, &params).await?));
    }
    // Facts are gathered for exactly what the scenarios name, beside the policy's own paths.
    ctx.declare_paths(crate::named_paths::of(orders.iter().flat_map(|(_, order)| order.parts.iter().map(|(_, f)| f))));
    for (source, scenarios) in orders {
        run_source(&ctx, source, scenarios, writer.clone()).await;
    }
    let scenarios_done = std::time::Instant::now();
    let shutdown = ctx.shutdown().await;
    let mut report = Report::new(Vec::new(), run_info(&ctx, &options));
    if ctx.is_live() {
        report.info.phases.push(("shared cluster teardown".into(), scenarios_done.elapsed()));
    }
    let mut collected = std::mem::take(&mut *collected.lock().unwrap_or_else(|e| e.into_inner()));
    report.verdicts = collected.placed_verdicts(ctx.epoch(), &ctx.lanes());
    report.policy_errors = collected.policy_errors;
    report.infra_errors = ctx.infra_errors();
    if let Err(e) = shutdown {
        report.infra_errors.push(format!("infrastructure error: removing the shared cluster: {e:#}"));
    }
    report.harness_notes = ctx.harness_notes.lock().unwrap_or_else(|e| e.into_inner()).clone();
    report.measurements = ctx.measurements();
    report.artifacts = ctx.artifacts();
    durations.record(&report.verdicts);
    Ok(report)
}

/// The parameters in force, checked against those the features declare: the
/// candidate's `[policy]` first, then the run's own (`--param`), later ones winning.
async fn parameters_given(ctx: &RunContext, options: &RunOptions) -> anyhow::Result<Vec<crate::parameters::Given>> {
    // A parameter is known when the run's features or the built-in policy declare it
    // (a candidate's [policy] may serve runs of other selections too).
    let mut known: Vec<FeatureSource> = options.features.clone();
    if !known.contains(&FeatureSource::Builtin) {
        known.push(FeatureSource::Builtin);
    }
    let manifest = ctx.candidate.policy.iter().map(|(name, value, origin)| crate::parameters::Given {
        name: name.clone(),
        value: value.clone(),
        origin: origin.clone(),
    });
    let params: Vec<crate::parameters::Given> = manifest.chain(options.params.iter().cloned()).collect();
    crate::parameters::check(&declared_parameters(&known).await, &params).map_err(anyhow::Error::msg)?;
    Ok(params)
}

/// One feature source's scenarios through cucumber, every verdict to `writer`.
async fn run_source(ctx: &Arc<RunContext>, source: &FeatureSource, scenarios: StartOrder, writer: VerdictWriter) {
    let mut cli: cucumber::cli::Opts<cucumber::parser::basic::Cli, cucumber::runner::basic::Cli, cucumber::cli::Empty> = Default::default();
    // Every scenario starts at once and waits in the before-hook for its slot,
    // so one waiting for a cluster of its own never holds up one on the shared cluster.
    cli.runner.concurrency = Some(usize::MAX);
    let warm_up_shared = ctx.is_live() && scenarios.needs_shared_cluster();
    let cucumber = PolicyWorld::cucumber::<PathBuf>()
        .with_parser(scenarios)
        .with_writer(writer)
        .with_cli(cli)
        .before(|feature, rule, scenario, world| {
            world.destructive = has_tag(feature, rule, scenario, "destructive");
            world.scenario = Some(scenario.name.clone());
            let key = (feature.name.clone(), scenario.position.line, scenario.name.clone());
            // A scenario starts with nothing unjudged (a retried one too).
            world.ctx.unjudged.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            world.scenario_key = Some(key);
            Box::pin(async move {
                if world.ctx.is_live() {
                    // A failure is recorded as an infrastructure error; the first step meets it again.
                    let _ = world.reserve_slot().await;
                }
            })
        })
        .after(|feature, _, scenario, _, world| {
            let key = (feature.name.clone(), scenario.position.line, scenario.name.clone());
            Box::pin(async move {
                if let Some(world) = world {
                    // Before `finish`, which lets go of a cluster of the scenario's own.
                    if let Some(lane) = world.cluster_lane() {
                        world.ctx.record_lane(key, lane);
                    }
                    world.finish().await;
                }
            })
        });
    // The shared cluster is asked for first, so its start comes before those of
    // the scenarios' own clusters: most scenarios wait for it.
    let warm_up = async {
        if warm_up_shared {
            let _ = ctx.shared_cluster().await;
        }
    };
    // StartOrder has already left out the scenarios the filter does not take.
    // StartOrder ignores the path cucumber hands it: it parsed the source already.
    tokio::join!(warm_up, RUN.scope(ctx.clone(), cucumber.run(PathBuf::from(source.describe()))));
}

/// What was tested and how, for the report.
fn run_info(ctx: &RunContext, options: &RunOptions) -> RunInfo {
    RunInfo {
        command: if ctx.is_live() { "run" } else { "lint" }.into(),
        candidate: ctx.candidate.origin.display().to_string(),
        versions: ctx.versions(),
        phases: ctx.phases(),
        shard: options.shard.map(|s| format!("{}/{}", s.index, s.count)),
        // Only the user's own files: findings point at their lines.
        candidate_files: ctx
            .candidate
            .files
            .iter()
            .filter(|f| !f.converted)
            .map(|f| (f.placement.path.clone(), f.source.display().to_string()))
            .collect(),
        candidate_inventory: ctx.candidate.inventory.clone(),
        strict: options.strict,
        cluster_starts: ctx.cluster_starts(),
        ..RunInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(order: &StartOrder) -> Vec<String> {
        order
            .parts
            .iter()
            .map(|(_, f)| {
                f.scenarios.iter().chain(f.rules.iter().flat_map(|r| &r.scenarios)).map(|s| s.name.clone()).collect::<Vec<_>>().join("+")
            })
            .collect()
    }

    #[tokio::test]
    async fn scenarios_with_their_own_cluster_start_first_and_slow_ones_lead_each_group() {
        let dir = std::env::temp_dir().join(format!("pcmk-start-order-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.feature"),
            "Feature: A\n  Scenario: shared one\n    Given x\n  @slow\n  Scenario: shared slow\n    Given x\n  @destructive\n  Scenario: own one\n    Given x\n  @skip\n  Scenario: left out\n    Given x\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("b.feature"),
            "Feature: B\n  Background:\n    Given y\n  Rule: R\n    @destructive @slow\n    Scenario: own slow in a rule\n      Given x\n  Scenario: shared two\n    Given x\n",
        )
        .unwrap();
        std::fs::write(dir.join("c.feature"), "Feature: C\n  Scenario: broken\n    Given x\n  Scenario\n").unwrap();
        let not_skipped = |f: &gherkin::Feature, r: Option<&gherkin::Rule>, s: &gherkin::Scenario| !has_tag(f, r, s, "skip");
        let order = StartOrder::parse(&FeatureSource::Path(dir.clone()), &not_skipped, &Durations::default(), &[]).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names(&order), ["own slow in a rule", "own one", "shared slow", "shared one", "shared two"]);
        assert_eq!(order.errors.len(), 1, "c.feature does not parse");
        assert!(order.needs_shared_cluster());
        // Each part keeps its feature's name, path and background.
        let (_, rule_part) = &order.parts[0];
        assert_eq!(rule_part.name, "B");
        assert!(rule_part.background.is_some() && rule_part.path.as_ref().is_some_and(|p| p.ends_with("b.feature")));

        let only_destructive = |f: &gherkin::Feature, r: Option<&gherkin::Rule>, s: &gherkin::Scenario| has_tag(f, r, s, "destructive");
        let dir2 = std::env::temp_dir().join(format!("pcmk-start-order-own-{}", std::process::id()));
        std::fs::create_dir_all(&dir2).unwrap();
        std::fs::write(
            dir2.join("a.feature"),
            "Feature: A\n  @destructive\n  Scenario: own one\n    Given x\n  Scenario: shared one\n    Given x\n",
        )
        .unwrap();
        let order = StartOrder::parse(&FeatureSource::Path(dir2.clone()), &only_destructive, &Durations::default(), &[]).await.unwrap();
        std::fs::remove_dir_all(&dir2).unwrap();
        assert_eq!(names(&order), ["own one"]);
        assert!(!order.needs_shared_cluster(), "no scenario runs on the shared cluster, so none is started");
    }

    #[tokio::test]
    async fn timed_scenarios_start_longest_first_after_those_never_timed() {
        let dir = std::env::temp_dir().join(format!("pcmk-start-order-timed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.feature"),
            "Feature: A\n  @destructive\n  Scenario: short\n    Given x\n  @destructive\n  Scenario: new\n    Given x\n  @destructive\n  Scenario: long\n    Given x\n  @destructive @slow\n  Scenario: new and slow\n    Given x\n  @destructive @slow\n  Scenario: slow but quick\n    Given x\n  Scenario: shared\n    Given x\n",
        )
        .unwrap();
        let file = dir.join("durations.json");
        std::fs::write(&file, r#"{"A » short": 5.0, "A » long": 60.5, "A » slow but quick": 20.0, "A » shared": 99.0}"#).unwrap();
        let all = |_: &gherkin::Feature, _: Option<&gherkin::Rule>, _: &gherkin::Scenario| true;
        let order =
            StartOrder::parse(&FeatureSource::Path(dir.join("a.feature")), &all, &Durations::load_from(Some(file)), &[]).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names(&order), ["new and slow", "new", "long", "slow but quick", "short", "shared"]);
    }
}
