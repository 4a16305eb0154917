//! Before an upgrade: the same policy's verdicts on two versions side by
//! side, what changed between them, and what in the candidate the newer
//! version removed or changed.

use std::collections::BTreeMap;

use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, Verdict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// Passed before, fails after.
    Regressed,
    /// An infrastructure error or undefined step only after.
    NewError,
    /// Only in one of the runs.
    Missing,
    Fixed,
    Same,
}

impl Change {
    pub fn word(self) -> &'static str {
        match self {
            Change::Regressed => "REGRESSED",
            Change::NewError => "NEW ERROR",
            Change::Missing => "MISSING",
            Change::Fixed => "FIXED",
            Change::Same => "same",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub feature: &'a str,
    pub scenario: &'a str,
    pub before: Option<&'a Verdict>,
    pub after: Option<&'a Verdict>,
    pub change: Change,
}

fn is_error(v: &Verdict) -> bool {
    v.outcome == Outcome::Undefined || v.is_infra_error()
}

/// A scenario's verdict in the run before and in the run after, where it ran.
type BeforeAndAfter<'a> = (Option<&'a Verdict>, Option<&'a Verdict>);

/// Every scenario of either run, with how its verdict changed.
pub fn rows<'a>(before: &'a Report, after: &'a Report) -> Vec<Row<'a>> {
    let mut keyed: BTreeMap<(&str, &str), BeforeAndAfter> = BTreeMap::new();
    for v in &before.verdicts {
        keyed.entry((&v.feature, &v.scenario)).or_default().0 = Some(v);
    }
    for v in &after.verdicts {
        keyed.entry((&v.feature, &v.scenario)).or_default().1 = Some(v);
    }
    keyed
        .into_iter()
        .map(|((feature, scenario), (b, a))| {
            let change = match (b, a) {
                (Some(_), Some(a)) if is_error(a) && !b.is_some_and(is_error) => Change::NewError,
                (Some(b), Some(a)) if b.outcome == Outcome::Passed && a.outcome != Outcome::Passed => Change::Regressed,
                (Some(b), Some(a)) if b.outcome != Outcome::Passed && a.outcome == Outcome::Passed => Change::Fixed,
                (Some(_), Some(_)) => Change::Same,
                _ => Change::Missing,
            };
            Row { feature, scenario, before: b, after: a, change }
        })
        .collect()
}

/// Something in the candidate that the newer version removed or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `cib.xml line 14`, or the tool that said it.
    pub place: String,
    pub message: String,
    /// Removed outright (breaks), rather than changed (worth a look).
    pub breaks: bool,
}

/// What Pacemaker 3 and pcs 0.12 removed or changed, found in the candidate's
/// own files by reading them: `(file name, text)`.
pub fn removed_in_pacemaker3(files: &[(String, String)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |place: String, message: String, breaks: bool| findings.push(Finding { place, message, breaks });
    for (name, text) in files {
        if name.ends_with("cib.xml") {
            if let Ok(doc) = pcmk_model::text::parse_xml(text) {
                for node in doc.descendants().filter(|n| n.is_element()) {
                    let line = doc.text_pos_at(node.range().start).row;
                    let place = format!("{name} line {line}");
                    let id = node.attribute("id").unwrap_or("?");
                    match (node.tag_name().name(), node.attribute("class"), node.attribute("name"), node.attribute("value")) {
                        ("primitive", Some(class @ ("nagios" | "upstart")), _, _) => {
                            add(place, format!("resource `{id}` uses class {class}, which Pacemaker 3 removed: the CIB upgrade drops the resource"), true)
                        }
                        ("master", _, _, _) => add(place, format!("`{id}` is a master resource, which Pacemaker 3 removed; it is converted to a promotable clone (`<clone>` with meta promotable=true): check scripts and constraints that name it"), false),
                        ("nvpair", _, Some("stonith-action"), Some("poweroff")) => add(place, "stonith-action=poweroff was removed in Pacemaker 3; the upgrade rewrites it to `off`".into(), false),
                        ("nvpair", _, Some(option @ ("remove-after-stop" | "startup-fencing" | "stop-orphan-resources" | "stop-orphan-actions")), _) => {
                            add(place, format!("cluster option {option} is deprecated or changed in Pacemaker 3; check its meaning before upgrading"), false)
                        }
                        _ => {}
                    }
                    for role in ["rsc-role", "with-rsc-role", "first-action", "then-action", "role"] {
                        if let Some(value) = node.attribute(role).filter(|v| matches!(*v, "Master" | "Slave")) {
                            add(
                                format!("{name} line {line}"),
                                format!("role `{value}` in `{role}` is the pre-3.0 name (Promoted/Unpromoted)"),
                                false,
                            );
                        }
                    }
                }
                if !text.contains("concurrent-fencing") {
                    add(
                        name.to_string(),
                        "concurrent-fencing is unset: its default changes from false to true in Pacemaker 3".into(),
                        false,
                    );
                }
            }
        }
        for (index, line) in text.lines().enumerate() {
            let place = format!("{name} line {}", index + 1);
            if line.trim_start().starts_with("PCSD_DISABLE_GUI") {
                add(place.clone(), "PCSD_DISABLE_GUI was removed in pcs 0.12 (the web UI is a separate package)".into(), true);
            }
            for option in ["--as-html", "--as-xml", "--web-cgi"] {
                if line.contains("crm_mon") && line.contains(option) {
                    add(place.clone(), format!("crm_mon {option} was removed in Pacemaker 3; use --output-as"), true);
                }
            }
        }
    }
    findings
}

/// Findings from another version's own tools: `crm_verify` and a dry
/// `cibadmin --upgrade` of the candidate's CIB (output sections `### verify`, `### upgrade`).
pub fn tool_findings(distro: &str, output: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut section = "";
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            section = if name == "verify" { "verify" } else { "upgrade" };
            continue;
        }
        let line = line.trim();
        let tool = if section == "verify" { "crm_verify" } else { "cibadmin --upgrade" };
        let place = format!("{tool} on {distro}");
        if line.contains("Dropping")
            || line.starts_with("error")
            || line.contains("Errors found")
            || line.contains("invalid")
            || line.contains("does not conform")
        {
            findings.push(Finding { place, message: line.to_string(), breaks: true });
        } else if line.starts_with("warning") || line.starts_with("WARNING") || line.contains("Warnings found") {
            findings.push(Finding { place, message: line.to_string(), breaks: false });
        }
    }
    findings
}

fn status(v: Option<&Verdict>) -> &'static str {
    v.map(crate::status_word).unwrap_or("-")
}

/// The comparison as JSON: both runs side by side, the changes and the findings.
pub fn render_json(from: &str, before: &Report, to: &str, after: &Report, findings: &[Finding]) -> anyhow::Result<String> {
    let side = |distro: &str, report: &Report| {
        serde_json::json!({
            "distro": distro,
            "versions": report.info.versions,
            "verdicts": report.verdicts.iter().map(|v| serde_json::json!({"feature": v.feature, "scenario": v.scenario, "status": crate::status_word(v), "reason": v.reason})).collect::<Vec<_>>(),
        })
    };
    let changes: Vec<_> = rows(before, after)
        .iter()
        .map(|r| serde_json::json!({"feature": r.feature, "scenario": r.scenario, "change": r.change.word(), "from": status(r.before), "to": status(r.after), "reason": r.after.and_then(|v| v.reason.clone())}))
        .collect();
    let findings: Vec<_> =
        findings.iter().map(|f| serde_json::json!({"place": f.place, "message": f.message, "breaks": f.breaks})).collect();
    Ok(serde_json::to_string_pretty(
        &serde_json::json!({"from": side(from, before), "to": side(to, after), "changes": changes, "findings": findings}),
    )? + "\n")
}

/// A self-contained HTML page: the versions and each scenario's outcome on
/// both side by side, coloured by outcome, a change marked on its row.
pub fn render_html(from: &str, before: &Report, to: &str, after: &Report, findings: &[Finding]) -> String {
    use crate::html::{css_class, escape, STATUS_STYLE};
    let (from, to) = (escape(from), escape(to));
    let style = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #999;padding:.3em .6em;text-align:left}th{background:#1d3557;color:#fff}\
                 tr.changed td:first-child{border-left:6px solid #1d3557;font-weight:bold}td.REGRESSED,td.NEW{background:#c1121f;color:#fff;font-weight:bold}td.FIXED{background:#2a9d4b;color:#fff;font-weight:bold}td.MISSING{background:#e9a23b}";
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pcmk-comply compare {from} → {to}</title><style>{style}\n{STATUS_STYLE}</style></head><body><h1>{} on {from} and {to}</h1>\n",
        escape(&before.info.candidate)
    );
    h.push_str(&format!("<table id=\"versions\"><tr><th>package</th><th>{from}</th><th>{to}</th></tr>\n"));
    let packages: std::collections::BTreeSet<&String> = before.info.versions.keys().chain(after.info.versions.keys()).collect();
    for p in packages {
        let v = |r: &Report| r.info.versions.get(p).cloned().unwrap_or_else(|| "-".into());
        h.push_str(&format!("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", escape(p), escape(&v(before)), escape(&v(after))));
    }
    let rows = rows(before, after);
    let changed = rows.iter().filter(|r| r.change != Change::Same).count();
    h.push_str(&format!("</table>\n<h2>Scenarios</h2><p>{} scenarios, {changed} changed between {from} and {to}.</p>\n", rows.len()));
    h.push_str(&format!(
        "<table id=\"compare\"><tr><th>practice » scenario</th><th>{from}</th><th>{to}</th><th>change</th><th>reason on {to}</th></tr>\n"
    ));
    // A scenario missing from one run has no outcome there.
    let outcome = |v: Option<&Verdict>| match v {
        Some(v) => format!("<td class=\"{}\">{}</td>", css_class(v.status()), crate::status_word(v)),
        None => "<td>-</td>".to_string(),
    };
    for r in &rows {
        let class = r.change.word().split_whitespace().next().unwrap_or_default();
        let row_class = if r.change == Change::Same { "" } else { " class=\"changed\"" };
        h.push_str(&format!(
            "<tr{row_class}><td>{} » {}</td>{}{}<td class=\"{class}\">{}</td><td>{}</td></tr>\n",
            escape(r.feature),
            escape(r.scenario),
            outcome(r.before),
            outcome(r.after),
            r.change.word(),
            escape(r.after.and_then(|v| v.reason.as_deref()).filter(|_| r.change != Change::Same).unwrap_or(""))
        ));
    }
    h.push_str(&format!("</table>\n<h2>Configuration findings for {to}</h2><ul>\n"));
    for f in findings {
        h.push_str(&format!(
            "<li><b>{}</b> {}: {}</li>\n",
            if f.breaks { "breaks" } else { "changes" },
            escape(&f.place),
            escape(&f.message)
        ));
    }
    h.push_str("</ul></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn a_pass_that_fails_later_is_a_regression_and_errors_are_their_own() {
        let before = fixture::report();
        let mut after = fixture::report();
        after.verdicts[1] = fixture::verdict("Secure communication", "No inline key", 20, &["high"], Some(("x", "inline key")));
        after.verdicts[0] =
            fixture::verdict("Secure communication", "Corosync runs on the knet transport", 6, &["critical"], Some(("x", "node gone")));
        after.verdicts[0].outcome = pcmk_model::verdict::Outcome::InfraError;
        let table = rows(&before, &after);
        let change = |s: &str| table.iter().find(|r| r.scenario == s).unwrap().change;
        assert_eq!(change("No inline key"), Change::Regressed);
        assert_eq!(change("Corosync runs on the knet transport"), Change::NewError);
        assert_eq!(rows(&after, &before).iter().find(|r| r.scenario == "No inline key").unwrap().change, Change::Fixed);
    }

    #[test]
    fn the_page_shows_both_outcomes_side_by_side_and_marks_the_change() {
        let before = fixture::report();
        let mut after = fixture::report();
        after.verdicts[1] = fixture::verdict("Secure communication", "No inline key", 20, &["high"], Some(("x", "inline <key>")));
        let html = render_html("bookworm", &before, "trixie", &after, &[]);
        assert!(html.contains("<table id=\"compare\">") && html.contains("<th>bookworm</th><th>trixie</th>"));
        assert!(html.contains("<tr class=\"changed\"><td>Secure communication » No inline key</td><td class=\"passed\">passed</td><td class=\"failed\">failed</td><td class=\"REGRESSED\">REGRESSED</td><td>inline &lt;key&gt;</td></tr>"), "{html}");
        assert!(html.contains("<tr><td>Secure communication » Corosync runs on the knet transport</td><td class=\"failed\">failed</td><td class=\"failed\">failed</td><td class=\"same\">same</td>"), "{html}");
        assert!(html.contains("2 scenarios, 1 changed between bookworm and trixie."));
    }

    #[test]
    fn removed_classes_and_options_are_found_with_their_lines() {
        let cib = "<cib>\n<configuration>\n<crm_config><cluster_property_set id=\"o\">\n<nvpair id=\"a\" name=\"stonith-action\" value=\"poweroff\"/>\n</cluster_property_set></crm_config>\n<resources>\n<primitive id=\"health\" class=\"nagios\" type=\"check_x\"/>\n<master id=\"m\"><primitive id=\"s\" class=\"ocf\" provider=\"pacemaker\" type=\"Stateful\"/></master>\n</resources>\n</configuration>\n</cib>\n";
        let findings = removed_in_pacemaker3(&[("cib.xml".into(), cib.into()), ("pcsd.defaults".into(), "PCSD_DISABLE_GUI=true\n".into())]);
        assert!(
            findings.iter().any(|f| f.breaks && f.place == "cib.xml line 7" && f.message.contains("`health` uses class nagios")),
            "{findings:?}"
        );
        assert!(findings.iter().any(|f| !f.breaks && f.place == "cib.xml line 4" && f.message.contains("poweroff")));
        assert!(findings.iter().any(|f| f.place == "cib.xml line 8" && f.message.contains("master resource")));
        assert!(findings.iter().any(|f| f.breaks && f.place == "pcsd.defaults line 1"));
        assert!(findings.iter().any(|f| f.message.contains("concurrent-fencing")));
    }

    #[test]
    fn the_newer_tools_say_what_they_drop() {
        let out = "### verify\n### upgrade\nWARNING: Dropping resource health because nagios resources are no longer supported\n";
        assert_eq!(
            tool_findings("trixie", out),
            vec![Finding {
                place: "cibadmin --upgrade on trixie".into(),
                message: "WARNING: Dropping resource health because nagios resources are no longer supported".into(),
                breaks: true
            }]
        );
    }
}
