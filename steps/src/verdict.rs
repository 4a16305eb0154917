//! Verdicts: one per scenario, collected from cucumber's events. Every output
//! format (console, snapshots, later JUnit/SARIF/HTML) is written from these.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cucumber::event::{self, Cucumber, Feature, Rule, Scenario, Step};
use cucumber::{gherkin, parser, Event};

use crate::explain::Guidance;
use crate::world::PolicyWorld;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Passed,
    Failed,
    /// A step matched no definition: an authoring error, never a pass.
    Undefined,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub feature: String,
    pub feature_file: Option<PathBuf>,
    pub scenario: String,
    pub line: usize,
    pub tags: Vec<String>,
    pub outcome: Outcome,
    /// The step that failed, with its keyword, and why.
    pub failed_step: Option<String>,
    pub reason: Option<String>,
    pub description: Option<String>,
}

/// A parse error in a feature file, or another problem with the policy itself.
#[derive(Debug, Clone)]
pub struct PolicyError(pub String);

#[derive(Default)]
pub struct Collected {
    pub verdicts: BTreeMap<(String, usize, String), Verdict>,
    pub policy_errors: Vec<PolicyError>,
}

/// A cucumber writer that keeps verdicts and prints a line per finished scenario.
#[derive(Clone, Default)]
pub struct VerdictWriter {
    pub collected: Arc<Mutex<Collected>>,
    pub quiet: bool,
}

const PANIC_PREFIX: &str = "Step panicked. Captured output: ";

impl VerdictWriter {
    fn on_scenario(&self, feature: &gherkin::Feature, scenario: &gherkin::Scenario, ev: Scenario<PolicyWorld>) {
        let key = (feature.name.clone(), scenario.position.line, scenario.name.clone());
        let mut collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
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
        });
        let failed = |verdict: &mut Verdict, outcome: Outcome, step: Option<&gherkin::Step>, reason: String| {
            if verdict.outcome == Outcome::Passed {
                verdict.outcome = outcome;
                verdict.failed_step = step.map(|s| format!("{}{} (line {})", s.keyword, s.value, s.position.line));
                verdict.reason = Some(reason);
            }
        };
        match ev {
            Scenario::Step(step, Step::Failed(_, _, _, error)) | Scenario::Background(step, Step::Failed(_, _, _, error)) => {
                let text = error.to_string();
                failed(verdict, Outcome::Failed, Some(&step), text.strip_prefix(PANIC_PREFIX).unwrap_or(&text).to_string());
            }
            Scenario::Step(step, Step::Skipped) | Scenario::Background(step, Step::Skipped) => {
                failed(verdict, Outcome::Undefined, Some(&step), "no step definition matches this step (see `pcmk-comply steps`)".into());
            }
            Scenario::Hook(_, event::Hook::Failed(_, info)) => {
                let reason = info.downcast_ref::<String>().cloned().or_else(|| info.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                failed(verdict, Outcome::Failed, None, format!("scenario hook failed: {reason}"));
            }
            Scenario::Finished if !self.quiet => {
                let mark = match verdict.outcome {
                    Outcome::Passed => "PASS",
                    Outcome::Failed => "FAIL",
                    Outcome::Undefined => "UNDEFINED",
                };
                println!("{mark:<9} {} » {}", verdict.feature, verdict.scenario);
                if let (Some(step), Some(reason)) = (&verdict.failed_step, &verdict.reason) {
                    println!("          step: {step}");
                    for line in reason.lines() {
                        println!("          {line}");
                    }
                    if let Some(fix) = Guidance::from_description(verdict.description.as_deref()).remediation {
                        println!("          remediation: {fix}");
                    }
                }
            }
            _ => {}
        }
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
