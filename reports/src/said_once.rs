//! One harness fault, said once: when the same infrastructure error stopped
//! many scenarios (the shared cluster did not start), the first keeps its
//! full diagnosis and every other one points at it in a line, in every format.

use std::collections::HashMap;

use pcmk_model::report::Report;
use pcmk_model::verdict::Outcome;

/// The report with each repeated infrastructure error kept in full once.
pub fn errors_said_once(report: &Report) -> Report {
    let mut report = report.clone();
    let mut first: HashMap<String, String> = HashMap::new();
    for verdict in report.verdicts.iter_mut().filter(|v| v.outcome == Outcome::InfraError) {
        let Some(reason) = verdict.reason.clone() else { continue };
        match first.get(&reason) {
            None => {
                first.insert(reason, format!("{} » {}", verdict.feature, verdict.scenario));
            }
            Some(scenario) => {
                let headline = reason.lines().next().unwrap_or_default();
                let pointer = format!("not run: the infrastructure error in full under «{scenario}»: {headline}");
                for step in verdict.steps.iter_mut().filter(|s| s.error.as_deref() == Some(reason.as_str())) {
                    step.error = Some(pointer.clone());
                }
                verdict.reason = Some(pointer);
            }
        }
    }
    // The run's own list: each error once, and one a scenario carries in full only points at it.
    let mut seen = std::collections::HashSet::new();
    report.infra_errors.retain(|e| seen.insert(e.clone()));
    for error in &mut report.infra_errors {
        if let Some(scenario) = first.get(error.as_str()) {
            *error = format!("{} (in full under «{scenario}»)", error.lines().next().unwrap_or_default());
        }
    }
    report
}

/// The run's infrastructure errors for the console, each once: the console
/// printed a scenario's diagnosis in full as it ended, so an error some
/// scenario carries is its headline pointing there.
pub fn errors_for_console(report: &Report) -> Vec<String> {
    let mut said = std::collections::HashSet::new();
    report
        .infra_errors
        .iter()
        .filter(|e| said.insert(*e))
        .map(|e| match report.verdicts.iter().any(|v| v.reason.as_ref() == Some(e)) {
            true => format!("{} (in full above)", e.lines().next().unwrap_or_default()),
            false => e.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outputs;
    use pcmk_model::report::RunInfo;
    use pcmk_model::verdict::Verdict;

    fn stopped(scenario: usize, reason: &str) -> Verdict {
        let mut v = crate::fixture::verdict(
            "Secure communication",
            &format!("scenario {scenario}"),
            10 * scenario + 1,
            &["SC-8"],
            Some(("a running cluster", reason)),
        );
        v.outcome = Outcome::InfraError;
        v
    }

    #[test]
    fn forty_scenarios_stopped_by_one_fault_carry_its_diagnosis_once_in_every_format() {
        let diagnosis = format!(
            "infrastructure error: run r1: the cluster cannot become ready (node1: corosync exited)\n{}",
            "--- node1 logs ---\nCould only read 64 bits\n".repeat(40)
        );
        let verdicts = (0..40).map(|i| stopped(i, &diagnosis)).collect();
        let mut report = Report::new(verdicts, RunInfo::default());
        report.infra_errors = vec![diagnosis.clone(); 40];
        let dir = std::env::temp_dir().join(format!("pcmk-said-once-{}", std::process::id()));
        let outputs = Outputs {
            junit: Some(dir.join("r.xml")),
            json: Some(dir.join("r.json")),
            sarif: Some(dir.join("r.sarif")),
            html: Some(dir.join("r.html")),
            report_json: Some(dir.join("r.report.json")),
        };
        outputs.write(&report).unwrap();
        for file in ["r.xml", "r.json", "r.sarif", "r.html", "r.report.json"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            // Its 40 log lines once: in the first scenario's reason and, where a format has them, its failed step.
            let said = text.matches("Could only read 64 bits").count();
            assert!(said == 40 || said == 80, "{file}: the diagnosis is said {} times", said as f64 / 40.0);
            assert!(
                text.matches("not run: the infrastructure error in full under «Secure communication » scenario 0»").count() >= 39,
                "{file}"
            );
            assert!(text.len() < 2 * diagnosis.len() + 40 * 2_000, "{file} is {} bytes", text.len());
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
