//! Filters by outcome, practice and severity that work in the file itself,
//! and the table of every scenario they act on. Whatever shows a scenario
//! (a table row, a timeline bar, a control's entry, a failure) carries
//! `data-outcome`, `data-practice` and `data-severity`; a small inline
//! script hides what the form leaves out. Without JavaScript the form stays
//! hidden and everything is shown, as plain HTML.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use pcmk_model::report::Report;
use pcmk_model::verdict::{Status, Verdict};

use super::{css_class, escape};

/// Filter values of the severity tags and their labels; `none` is a scenario without one.
pub(super) const SEVERITIES: [(&str, &str); 5] =
    [("critical", "critical"), ("high", "high"), ("medium", "medium"), ("low", "low"), ("none", "no severity")];

/// A scenario's severity as the filters name it.
pub(super) fn severity(v: &Verdict) -> &'static str {
    v.severity().unwrap_or("none")
}

/// The attributes the filters select on.
pub(super) fn attributes(v: &Verdict) -> String {
    format!("data-outcome=\"{}\" data-practice=\"{}\" data-severity=\"{}\"", css_class(v.status()), escape(&v.feature), severity(v))
}

/// The attributes of the scenario named `scenario` after a space, if the report has it; nothing otherwise.
pub(super) fn attributes_of(report: &Report, scenario: Option<&str>) -> String {
    let verdict = scenario.and_then(|name| report.verdicts.iter().find(|v| v.scenario == name));
    verdict.map(|v| format!(" {}", attributes(v))).unwrap_or_default()
}

/// The form, hidden until the script shows it (it does nothing without the script).
pub(super) fn form(h: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(h, "<form id=\"filters\" hidden><h2>Filters</h2><p>They act on the timeline, the times measured, the scenarios, the controls and the failures. <output id=\"shown\"></output></p>")?;
    write!(h, "<fieldset><legend>Outcome</legend>")?;
    for status in Status::ALL {
        write!(h, "<label><input type=\"checkbox\" name=\"outcome\" value=\"{}\" checked> {}</label> ", css_class(status), status.word())?;
    }
    write!(h, "</fieldset><fieldset><legend>Practice</legend><select name=\"practice\"><option value=\"\">every practice</option>")?;
    let practices: BTreeSet<&str> = report.verdicts.iter().map(|v| v.feature.as_str()).collect();
    for practice in practices {
        write!(h, "<option value=\"{0}\">{0}</option>", escape(practice))?;
    }
    write!(h, "</select></fieldset><fieldset><legend>Severity</legend>")?;
    for (value, label) in SEVERITIES {
        write!(h, "<label><input type=\"checkbox\" name=\"severity\" value=\"{value}\" checked> {label}</label> ")?;
    }
    writeln!(h, "</fieldset></form>")
}

/// Every scenario: practice, name, severity, controls, where and when it ran, and how it ended.
pub(super) fn scenario_table(h: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(h, "<h2>Scenarios</h2>\n<table id=\"scenarios\"><thead><tr><th>Practice</th><th>Scenario</th><th>Severity</th><th>Controls</th><th>Cluster</th><th>Start (s)</th><th>Seconds</th><th>Outcome</th></tr></thead><tbody>")?;
    for v in &report.verdicts {
        let controls = v.controls();
        let named: Vec<String> =
            controls.nist.iter().map(|c| c.to_string()).chain(controls.cis.iter().map(|c| format!("CIS {c}"))).collect();
        let started = v.started.map(|s| format!("{:.1}", s.as_secs_f64())).unwrap_or_else(|| "-".into());
        writeln!(
            h,
            "<tr {}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"secs\">{started}</td><td class=\"secs\">{:.1}</td><td class=\"{}\">{}</td></tr>",
            attributes(v),
            escape(&v.feature),
            escape(&v.scenario),
            v.severity().unwrap_or("-"),
            escape(&named.join(", ")),
            escape(v.cluster.as_deref().unwrap_or(super::timeline::NO_CLUSTER)),
            v.duration.as_secs_f64(),
            css_class(v.status()),
            v.status().word()
        )?;
    }
    writeln!(h, "</tbody></table>")
}

/// Shows the form, takes any filter the link carries
/// (`#outcome=failed,error&severity=critical&practice=Secure%20communication`)
/// and hides whatever the form leaves out.
pub(super) const SCRIPT: &str = r#"
(function () {
  var form = document.getElementById('filters');
  form.hidden = false;
  var given = new URLSearchParams(location.hash.slice(1));
  ['outcome', 'severity'].forEach(function (name) {
    if (!given.has(name)) return;
    var wanted = given.get(name).split(',');
    form.querySelectorAll('input[name=' + name + ']').forEach(function (box) { box.checked = wanted.indexOf(box.value) >= 0; });
  });
  if (given.has('practice')) form.elements.practice.value = given.get('practice');
  function checked(name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name=' + name + ']:checked'), function (box) { return box.value; });
  }
  function apply() {
    var outcomes = checked('outcome'), severities = checked('severity'), practice = form.elements.practice.value;
    document.querySelectorAll('[data-outcome]').forEach(function (el) {
      var shown = outcomes.indexOf(el.dataset.outcome) >= 0 && severities.indexOf(el.dataset.severity) >= 0 && (!practice || el.dataset.practice === practice);
      el.style.display = shown ? '' : 'none';
    });
    document.querySelectorAll('#controls tbody tr').forEach(function (row) {
      var left = Array.prototype.some.call(row.querySelectorAll('li'), function (li) { return li.style.display !== 'none'; });
      row.style.display = left ? '' : 'none';
    });
    var rows = document.querySelectorAll('#scenarios tbody tr');
    var shown = Array.prototype.filter.call(rows, function (row) { return row.style.display !== 'none'; }).length;
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' scenarios shown.';
  }
  form.addEventListener('change', apply);
  apply();
})();
"#;

#[cfg(test)]
mod tests {
    use crate::fixture;

    #[test]
    fn the_form_offers_every_outcome_practice_and_severity_and_stays_hidden_without_script() {
        let html = super::super::render(&fixture::every_status()).unwrap();
        assert!(html.contains("<form id=\"filters\" hidden>"));
        for value in ["passed", "failed", "waived", "na", "error", "undefined"] {
            assert!(html.contains(&format!("name=\"outcome\" value=\"{value}\" checked")), "{value}");
        }
        for value in ["critical", "high", "medium", "low", "none"] {
            assert!(html.contains(&format!("name=\"severity\" value=\"{value}\" checked")), "{value}");
        }
        assert!(html.contains("<option value=\"Secure communication\">Secure communication</option>"));
        assert!(html.contains("document.querySelectorAll('[data-outcome]')"));
    }

    #[test]
    fn every_scenario_is_a_plain_row_and_every_failure_a_plain_block() {
        let report = fixture::every_status();
        let html = super::super::render(&report).unwrap();
        let table = html.split("<table id=\"scenarios\">").nth(1).unwrap().split("</table>").next().unwrap();
        assert_eq!(table.matches("<tr data-outcome=").count(), report.verdicts.len());
        assert!(table.contains("<tr data-outcome=\"na\" data-practice=\"Secure communication\" data-severity=\"high\"><td>Secure communication</td><td>has nothing to judge</td><td>high</td>"), "{table}");
        assert!(html.contains("<div class=\"failure\" data-outcome=\"failed\""));
        // Nothing is hidden until a script hides it.
        assert!(!html.contains("display:none") && !html.contains("style=\"display"));
        assert!(!table.contains(" hidden"));
    }
}
