//! A run's report: its verdicts, what was tested, and the one function that
//! maps a report to an exit code.

use crate::verdict::{Outcome, PolicyError, Verdict};

/// What was tested, where and how long it took: for reports.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// `run`, `lint` or `merge`.
    pub command: String,
    pub candidate: String,
    pub distro: Option<String>,
    /// Package versions on the nodes (pacemaker, corosync, pcs, crmsh).
    pub versions: std::collections::BTreeMap<String, String>,
    /// Wall time per phase, in order.
    pub phases: Vec<(String, std::time::Duration)>,
    pub shard: Option<String>,
    /// (path on the node, file in the candidate), to point findings at the candidate's lines.
    pub candidate_files: Vec<(String, String)>,
    /// What the candidate was recognised as, and each file placed or ignored with why.
    pub candidate_inventory: Vec<String>,
    /// `--strict`: a scenario with nothing to judge fails the run.
    pub strict: bool,
}

#[derive(Debug)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
    pub policy_errors: Vec<PolicyError>,
    pub infra_errors: Vec<String>,
    pub harness_notes: Vec<String>,
    pub measurements: Vec<String>,
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
