//! JUnit XML, as GitLab and Jenkins read it: a test suite per feature, a test
//! case per scenario; a failure's message is the failing step and the reason.
//! Written with junit-report, the crate behind cucumber's own JUnit writer;
//! cucumber's writer itself knows nothing of waivers or merged shards.

use std::collections::BTreeMap;

use junit_report::{Duration, ReportBuilder, TestCase, TestSuite};
use pcmk_model::guidance::Guidance;
use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, Status, Verdict};

fn duration(v: &Verdict) -> Duration {
    Duration::try_from(v.duration).unwrap_or(Duration::ZERO)
}

fn case(v: &Verdict) -> TestCase {
    let guidance = Guidance::from_description(v.description.as_deref());
    let message = format!("{}: {}", v.failed_step.as_deref().unwrap_or("scenario"), v.reason.as_deref().unwrap_or_default());
    let mut case = match v.status() {
        Status::Passed => TestCase::success(&v.scenario, duration(v)),
        Status::Waived => TestCase::skipped(&v.scenario),
        // junit-report's <skipped> carries no message: the reason goes to system-out below.
        Status::NotApplicable => TestCase::skipped(&v.scenario),
        Status::InfraError => TestCase::error(&v.scenario, duration(v), "infrastructure", &message),
        Status::Failed => TestCase::failure(&v.scenario, duration(v), "policy", &message),
        Status::Undefined => TestCase::error(&v.scenario, duration(v), "undefined", &message),
    };
    case.set_classname(&v.feature);
    case.set_filepath(&format!("{}:{}", crate::feature_uri(v), v.line));
    if v.outcome != Outcome::Passed {
        let mut out = if guidance.rationale.is_empty() { String::new() } else { format!("Why: {}\n", guidance.rationale) };
        if let (Some(fix), Outcome::Failed) = (&guidance.remediation, v.outcome) {
            out.push_str(&format!("Remediation: {fix}\n"));
        }
        if let Some(waiver) = &v.waived_by {
            out.push_str(&format!("Waived: {waiver}\n{message}\n"));
        }
        if v.outcome == Outcome::NotApplicable {
            out.push_str(&format!("Not applicable: {}\n", v.reason.as_deref().unwrap_or_default()));
        }
        case.set_system_out(&out);
    }
    case
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut features: BTreeMap<&str, Vec<&Verdict>> = BTreeMap::new();
    for v in &report.verdicts {
        features.entry(&v.feature).or_default().push(v);
    }
    let mut builder = ReportBuilder::new();
    let mut properties = Vec::new();
    for (feature, verdicts) in features {
        properties.push(control_properties(&verdicts));
        let mut suite = TestSuite::new(feature);
        // Whole seconds: the common JUnit schema's timestamp has no fraction.
        suite.set_timestamp(suite.timestamp.replace_nanosecond(0).unwrap_or(suite.timestamp));
        suite.add_testcases(verdicts.into_iter().map(case));
        // What the candidate was found to hold, placed or ignored, beside every suite's results.
        if !report.info.candidate_inventory.is_empty() {
            suite.set_system_out(&report.info.candidate_inventory.join("\n"));
        }
        builder.add_testsuite(suite);
    }
    let mut out = Vec::new();
    builder.build().write_xml(&mut out)?;
    Ok(with_properties(&String::from_utf8(out)?, &properties))
}

/// The controls a suite's scenarios evidence, as `<property>` elements: one
/// per scenario and framework (`<scenario> » NIST SP 800-53 rev. 5` = `AC-3 AC-6`).
/// The common JUnit schema allows properties on a suite only, not on a case.
fn control_properties(verdicts: &[&Verdict]) -> String {
    let mut xml = String::new();
    for v in verdicts {
        let controls = v.controls();
        for (framework, ids) in [("NIST SP 800-53 rev. 5", controls.nist.join(" ")), ("CIS Controls v8", controls.cis.join(" "))] {
            if !ids.is_empty() {
                let name = quick_xml::escape::escape(&format!("{} » {framework}", v.scenario)).into_owned();
                xml.push_str(&format!("<property name=\"{name}\" value=\"{}\"/>", quick_xml::escape::escape(&ids)));
            }
        }
    }
    if xml.is_empty() {
        xml
    } else {
        format!("<properties>{xml}</properties>")
    }
}

/// junit-report writes no properties: they go in after each suite's opening tag,
/// in the order the suites were added. Attribute values are escaped, so the
/// first `>` after `<testsuite ` closes the tag.
fn with_properties(xml: &str, properties: &[String]) -> String {
    let mut out = String::with_capacity(xml.len() + properties.iter().map(String::len).sum::<usize>());
    let mut rest = xml;
    for suite in properties {
        let Some(start) = rest.find("<testsuite ") else { break };
        let Some(end) = rest[start..].find('>').map(|e| start + e + 1) else { break };
        out.push_str(&rest[..end]);
        if !rest[..end].ends_with("/>") {
            out.push_str(suite);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}
