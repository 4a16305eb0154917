//! The data pcmk-comply passes from stage to stage: bad-input errors,
//! verdicts, reports and scenario guidance. No engine, no cucumber, no async:
//! every writer and the CLI read these, and nothing reads them back from text.

pub mod corosync_conf;
pub mod error;
pub mod finding;
pub mod guidance;
pub mod measurement;
pub mod node;
pub mod report;
pub mod scope;
pub mod seconds;
pub mod status;
pub mod text;
pub mod verdict;
