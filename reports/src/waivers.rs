//! Waivers: an accepted failure, with who accepted it, why, and until when.
//! A waived failure is reported as waived (never as passed) and does not fail
//! the run; an expired waiver fails the run; a waiver that matches nothing is
//! reported so that it can be removed.

use std::path::Path;

use pcmk_model::error::line_of;
use pcmk_model::error::InputError;
use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, Verdict};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    waiver: Vec<Spanned<Entry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    scenario: Option<String>,
    tag: Option<String>,
    justification: String,
    owner: String,
    expires: toml::value::Datetime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A scenario by its exact name.
    Scenario(String),
    /// Every scenario with this tag (without `@`).
    Tag(String),
}

#[derive(Debug, Clone)]
pub struct Waiver {
    pub target: Target,
    pub justification: String,
    pub owner: String,
    pub expires: time::Date,
    /// `waivers.toml line N`, for messages.
    pub place: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Scenario(name) => write!(f, "scenario \"{name}\""),
            Target::Tag(tag) => write!(f, "tag @{tag}"),
        }
    }
}

/// Reads a waivers file; every mistake names the file and line.
pub fn load(path: &Path) -> Result<Vec<Waiver>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| InputError::new(path, None, format!("cannot read waivers: {e}")))?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<Vec<Waiver>, InputError> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        InputError::new(path, line, e.message().to_string())
    })?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    file.waiver
        .into_iter()
        .map(|spanned| {
            let line = line_of(text, spanned.span().start);
            let bad = |msg: &str| InputError::new(path, Some(line), msg.to_string());
            let entry = spanned.into_inner();
            let target = match (entry.scenario, entry.tag) {
                (Some(s), None) if !s.trim().is_empty() => Target::Scenario(s),
                (None, Some(t)) if !t.trim_start_matches('@').is_empty() => Target::Tag(t.trim_start_matches('@').to_string()),
                _ => return Err(bad("a waiver names exactly one of `scenario` or `tag`")),
            };
            if entry.justification.trim().is_empty() || entry.owner.trim().is_empty() {
                return Err(bad("a waiver needs a justification and an owner"));
            }
            let date = match (entry.expires.date, entry.expires.time) {
                (Some(d), None) => d,
                _ => return Err(bad("`expires` is a date, e.g. 2027-03-31")),
            };
            let month = time::Month::try_from(date.month).map_err(|_| bad("`expires` is not a valid date"))?;
            let expires =
                time::Date::from_calendar_date(i32::from(date.year), month, date.day).map_err(|_| bad("`expires` is not a valid date"))?;
            Ok(Waiver { target, justification: entry.justification, owner: entry.owner, expires, place: format!("{name} line {line}") })
        })
        .collect()
}

/// Today's date (UTC), the clock waivers expire by.
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

impl Waiver {
    pub fn matches(&self, verdict: &Verdict) -> bool {
        match &self.target {
            Target::Scenario(name) => &verdict.scenario == name,
            Target::Tag(tag) => verdict.has_tag(tag),
        }
    }

    fn describe(&self) -> String {
        format!("{} (owner {}, until {}; {})", self.justification, self.owner, self.expires, self.place)
    }
}

/// What waives a failing verdict today, if anything: the first waiver that
/// matches it and has not expired. A waiver is valid through its expiry date.
pub fn waiver_for(waivers: &[Waiver], today: time::Date, verdict: &Verdict) -> Option<String> {
    if verdict.outcome != Outcome::Failed {
        return None;
    }
    waivers.iter().find(|w| today <= w.expires && w.matches(verdict)).map(Waiver::describe)
}

/// Marks failures the waivers cover; records expired and unused waivers in the report.
pub fn apply(report: &mut Report, waivers: &[Waiver], today: time::Date) {
    for verdict in &mut report.verdicts {
        verdict.waived_by = waiver_for(waivers, today, verdict);
    }
    for waiver in waivers {
        if today > waiver.expires {
            report.expired_waivers.push(format!(
                "{}: the waiver for {} (owner {}) expired on {}; fix the failure or renew the waiver",
                waiver.place, waiver.target, waiver.owner, waiver.expires
            ));
            continue;
        }
        let matched: Vec<&Verdict> = report.verdicts.iter().filter(|v| waiver.matches(v)).collect();
        if matched.is_empty() {
            report.unused_waivers.push(format!("{}: the waiver for {} matches no scenario in this run", waiver.place, waiver.target));
        } else if matched.iter().all(|v| v.outcome != Outcome::Failed) {
            report
                .unused_waivers
                .push(format!("{}: the waiver for {} matches only passing scenarios; it can go", waiver.place, waiver.target));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use time::macros::date;

    const WAIVERS: &str = r#"
# knet migration is scheduled
[[waiver]]
scenario = "Corosync runs on the knet transport"
justification = "udpu until the March maintenance window"
owner = "ops@example.com"
expires = 2026-12-31

[[waiver]]
tag = "@patching"
justification = "nothing"
owner = "sec@example.com"
expires = 2027-01-01
"#;

    #[test]
    fn a_waived_failure_is_waived_not_passed_and_the_run_passes() {
        let mut report = fixture::report();
        let waivers = parse(Path::new("waivers.toml"), WAIVERS).unwrap();
        assert_eq!(report.exit_code(), 1);
        apply(&mut report, &waivers, date!(2026 - 12 - 31));
        let knet = &report.verdicts[0];
        assert_eq!(knet.outcome, Outcome::Failed);
        assert!(knet.waived_by.as_deref().unwrap().contains("ops@example.com"));
        assert_eq!(crate::status_word(knet), "waived");
        assert_eq!(report.exit_code(), 0);
        assert!(report.expired_waivers.is_empty());
        assert_eq!(
            report.unused_waivers,
            vec!["waivers.toml line 9: the waiver for tag @patching matches no scenario in this run".to_string()]
        );
    }

    #[test]
    fn an_expired_waiver_waives_nothing_and_fails_the_run() {
        let mut report = fixture::report();
        let waivers = parse(Path::new("waivers.toml"), WAIVERS).unwrap();
        apply(&mut report, &waivers, date!(2027 - 01 - 01));
        assert!(report.verdicts[0].waived_by.is_none());
        assert_eq!(report.expired_waivers.len(), 1);
        assert!(
            report.expired_waivers[0].starts_with("waivers.toml line 3: the waiver for scenario \"Corosync runs on the knet transport\""),
            "{:?}",
            report.expired_waivers
        );
        assert!(report.expired_waivers[0].contains("expired on 2026-12-31"));
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn an_expired_waiver_fails_the_run_even_when_everything_passes() {
        let mut report = fixture::report();
        report.verdicts.remove(0);
        assert_eq!(report.exit_code(), 0);
        apply(&mut report, &parse(Path::new("w.toml"), WAIVERS).unwrap(), date!(2027 - 06 - 01));
        assert_eq!(report.exit_code(), 1);
    }

    #[test]
    fn a_waiver_on_a_passing_scenario_is_reported() {
        let mut report = fixture::report();
        let waivers = parse(
            Path::new("w.toml"),
            "[[waiver]]\nscenario = \"No inline key\"\njustification = \"j\"\nowner = \"o\"\nexpires = 2030-01-01\n",
        )
        .unwrap();
        apply(&mut report, &waivers, date!(2026 - 11 - 24));
        assert_eq!(
            report.unused_waivers,
            vec!["w.toml line 1: the waiver for scenario \"No inline key\" matches only passing scenarios; it can go".to_string()]
        );
    }

    #[test]
    fn bad_waivers_name_the_file_and_line() {
        let cases = [
            ("[[waiver]]\nscenario = \"x\"\ntag = \"y\"\njustification = \"j\"\nowner = \"o\"\nexpires = 2030-01-01\n", 1, "exactly one"),
            ("[[waiver]]\nscenario = \"x\"\njustification = \"\"\nowner = \"o\"\nexpires = 2030-01-01\n", 1, "justification"),
            ("[[waiver]]\nscenario = \"x\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"soon\"\n", 5, ""),
            ("[[waiver]]\nscenario = \"x\"\njustification = \"j\"\nowner = \"o\"\nexpires = 2030-01-01T10:00:00Z\n", 1, "is a date"),
            ("[[waiver]]\nscenario = \"x\"\njustification = \"j\"\nowner = \"o\"\n", 1, "expires"),
            ("[[waiver]]\nscenario = \"x\"\nreason = \"j\"\n", 3, "unknown field"),
            ("[[waiver]\n", 1, ""),
        ];
        for (text, line, words) in cases {
            let err = parse(Path::new("waivers.toml"), text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("waivers.toml:{line}:")), "{text:?} gave {err}");
            assert!(err.contains(words), "{text:?} gave {err}");
        }
    }
}
