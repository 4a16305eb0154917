//! A self-contained HTML compliance report: a summary table per practice,
//! every failure with its rationale and remediation, the settings the harness
//! made that the candidate did not, the versions tested, and the timings.

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

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#1b1b1b}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #999;padding:.35em .7em;text-align:left}
#summary th{background:#1d3557;color:#fff}
td.passed{background:#2a9d4b;color:#fff}td.failed{background:#c1121f;color:#fff}
td.waived{background:#e9a23b}td.na{background:#adb5bd}td.undefined,td.error{background:#6c757d;color:#fff}
.failure{border-left:6px solid #c1121f;padding:.2em 1em;margin:1em 0}.failure.waived{border-color:#e9a23b}
code,pre{background:#f1f1f1}pre{padding:.5em;white-space:pre-wrap}";

fn count(verdicts: &[&Verdict], status: Status) -> usize {
    verdicts.iter().filter(|v| v.status() == status).count()
}

fn css_class(status: Status) -> &'static str {
    match status {
        Status::NotApplicable => "na",
        other => other.word(),
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut h = String::new();
    let info = &report.info;
    let title = format!("pcmk-comply {} of {}", info.command, if info.candidate.is_empty() { "merged results" } else { &info.candidate });
    writeln!(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>", escape(&title))?;
    writeln!(h, "<h1>{}</h1>", escape(&title))?;
    let all: Vec<&Verdict> = report.verdicts.iter().collect();
    let verdict = match report.exit_code() {
        0 => "compliant",
        1 => "not compliant",
        _ => "not proven (bad input or infrastructure error)",
    };
    writeln!(h, "<p id=\"verdict\">Verdict: <strong>{verdict}</strong> — {} scenarios: {}.</p>", all.len(), pcmk_model::verdict::summary(&report.verdicts))?;

    let mut practices: BTreeMap<&str, Vec<&Verdict>> = BTreeMap::new();
    for v in &report.verdicts {
        practices.entry(&v.feature).or_default().push(v);
    }
    let columns: String = Status::ALL.iter().map(|s| format!("<th>{}</th>", capitalised(s.word()))).collect();
    writeln!(h, "<h2>Summary per practice</h2>\n<table id=\"summary\"><thead><tr><th>Practice</th><th>Scenarios</th>{columns}<th>Status</th></tr></thead><tbody>")?;
    for (practice, verdicts) in &practices {
        // The worst status of the practice's scenarios names it.
        let worst = [Status::InfraError, Status::Undefined, Status::Failed, Status::Waived, Status::NotApplicable]
            .into_iter()
            .find(|s| count(verdicts, *s) > 0)
            .unwrap_or(Status::Passed);
        let cells: String = Status::ALL.iter().map(|s| format!("<td>{}</td>", count(verdicts, *s))).collect();
        writeln!(h, "<tr><td>{}</td><td>{}</td>{cells}<td class=\"{}\">{}</td></tr>", escape(practice), verdicts.len(), css_class(worst), worst.word())?;
    }
    writeln!(h, "</tbody></table>")?;

    let failures: Vec<&Verdict> = report.verdicts.iter().filter(|v| !matches!(v.outcome, Outcome::Passed | Outcome::NotApplicable)).collect();
    writeln!(h, "<h2>Failures ({})</h2>", failures.len())?;
    for v in failures {
        let guidance = Guidance::from_description(v.description.as_deref());
        let location = crate::location::of(v, info);
        let class = if v.waived_by.is_some() { "failure waived" } else { "failure" };
        writeln!(h, "<div class=\"{class}\"><h3>{} » {} <small>({})</small></h3>", escape(&v.feature), escape(&v.scenario), crate::status_word(v))?;
        writeln!(h, "<p><b>Step:</b> <code>{}</code><br><b>Where:</b> <code>{}:{}</code></p>", escape(v.failed_step.as_deref().unwrap_or("-")), escape(&location.uri), location.line)?;
        writeln!(h, "<pre>{}</pre>", escape(v.reason.as_deref().unwrap_or_default()))?;
        writeln!(h, "<p><b>Why it matters:</b> {}</p>", escape(&guidance.rationale))?;
        writeln!(h, "<p><b>Remediation:</b> {}</p>", escape(guidance.remediation.as_deref().unwrap_or("(the scenario gives none)")))?;
        if let Some(waiver) = &v.waived_by {
            writeln!(h, "<p><b>Waived:</b> {}</p>", escape(waiver))?;
        }
        writeln!(h, "</div>")?;
    }

    let not_applicable: Vec<&Verdict> = report.verdicts.iter().filter(|v| v.outcome == Outcome::NotApplicable).collect();
    if !not_applicable.is_empty() {
        writeln!(h, "<h2>Not applicable ({})</h2><ul id=\"not-applicable\">", not_applicable.len())?;
        for v in not_applicable {
            writeln!(h, "<li>{} » {}: {}</li>", escape(&v.feature), escape(&v.scenario), escape(v.reason.as_deref().unwrap_or_default()))?;
        }
        writeln!(h, "</ul>")?;
    }
    if !report.expired_waivers.is_empty() || !report.unused_waivers.is_empty() {
        writeln!(h, "<h2>Waivers</h2><ul>")?;
        for w in &report.expired_waivers {
            writeln!(h, "<li class=\"expired\"><b>expired:</b> {}</li>", escape(w))?;
        }
        for w in &report.unused_waivers {
            writeln!(h, "<li>{}</li>", escape(w))?;
        }
        writeln!(h, "</ul>")?;
    }
    if !report.infra_errors.is_empty() || !report.policy_errors.is_empty() {
        writeln!(h, "<h2>Errors</h2><ul>")?;
        for e in report.infra_errors.iter().chain(report.policy_errors.iter().map(|p| &p.0)) {
            writeln!(h, "<li>{}</li>", escape(e))?;
        }
        writeln!(h, "</ul>")?;
    }

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
    if !info.candidate_inventory.is_empty() {
        writeln!(h, "<h2>What the candidate holds</h2><ul id=\"inventory\">")?;
        for line in &info.candidate_inventory {
            writeln!(h, "<li>{}</li>", escape(line))?;
        }
        writeln!(h, "</ul>")?;
    }
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
    writeln!(h, "<h2>Timings</h2><table id=\"timings\"><thead><tr><th>Phase or scenario</th><th>Seconds</th></tr></thead><tbody>")?;
    for (phase, took) in &info.phases {
        writeln!(h, "<tr><td>{}</td><td>{:.1}</td></tr>", escape(phase), took.as_secs_f64())?;
    }
    for v in &report.verdicts {
        writeln!(h, "<tr><td>{} » {}</td><td>{:.1}</td></tr>", escape(&v.feature), escape(&v.scenario), v.duration.as_secs_f64())?;
    }
    writeln!(h, "</tbody></table>")?;
    if !report.measurements.is_empty() {
        writeln!(h, "<h2>Measured</h2><ul>")?;
        for m in &report.measurements {
            writeln!(h, "<li>{}</li>", escape(m))?;
        }
        writeln!(h, "</ul>")?;
    }
    writeln!(h, "</body></html>")?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn failures_carry_rationale_and_remediation_and_text_is_escaped() {
        let mut report = fixture::report();
        report.verdicts[0].reason = Some("<script>alert(1)</script>".into());
        let html = render(&report).unwrap();
        assert!(html.contains("<table id=\"summary\">"));
        assert!(html.contains("<td class=\"failed\">failed</td>"));
        assert!(html.contains("<b>Why it matters:</b> Why it matters."));
        assert!(html.contains("<b>Remediation:</b> set `x: y`."));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }
}
