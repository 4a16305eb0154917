//! Figures a live run measures on the way (a failover, a recovery, a
//! fencing), typed so that a report can draw each beside the bounds that
//! apply to it: the floor corosync imposes and the service level the
//! scenario asserts. The console prints the human line as it is.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a figure measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A killed node's resource running on another node.
    Failover,
    /// A resource running again after its monitor failed.
    Recovery,
    /// A resource running on a quorate partition after a daemon crashed.
    Availability,
    /// A node fenced after a fault.
    Fencing,
    /// A resource stopped on the node left without quorum.
    QuorumLoss,
    /// One node of a rolling upgrade replaced and the cluster whole again.
    UpgradeStep,
    /// A window of packet loss on corosync's port ridden out (or how far
    /// into it the cluster held), with corosync's retransmits in its line.
    PacketLoss,
    /// A window in which every fencing failed, held without the resource
    /// running elsewhere (or how far into it it did), with the attempts.
    FailedFencing,
}

impl Kind {
    /// The word the reports use.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Failover => "failover",
            Kind::Recovery => "recovery",
            Kind::Availability => "availability",
            Kind::Fencing => "fencing",
            Kind::QuorumLoss => "stop without quorum",
            Kind::UpgradeStep => "upgrade step",
            Kind::PacketLoss => "packet loss",
            Kind::FailedFencing => "failed fencing",
        }
    }

    /// Timed from a fault, so the floor and a service level apply.
    pub fn after_a_fault(self) -> bool {
        self != Kind::UpgradeStep
    }
}

/// One figure: the line people read, and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// As the console prints it after `measured:`.
    pub what: String,
    pub kind: Kind,
    /// From the fault to what was measured; None when the figure is text only.
    #[serde(default, with = "crate::seconds::option")]
    pub took: Option<Duration>,
    /// Corosync's token + consensus: no node can react to a fault sooner.
    #[serde(default, with = "crate::seconds::option")]
    pub floor: Option<Duration>,
    /// The bound the scenario asserts (`within 30 seconds`).
    #[serde(default, with = "crate::seconds::option")]
    pub slo: Option<Duration>,
    /// The scenario it was measured in.
    pub scenario: Option<String>,
}

impl Measurement {
    pub fn new(kind: Kind, what: impl Into<String>) -> Measurement {
        Measurement { what: what.into(), kind, took: None, floor: None, slo: None, scenario: None }
    }

    pub fn took(self, took: impl Into<Option<Duration>>) -> Measurement {
        Measurement { took: took.into(), ..self }
    }

    pub fn floor(self, floor: impl Into<Option<Duration>>) -> Measurement {
        Measurement { floor: floor.into(), ..self }
    }

    pub fn slo(self, slo: impl Into<Option<Duration>>) -> Measurement {
        Measurement { slo: slo.into(), ..self }
    }

    pub fn scenario(self, scenario: Option<String>) -> Measurement {
        Measurement { scenario, ..self }
    }

    /// Within its service level, when it has both a time and a bound.
    pub fn within_slo(&self) -> Option<bool> {
        Some(self.took? <= self.slo?)
    }
}

/// The human line: what the console and the text reports print.
impl fmt::Display for Measurement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_its_line_and_judges_its_bound() {
        let m = Measurement::new(Kind::Failover, "failover of web from n1 to n2: 9.70s")
            .took(Duration::from_millis(9700))
            .slo(Duration::from_secs(30));
        assert_eq!(m.to_string(), "failover of web from n1 to n2: 9.70s");
        assert_eq!(m.within_slo(), Some(true));
        assert_eq!(Measurement::new(Kind::Fencing, "fencing of n1").within_slo(), None);
    }
}
