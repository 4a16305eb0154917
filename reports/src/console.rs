//! The console, a writer like the others: each verdict's block as the
//! scenario ends, and the closing lines (errors said once, notes, figures,
//! phases, the summary). Colours follow `--color auto|always|never` and
//! `NO_COLOR` (<https://no-color.org>: present and not empty, it turns colour
//! off unless the command line asks for it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pcmk_model::guidance::Guidance;
use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, Status, Verdict};

static COLOR: AtomicBool = AtomicBool::new(false);

/// `--color`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<ColorChoice, String> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            other => Err(format!("`{other}` is not a colour choice: auto, always or never")),
        }
    }
}

/// Whether to colour: the command line first, then `NO_COLOR`, then whether stdout is a terminal.
pub fn wanted(choice: ColorChoice, no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

pub fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// A status word in its colour, when colour is on.
pub fn paint(status: Status, text: &str) -> String {
    let code = match status {
        Status::Passed => "32",
        Status::Failed => "1;31",
        Status::Waived => "33",
        Status::NotApplicable => "2",
        Status::InfraError | Status::Undefined => "1;35",
    };
    if color() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The mark, padded before painting so escape codes do not count towards the width.
fn mark(status: Status) -> String {
    paint(status, &format!("{:<9}", status.mark()))
}

/// A verdict as the console shows it when its scenario ends: the mark and
/// name, then for a failure its step, reason and remediation, and any waiver.
pub fn verdict_block(verdict: &Verdict) -> String {
    let mut out = format!("{} {} » {}\n", mark(verdict.status()), verdict.feature, verdict.scenario);
    if let Some(reason) = &verdict.reason {
        // A scenario not applicable for what its steps could not judge names no one step.
        if let Some(step) = &verdict.failed_step {
            out.push_str(&format!("          step: {step}\n"));
        }
        for line in reason.lines() {
            out.push_str(&format!("          {line}\n"));
        }
        if let (Outcome::Failed, Some(fix)) = (verdict.outcome, Guidance::from_description(verdict.description.as_deref()).remediation) {
            out.push_str(&format!("          remediation: {fix}\n"));
        }
    }
    if let Some(waiver) = &verdict.waived_by {
        out.push_str(&format!("          waived: {waiver}\n"));
    }
    out
}

/// A scenario stopped by an infrastructure error the console already showed in full.
pub fn stopped_line(verdict: &Verdict) -> String {
    format!("{} {} » {} (not run: the infrastructure error above)\n", mark(verdict.status()), verdict.feature, verdict.scenario)
}

/// Prints each verdict as its scenario ends: its block, or one line for a
/// scenario stopped by an infrastructure error already shown in full (the
/// same harness fault stops many scenarios: its diagnosis once).
pub fn shown_as_they_end() -> std::sync::Arc<dyn Fn(&Verdict) + Send + Sync> {
    let shown_errors = std::sync::Mutex::new(std::collections::HashSet::new());
    std::sync::Arc::new(move |verdict: &Verdict| {
        let error = verdict.reason.clone().filter(|_| verdict.outcome == Outcome::InfraError);
        let said_before = error.is_some_and(|reason| !shown_errors.lock().unwrap_or_else(|e| e.into_inner()).insert(reason));
        print!("{}", if said_before { stopped_line(verdict) } else { verdict_block(verdict) });
    })
}

/// Which stream a closing line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// The lines after the last verdict: errors (each once; one the console
/// showed in full under a scenario only points there), notes, figures,
/// waivers, phases and the summary of `what` (`run on bookworm`).
pub fn closing(report: &Report, what: &str, took: Duration) -> Vec<(Stream, String)> {
    let mut lines = Vec::new();
    let mut say = |stream, text: String| lines.push((stream, text));
    for error in &report.policy_errors {
        say(Stream::Err, format!("pcmk-comply: error: {}", error.0));
    }
    for error in crate::said_once::errors_for_console(report) {
        say(Stream::Err, format!("pcmk-comply: {error}"));
    }
    for note in &report.harness_notes {
        say(Stream::Out, format!("note: {note}"));
    }
    for figure in &report.measurements {
        say(Stream::Out, format!("measured: {figure}"));
    }
    for waiver in &report.expired_waivers {
        say(Stream::Err, format!("pcmk-comply: {waiver}"));
    }
    for waiver in &report.unused_waivers {
        say(Stream::Out, format!("note: {waiver}"));
    }
    say(Stream::Out, format!("phases: {}", phase_summary(&report.info.phases)));
    say(
        Stream::Out,
        format!(
            "{what}: {} scenarios: {} in {:.1}s",
            report.verdicts.len(),
            pcmk_model::verdict::summary(&report.verdicts),
            took.as_secs_f64()
        ),
    );
    lines
}

/// Phases with their total time, in first-seen order: `cluster start 9× 57.1s`.
pub fn phase_summary(phases: &[(String, Duration)]) -> String {
    phase_totals(phases)
        .iter()
        .map(
            |(name, n, took)| {
                if *n > 1 {
                    format!("{name} {n}× {:.1}s", took.as_secs_f64())
                } else {
                    format!("{name} {:.1}s", took.as_secs_f64())
                }
            },
        )
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each phase once, in first-seen order, with how many times it came and its total time.
pub fn phase_totals(phases: &[(String, Duration)]) -> Vec<(&str, usize, Duration)> {
    let mut totals: Vec<(&str, usize, Duration)> = Vec::new();
    for (name, took) in phases {
        match totals.iter_mut().find(|(n, _, _)| n == name) {
            Some(total) => {
                total.1 += 1;
                total.2 += *took;
            }
            None => totals.push((name, 1, *took)),
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcmk_model::report::RunInfo;

    #[test]
    fn a_failure_shows_its_step_reason_and_remediation() {
        let report = crate::fixture::report();
        let block = verdict_block(&report.verdicts[0]);
        assert_eq!(
            block,
            "FAIL      Secure communication » Corosync runs on the knet transport\n          step: Then corosync uses the \"knet\" transport (line 9)\n          corosync.conf line 4 sets transport udpu, expected knet\n          remediation: set `x: y`.\n"
        );
        assert_eq!(verdict_block(&report.verdicts[1]), "PASS      Secure communication » No inline key\n");
    }

    #[test]
    fn closing_lines_say_a_repeated_error_once_and_point_at_the_one_shown_in_full() {
        let mut stopped = crate::fixture::verdict("F", "S", 3, &[], Some(("a cluster", "infrastructure error: no engine\nmore")));
        stopped.outcome = Outcome::InfraError;
        let mut report = Report::new(vec![stopped], RunInfo::default());
        report.infra_errors = vec!["infrastructure error: no engine\nmore".into(); 2];
        report.infra_errors.push("infrastructure error: teardown".into());
        report.info.phases = vec![
            ("cluster start".into(), Duration::from_secs(2)),
            ("cluster start".into(), Duration::from_secs(3)),
            ("facts".into(), Duration::from_millis(500)),
        ];
        let lines = closing(&report, "run on bookworm", Duration::from_secs(9));
        let errors: Vec<&str> = lines.iter().filter(|(s, _)| *s == Stream::Err).map(|(_, t)| t.as_str()).collect();
        assert_eq!(errors, ["pcmk-comply: infrastructure error: no engine (in full above)", "pcmk-comply: infrastructure error: teardown"]);
        let out: Vec<&str> = lines.iter().filter(|(s, _)| *s == Stream::Out).map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            out,
            [
                "phases: cluster start 2× 5.0s; facts 0.5s",
                "run on bookworm: 1 scenarios: 0 passed, 0 failed, 0 waived, 0 not applicable, 1 errors, 0 undefined in 9.0s"
            ]
        );
    }

    #[test]
    fn the_command_line_wins_then_no_color_then_the_terminal() {
        let set = Some(std::ffi::OsStr::new("1"));
        let empty = Some(std::ffi::OsStr::new(""));
        assert!(wanted(ColorChoice::Always, set, false));
        assert!(!wanted(ColorChoice::Never, None, true));
        assert!(!wanted(ColorChoice::Auto, set, true));
        assert!(wanted(ColorChoice::Auto, empty, true), "an empty NO_COLOR is unset");
        assert!(wanted(ColorChoice::Auto, None, true));
        assert!(!wanted(ColorChoice::Auto, None, false));
    }
}
