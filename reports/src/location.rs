//! Where a failure lives: the candidate file and line its first placed
//! finding names, else the scenario in its feature file.

use pcmk_model::report::RunInfo;
use pcmk_model::verdict::Verdict;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub uri: String,
    pub line: usize,
    /// True when it points into the candidate, false for the scenario itself.
    pub in_candidate: bool,
}

/// The first finding whose place is one of the candidate's files: a path on
/// the node where the candidate's file was placed, or the candidate's file.
pub fn of(verdict: &Verdict, info: &RunInfo) -> Location {
    let placed = verdict.findings.iter().filter_map(|f| f.place.as_ref());
    for place in placed {
        if let Some(source) = candidate_source(&place.file, info) {
            return Location { uri: source, line: place.line, in_candidate: true };
        }
    }
    Location { uri: crate::feature_uri(verdict), line: verdict.line, in_candidate: false }
}

fn candidate_source(file: &str, info: &RunInfo) -> Option<String> {
    info.candidate_files.iter().find(|(placement, source)| source == file || placement == file).map(|(_, source)| source.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;
    use pcmk_model::finding::{Finding, Place, Subject};

    #[test]
    fn a_finding_placed_in_a_candidate_file_points_at_its_line() {
        let report = fixture::report();
        let here = of(&report.verdicts[0], &report.info);
        assert_eq!(here, Location { uri: "candidates/insecure/corosync.conf".into(), line: 4, in_candidate: true });
    }

    #[test]
    fn placements_and_source_paths_resolve_too() {
        let mut report = fixture::report();
        report.info.candidate_files.push(("/etc/default/pcsd".into(), "candidates/insecure/pcsd".into()));
        let finding = |file: &str, line| Finding::new(Subject::Node("node1".into()), "x").at(Place::new(file, line));
        report.verdicts[0].findings = vec![finding("/etc/default/pcsd", 2)];
        assert_eq!(of(&report.verdicts[0], &report.info).uri, "candidates/insecure/pcsd");
        report.verdicts[0].findings =
            vec![finding("the running CIB (cibadmin --query on node1)", 3), finding("candidates/insecure/corosync.conf", 9)];
        assert_eq!(of(&report.verdicts[0], &report.info).line, 9, "a place outside the candidate is passed over");
    }

    #[test]
    fn otherwise_the_scenario_in_its_feature_file() {
        let mut report = fixture::report();
        report.verdicts[0].findings.clear();
        // A reason that merely mentions a file's line points nowhere: only typed places do.
        report.verdicts[0].reason = Some("corosync.conf line 4 sets transport udpu".into());
        assert_eq!(
            of(&report.verdicts[0], &report.info),
            Location { uri: "features/secure-communication.feature".into(), line: 6, in_candidate: false }
        );
    }
}
