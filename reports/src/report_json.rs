//! The whole report as pcmk-comply's own JSON, for programs: every verdict
//! with its outcome and findings, the measurements, the phases, the exit
//! code. It is `model::report::Report` serialised as it is, so a reader gets
//! the same data every other writer had, never figures read back from text.

use std::path::Path;

use anyhow::Context;
use pcmk_model::error::InputError;
use pcmk_model::report::Report;
use serde::{Deserialize, Serialize};

/// Names the format, so a reader can tell it from Cucumber JSON.
pub const FORMAT: &str = "pcmk-comply report";
/// Raised when a field changes meaning or goes; adding one keeps it.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope<R> {
    format: String,
    version: u32,
    /// As the run exited: 0, 1 or 2.
    exit_code: u8,
    /// `3 passed, 1 failed, …`, as the console's summary line.
    summary: String,
    report: R,
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let envelope = Envelope {
        format: FORMAT.into(),
        version: VERSION,
        exit_code: report.exit_code(),
        summary: pcmk_model::verdict::summary(&report.verdicts),
        report,
    };
    Ok(serde_json::to_string_pretty(&envelope)?)
}

/// A report written by `render`; anything else is bad input naming the file and line.
pub fn read(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> anyhow::Result<Report> {
    let not_ours = |e: serde_json::Error| InputError::new(path, Some(e.line()), format!("not a pcmk-comply JSON report: {e}"));
    // The format and version first, so a newer report is named as such rather than as a missing field.
    let value: serde_json::Value = serde_json::from_str(text).map_err(not_ours)?;
    let (format, version) = (value["format"].as_str().unwrap_or_default(), value["version"].as_u64().unwrap_or_default());
    if format != FORMAT || version != u64::from(VERSION) {
        return Err(InputError::new(
            path,
            None,
            format!("a `{format}` version {version} report; this pcmk-comply reads `{FORMAT}` version {VERSION}"),
        )
        .into());
    }
    let envelope: Envelope<Report> =
        serde_json::from_value(value).map_err(|e| InputError::new(path, None, format!("not a pcmk-comply JSON report: {e}")))?;
    Ok(envelope.report)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pcmk_model::finding::{Finding, Place, Subject};
    use pcmk_model::measurement::{Kind, Measurement};

    use super::*;
    use crate::fixture;

    #[test]
    fn a_report_survives_a_round_trip_with_its_figures() {
        let mut report = fixture::report();
        report.info.phases.push(("cluster start 2×".into(), Duration::from_millis(20_500)));
        report
            .measurements
            .push(Measurement::new(Kind::Failover, "failover of web").took(Duration::from_secs(9)).floor(Duration::from_millis(3650)));
        report.verdicts[0].findings.push(
            Finding::new(Subject::Candidate, "corosync.conf line 4 sets transport udpu").at(Place::new("/etc/corosync/corosync.conf", 4)),
        );
        report.artifacts.insert("restored configuration".into(), "<nvpair name=\"password\" value=\"hunter2\"/>".into());
        let text = render(&report).unwrap();
        assert!(!text.contains("hunter2"), "what a scenario left for the tests holds the candidate's values: never in a report");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["exit_code"], 1);
        assert_eq!(value["report"]["info"]["phases"][0]["seconds"], 20.5);
        assert_eq!(value["report"]["measurements"][0]["floor"], 3.65);
        assert_eq!(value["report"]["verdicts"][0]["outcome"], "failed");
        assert_eq!(value["report"]["verdicts"][0]["findings"][0]["place"]["line"], 4);
        let back = parse(Path::new("r.json"), &text).unwrap();
        assert_eq!(back.info.phases, report.info.phases);
        assert_eq!(back.measurements, report.measurements);
        assert_eq!(back.verdicts[0].findings, report.verdicts[0].findings);
        assert_eq!(back.exit_code(), report.exit_code());
    }

    #[test]
    fn anything_else_is_bad_input_naming_the_file() {
        let cucumber = crate::cucumber_json::render(&fixture::report()).unwrap();
        let error = parse(Path::new("shard.json"), &cucumber).unwrap_err();
        assert!(error.downcast_ref::<InputError>().is_some(), "{error:#}");
        assert!(error.to_string().contains("shard.json"), "{error:#}");
        let other = r#"{"format":"pcmk-comply report","version":99,"exit_code":0,"summary":"","report":{}}"#;
        let newer = parse(Path::new("new.json"), other).unwrap_err().to_string();
        assert!(newer.contains("version 99"), "{newer}");
    }
}
