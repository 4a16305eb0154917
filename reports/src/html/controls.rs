//! The scenarios grouped by the controls they are evidence for: NIST SP
//! 800-53 rev. 5 controls and CIS Controls v8 safeguards, from their tags
//! (`Verdict::controls`). An auditor reads the report by control.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pcmk_model::report::Report;
use pcmk_model::verdict::Verdict;

use super::{css_class, escape, filters, worst};

/// A part of an identifier, so that `SC-12` sorts after `SC-8` and `3.10` after `3.9`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part<'a> {
    Number(u64),
    Text(&'a str),
}

fn natural(id: &str) -> Vec<Part<'_>> {
    let mut parts = Vec::new();
    let mut rest = id;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
        let (part, tail) = rest.split_at(end);
        parts.push(match part.parse() {
            Ok(n) if digits => Part::Number(n),
            _ => Part::Text(part),
        });
        rest = tail;
    }
    parts
}

/// Controls in natural order (framework rank, then the id's parts), each with its name and scenarios.
type ByControl<'a> = BTreeMap<(u8, Vec<Part<'a>>), (String, Vec<&'a Verdict>)>;

/// Each control named by a scenario, NIST first, in natural order, with its scenarios.
fn by_control(report: &Report) -> ByControl<'_> {
    let mut controls: ByControl = BTreeMap::new();
    for v in &report.verdicts {
        let named = v.controls();
        let nist = named.nist.into_iter().map(|c| (0, c, format!("NIST SP 800-53 {c}")));
        let cis = named.cis.into_iter().map(|c| (1, c, format!("CIS Controls v8 {c}")));
        for (framework, id, title) in nist.chain(cis) {
            controls.entry((framework, natural(id))).or_insert_with(|| (title, Vec::new())).1.push(v);
        }
    }
    controls
}

pub(super) fn section(h: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(h, "<h2>By control</h2>")?;
    let controls = by_control(report);
    if controls.is_empty() {
        return writeln!(h, "<p>No scenario names a control (tags such as <code>@SC-8</code> or <code>@CIS-3.10</code>).</p>");
    }
    writeln!(h, "<table id=\"controls\"><thead><tr><th>Control</th><th>Scenarios</th><th>Status</th></tr></thead><tbody>")?;
    for (title, verdicts) in controls.values() {
        let status = worst(verdicts);
        write!(h, "<tr><td>{}</td><td><ul class=\"plain\">", escape(title))?;
        for v in verdicts {
            write!(
                h,
                "<li {}><span class=\"{}\">{}</span> {} » {}</li>",
                filters::attributes(v),
                css_class(v.status()),
                v.status().word(),
                escape(&v.feature),
                escape(&v.scenario)
            )?;
        }
        writeln!(h, "</ul></td><td class=\"{}\">{}</td></tr>", css_class(status), status.word())?;
    }
    writeln!(h, "</tbody></table>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn controls_list_their_scenarios_in_natural_order_nist_first() {
        let mut report = fixture::report();
        report.verdicts[0].tags.extend(["SC-8", "SC-12", "CIS-3.10"].map(String::from));
        report.verdicts[1].tags.extend(["SC-8", "CIS-3.9", "CIS-3.10"].map(String::from));
        let mut html = String::new();
        section(&mut html, &report).unwrap();
        let titles: Vec<&str> = html.lines().filter_map(|l| l.strip_prefix("<tr><td>")).map(|l| l.split("</td>").next().unwrap()).collect();
        assert_eq!(titles, ["NIST SP 800-53 SC-8", "NIST SP 800-53 SC-12", "CIS Controls v8 3.9", "CIS Controls v8 3.10"]);
        let sc8 = html.lines().find(|l| l.starts_with("<tr><td>NIST SP 800-53 SC-8<")).unwrap();
        assert!(
            sc8.contains("<span class=\"failed\">failed</span> Secure communication » Corosync runs on the knet transport</li>"),
            "{sc8}"
        );
        assert!(sc8.contains("<span class=\"passed\">passed</span> Secure communication » No inline key</li>"), "{sc8}");
        assert!(sc8.ends_with("<td class=\"failed\">failed</td></tr>"), "the worst outcome names the control: {sc8}");
    }

    #[test]
    fn identifiers_sort_as_numbers() {
        assert!(natural("AC-3") < natural("AC-17"));
        assert!(natural("3.9") < natural("3.10"));
    }
}
