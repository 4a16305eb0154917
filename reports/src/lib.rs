//! Writers for a run's verdicts: JUnit XML, Cucumber JSON (also read back by
//! `merge`), SARIF 2.1.0, a self-contained HTML report and the report as
//! pcmk-comply's own JSON; and waivers.
//! Every writer works from the same `Report`, so the formats cannot disagree.

pub mod compare;
pub mod console;
pub mod cucumber_json;
pub mod html;
pub mod junit;
pub mod location;
pub mod merge;
pub mod report_json;
pub mod said_once;
pub mod sarif;
pub mod waivers;

use std::path::{Path, PathBuf};

use anyhow::Context;
use pcmk_model::report::Report;
use pcmk_model::verdict::Verdict;

/// Which files to write; any combination.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub sarif: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// The whole report as pcmk-comply's own JSON (`report_json`).
    pub report_json: Option<PathBuf>,
}

/// A writer: the whole report as one file's text.
type Render = fn(&Report) -> anyhow::Result<String>;

impl Outputs {
    pub fn write(&self, report: &Report) -> anyhow::Result<()> {
        let report = &said_once::errors_said_once(report);
        let files: [(&Option<PathBuf>, Render); 5] = [
            (&self.junit, junit::render),
            (&self.json, cucumber_json::render),
            (&self.sarif, sarif::render),
            (&self.html, html::render),
            (&self.report_json, report_json::render),
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
    verdict.status().word()
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

    use pcmk_model::finding::{Finding, Place, Subject};
    use pcmk_model::report::{Report, RunInfo};
    use pcmk_model::verdict::{Outcome, StepRecord, StepStatus, Verdict};

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
            findings: Vec::new(),
            waived_by: None,
            started: None,
            cluster: None,
        }
    }

    pub fn report() -> Report {
        let info = RunInfo {
            command: "lint".into(),
            candidate: "candidates/insecure".into(),
            candidate_files: vec![("/etc/corosync/corosync.conf".into(), "candidates/insecure/corosync.conf".into())],
            ..RunInfo::default()
        };
        let mut report = Report::new(
            vec![
                verdict(
                    "Secure communication",
                    "Corosync runs on the knet transport",
                    6,
                    &["communication", "static", "critical"],
                    Some(("corosync uses the \"knet\" transport", "corosync.conf line 4 sets transport udpu, expected knet")),
                ),
                verdict("Secure communication", "No inline key", 20, &["communication", "static", "high"], None),
            ],
            info,
        );
        report.verdicts[0].findings = vec![Finding::new(Subject::Candidate, "corosync.conf line 4 sets transport udpu, expected knet")
            .at(Place::new("/etc/corosync/corosync.conf", 4))];
        report
    }

    /// One scenario per status, the failure's reason quoting the words
    /// "infrastructure error": it must stay a policy failure everywhere.
    pub fn every_status() -> Report {
        use pcmk_model::verdict::Outcome;
        let mut report = report();
        let mut verdicts = Vec::new();
        let cases: [(&str, Option<&str>, Outcome); 6] = [
            ("passes", None, Outcome::Passed),
            ("fails", Some("the log says infrastructure error at line 3"), Outcome::Failed),
            ("is waived", Some("accepted failure"), Outcome::Failed),
            ("has nothing to judge", Some("not applicable: the candidate has no CIB"), Outcome::NotApplicable),
            ("meets a harness fault", Some("infrastructure error: node1 is gone"), Outcome::InfraError),
            ("is undefined", Some("no step definition matches"), Outcome::Undefined),
        ];
        for (i, (name, reason, outcome)) in cases.into_iter().enumerate() {
            let mut v =
                verdict("Secure communication", name, 10 * (i + 1), &["communication", "static", "high"], reason.map(|r| ("it holds", r)));
            v.outcome = outcome;
            match outcome {
                Outcome::NotApplicable => v.steps[0].status = StepStatus::NotApplicable,
                Outcome::Undefined => v.steps[0].status = StepStatus::Undefined,
                _ => {}
            }
            if name == "is waived" {
                v.waived_by = Some("accepted by ops until 2099-01-01".into());
            }
            verdicts.push(v);
        }
        report.verdicts = verdicts;
        report
    }
}

#[cfg(test)]
mod every_writer {
    use pcmk_model::verdict::{Outcome, Status};

    use crate::fixture;

    #[test]
    fn each_status_keeps_its_meaning_in_every_format() {
        let report = fixture::every_status();
        let statuses: Vec<Status> = report.verdicts.iter().map(|v| v.status()).collect();
        assert_eq!(statuses, Status::ALL.to_vec());
        assert_eq!(report.exit_code(), 2, "an infrastructure error or an undefined step is exit 2");

        let junit = crate::junit::render(&report).unwrap();
        let doc = roxmltree::Document::parse(&junit).unwrap();
        let case = |name: &str| doc.descendants().find(|n| n.attribute("name") == Some(name)).unwrap();
        assert!(
            case("fails").children().any(|c| c.has_tag_name("failure")),
            "a reason quoting `infrastructure error` stays a failure: {junit}"
        );
        assert!(case("meets a harness fault").children().any(|c| c.has_tag_name("error")));
        assert!(case("has nothing to judge").children().any(|c| c.has_tag_name("skipped")));
        assert!(case("is waived").children().any(|c| c.has_tag_name("skipped")));

        let sarif: serde_json::Value = serde_json::from_str(&crate::sarif::render(&report).unwrap()).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let result = |name: &str| results.iter().find(|r| r["ruleId"].as_str().unwrap().ends_with(&crate::slug(name))).unwrap();
        assert_eq!(result("has nothing to judge")["kind"], "notApplicable");
        assert_eq!(result("has nothing to judge")["level"], "none");
        assert_eq!(result("fails")["kind"], "fail");
        assert_eq!(result("fails")["properties"]["outcome"], "failed");
        assert_eq!(result("meets a harness fault")["properties"]["outcome"], "error");

        let html = crate::html::render(&report).unwrap();
        assert!(html.contains("<th>Not applicable</th>"), "{html}");
        assert!(html.contains("1 passed, 1 failed, 1 waived, 1 not applicable, 1 errors, 1 undefined"), "{html}");
        assert!(html.contains("id=\"not-applicable\""));

        let dir = std::env::temp_dir().join(format!("pcmk-every-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("r.json");
        std::fs::write(&file, crate::cucumber_json::render(&report).unwrap()).unwrap();
        let back = crate::cucumber_json::read(&file).unwrap();
        let outcomes: Vec<Outcome> = back.iter().map(|v| v.outcome).collect();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(outcomes, report.verdicts.iter().map(|v| v.outcome).collect::<Vec<_>>(), "outcomes survive the JSON round trip");

        let typed: serde_json::Value = serde_json::from_str(&crate::report_json::render(&report).unwrap()).unwrap();
        let words: Vec<&str> = typed["report"]["verdicts"].as_array().unwrap().iter().map(|v| v["outcome"].as_str().unwrap()).collect();
        assert_eq!(words, ["passed", "failed", "failed", "not_applicable", "infra_error", "undefined"]);
        assert_eq!(typed["exit_code"], 2);
        assert!(typed["report"]["verdicts"][2]["waived_by"].is_string(), "a waived failure stays a failure underneath");

        let marks: Vec<String> =
            report.verdicts.iter().map(|v| crate::console::verdict_block(v).split_whitespace().next().unwrap().to_string()).collect();
        assert_eq!(
            marks,
            ["PASS", "FAIL", "WAIVED", "N/A", "ERROR", "UNDEFINED"],
            "the quoted words leave a failure a failure on the console too"
        );
    }

    #[test]
    fn not_applicable_passes_unless_strict() {
        let mut report = fixture::report();
        report.verdicts.truncate(1);
        report.verdicts[0].outcome = Outcome::NotApplicable;
        assert_eq!(report.exit_code(), 0);
        report.info.strict = true;
        assert_eq!(report.exit_code(), 1);
    }
}
