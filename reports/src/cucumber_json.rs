//! Cucumber JSON (the format cucumber's JSON formatter writes and CI plugins
//! read): features, their scenarios as elements, each step with its result.
//! `merge` reads these files back into verdicts, so a sharded run can be
//! reported as one (without a timeline: the format keeps no start times). Results are as run: waivers are applied by whoever reads.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use pcmk_model::finding::Finding;
use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, StepRecord, StepStatus, Verdict};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Feature {
    pub uri: String,
    pub id: String,
    pub keyword: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub line: usize,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub elements: Vec<Element>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Tag {
    pub name: String,
    pub line: usize,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Element {
    pub id: String,
    pub keyword: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub line: usize,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub steps: Vec<JsonStep>,
    /// The outcome where step statuses cannot say it (an infrastructure
    /// error, not applicable); other readers ignore it, `merge` reads it.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "pcmk_outcome")]
    pub outcome: Option<String>,
    /// What the failing step found, typed (subject, file and line), so that
    /// a merged report points at the same lines; other readers ignore it.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "pcmk_findings")]
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct JsonStep {
    pub keyword: String,
    pub name: String,
    pub line: usize,
    pub result: StepResult,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct StepResult {
    pub status: String,
    /// Nanoseconds, as cucumber-jvm and cucumber-js write it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

fn status(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "failed",
        StepStatus::Undefined => "undefined",
        StepStatus::NotApplicable | StepStatus::Skipped => "skipped",
    }
}

/// The element's `pcmk_outcome`, for outcomes a step status cannot carry.
fn typed_outcome(outcome: Outcome) -> Option<String> {
    match outcome {
        Outcome::InfraError => Some("infrastructure_error".into()),
        Outcome::NotApplicable => Some("not_applicable".into()),
        Outcome::Passed | Outcome::Failed | Outcome::Undefined => None,
    }
}

pub fn features(verdicts: &[Verdict]) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    let mut sorted: Vec<&Verdict> = verdicts.iter().collect();
    sorted.sort_by(|a, b| (crate::feature_uri(a), &a.feature, a.line).cmp(&(crate::feature_uri(b), &b.feature, b.line)));
    for v in sorted {
        let uri = crate::feature_uri(v);
        if out.last().is_none_or(|f| f.uri != uri || f.name != v.feature) {
            out.push(Feature {
                uri: uri.clone(),
                id: crate::slug(&v.feature),
                keyword: "Feature".into(),
                name: v.feature.clone(),
                description: String::new(),
                line: 1,
                tags: Vec::new(),
                elements: Vec::new(),
            });
        }
        let tag_line = v.line.saturating_sub(1).max(1);
        let feature = out.last_mut().expect("pushed above");
        feature.elements.push(Element {
            id: format!("{};{}", crate::slug(&v.feature), crate::slug(&v.scenario)),
            keyword: "Scenario".into(),
            kind: "scenario".into(),
            name: v.scenario.clone(),
            description: v.description.clone().unwrap_or_default(),
            line: v.line,
            tags: v.tags.iter().map(|t| Tag { name: format!("@{t}"), line: tag_line }).collect(),
            steps: v
                .steps
                .iter()
                .map(|s| JsonStep {
                    keyword: s.keyword.clone(),
                    name: s.text.clone(),
                    line: s.line,
                    result: StepResult {
                        status: status(s.status).into(),
                        duration: (s.status != StepStatus::Skipped).then_some(s.duration.as_nanos() as u64),
                        error_message: s.error.clone(),
                    },
                })
                .collect(),
            outcome: typed_outcome(v.outcome),
            findings: v.findings.clone(),
        });
    }
    out
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&features(&report.verdicts))? + "\n")
}

/// Verdicts back from a Cucumber JSON file.
pub fn read(path: &Path) -> anyhow::Result<Vec<Verdict>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let features: Vec<Feature> = serde_json::from_str(&text)
        .map_err(|e| pcmk_model::error::InputError::new(path, Some(e.line()), format!("not Cucumber JSON: {e}")))?;
    let mut verdicts = Vec::new();
    for feature in features {
        for element in feature.elements {
            let steps: Vec<StepRecord> = element
                .steps
                .iter()
                .map(|s| StepRecord {
                    keyword: s.keyword.clone(),
                    text: s.name.clone(),
                    line: s.line,
                    status: match s.result.status.as_str() {
                        "passed" => StepStatus::Passed,
                        "failed" => StepStatus::Failed,
                        "undefined" => StepStatus::Undefined,
                        _ => StepStatus::Skipped,
                    },
                    duration: Duration::from_nanos(s.result.duration.unwrap_or(0)),
                    error: s.result.error_message.clone(),
                })
                .collect();
            let typed = element.outcome.as_deref();
            let mut steps = steps;
            if typed == Some("not_applicable") {
                // The step that found nothing to judge is the first with an error.
                if let Some(step) = steps.iter_mut().find(|s| s.error.is_some()) {
                    step.status = StepStatus::NotApplicable;
                }
            }
            let failing = steps.iter().find(|s| matches!(s.status, StepStatus::Failed | StepStatus::Undefined | StepStatus::NotApplicable));
            let outcome = match (typed, failing.map(|s| s.status)) {
                (Some("infrastructure_error"), _) => Outcome::InfraError,
                (Some("not_applicable"), _) => Outcome::NotApplicable,
                (_, None) => Outcome::Passed,
                (_, Some(StepStatus::Undefined)) => Outcome::Undefined,
                (_, Some(_)) => Outcome::Failed,
            };
            verdicts.push(Verdict {
                feature: feature.name.clone(),
                feature_file: (!feature.uri.is_empty()).then(|| feature.uri.clone().into()),
                scenario: element.name,
                line: element.line,
                tags: element.tags.iter().map(|t| t.name.trim_start_matches('@').to_string()).collect(),
                outcome,
                failed_step: failing.map(|s| format!("{}{} (line {})", s.keyword, s.text, s.line)),
                reason: failing.and_then(|s| s.error.clone()),
                description: (!element.description.is_empty()).then_some(element.description),
                duration: steps.iter().map(|s| s.duration).sum(),
                steps,
                findings: element.findings,
                waived_by: None,
                // Cucumber JSON keeps no start times or clusters: merged results have no timeline.
                started: None,
                cluster: None,
            });
        }
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn verdicts_survive_a_round_trip() {
        let report = fixture::report();
        let dir = std::env::temp_dir().join(format!("pcmk-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("r.json");
        std::fs::write(&file, render(&report).unwrap()).unwrap();
        let back = read(&file).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].outcome, Outcome::Failed);
        assert_eq!(back[0].reason, report.verdicts[0].reason);
        assert_eq!(back[0].failed_step, report.verdicts[0].failed_step);
        assert_eq!(back[0].tags, report.verdicts[0].tags);
        assert_eq!(back[1].outcome, Outcome::Passed);
        assert_eq!(features(&back), features(&report.verdicts));
        assert_eq!(back[0].findings, report.verdicts[0].findings);
    }

    #[test]
    fn a_file_that_is_not_cucumber_json_names_its_line() {
        let file = std::env::temp_dir().join(format!("pcmk-bad-{}.json", std::process::id()));
        std::fs::write(&file, "[\n  {\"uri\": 3}\n]\n").unwrap();
        let err = read(&file).unwrap_err();
        let input = err.downcast_ref::<pcmk_model::error::InputError>().expect("an input error");
        assert_eq!(input.line, Some(2));
    }
}
