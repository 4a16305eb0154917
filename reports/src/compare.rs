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

/// What the newer version's own tools made of the candidate's CIB, for the
/// findings below to cite: `crm_verify` and `cibadmin --upgrade` as they said
/// it, and the CIB after the dry upgrade.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour<'a> {
    /// The newer Pacemaker as its version says it: `Pacemaker 3.0.0`.
    pub target: &'a str,
    pub said: &'a str,
    pub upgraded: Option<&'a str>,
}

impl Behaviour<'_> {
    /// The line of the tools' output that names `id`.
    fn said_about(&self, id: &str) -> Option<&str> {
        self.said.lines().map(str::trim).find(|l| l.contains(&format!(" {id} ")))
    }

    /// The element with this id after the upgrade: None without an upgraded
    /// CIB, Some(None) when the upgrade removed it, else (tag, attribute's value).
    fn upgraded(&self, id: &str, attribute: &str) -> Option<Option<(String, Option<String>)>> {
        let doc = pcmk_model::text::parse_xml(self.upgraded?).ok()?;
        let node = doc.descendants().find(|n| n.attribute("id") == Some(id));
        Some(node.map(|n| (n.tag_name().name().to_string(), n.attribute(attribute).map(str::to_string))))
    }
}

/// What Pacemaker 3 removed or changed that no option table lists, found in
/// the candidate's CIB (`(file name, text)`), each with what the newer
/// version's own CIB upgrade does with it: nagios and upstart resources,
/// master resources, the pre-3.0 role names. Options, pcsd settings,
/// corosync keys and crm_mon options are judged from each version's own
/// tables (`pcmk_containers::knowledge`).
pub fn removed_in_pacemaker3(files: &[(String, String)], behaviour: &Behaviour) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |place: String, message: String, breaks: bool| findings.push(Finding { place, message, breaks });
    let target = if behaviour.target.is_empty() { "Pacemaker 3" } else { behaviour.target };
    for (name, text) in files.iter().filter(|(name, _)| name.ends_with("cib.xml")) {
        let Ok(doc) = pcmk_model::text::parse_xml(text) else { continue };
        for node in doc.descendants().filter(|n| n.is_element()) {
            let line = doc.text_pos_at(node.range().start).row;
            let place = format!("{name} line {line}");
            let id = node.attribute("id").unwrap_or("?");
            match (node.tag_name().name(), node.attribute("class")) {
                ("primitive", Some(class @ ("nagios" | "upstart"))) => {
                    let fate = match (behaviour.said_about(id), behaviour.upgraded(id, "class")) {
                        (Some(said), _) => format!("{target}'s CIB upgrade drops the resource (\"{said}\")"),
                        (None, Some(None)) => format!("{target}'s CIB upgrade drops the resource"),
                        _ => format!("{target} no longer has the {class} class"),
                    };
                    add(place, format!("resource `{id}` uses class {class}: {fate}"), true)
                }
                ("master", _) => {
                    let fate = match behaviour.upgraded(id, "id") {
                        Some(Some((tag, _))) if tag == "clone" => {
                            format!("{target}'s CIB upgrade turns it into a promotable clone (`<clone>` with meta promotable=true)")
                        }
                        _ => {
                            format!("{target} has no master resources; they become promotable clones (`<clone>` with meta promotable=true)")
                        }
                    };
                    add(place, format!("`{id}` is a master resource: {fate}; check scripts and constraints that name it"), false)
                }
                _ => {}
            }
            for role in ["rsc-role", "with-rsc-role", "first-action", "then-action", "role"] {
                if let Some(value) = node.attribute(role).filter(|v| matches!(*v, "Master" | "Slave")) {
                    let fate = match behaviour.upgraded(id, role) {
                        Some(Some((_, Some(now)))) if now != value => format!("{target}'s CIB upgrade rewrites it to `{now}`"),
                        _ => format!("{target} names the roles Promoted and Unpromoted"),
                    };
                    add(format!("{name} line {line}"), format!("role `{value}` in `{role}` is the pre-3.0 name: {fate}"), false);
                }
            }
        }
    }
    findings
}

/// Findings from another version's own tools: `crm_verify` and a dry
/// `cibadmin --upgrade` of the candidate's CIB (output sections `### verify`,
/// `### upgrade`; an `### upgraded` CIB ends them). Dropping a resource stops
/// it running and breaks; dropping an option, or a warning, is a change.
pub fn tool_findings(distro: &str, output: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut section = "";
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            if name == "upgraded" {
                break;
            }
            section = if name == "verify" { "verify" } else { "upgrade" };
            continue;
        }
        let line = line.trim();
        let tool = if section == "verify" { "crm_verify" } else { "cibadmin --upgrade" };
        let place = format!("{tool} on {distro}");
        if line.contains("Dropping nvpair") {
            findings.push(Finding { place, message: line.to_string(), breaks: false });
        } else if line.contains("Dropping")
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

/// Drops a tool's finding that another finding already quotes.
pub fn without_quoted(findings: Vec<Finding>) -> Vec<Finding> {
    let quoted =
        |f: &Finding| findings.iter().any(|g| !std::ptr::eq(f, g) && g.message.len() > f.message.len() && g.message.contains(&f.message));
    let keep: Vec<bool> = findings.iter().map(|f| !quoted(f)).collect();
    findings.into_iter().zip(keep).filter_map(|(f, keep)| keep.then_some(f)).collect()
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
    fn removed_classes_and_roles_cite_what_the_upgrade_does() {
        let cib = "<cib>\n<configuration>\n<crm_config/>\n<resources>\n<primitive id=\"health\" class=\"nagios\" type=\"check_x\"/>\n<master id=\"m\"><primitive id=\"s\" class=\"ocf\" provider=\"pacemaker\" type=\"Stateful\"/></master>\n</resources>\n<constraints>\n<rsc_colocation id=\"c\" rsc=\"x\" with-rsc=\"m\" with-rsc-role=\"Master\" score=\"INFINITY\"/>\n</constraints>\n</configuration>\n</cib>\n";
        let upgraded = "<cib><configuration><resources><clone id=\"m\"/></resources><constraints><rsc_colocation id=\"c\" with-rsc-role=\"Promoted\"/></constraints></configuration></cib>";
        let said = "### verify\nWARNING: Dropping resource health because nagios resources are no longer supported\n";
        let behaviour = Behaviour { target: "Pacemaker 3.0.0", said, upgraded: Some(upgraded) };
        let findings = removed_in_pacemaker3(&[("cib.xml".into(), cib.into())], &behaviour);
        assert_eq!(
            findings[0],
            Finding {
                place: "cib.xml line 5".into(),
                message: "resource `health` uses class nagios: Pacemaker 3.0.0's CIB upgrade drops the resource (\"WARNING: Dropping resource health because nagios resources are no longer supported\")".into(),
                breaks: true
            }
        );
        assert!(findings
            .iter()
            .any(|f| !f.breaks && f.place == "cib.xml line 6" && f.message.contains("CIB upgrade turns it into a promotable clone")));
        assert!(
            findings.iter().any(|f| f.place == "cib.xml line 9" && f.message.ends_with("CIB upgrade rewrites it to `Promoted`")),
            "{findings:#?}"
        );
        let tools = tool_findings("trixie", said);
        let all = without_quoted(findings.into_iter().chain(tools).collect());
        assert!(!all.iter().any(|f| f.place.starts_with("crm_verify")), "quoted once: {all:#?}");
        // Without the tools' answers, the finding still says what Pacemaker 3 does.
        let findings = removed_in_pacemaker3(&[("cib.xml".into(), cib.into())], &Behaviour::default());
        assert!(findings[0].message.ends_with("uses class nagios: Pacemaker 3 no longer has the nagios class"), "{findings:#?}");
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
        let dropped = tool_findings("trixie", "### verify\nWARNING: Dropping nvpair o-ras because the remove-after-stop property is unsupported\n### upgrade\n### upgraded\n<cib> invalid\n");
        assert_eq!(dropped.len(), 1, "the upgraded CIB is not the tools' words: {dropped:#?}");
        assert!(!dropped[0].breaks, "an option the target drops is a change");
    }
}
