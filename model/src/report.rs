//! A run's report: its verdicts, what was tested, and the one function that
//! maps a report to an exit code.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::measurement::Measurement;
use crate::verdict::{Outcome, PolicyError, Verdict};

/// What was tested, where and how long it took: for reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunInfo {
    /// `run`, `lint` or `merge`.
    pub command: String,
    pub candidate: String,
    pub distro: Option<String>,
    /// Package versions on the nodes (pacemaker, corosync, pcs, crmsh).
    pub versions: std::collections::BTreeMap<String, String>,
    /// Wall time per phase, in order.
    #[serde(with = "crate::seconds::named")]
    pub phases: Vec<(String, std::time::Duration)>,
    pub shard: Option<String>,
    /// (path on the node, file in the candidate), to point findings at the
    /// candidate's lines: the user's own files only, none a tool converted.
    pub candidate_files: Vec<(String, String)>,
    /// What the candidate was recognised as, and each file placed or ignored with why.
    pub candidate_inventory: Vec<String>,
    /// `--strict`: a scenario with nothing to judge fails the run.
    pub strict: bool,
    /// Every cluster brought up, in the order they started: the timeline's lanes begin with them.
    pub cluster_starts: Vec<ClusterStart>,
}

/// The lane of a run's shared cluster; a scenario's own cluster has a lane of its own.
pub const SHARED_LANE: &str = "shared cluster";

/// A cluster's bring-up, on the lane its scenarios name (`Verdict::cluster`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStart {
    pub lane: String,
    /// From the start of the run.
    #[serde(with = "crate::seconds")]
    pub at: Duration,
    #[serde(with = "crate::seconds")]
    pub took: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
    pub policy_errors: Vec<PolicyError>,
    pub infra_errors: Vec<String>,
    pub harness_notes: Vec<String>,
    pub measurements: Vec<Measurement>,
    /// What a scenario left for the tests to read (the restored configuration):
    /// the candidate's own values, so never written to a report file.
    #[serde(skip)]
    pub artifacts: std::collections::BTreeMap<String, String>,
    pub info: RunInfo,
    /// Waivers that expired: each fails the run.
    pub expired_waivers: Vec<String>,
    /// Waivers that matched no failing scenario.
    pub unused_waivers: Vec<String>,
}

impl Report {
    pub fn new(verdicts: Vec<Verdict>, info: RunInfo) -> Report {
        Report {
            verdicts,
            policy_errors: Vec::new(),
            infra_errors: Vec::new(),
            harness_notes: Vec::new(),
            measurements: Vec::new(),
            artifacts: Default::default(),
            info,
            expired_waivers: Vec::new(),
            unused_waivers: Vec::new(),
        }
    }

    /// 0 all passed, waived or not applicable, 1 a policy failure or an
    /// expired waiver (or, with `--strict`, a scenario not applicable),
    /// 2 bad input or an infrastructure error. The one place that decides it.
    pub fn exit_code(&self) -> u8 {
        let harness_failed = self.verdicts.iter().any(|v| matches!(v.outcome, Outcome::Undefined | Outcome::InfraError));
        let unexercised = self.info.strict && self.verdicts.iter().any(|v| v.outcome == Outcome::NotApplicable);
        if harness_failed || !self.infra_errors.is_empty() || !self.policy_errors.is_empty() {
            2
        } else if self.verdicts.iter().any(Verdict::counts_as_failure) || !self.expired_waivers.is_empty() || unexercised {
            1
        } else {
            0
        }
    }
}

impl Report {
    /// One report of several candidates' reports. Each verdict's feature is
    /// prefixed with its candidate (`candidates/a » Secure communication`), so
    /// every writer shows a section per candidate; the exit code covers all.
    pub fn combine(parts: Vec<Report>) -> Report {
        if parts.len() == 1 {
            return parts.into_iter().next().expect("one part");
        }
        let first = parts.first().map(|p| p.info.clone()).unwrap_or_default();
        let info = RunInfo {
            command: first.command,
            candidate: parts.iter().map(|p| p.info.candidate.as_str()).collect::<Vec<_>>().join(", "),
            distro: first.distro,
            versions: first.versions,
            shard: first.shard,
            strict: parts.iter().any(|p| p.info.strict),
            ..RunInfo::default()
        };
        let mut combined = Report::new(Vec::new(), info);
        // The candidates ran one after another: each part's times follow the last one's end.
        let mut offset = Duration::ZERO;
        for part in parts {
            let label = part.info.candidate.clone();
            let labelled = |text: String| format!("{label}: {text}");
            let end = part.end();
            let (verdicts, info) = combined.absorb(part, &label, offset);
            combined.verdicts.extend(verdicts.into_iter().map(|mut v| {
                v.feature = format!("{label} » {}", v.feature);
                v.started = v.started.map(|s| s + offset);
                v.cluster = v.cluster.map(labelled);
                v
            }));
            combined.info.candidate_files.extend(info.candidate_files);
            combined.info.candidate_inventory.extend(info.candidate_inventory);
            offset += end;
        }
        combined
    }

    /// One report of a sharded run's slices, each labelled (`shard 1/2`).
    /// The slices ran side by side from time zero, so their times are kept
    /// as they are and each shard's clusters get lanes of their own; a
    /// scenario in two slices is bad input, since shards are disjoint.
    pub fn merge_shards(parts: Vec<(String, Report)>) -> Result<Report, String> {
        let first = parts.first().map(|(_, p)| p.info.clone()).unwrap_or_default();
        let info = RunInfo {
            command: "merge".into(),
            candidate: first.candidate,
            distro: first.distro,
            versions: first.versions,
            candidate_inventory: first.candidate_inventory,
            strict: parts.iter().any(|(_, p)| p.info.strict),
            ..RunInfo::default()
        };
        let mut merged = Report::new(Vec::new(), info);
        for (label, part) in parts {
            let (verdicts, info) = merged.absorb(part, &label, Duration::ZERO);
            for verdict in verdicts {
                if merged.verdicts.iter().any(|v| v.feature == verdict.feature && v.scenario == verdict.scenario && v.line == verdict.line)
                {
                    return Err(format!(
                        "{label}: scenario \"{} » {}\" is also in another input; merge takes disjoint shards",
                        verdict.feature, verdict.scenario
                    ));
                }
                merged.verdicts.push(Verdict { cluster: verdict.cluster.clone().map(|lane| format!("{label}: {lane}")), ..verdict });
            }
            for file in info.candidate_files {
                if !merged.info.candidate_files.contains(&file) {
                    merged.info.candidate_files.push(file);
                }
            }
        }
        Ok(merged)
    }

    /// Moves a part's run-level data into this report, each item labelled
    /// with the part and its cluster starts `offset` later, and hands back
    /// its verdicts and the rest of its info for the caller to place.
    fn absorb(&mut self, part: Report, label: &str, offset: Duration) -> (Vec<Verdict>, RunInfo) {
        let labelled = |text: String| format!("{label}: {text}");
        let mut info = part.info;
        self.info.cluster_starts.extend(std::mem::take(&mut info.cluster_starts).into_iter().map(|c| ClusterStart {
            lane: labelled(c.lane),
            at: c.at + offset,
            ..c
        }));
        self.info.phases.extend(std::mem::take(&mut info.phases).into_iter().map(|(name, took)| (labelled(name), took)));
        for error in part.policy_errors {
            if !self.policy_errors.iter().any(|e| e.0 == error.0) {
                self.policy_errors.push(error);
            }
        }
        self.infra_errors.extend(part.infra_errors.into_iter().map(labelled));
        self.harness_notes.extend(part.harness_notes.into_iter().map(labelled));
        self.measurements.extend(part.measurements.into_iter().map(|m| Measurement { what: labelled(m.what), ..m }));
        self.artifacts.extend(part.artifacts.into_iter().map(|(name, text)| (labelled(name), text)));
        self.expired_waivers.extend(part.expired_waivers);
        self.unused_waivers.extend(part.unused_waivers);
        (part.verdicts, info)
    }

    /// When the last scenario or cluster start ended, from the start of the run.
    pub fn end(&self) -> Duration {
        let scenarios = self.verdicts.iter().filter_map(|v| Some(v.started? + v.duration));
        let starts = self.info.cluster_starts.iter().map(|c| c.at + c.took);
        scenarios.chain(starts).max().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::Kind;

    fn part(candidate: &str, started: u64, seconds: u64) -> Report {
        let verdict = Verdict {
            duration: Duration::from_secs(seconds),
            started: Some(Duration::from_secs(started)),
            cluster: Some(SHARED_LANE.into()),
            ..Verdict::new("F", "S", Outcome::Passed)
        };
        let info = RunInfo {
            candidate: candidate.into(),
            cluster_starts: vec![ClusterStart { lane: SHARED_LANE.into(), at: Duration::ZERO, took: Duration::from_secs(5) }],
            ..RunInfo::default()
        };
        let mut report = Report::new(vec![verdict], info);
        report.measurements.push(Measurement::new(Kind::Failover, "failover of web"));
        report
    }

    #[test]
    fn combined_candidates_follow_one_another_on_lanes_of_their_own() {
        let combined = Report::combine(vec![part("a", 5, 10), part("b", 6, 1)]);
        let placed: Vec<_> = combined.verdicts.iter().map(|v| (v.cluster.as_deref().unwrap(), v.started.unwrap().as_secs())).collect();
        assert_eq!(placed, [("a: shared cluster", 5), ("b: shared cluster", 21)]);
        let starts: Vec<_> = combined.info.cluster_starts.iter().map(|c| (c.lane.as_str(), c.at.as_secs())).collect();
        assert_eq!(starts, [("a: shared cluster", 0), ("b: shared cluster", 15)]);
        assert_eq!(combined.measurements[1].to_string(), "b: failover of web");
        assert_eq!(combined.end(), Duration::from_secs(22));
    }

    #[test]
    fn merged_shards_keep_their_times_on_lanes_of_their_own() {
        let mut second = part("a", 6, 1);
        second.verdicts[0].scenario = "T".into();
        let merged = Report::merge_shards(vec![("shard 1/2".into(), part("a", 5, 10)), ("shard 2/2".into(), second)]).unwrap();
        let placed: Vec<_> = merged.verdicts.iter().map(|v| (v.cluster.as_deref().unwrap(), v.started.unwrap().as_secs())).collect();
        assert_eq!(placed, [("shard 1/2: shared cluster", 5), ("shard 2/2: shared cluster", 6)]);
        assert_eq!(merged.info.cluster_starts.len(), 2);
        assert_eq!(merged.measurements[1].to_string(), "shard 2/2: failover of web");
        assert_eq!(merged.end(), Duration::from_secs(15));
        let twice = Report::merge_shards(vec![("shard 1/2".into(), part("a", 5, 10)), ("shard 2/2".into(), part("a", 5, 10))]).unwrap_err();
        assert!(twice.contains("disjoint"), "{twice}");
    }
}
