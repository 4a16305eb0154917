//! Errors the harness reports to its user. Every one maps to exit code 2:
//! bad input and infrastructure faults are never policy verdicts.

pub use pcmk_model::error::{line_of, InputError};

/// The Docker engine could not be reached at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach the Docker engine ({endpoint}): {reason}. Start the daemon (e.g. `systemctl start docker`) or point DOCKER_HOST at a running engine.")]
pub struct EngineUnreachable {
    pub endpoint: String,
    pub reason: String,
}
