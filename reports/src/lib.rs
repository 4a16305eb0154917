//! Writers for a run's verdicts: JUnit XML, Cucumber JSON (also read back by
//! `merge`), SARIF 2.1.0 and a self-contained HTML report; and waivers.
//! Every writer works from the same `Report`, so the formats cannot disagree.

pub mod compare;
pub mod cucumber_json;
pub mod html;
pub mod junit;
pub mod location;
pub mod sarif;
pub mod waivers;

use std::path::{Path, PathBuf};

use anyhow::Context;
use pcmk_steps::runner::Report;
use pcmk_steps::verdict::{Outcome, Verdict};

/// Which files to write; any combination.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub sarif: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

impl Outputs {
    pub fn write(&self, report: &Report) -> anyhow::Result<()> {
        let files: [(&Option<PathBuf>, fn(&Report) -> anyhow::Result<String>); 4] = [
            (&self.junit, junit::render),
            (&self.json, cucumber_json::render),
            (&self.sarif, sarif::render),
            (&self.html, html::render),
        ];
        for (path, render) in files {
            if let Some(path) = path {
                write_file(path, &render(report)?)?;
            }
        }
        Ok(())
    }
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// How a scenario ended, as the reports name it.
pub fn status_word(verdict: &Verdict) -> &'static str {
    match (verdict.outcome, &verdict.waived_by) {
        _ if verdict.is_infra_error() => "error",
        (Outcome::Passed, _) => "passed",
        (Outcome::Failed, Some(_)) => "waived",
        (Outcome::Failed, None) => "failed",
        (Outcome::Undefined, _) => "undefined",
    }
}

/// A stable identifier for a scenario: `feature-slug/scenario-slug`.
pub fn scenario_id(verdict: &Verdict) -> String {
    format!("{}/{}", slug(&verdict.feature), slug(&verdict.scenario))
}

pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The feature file as written in reports: relative to the working directory when inside it.
pub fn feature_uri(verdict: &Verdict) -> String {
    let Some(path) = &verdict.feature_file else { return String::new() };
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

#[cfg(test)]
pub(crate) mod fixture {
    use std::time::Duration;

    use pcmk_steps::runner::{Report, RunInfo};
    use pcmk_steps::verdict::{Outcome, StepRecord, StepStatus, Verdict};

    pub fn verdict(feature: &str, scenario: &str, line: usize, tags: &[&str], failure: Option<(&str, &str)>) -> Verdict {
        let step = |text: &str, status: StepStatus, error: Option<String>| StepRecord {
            keyword: "Then ".into(),
            text: text.into(),
            line: line + 3,
            status,
            duration: Duration::from_millis(12),
            error,
        };
        let (outcome, steps, failed_step, reason) = match failure {
            None => (Outcome::Passed, vec![step("it holds", StepStatus::Passed, None)], None, None),
            Some((text, reason)) => (
                Outcome::Failed,
                vec![step(text, StepStatus::Failed, Some(reason.into()))],
                Some(format!("Then {text} (line {})", line + 3)),
                Some(reason.to_string()),
            ),
        };
        Verdict {
            feature: feature.into(),
            feature_file: Some(format!("features/{}.feature", super::slug(feature)).into()),
            scenario: scenario.into(),
            line,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            outcome,
            failed_step,
            reason,
            description: Some("Why it matters.\nRemediation: set `x: y`.".into()),
            steps,
            duration: Duration::from_millis(12),
            waived_by: None,
        }
    }

    pub fn report() -> Report {
        let info = RunInfo {
            command: "lint".into(),
            candidate: "candidates/insecure".into(),
            candidate_files: vec![("/etc/corosync/corosync.conf".into(), "candidates/insecure/corosync.conf".into())],
            ..RunInfo::default()
        };
        Report::new(
            vec![
                verdict("Secure communication", "Corosync runs on the knet transport", 6, &["communication", "static", "critical"], Some(("corosync uses the \"knet\" transport", "corosync.conf line 4 sets transport udpu, expected knet"))),
                verdict("Secure communication", "No inline key", 20, &["communication", "static", "high"], None),
            ],
            info,
        )
    }
}
