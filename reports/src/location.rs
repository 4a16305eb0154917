//! Where a failure lives: the candidate file and line its reason names
//! (`corosync.conf line 4`, `/etc/default/pcsd line 2`,
//! `candidates/x/cib.xml line 30`), else the scenario in its feature file.

use pcmk_model::report::RunInfo;
use pcmk_model::verdict::Verdict;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub uri: String,
    pub line: usize,
    /// True when it points into the candidate, false for the scenario itself.
    pub in_candidate: bool,
}

/// The first `<file> line <n>` in the reason that names one of the candidate's files.
pub fn of(verdict: &Verdict, info: &RunInfo) -> Location {
    let reason = verdict.reason.as_deref().unwrap_or_default();
    let words: Vec<&str> = reason.split_whitespace().collect();
    for pair in words.windows(3) {
        let [file, "line", number] = pair else { continue };
        let Ok(line) = number.trim_end_matches(|c: char| !c.is_ascii_digit()).parse::<usize>() else { continue };
        if let Some(source) = candidate_source(file.trim_matches(|c: char| c == '`' || c == '(' || c == ':'), info) {
            return Location { uri: source, line, in_candidate: true };
        }
    }
    Location { uri: crate::feature_uri(verdict), line: verdict.line, in_candidate: false }
}

fn candidate_source(name: &str, info: &RunInfo) -> Option<String> {
    let files = &info.candidate_files;
    files
        .iter()
        .find(|(placement, source)| source == name || placement == name)
        .or_else(|| files.iter().find(|(_, source)| std::path::Path::new(source).file_name().is_some_and(|f| f == name)))
        .map(|(_, source)| source.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn a_reason_naming_a_candidate_file_points_at_its_line() {
        let report = fixture::report();
        let here = of(&report.verdicts[0], &report.info);
        assert_eq!(here, Location { uri: "candidates/insecure/corosync.conf".into(), line: 4, in_candidate: true });
    }

    #[test]
    fn placements_and_source_paths_resolve_too() {
        let mut report = fixture::report();
        report.info.candidate_files.push(("/etc/default/pcsd".into(), "candidates/insecure/pcsd".into()));
        report.verdicts[0].reason = Some("node node1: /etc/default/pcsd line 2 sets PCSD_BIND_ADDR".into());
        assert_eq!(of(&report.verdicts[0], &report.info).uri, "candidates/insecure/pcsd");
        report.verdicts[0].reason = Some("candidates/insecure/corosync.conf line 9: x".into());
        assert_eq!(of(&report.verdicts[0], &report.info).line, 9);
    }

    #[test]
    fn otherwise_the_scenario_in_its_feature_file() {
        let mut report = fixture::report();
        report.verdicts[0].reason = Some("node node2 was not fenced".into());
        assert_eq!(of(&report.verdicts[0], &report.info), Location { uri: "features/secure-communication.feature".into(), line: 6, in_candidate: false });
    }
}
