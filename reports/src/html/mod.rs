//! A self-contained HTML compliance report: one file with no network access
//! (its styles, drawings and the filters' script are inline). A summary per
//! practice and per severity, the run as a timeline, failover and fencing
//! times against their bounds, every scenario with filters, the scenarios
//! grouped by control, every failure with its rationale and remediation,
//! the settings the harness made that the candidate did not, the versions
//! tested, and the timings. Tables and failures are plain HTML: the script
//! only filters them.

mod chart;
mod controls;
mod filters;
mod scale;
mod timeline;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pcmk_model::guidance::Guidance;
use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, Status, Verdict};

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colours only the timeline and the chart draw, so that a screenshot can
/// tell those drawings from the tables (whose status colours they avoid).
pub mod palette {
    pub const LANE_PASSED: &str = "#38b000";
    pub const LANE_FAILED: &str = "#ef233c";
    pub const LANE_WAIVED: &str = "#ffb703";
    pub const LANE_NOT_APPLICABLE: &str = "#8d99ae";
    pub const LANE_ERROR: &str = "#5c677d";
    pub const CLUSTER_START: &str = "#7209b7";
    /// Failover, recovery, availability and a stop without quorum.
    pub const CHART_FAILOVER: &str = "#0077b6";
    pub const CHART_FENCING: &str = "#d00070";
    pub const CHART_FLOOR: &str = "#fb8500";
    pub const CHART_SLO: &str = "#03045e";
}

/// Status colours of table cells and badges; the compare page uses them too.
pub(crate) const STATUS_STYLE: &str = "td.passed,span.passed{background:#2a9d4b;color:#fff}td.failed,span.failed{background:#c1121f;color:#fff}
td.waived,span.waived{background:#e9a23b}td.na,span.na{background:#adb5bd}td.undefined,td.error,span.undefined,span.error{background:#6c757d;color:#fff}";

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#1b1b1b}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:.35em .7em;text-align:left;vertical-align:top}
#summary th{background:#1d3557;color:#fff}
.failure{border-left:6px solid #c1121f;padding:.2em 1em;margin:1em 0}.failure.waived{border-color:#e9a23b}
span.passed,span.failed,span.waived,span.na,span.error,span.undefined{padding:0 .4em;border-radius:3px;font-size:90%}
ul.plain{list-style:none;margin:0;padding:0}.swatch{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}
#filters fieldset{display:inline-block;margin:0 1em .5em 0}svg text{fill:#1b1b1b}
code,pre{background:#f1f1f1}pre{padding:.5em;white-space:pre-wrap}";

fn count(verdicts: &[&Verdict], status: Status) -> usize {
    verdicts.iter().filter(|v| v.status() == status).count()
}

/// The class of a status's cells, badges and filter values.
pub(crate) fn css_class(status: Status) -> &'static str {
    match status {
        Status::NotApplicable => "na",
        other => other.word(),
    }
}

/// The worst status among `verdicts`: it names a practice or a control.
fn worst(verdicts: &[&Verdict]) -> Status {
    [Status::InfraError, Status::Undefined, Status::Failed, Status::Waived, Status::NotApplicable]
        .into_iter()
        .find(|s| count(verdicts, *s) > 0)
        .unwrap_or(Status::Passed)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// The scenarios of each practice, by practice name.
fn practices(report: &Report) -> BTreeMap<&str, Vec<&Verdict>> {
    let mut practices: BTreeMap<&str, Vec<&Verdict>> = BTreeMap::new();
    for v in &report.verdicts {
        practices.entry(&v.feature).or_default().push(v);
    }
    practices
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut h = String::new();
    let info = &report.info;
    let title = format!("pcmk-comply {} of {}", info.command, if info.candidate.is_empty() { "merged results" } else { &info.candidate });
    writeln!(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}\n{STATUS_STYLE}</style></head><body>", escape(&title))?;
    writeln!(h, "<h1>{}</h1>", escape(&title))?;
    let verdict = match report.exit_code() {
        0 => "compliant",
        1 => "not compliant",
        _ => "not proven (bad input or infrastructure error)",
    };
    writeln!(
        h,
        "<p id=\"verdict\">Verdict: <strong>{verdict}</strong> — {} scenarios: {}.</p>",
        report.verdicts.len(),
        pcmk_model::verdict::summary(&report.verdicts)
    )?;
    summary(&mut h, report)?;
    severities(&mut h, report)?;
    filters::form(&mut h, report)?;
    timeline::section(&mut h, report)?;
    chart::section(&mut h, report)?;
    filters::scenario_table(&mut h, report)?;
    controls::section(&mut h, report)?;
    failures(&mut h, report)?;
    problems(&mut h, report)?;
    tested(&mut h, report)?;
    writeln!(h, "<script>{}</script>\n</body></html>", filters::SCRIPT)?;
    Ok(h)
}

fn summary(h: &mut String, report: &Report) -> std::fmt::Result {
    let columns: String = Status::ALL.iter().map(|s| format!("<th>{}</th>", capitalised(s.word()))).collect();
    writeln!(h, "<h2>Summary per practice</h2>\n<table id=\"summary\"><thead><tr><th>Practice</th><th>Scenarios</th>{columns}<th>Status</th></tr></thead><tbody>")?;
    for (practice, verdicts) in &practices(report) {
        let worst = worst(verdicts);
        let cells: String = Status::ALL.iter().map(|s| format!("<td>{}</td>", count(verdicts, *s))).collect();
        writeln!(
            h,
            "<tr><td>{}</td><td>{}</td>{cells}<td class=\"{}\">{}</td></tr>",
            escape(practice),
            verdicts.len(),
            css_class(worst),
            worst.word()
        )?;
    }
    writeln!(h, "</tbody></table>")
}

/// Per practice and severity tag: how many scenarios fail without a waiver, of how many.
fn severities(h: &mut String, report: &Report) -> std::fmt::Result {
    let columns: String = filters::SEVERITIES.iter().map(|(_, label)| format!("<th>{}</th>", capitalised(label))).collect();
    writeln!(h, "<h2>Severity per practice</h2>\n<p>Failing scenarios (failed, no waiver) of each severity tag, of all scenarios with that tag.</p>")?;
    writeln!(h, "<table id=\"severity\"><thead><tr><th>Practice</th>{columns}</tr></thead><tbody>")?;
    for (practice, verdicts) in &practices(report) {
        write!(h, "<tr><td>{}</td>", escape(practice))?;
        for (severity, _) in filters::SEVERITIES {
            let tagged: Vec<&&Verdict> = verdicts.iter().filter(|v| filters::severity(v) == severity).collect();
            let failing = tagged.iter().filter(|v| v.counts_as_failure()).count();
            match (tagged.len(), failing) {
                (0, _) => write!(h, "<td>–</td>")?,
                (all, 0) => write!(h, "<td class=\"passed\">0 of {all} failing</td>")?,
                (all, failing) => write!(h, "<td class=\"failed\">{failing} of {all} failing</td>")?,
            }
        }
        writeln!(h, "</tr>")?;
    }
    writeln!(h, "</tbody></table>")
}

fn failures(h: &mut String, report: &Report) -> std::fmt::Result {
    let failures: Vec<&Verdict> =
        report.verdicts.iter().filter(|v| !matches!(v.outcome, Outcome::Passed | Outcome::NotApplicable)).collect();
    writeln!(h, "<h2>Failures ({})</h2>", failures.len())?;
    for v in failures {
        let guidance = Guidance::from_description(v.description.as_deref());
        let location = crate::location::of(v, &report.info);
        let class = if v.waived_by.is_some() { "failure waived" } else { "failure" };
        writeln!(
            h,
            "<div class=\"{class}\" {}><h3>{} » {} <small>({})</small></h3>",
            filters::attributes(v),
            escape(&v.feature),
            escape(&v.scenario),
            crate::status_word(v)
        )?;
        writeln!(
            h,
            "<p><b>Step:</b> <code>{}</code><br><b>Where:</b> <code>{}:{}</code></p>",
            escape(v.failed_step.as_deref().unwrap_or("-")),
            escape(&location.uri),
            location.line
        )?;
        writeln!(h, "<pre>{}</pre>", escape(v.reason.as_deref().unwrap_or_default()))?;
        writeln!(h, "<p><b>Why it matters:</b> {}</p>", escape(&guidance.rationale))?;
        writeln!(h, "<p><b>Remediation:</b> {}</p>", escape(guidance.remediation.as_deref().unwrap_or("(the scenario gives none)")))?;
        if let Some(waiver) = &v.waived_by {
            writeln!(h, "<p><b>Waived:</b> {}</p>", escape(waiver))?;
        }
        writeln!(h, "</div>")?;
    }
    Ok(())
}

/// A heading and a list of escaped lines, when there are any.
fn list<'a>(h: &mut String, heading: &str, id: Option<&str>, lines: impl IntoIterator<Item = (&'a str, &'a str)>) -> std::fmt::Result {
    let mut lines = lines.into_iter().peekable();
    if lines.peek().is_none() {
        return Ok(());
    }
    let id = id.map(|id| format!(" id=\"{id}\"")).unwrap_or_default();
    writeln!(h, "<h2>{heading}</h2><ul{id}>")?;
    for (prefix, line) in lines {
        writeln!(h, "<li>{prefix}{}</li>", escape(line))?;
    }
    writeln!(h, "</ul>")
}

/// Scenarios with nothing to judge, waivers that did not apply, and errors.
fn problems(h: &mut String, report: &Report) -> std::fmt::Result {
    let not_applicable: Vec<String> = report
        .verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::NotApplicable)
        .map(|v| format!("{} » {}: {}", v.feature, v.scenario, v.reason.as_deref().unwrap_or_default()))
        .collect();
    list(
        h,
        &format!("Not applicable ({})", not_applicable.len()),
        Some("not-applicable"),
        not_applicable.iter().map(|l| ("", l.as_str())),
    )?;
    let expired = report.expired_waivers.iter().map(|w| ("<b>expired:</b> ", w.as_str()));
    list(h, "Waivers", None, expired.chain(report.unused_waivers.iter().map(|w| ("", w.as_str()))))?;
    list(h, "Errors", None, report.infra_errors.iter().chain(report.policy_errors.iter().map(|p| &p.0)).map(|e| ("", e.as_str())))
}

/// What was tested, what the candidate holds, what the harness changed, and how long it took.
fn tested(h: &mut String, report: &Report) -> std::fmt::Result {
    let info = &report.info;
    writeln!(h, "<h2>What was tested</h2><table id=\"tested\"><tbody>")?;
    writeln!(h, "<tr><th>Candidate</th><td>{}</td></tr>", escape(&info.candidate))?;
    if let Some(distro) = &info.distro {
        writeln!(h, "<tr><th>Distribution</th><td>{}</td></tr>", escape(distro))?;
    }
    for (package, version) in &info.versions {
        writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(package), escape(version))?;
    }
    if let Some(shard) = &info.shard {
        writeln!(h, "<tr><th>Shard</th><td>{}</td></tr>", escape(shard))?;
    }
    writeln!(h, "</tbody></table>")?;
    list(h, "What the candidate holds", Some("inventory"), info.candidate_inventory.iter().map(|l| ("", l.as_str())))?;
    writeln!(h, "<h2>Harness settings that differ from the candidate</h2>")?;
    if report.harness_notes.is_empty() {
        writeln!(h, "<p>None.</p>")?;
    } else {
        writeln!(h, "<ul>")?;
        for note in &report.harness_notes {
            writeln!(h, "<li>{}</li>", escape(note))?;
        }
        writeln!(h, "</ul>")?;
    }
    // Each scenario's time is in the scenario table.
    writeln!(h, "<h2>Timings</h2><table id=\"timings\"><thead><tr><th>Phase</th><th>Seconds</th></tr></thead><tbody>")?;
    for (phase, took) in &info.phases {
        writeln!(h, "<tr><td>{}</td><td>{:.1}</td></tr>", escape(phase), took.as_secs_f64())?;
    }
    writeln!(h, "</tbody></table>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn failures_carry_rationale_and_remediation_and_text_is_escaped() {
        let mut report = fixture::report();
        report.verdicts[0].reason = Some("<script>alert(1)</script>".into());
        report.verdicts[0].scenario = "knet <b>only</b> & \"quoted\"".into();
        let html = render(&report).unwrap();
        assert!(html.contains("<table id=\"summary\">"));
        assert!(html.contains("<td class=\"failed\">failed</td>"));
        assert!(html.contains("<b>Why it matters:</b> Why it matters."));
        assert!(html.contains("<b>Remediation:</b> set `x: y`."));
        assert!(html.contains("&lt;script&gt;alert(1)"));
        assert_eq!(html.matches("<script>").count(), 1, "only the filters' own script");
        assert!(!html.contains("<b>only</b>") && html.contains("knet &lt;b&gt;only&lt;/b&gt; &amp; &quot;quoted&quot;"));
    }

    #[test]
    fn severities_count_failures_per_practice_and_tag() {
        let html = render(&fixture::report()).unwrap();
        let row = html.lines().find(|l| l.starts_with("<tr><td>Secure communication</td><td class")).unwrap();
        assert_eq!(row, "<tr><td>Secure communication</td><td class=\"failed\">1 of 1 failing</td><td class=\"passed\">0 of 1 failing</td><td>–</td><td>–</td><td>–</td></tr>");
    }

    #[test]
    fn the_page_needs_nothing_from_the_network() {
        let html = render(&fixture::every_status()).unwrap();
        for outside in ["http://", "https://", "src=", "@import", "url("] {
            let found = html.replace("http://www.w3.org/2000/svg", "");
            assert!(!found.contains(outside), "{outside} in the page");
        }
    }
}
