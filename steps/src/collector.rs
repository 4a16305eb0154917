//! Verdicts collected from cucumber's events, one per scenario, and the
//! console line of each as it finishes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cucumber::event::{self, Cucumber, Feature, Rule, Scenario, Step};
use cucumber::{gherkin, parser, Event};

use crate::run_context::Unjudged;
use crate::scenario_key::ScenarioKey;
use crate::world::PolicyWorld;
pub use pcmk_model::verdict::{Outcome, PolicyError, StepRecord, StepStatus, Verdict};

#[derive(Default)]
pub struct Collected {
    pub verdicts: BTreeMap<ScenarioKey, Verdict>,
    pub policy_errors: Vec<PolicyError>,
    /// When each scenario and its current step started.
    started: BTreeMap<ScenarioKey, (Instant, Option<Instant>)>,
}

impl Collected {
    /// The verdicts placed on the run's timeline: each one's start from
    /// `epoch`, and the lane of the cluster it ran on.
    pub fn placed_verdicts(&mut self, epoch: Instant, lanes: &BTreeMap<ScenarioKey, String>) -> Vec<Verdict> {
        std::mem::take(&mut self.verdicts)
            .into_iter()
            .map(|(key, mut verdict)| {
                verdict.started = self.started.get(&key).map(|(at, _)| at.saturating_duration_since(epoch));
                verdict.cluster = lanes.get(&key).cloned();
                verdict
            })
            .collect()
    }
}

/// Says which waiver, if any, covers a failing scenario (shown as it finishes).
pub type WaiverLookup = Arc<dyn Fn(&Verdict) -> Option<String> + Send + Sync>;

/// Shown each verdict as its scenario ends (the CLI's console); the runner itself prints nothing.
pub type VerdictSink = Arc<dyn Fn(&Verdict) + Send + Sync>;

/// A cucumber writer that turns events into verdicts and hands each finished one to its sink.
#[derive(Clone, Default)]
pub struct VerdictWriter {
    pub collected: Arc<Mutex<Collected>>,
    pub on_verdict: Option<VerdictSink>,
    pub waiver: Option<WaiverLookup>,
    /// The run's record of steps not judged (shared with `RunContext`).
    pub unjudged: Unjudged,
}

const PANIC_PREFIX: &str = "Step panicked. Captured output: ";

impl VerdictWriter {
    fn on_scenario(&self, feature: &gherkin::Feature, scenario: &gherkin::Scenario, ev: Scenario<PolicyWorld>) {
        let key = (feature.name.clone(), scenario.position.line, scenario.name.clone());
        let unjudged = self.unjudged.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned().unwrap_or_default();
        let mut guard = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        let collected = &mut *guard;
        let now = Instant::now();
        let clock = collected.started.entry(key.clone()).or_insert((now, None));
        let verdict = collected.verdicts.entry(key).or_insert_with(|| Verdict {
            feature: feature.name.clone(),
            feature_file: feature.path.clone(),
            scenario: scenario.name.clone(),
            line: scenario.position.line,
            tags: feature.tags.iter().chain(&scenario.tags).cloned().collect(),
            outcome: Outcome::Passed,
            failed_step: None,
            reason: None,
            description: scenario.description.clone(),
            findings: Vec::new(),
            steps: feature
                .background
                .iter()
                .flat_map(|b| &b.steps)
                .chain(&scenario.steps)
                .map(|s| StepRecord {
                    keyword: s.keyword.clone(),
                    text: s.value.clone(),
                    line: s.position.line,
                    status: StepStatus::Skipped,
                    duration: Duration::ZERO,
                    error: None,
                })
                .collect(),
            duration: Duration::ZERO,
            waived_by: None,
            started: None,
            cluster: None,
        });
        let failed = |verdict: &mut Verdict, outcome: Outcome, step: Option<&gherkin::Step>, reason: String| {
            if verdict.outcome == Outcome::Passed {
                verdict.outcome = outcome;
                verdict.failed_step = step.map(|s| format!("{}{} (line {})", s.keyword, s.value, s.position.line));
                verdict.reason = Some(reason);
            }
        };
        match ev {
            // The before-hook waits for the scenario's slot: its time starts after that.
            Scenario::Hook(event::HookType::Before, event::Hook::Passed) => clock.0 = now,
            Scenario::Step(_, Step::Started) | Scenario::Background(_, Step::Started) => clock.1 = Some(now),
            Scenario::Step(step, Step::Passed(..)) | Scenario::Background(step, Step::Passed(..)) => {
                record(verdict, clock, now, &step, StepStatus::Passed, None)
            }
            Scenario::Step(step, Step::Failed(_, _, world, error)) | Scenario::Background(step, Step::Failed(_, _, world, error)) => {
                let text = error.to_string();
                let reason = text.strip_prefix(PANIC_PREFIX).unwrap_or(&text).to_string();
                // The step's World says what kind of failure it was; the text is only for people.
                // An error no step typed (a plain error, a panic) is never a policy failure: the harness's.
                let kind = world.as_ref().and_then(|w| w.failure_kind());
                let outcome = kind.unwrap_or(Outcome::InfraError);
                let reason = match kind {
                    None if !reason.starts_with("infrastructure error") => {
                        format!("infrastructure error: the step failed without a verdict: {reason}")
                    }
                    _ => reason,
                };
                let status = if outcome == Outcome::NotApplicable { StepStatus::NotApplicable } else { StepStatus::Failed };
                record(verdict, clock, now, &step, status, Some(reason.clone()));
                // What a policy failure found; an infrastructure error or nothing to judge has no findings.
                if verdict.outcome == Outcome::Passed && outcome == Outcome::Failed {
                    verdict.findings = world.as_ref().map(|w| w.findings()).unwrap_or_default();
                }
                failed(verdict, outcome, Some(&step), reason);
            }
            Scenario::Step(step, Step::Skipped) | Scenario::Background(step, Step::Skipped) => {
                let reason = "no step definition matches this step (see `pcmk-comply steps`)".to_string();
                record(verdict, clock, now, &step, StepStatus::Undefined, Some(reason.clone()));
                failed(verdict, Outcome::Undefined, Some(&step), reason);
            }
            Scenario::Hook(_, event::Hook::Failed(_, info)) => {
                let reason = info
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| info.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed(verdict, Outcome::InfraError, None, format!("infrastructure error: scenario hook failed: {reason}"));
            }
            Scenario::Finished => {
                verdict.duration = now - clock.0;
                // No scenario passes on what was not looked at. Steps run ahead
                // of this writer, so the reasons belong to the scenario, not to a step.
                if verdict.outcome == Outcome::Passed && !unjudged.is_empty() {
                    verdict.outcome = Outcome::NotApplicable;
                    verdict.reason = Some(format!("not applicable: {}", distinct(&unjudged).join("\n")));
                }
                verdict.waived_by = self.waiver.as_ref().and_then(|lookup| lookup(verdict));
                if let Some(show) = &self.on_verdict {
                    show(verdict);
                }
            }
            _ => {}
        }
    }
}

/// Each reason once, in the order first given.
fn distinct(reasons: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for reason in reasons {
        if !out.contains(&reason.as_str()) {
            out.push(reason);
        }
    }
    out
}

/// Marks the step at its line (the first not yet run, should a line repeat) with how it ended.
fn record(
    verdict: &mut Verdict,
    clock: &mut (Instant, Option<Instant>),
    now: Instant,
    step: &gherkin::Step,
    status: StepStatus,
    error: Option<String>,
) {
    let elapsed = clock.1.take().map(|t| now - t).unwrap_or_default();
    if let Some(r) = verdict.steps.iter_mut().find(|r| r.line == step.position.line && r.status == StepStatus::Skipped) {
        r.status = status;
        r.duration = elapsed;
        r.error = error;
    }
}

/// Verdicts are keyed by scenario, so event order does not matter here.
impl cucumber::writer::Normalized for VerdictWriter {}

impl cucumber::Writer<PolicyWorld> for VerdictWriter {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<Cucumber<PolicyWorld>>>, _: &Self::Cli) {
        match event {
            Err(error) => {
                // The gherkin error's source holds the line and column.
                let mut message = error.to_string();
                if let parser::Error::Parsing(parse) = &error {
                    let mut source = std::error::Error::source(parse.as_ref());
                    while let Some(cause) = source {
                        message.push_str(&format!(": {cause}"));
                        source = cause.source();
                    }
                }
                let mut collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
                collected.policy_errors.push(PolicyError(message));
            }
            Ok(Event { value: Cucumber::Feature(feature, ev), .. }) => match ev {
                Feature::Scenario(scenario, retryable) => self.on_scenario(&feature, &scenario, retryable.event),
                Feature::Rule(_, Rule::Scenario(scenario, retryable)) => self.on_scenario(&feature, &scenario, retryable.event),
                _ => {}
            },
            Ok(_) => {}
        }
    }
}
