//! Verdicts: what each scenario came to, as every writer reports it. Pure
//! data: how the runner collects them from cucumber's events is the policy
//! crate's business.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;

/// How a scenario ended, as the steps decided it. A waiver is applied on top
/// (see [`Status`]); nothing downstream reads an outcome back from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// The candidate lacks the subject of the scenario (no CIB, no resource…):
    /// nothing to judge. Never counts as passed; `--strict` makes it a failure.
    NotApplicable,
    /// The harness, not the policy, failed: never a verdict.
    InfraError,
    /// An authoring error, never a pass: a step matched no definition, or
    /// cannot work as the scenario uses it (a step that breaks the cluster
    /// outside @destructive, an argument that means nothing).
    Undefined,
}

/// What a report says of a scenario: its outcome with any waiver applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Passed,
    Failed,
    Waived,
    NotApplicable,
    InfraError,
    Undefined,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::Passed, Status::Failed, Status::Waived, Status::NotApplicable, Status::InfraError, Status::Undefined];

    /// The word every report uses.
    pub fn word(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Waived => "waived",
            Status::NotApplicable => "not applicable",
            Status::InfraError => "error",
            Status::Undefined => "undefined",
        }
    }

    /// The console's mark.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Passed => "PASS",
            Status::Failed => "FAIL",
            Status::Waived => "WAIVED",
            Status::NotApplicable => "N/A",
            Status::InfraError => "ERROR",
            Status::Undefined => "UNDEFINED",
        }
    }
}

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Passed,
    Failed,
    Undefined,
    /// The step found nothing to judge in the candidate.
    NotApplicable,
    /// Not run because an earlier step failed.
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub keyword: String,
    pub text: String,
    pub line: usize,
    pub status: StepStatus,
    #[serde(with = "crate::seconds")]
    pub duration: Duration,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub feature: String,
    pub feature_file: Option<PathBuf>,
    pub scenario: String,
    pub line: usize,
    pub tags: Vec<String>,
    pub outcome: Outcome,
    /// The step that failed, with its keyword, and why.
    pub failed_step: Option<String>,
    pub reason: Option<String>,
    pub description: Option<String>,
    /// Background steps first, then the scenario's, as written.
    pub steps: Vec<StepRecord>,
    /// What the failing step found, each with its subject and, where known, file and line.
    #[serde(default)]
    pub findings: Vec<Finding>,
    #[serde(with = "crate::seconds")]
    pub duration: Duration,
    /// Set when a waiver covers this failure: who accepted it, why, until when.
    pub waived_by: Option<String>,
    /// When the scenario's own time began (after any wait for its slot),
    /// from the start of the run; None where no one recorded it (results
    /// read back from Cucumber JSON).
    #[serde(default, with = "crate::seconds::option")]
    pub started: Option<Duration>,
    /// The cluster it ran on, as the timeline's lane (`shared cluster`,
    /// `own cluster 3`); None when it used no cluster.
    pub cluster: Option<String>,
}

impl Verdict {
    /// A verdict of which nothing is known yet but its scenario and outcome.
    pub fn new(feature: &str, scenario: &str, outcome: Outcome) -> Verdict {
        Verdict {
            feature: feature.into(),
            feature_file: None,
            scenario: scenario.into(),
            line: 1,
            tags: Vec::new(),
            outcome,
            failed_step: None,
            reason: None,
            description: None,
            steps: Vec::new(),
            findings: Vec::new(),
            duration: Duration::ZERO,
            waived_by: None,
            started: None,
            cluster: None,
        }
    }

    /// The scenario's tags without their `@`, e.g. `critical`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }

    /// The controls the scenario evidences, from its tags: NIST SP 800-53
    /// rev. 5 (`SC-8`) and CIS Controls v8 safeguards (`CIS-3.10`).
    pub fn controls(&self) -> Controls<'_> {
        controls(&self.tags)
    }

    /// The severity tag (`critical`, `high`, `medium`, `low`), if any.
    pub fn severity(&self) -> Option<&'static str> {
        ["critical", "high", "medium", "low"].into_iter().find(|s| self.has_tag(s))
    }

    /// The harness, not the policy, failed here: never a verdict.
    pub fn is_infra_error(&self) -> bool {
        self.outcome == Outcome::InfraError
    }

    /// The outcome with any waiver applied.
    pub fn status(&self) -> Status {
        match (self.outcome, &self.waived_by) {
            (Outcome::Passed, _) => Status::Passed,
            (Outcome::Failed, Some(_)) => Status::Waived,
            (Outcome::Failed, None) => Status::Failed,
            (Outcome::NotApplicable, _) => Status::NotApplicable,
            (Outcome::InfraError, _) => Status::InfraError,
            (Outcome::Undefined, _) => Status::Undefined,
        }
    }

    /// A failure that no waiver covers.
    pub fn counts_as_failure(&self) -> bool {
        self.outcome == Outcome::Failed && self.waived_by.is_none()
    }
}

/// Counts by status, as every summary says them: `3 passed, 1 failed, …`.
pub fn summary(verdicts: &[Verdict]) -> String {
    Status::ALL
        .iter()
        .map(|status| {
            let n = verdicts.iter().filter(|v| v.status() == *status).count();
            match status {
                Status::InfraError => format!("{n} errors"),
                other => format!("{n} {}", other.word()),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parse error in a feature file, or another problem with the policy itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyError(pub String);

/// Control identifiers a scenario's tags name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls<'a> {
    /// NIST SP 800-53 rev. 5 controls, e.g. `SC-8`.
    pub nist: Vec<&'a str>,
    /// CIS Controls v8 safeguards, e.g. `3.10` (tagged `@CIS-3.10`).
    pub cis: Vec<&'a str>,
}

/// Sorts tags (without `@`) into NIST SP 800-53 controls and CIS safeguards.
pub fn controls(tags: &[String]) -> Controls<'_> {
    let mut found = Controls::default();
    for tag in tags {
        if let Some(safeguard) = tag.strip_prefix("CIS-") {
            if safeguard.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
                found.cis.push(safeguard);
            }
        } else if let Some((family, number)) = tag.split_once('-') {
            if family.len() == 2
                && family.chars().all(|c| c.is_ascii_uppercase())
                && number.chars().next().is_some_and(|c| c.is_ascii_digit())
            {
                found.nist.push(tag);
            }
        }
    }
    found
}
