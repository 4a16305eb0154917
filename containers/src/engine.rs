//! Connection to the Docker engine (local socket or DOCKER_HOST).

use std::time::Duration;

use bollard::Docker;

use crate::error::EngineUnreachable;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn endpoint() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// Connects, agrees on an API version with the engine and pings it, so that an
/// unreachable engine is one clear error up front rather than a failure mid-run.
pub async fn connect() -> Result<Docker, EngineUnreachable> {
    let unreachable = |reason: String| EngineUnreachable { endpoint: endpoint(), reason };
    let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?.with_timeout(Duration::from_secs(600));
    let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| unreachable("no answer within 10 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    tokio::time::timeout(CONNECT_TIMEOUT, docker.ping())
        .await
        .map_err(|_| unreachable("no answer within 10 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(docker)
}
