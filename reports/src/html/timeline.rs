//! The run as a timeline: a lane per cluster (the shared one, each
//! scenario's own, and one for scenarios that used none), each scenario a
//! bar from its start for its duration, coloured by outcome, and each
//! cluster's bring-up a band along the top of its lane. Scenarios that ran
//! at once on the same cluster take rows of their own within its lane.

use std::fmt::Write as _;

use pcmk_model::report::{ClusterStart, Report, SHARED_LANE};
use pcmk_model::verdict::{Status, Verdict};

use super::palette;
use super::scale::Scale;
use super::{escape, filters};

/// The lane of scenarios that used no cluster (all of them in `lint`).
pub(super) const NO_CLUSTER: &str = "no cluster";

const LEFT: f64 = 170.0;
const WIDTH: f64 = 780.0;
/// Room for the cluster start band above a lane's rows.
const BAND: f64 = 10.0;
const ROW: f64 = 16.0;
const BAR: f64 = 12.0;

fn colour(status: Status) -> &'static str {
    match status {
        Status::Passed => palette::LANE_PASSED,
        Status::Failed => palette::LANE_FAILED,
        Status::Waived => palette::LANE_WAIVED,
        Status::NotApplicable => palette::LANE_NOT_APPLICABLE,
        Status::InfraError | Status::Undefined => palette::LANE_ERROR,
    }
}

fn seconds(d: std::time::Duration) -> f64 {
    d.as_secs_f64()
}

/// One cluster's lane: its bring-ups and its scenarios, packed into rows that do not overlap.
struct Lane<'a> {
    name: &'a str,
    starts: Vec<&'a ClusterStart>,
    rows: Vec<Vec<&'a Verdict>>,
}

impl Lane<'_> {
    fn height(&self) -> f64 {
        BAND + ROW * self.rows.len().max(1) as f64 + 4.0
    }
}

/// Lanes in the order a reader follows the run: the shared cluster, the
/// others by when they began, then the scenarios that used none.
fn lanes(report: &Report) -> Vec<Lane<'_>> {
    let mut placed: Vec<&Verdict> = report.verdicts.iter().filter(|v| v.started.is_some()).collect();
    placed.sort_by_key(|v| v.started);
    let mut lanes: Vec<(std::time::Duration, Lane)> = Vec::new();
    let names = report
        .info
        .cluster_starts
        .iter()
        .map(|c| (c.at, c.lane.as_str()))
        .chain(placed.iter().map(|v| (v.started.unwrap_or_default(), v.cluster.as_deref().unwrap_or(NO_CLUSTER))));
    for (at, name) in names {
        match lanes.iter_mut().find(|(_, lane)| lane.name == name) {
            Some((first, _)) => *first = (*first).min(at),
            None => lanes.push((at, Lane { name, starts: Vec::new(), rows: Vec::new() })),
        }
    }
    lanes.sort_by_key(|(first, lane)| (lane.name != SHARED_LANE, lane.name == NO_CLUSTER, *first));
    let mut lanes: Vec<Lane> = lanes.into_iter().map(|(_, lane)| lane).collect();
    for lane in &mut lanes {
        lane.starts = report.info.cluster_starts.iter().filter(|c| c.lane == lane.name).collect();
        lane.rows = pack(placed.iter().copied().filter(|v| v.cluster.as_deref().unwrap_or(NO_CLUSTER) == lane.name));
    }
    lanes
}

/// Each scenario, in order of start, into the first row free by then.
fn pack<'a>(by_start: impl Iterator<Item = &'a Verdict>) -> Vec<Vec<&'a Verdict>> {
    let mut rows: Vec<Vec<&Verdict>> = Vec::new();
    for v in by_start {
        let start = v.started.unwrap_or_default();
        let free = rows.iter_mut().find(|row| row.last().is_some_and(|last| last.started.unwrap_or_default() + last.duration <= start));
        match free {
            Some(row) => row.push(v),
            None => rows.push(vec![v]),
        }
    }
    rows
}

pub(super) fn section(h: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(h, "<h2>Timeline</h2>")?;
    let lanes = lanes(report);
    if lanes.iter().all(|lane| lane.rows.is_empty()) {
        return writeln!(
            h,
            "<p>No timeline: these results carry no start times (the Cucumber JSON that <code>merge</code> reads keeps none).</p>"
        );
    }
    let scale = Scale::new(LEFT, WIDTH, seconds(report.end()));
    let height: f64 = lanes.iter().map(Lane::height).sum();
    writeln!(
        h,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" shape-rendering=\"crispEdges\" font-size=\"12\" role=\"img\" aria-label=\"Each scenario on the cluster it ran on, from its start for its duration\">",
        LEFT + WIDTH + 30.0,
        height + 24.0
    )?;
    let mut top = 0.0;
    for lane in &lanes {
        draw_lane(h, lane, top, &scale)?;
        top += lane.height();
    }
    writeln!(h, "{}</svg>", scale.axis(top + 2.0))?;
    let statuses = [
        (Status::Passed, "passed"),
        (Status::Failed, "failed"),
        (Status::Waived, "waived"),
        (Status::NotApplicable, "not applicable"),
        (Status::InfraError, "error or undefined"),
    ];
    let swatches: String =
        statuses.iter().map(|(s, label)| format!("<span class=\"swatch\" style=\"background:{}\"></span>{label}", colour(*s))).collect();
    writeln!(
        h,
        "<p class=\"legend\">{swatches}<span class=\"swatch\" style=\"background:{}\"></span>cluster starting</p>",
        palette::CLUSTER_START
    )
}

fn draw_lane(h: &mut String, lane: &Lane, top: f64, scale: &Scale) -> std::fmt::Result {
    let bottom = top + lane.height();
    writeln!(
        h,
        "<g class=\"lane\"><line x1=\"0\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{}\">{}</text>",
        LEFT + WIDTH,
        top + BAND + BAR,
        escape(lane.name)
    )?;
    for start in &lane.starts {
        let (x, width) = scale.span(seconds(start.at), seconds(start.at + start.took));
        let title = format!("{} started in {:.1}s, {:.1}s into the run", start.lane, seconds(start.took), seconds(start.at));
        writeln!(
            h,
            "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"6\" fill=\"{}\"><title>{}</title></rect>",
            top + 2.0,
            palette::CLUSTER_START,
            escape(&title)
        )?;
    }
    for (index, row) in lane.rows.iter().enumerate() {
        let y = top + BAND + ROW * index as f64;
        for v in row {
            let start = seconds(v.started.unwrap_or_default());
            let (x, width) = scale.span(start, start + seconds(v.duration));
            let title =
                format!("{} » {}: {}, {:.1}s to {:.1}s", v.feature, v.scenario, v.status().word(), start, start + seconds(v.duration));
            writeln!(
                h,
                "<rect {} x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{BAR}\" fill=\"{}\"><title>{}</title></rect>",
                filters::attributes(v),
                colour(v.status()),
                escape(&title)
            )?;
        }
    }
    writeln!(h, "</g>")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fixture;

    fn placed(name: &str, lane: Option<&str>, start: u64, seconds: u64) -> Verdict {
        let mut v = fixture::verdict("Failover and fencing", name, 10, &["failover", "critical"], None);
        v.started = Some(Duration::from_secs(start));
        v.duration = Duration::from_secs(seconds);
        v.cluster = lane.map(str::to_string);
        v
    }

    fn report() -> Report {
        let mut report = fixture::report();
        report.verdicts = vec![
            placed("a", Some("shared cluster"), 10, 20),
            placed("b", Some("shared cluster"), 20, 10),
            placed("c", Some("own cluster 1"), 5, 50),
            placed("d <x>", None, 0, 1),
        ];
        report.verdicts[1].outcome = pcmk_model::verdict::Outcome::Failed;
        report.info.cluster_starts = vec![
            ClusterStart { lane: "shared cluster".into(), at: Duration::ZERO, took: Duration::from_secs(10) },
            ClusterStart { lane: "own cluster 1".into(), at: Duration::from_secs(5), took: Duration::from_secs(15) },
        ];
        report
    }

    #[test]
    fn bars_sit_on_their_lanes_from_their_start_for_their_duration() {
        let mut html = String::new();
        section(&mut html, &report()).unwrap();
        // 55 s over 780 px from x = 170, edges rounded: 10 s starts at 312, 30 s at 595.
        let bar = |name: &str| html.lines().find(|l| l.contains(&format!("<title>Failover and fencing » {name}:"))).unwrap().to_string();
        assert!(
            bar("a").contains(&format!("x=\"312\" y=\"{BAND}\" width=\"283\" height=\"12\" fill=\"{}\"", palette::LANE_PASSED)),
            "{}",
            bar("a")
        );
        // b overlaps a on the shared cluster: the next row, in the colour of a failure.
        assert!(
            bar("b").contains(&format!("x=\"454\" y=\"{}\" width=\"141\" height=\"12\" fill=\"{}\"", BAND + ROW, palette::LANE_FAILED)),
            "{}",
            bar("b")
        );
        // The shared lane is two rows high; the own cluster's lane follows it.
        let own_top = BAND + 2.0 * ROW + 4.0;
        assert!(bar("c").contains(&format!("x=\"241\" y=\"{}\" width=\"709\"", own_top + BAND)), "{}", bar("c"));
        assert!(html.contains(&format!("<rect x=\"241\" y=\"{}\" width=\"213\" height=\"6\" fill=\"{}\"><title>own cluster 1 started in 15.0s, 5.0s into the run</title>", own_top + 2.0, palette::CLUSTER_START)), "{html}");
        let order: Vec<&str> = html
            .lines()
            .filter_map(|l| l.split("<text x=\"4\" y=\"").nth(1))
            .map(|t| t.split('>').nth(1).unwrap().trim_end_matches("</text"))
            .collect();
        assert_eq!(order, ["shared cluster", "own cluster 1", "no cluster"]);
        assert!(html.contains("Failover and fencing » d &lt;x&gt;: passed"), "titles are escaped");
        assert!(html.contains("data-outcome=\"failed\" data-practice=\"Failover and fencing\" data-severity=\"critical\" x=\"454\""));
    }

    #[test]
    fn results_without_start_times_say_so_instead_of_drawing() {
        let mut html = String::new();
        section(&mut html, &fixture::report()).unwrap();
        assert!(!html.contains("<svg") && html.contains("No timeline"), "{html}");
    }
}
