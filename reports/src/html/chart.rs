//! Failover and fencing times as bars, each beside corosync's floor (token +
//! consensus: no node can react to a fault sooner) and the scenario's
//! service level (the bound its step asserts), then every figure the run
//! measured as a table.

use std::fmt::Write as _;
use std::time::Duration;

use pcmk_model::measurement::{Kind, Measurement};
use pcmk_model::report::Report;

use super::palette;
use super::scale::Scale;
use super::{escape, filters};

const LEFT: f64 = 350.0;
const WIDTH: f64 = 560.0;
const ROW: f64 = 24.0;
/// Labels longer than this are cut; the bar's tooltip has all of it.
const LABEL_CHARS: usize = 48;

fn seconds(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// What the chart draws: figures timed from a fault.
fn charted(report: &Report) -> Vec<&Measurement> {
    report.measurements.iter().filter(|m| m.kind.after_a_fault() && m.took.is_some()).collect()
}

fn label(m: &Measurement) -> String {
    let text = format!("{}: {}", m.kind.word(), m.scenario.as_deref().unwrap_or(&m.what));
    match text.char_indices().nth(LABEL_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

pub(super) fn section(h: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(h, "<h2>Failover and fencing times</h2>")?;
    let rows = charted(report);
    if rows.is_empty() {
        writeln!(
            h,
            "<p>No failover or fencing was timed in this run (<code>run</code> times them in the <code>@destructive</code> scenarios).</p>"
        )?;
    } else {
        draw(h, report, &rows)?;
    }
    table(h, report)
}

fn draw(h: &mut String, report: &Report, rows: &[&Measurement]) -> std::fmt::Result {
    let longest = rows.iter().flat_map(|m| [m.took, m.floor, m.slo]).flatten().max().unwrap_or_default();
    // A margin past the longest, so that a bound there is not drawn on the edge.
    let scale = Scale::new(LEFT, WIDTH, longest.as_secs_f64() * 1.08);
    let height = ROW * rows.len() as f64;
    writeln!(
        h,
        "<svg id=\"failover-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" shape-rendering=\"crispEdges\" font-size=\"12\" role=\"img\" aria-label=\"Failover and fencing times beside corosync's floor and the service level\">",
        LEFT + WIDTH + 70.0,
        height + 24.0
    )?;
    for (index, m) in rows.iter().enumerate() {
        let top = ROW * index as f64;
        let took = seconds(m.took).unwrap_or_default();
        let fill = if m.kind == Kind::Fencing { palette::CHART_FENCING } else { palette::CHART_FAILOVER };
        let (x, width) = scale.span(0.0, took);
        write!(
            h,
            "<g{}><text x=\"4\" y=\"{}\">{}</text>",
            filters::attributes_of(report, m.scenario.as_deref()),
            top + 16.0,
            escape(&label(m))
        )?;
        write!(
            h,
            "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"14\" fill=\"{fill}\"><title>{}</title></rect>",
            top + 5.0,
            escape(&m.what)
        )?;
        // Past the floor's mark when the bar ends under it.
        let floor_mark = seconds(m.floor).map(|f| scale.x(f) + 2.0).unwrap_or_default();
        write!(h, "<text x=\"{}\" y=\"{}\" font-size=\"11\">{took:.2} s</text>", (x + width).max(floor_mark) + 4.0, top + 16.0)?;
        for (bound, colour, what) in
            [(m.floor, palette::CHART_FLOOR, "corosync token + consensus"), (m.slo, palette::CHART_SLO, "service level")]
        {
            if let Some(bound) = seconds(bound) {
                write!(
                    h,
                    "<rect x=\"{}\" y=\"{}\" width=\"3\" height=\"{}\" fill=\"{colour}\"><title>{what}: {bound:.2} s</title></rect>",
                    scale.x(bound) - 1.0,
                    top + 1.0,
                    ROW - 2.0
                )?;
            }
        }
        writeln!(h, "</g>")?;
    }
    writeln!(h, "{}</svg>", scale.axis(height + 2.0))?;
    let legend = [
        (palette::CHART_FAILOVER, "failover, recovery, availability, stop without quorum"),
        (palette::CHART_FENCING, "fencing"),
        (palette::CHART_FLOOR, "corosync's floor (token + consensus)"),
        (palette::CHART_SLO, "the scenario's service level"),
    ];
    let swatches: String =
        legend.iter().map(|(colour, what)| format!("<span class=\"swatch\" style=\"background:{colour}\"></span>{what}")).collect();
    writeln!(h, "<p class=\"legend\">{swatches}</p>")
}

/// Every figure, charted or not, in words and numbers.
fn table(h: &mut String, report: &Report) -> std::fmt::Result {
    if report.measurements.is_empty() {
        return Ok(());
    }
    let cell = |d: Option<Duration>| seconds(d).map(|s| format!("{s:.2}")).unwrap_or_else(|| "-".into());
    writeln!(h, "<table id=\"measured\"><thead><tr><th>Measured</th><th>Seconds</th><th>Corosync floor</th><th>Service level</th></tr></thead><tbody>")?;
    for m in &report.measurements {
        let class = match m.within_slo() {
            Some(true) => " class=\"passed\"",
            Some(false) => " class=\"failed\"",
            None => "",
        };
        let attributes = filters::attributes_of(report, m.scenario.as_deref());
        writeln!(
            h,
            "<tr{attributes}><td>{}</td><td{class}>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.what),
            cell(m.took),
            cell(m.floor),
            cell(m.slo)
        )?;
    }
    writeln!(h, "</tbody></table>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    fn measured(kind: Kind, scenario: &str, took: u64, floor: Option<u64>, slo: Option<u64>) -> Measurement {
        let ms = Duration::from_millis;
        Measurement::new(kind, format!("{} in <{scenario}>", kind.word()))
            .took(ms(took))
            .floor(floor.map(ms))
            .slo(slo.map(ms))
            .scenario(Some(scenario.to_string()))
    }

    #[test]
    fn bars_and_bounds_share_one_scale() {
        let mut report = fixture::report();
        report.measurements = vec![
            measured(Kind::Failover, "No inline key", 9_000, Some(3_000), Some(25_000)),
            measured(Kind::Fencing, "A killed node's resource moves", 4_500, Some(3_000), Some(25_000)),
            Measurement::new(Kind::UpgradeStep, "rolling upgrade step 1").took(Duration::from_secs(80)),
        ];
        let mut html = String::new();
        section(&mut html, &report).unwrap();
        // 25 s × 1.08 = 27 s over 560 px: 9 s is 187 px (rounded from 186.7), 4.5 s 93 px.
        assert!(
            html.contains(&format!(
                "<rect x=\"350\" y=\"5\" width=\"187\" height=\"14\" fill=\"{}\"><title>failover in &lt;No inline key&gt;",
                palette::CHART_FAILOVER
            )),
            "{html}"
        );
        assert!(
            html.contains(&format!("<rect x=\"350\" y=\"29\" width=\"93\" height=\"14\" fill=\"{}\">", palette::CHART_FENCING)),
            "{html}"
        );
        // The floor at 3 s (x 412) and the service level at 25 s (x 869), three pixels wide.
        assert!(html.contains(&format!("<rect x=\"411\" y=\"1\" width=\"3\" height=\"22\" fill=\"{}\">", palette::CHART_FLOOR)), "{html}");
        assert!(html.contains(&format!("<rect x=\"868\" y=\"1\" width=\"3\" height=\"22\" fill=\"{}\">", palette::CHART_SLO)), "{html}");
        assert_eq!(html.matches("<g").count(), 2, "an upgrade step is not timed from a fault");
        // A figure follows the filters of its scenario.
        assert!(html.contains("<g data-outcome=\"passed\" data-practice=\"Secure communication\" data-severity=\"high\"><text"), "{html}");
        assert!(html.contains("<tr data-outcome=\"passed\" data-practice=\"Secure communication\" data-severity=\"high\"><td>failover in &lt;No inline key&gt;</td>"), "{html}");
        assert!(html.contains("<td>rolling upgrade step 1</td><td>80.00</td><td>-</td><td>-</td>"), "but it is in the table");
        assert!(html.contains("<td class=\"passed\">9.00</td><td>3.00</td><td>25.00</td>"));
        assert!(
            html.contains("<g><text x=\"4\" y=\"40\">fencing: A killed node&#39;s resource moves</text>"),
            "labels are escaped: {html}"
        );
    }

    #[test]
    fn a_run_without_figures_says_so() {
        let mut html = String::new();
        section(&mut html, &fixture::report()).unwrap();
        assert!(!html.contains("<svg") && !html.contains("<table") && html.contains("No failover or fencing was timed"), "{html}");
    }
}
