//! Runs the policy: feature files through cucumber, against the candidate's
//! files (`lint`) or clusters built from it (`run`), into verdicts.

use std::path::PathBuf;
use std::sync::Arc;

use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use cucumber::{gherkin, World as _};

use crate::verdict::{Outcome, PolicyError, Verdict, VerdictWriter};
use crate::world::{PolicyWorld, RunContext, RUN};

pub struct RunOptions {
    pub features: Vec<PathBuf>,
    /// A cucumber tag expression, e.g. `@communication and not @slow`.
    pub tags: Option<String>,
    /// `lint`: only scenarios tagged `@static`.
    pub static_only: bool,
    pub concurrency: usize,
    pub quiet: bool,
}

pub struct Report {
    pub verdicts: Vec<Verdict>,
    pub policy_errors: Vec<PolicyError>,
    pub infra_errors: Vec<String>,
    pub harness_notes: Vec<String>,
    pub measurements: Vec<String>,
    pub artifacts: std::collections::BTreeMap<String, String>,
}

impl Report {
    /// 0 all passed, 1 a policy failure, 2 bad input or an infrastructure error.
    pub fn exit_code(&self) -> u8 {
        if !self.infra_errors.is_empty() || !self.policy_errors.is_empty() || self.verdicts.iter().any(|v| v.outcome == Outcome::Undefined) {
            2
        } else if self.verdicts.iter().any(|v| v.outcome == Outcome::Failed) {
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
    let writer = VerdictWriter { quiet: options.quiet, ..VerdictWriter::default() };
    let collected = writer.collected.clone();
    let static_only = options.static_only;
    for path in &options.features {
        let mut cli: cucumber::cli::Opts<cucumber::parser::basic::Cli, cucumber::runner::basic::Cli, cucumber::cli::Empty> = Default::default();
        cli.runner.concurrency = Some(options.concurrency.max(1));
        let tags = tags.clone();
        let filter = move |feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario| {
            let all_tags = feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags);
            (!static_only || has_tag(feature, rule, scenario, "static")) && tags.as_ref().is_none_or(|t| t.eval(all_tags))
        };
        let cucumber = PolicyWorld::cucumber()
            .with_writer(writer.clone())
            .with_cli(cli)
            .which_scenario(|feature, rule, scenario| {
                // Scenarios that break their cluster run one at a time, on clusters of their own.
                if has_tag(feature, rule, scenario, "destructive") {
                    cucumber::ScenarioType::Serial
                } else {
                    cucumber::ScenarioType::Concurrent
                }
            })
            .before(|feature, rule, scenario, world| {
                world.destructive = has_tag(feature, rule, scenario, "destructive");
                Box::pin(async {})
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
    let mut report = Report { verdicts: Vec::new(), policy_errors: Vec::new(), infra_errors: Vec::new(), harness_notes: Vec::new(), measurements: Vec::new(), artifacts: Default::default() };
    let shutdown = ctx.shutdown().await;
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
