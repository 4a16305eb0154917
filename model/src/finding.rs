//! What a policy step found wrong, typed where the step finds it: about
//! which node or the candidate, at which file and line where one is known,
//! and the sentence people read. Writers point at the line from `place`;
//! nothing reads a location back out of the sentence.

use serde::{Deserialize, Serialize};

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A file of the candidate, read without a cluster.
    Candidate,
    /// One node of the cluster built from the candidate.
    Node(String),
    /// The cluster as a whole, or no one part of it.
    Cluster,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Candidate => f.write_str("the candidate"),
            Subject::Node(name) => write!(f, "node {name}"),
            Subject::Cluster => f.write_str("the cluster"),
        }
    }
}

/// A line of a file, as the step read it: a path on the node
/// (`/etc/corosync/corosync.conf`) or the candidate's own file
/// (`candidates/x/cib.xml`). The report maps a node path to the candidate
/// file placed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub file: String,
    /// From 1.
    pub line: usize,
}

impl Place {
    pub fn new(file: impl Into<String>, line: usize) -> Place {
        Place { file: file.into(), line }
    }
}

/// One thing wrong, as a failing scenario's reason lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// The whole sentence, as the reason prints it.
    pub message: String,
}

impl Finding {
    pub fn new(subject: Subject, message: impl Into<String>) -> Finding {
        Finding { subject, place: None, message: message.into() }
    }

    /// The same finding, pointing at a file's line (None leaves it unplaced).
    pub fn at(self, place: impl Into<Option<Place>>) -> Finding {
        Finding { place: place.into(), ..self }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
