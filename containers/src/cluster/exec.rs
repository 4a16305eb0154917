//! Commands in a node: the open-shell pool for root, `docker exec` for other
//! users, and throwaway tool containers.

use super::deployment::append;
use super::*;

impl Cluster {
    /// Runs `cmd` in `node` as root and collects its output.
    pub async fn exec(&self, node: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        self.exec_as(node, "root", cmd).await
    }

    /// Runs `cmd` as `user` in a node or guest: as root in an open shell,
    /// as anyone else by `docker exec` (the engine sets up the user's groups).
    pub async fn exec_as(&self, node: &str, user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        let container = self.container_of(node);
        let run = async {
            if user == "root" {
                self.run_in_shell(&container, cmd).await
            } else {
                exec_in(&self.docker, &container, user, cmd).await
            }
        };
        let out = tokio::time::timeout(EXEC_TIMEOUT, run)
            .await
            .map_err(|_| anyhow::anyhow!("`{}` on {node} did not finish within {EXEC_TIMEOUT:?}", cmd.join(" ")))?
            .with_context(|| format!("running `{}` on {node}", cmd.join(" ")))?;
        self.log_exec(node, user, cmd, &out);
        Ok(out)
    }

    /// Runs `cmd` in an idle shell of the container, or a new one. Shells
    /// left by a node that stopped or restarted are dropped unused; a shell
    /// whose command failed or was abandoned (timeout) is never reused.
    async fn run_in_shell(&self, container: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        let shells = || self.shells.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // Bound first: the lock must not be held across the command.
            let idle = shells().get_mut(container).and_then(Vec::pop);
            let Some(mut shell) = idle else { break };
            match shell.run(cmd).await {
                Ok(out) => {
                    shells().entry(container.to_string()).or_default().push(shell);
                    return Ok(out);
                }
                Err(ShellError::Stale) => continue,
                Err(ShellError::Failed(e)) => return Err(e),
            }
        }
        // A new shell that ends at once is a node that is down: an error, as `docker exec` gives.
        let mut shell = Session::open(&self.docker, container).await?;
        let out = shell.run(cmd).await?;
        shells().entry(container.to_string()).or_default().push(shell);
        Ok(out)
    }

    /// `--verbose`: the command and its output, secrets redacted.
    fn log_exec(&self, node: &str, user: &str, cmd: &[&str], out: &ExecOutput) {
        if tracing::enabled!(target: EXEC_LOG, tracing::Level::INFO) {
            let r = |t: &str| self.redactor.redact(t.trim_end());
            tracing::info!(target: EXEC_LOG, "{node} ({user})$ {} → exit {}\n{}{}", r(&cmd.join(" ")), out.code, r(&out.stdout), if out.stderr.trim().is_empty() { String::new() } else { format!("\nstderr: {}", r(&out.stderr)) });
        }
    }

    /// Hides the run's secrets in text about to be printed.
    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Installed versions of `packages` on `node`; absent packages are left out.
    pub async fn package_versions(&self, node: &str, packages: &[&str]) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
        let mut cmd = vec!["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"];
        cmd.extend_from_slice(packages);
        let out = self.exec(node, &cmd).await?;
        Ok(out
            .stdout
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect())
    }
}

/// Runs one command in a throwaway container of `image`, off every network,
/// with `files` placed first: for checks that need a node's tools but no
/// cluster (e.g. another version's `crm_verify`). Removed however it ends.
pub async fn run_tool(docker: &Docker, image: &NodeImage, files: &[(&str, &[u8])], user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
    run_tool_with(docker, image, files, user, cmd, &ToolGrant::default()).await
}

/// What a tool container may do beyond the default (no capabilities, the
/// node exec timeout): a batch that runs many cases in one container.
#[derive(Debug, Clone)]
pub struct ToolGrant {
    /// Capabilities inside the container's own network namespace, e.g.
    /// NET_ADMIN to give its loopback the addresses a case names.
    pub cap_add: Vec<String>,
    pub timeout: Duration,
}

impl Default for ToolGrant {
    fn default() -> Self {
        ToolGrant { cap_add: Vec::new(), timeout: EXEC_TIMEOUT }
    }
}

/// [`run_tool`] with a grant.
pub async fn run_tool_with(
    docker: &Docker,
    image: &NodeImage,
    files: &[(&str, &[u8])],
    user: &str,
    cmd: &[&str],
    grant: &ToolGrant,
) -> anyhow::Result<ExecOutput> {
    let run = RunId::generate();
    run::register(&run);
    let mut guard = RunGuard { run: run.clone(), armed: true };
    let container = format!("pcmk-{run}-tool");
    let defaults = ClusterOptions::default();
    let body = ContainerCreateBody {
        image: Some(image.tag.clone()),
        cmd: Some(vec!["sleep".into(), (grant.timeout.as_secs() + 60).to_string()]),
        entrypoint: Some(vec![]),
        labels: Some(run::labels(&run, "tool")),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: (!grant.cap_add.is_empty()).then(|| grant.cap_add.clone()),
            privileged: Some(false),
            memory: Some(defaults.memory_bytes),
            memory_swap: Some(defaults.memory_bytes),
            pids_limit: Some(defaults.pids_limit),
            ..Default::default()
        }),
        ..Default::default()
    };
    let create = CreateContainerOptionsBuilder::default().name(&container).build();
    docker.create_container(Some(create), body).await.context("creating a tool container")?;
    let mut archive = tar::Builder::new(Vec::new());
    for (path, content) in files {
        append(&mut archive, path, 0o644, content)?;
    }
    docker.start_container(&container, None).await.context("starting the tool container")?;
    let used = async {
        Session::open_delivering(docker, &container, &archive.into_inner()?).await.context("copying files into the tool container")?;
        exec_in(docker, &container, user, cmd).await
    };
    let out = tokio::time::timeout(grant.timeout, used).await;
    run::remove_run(docker, &run).await?;
    guard.armed = false;
    out.map_err(|_| anyhow::anyhow!("`{}` did not finish within {:?}", cmd.join(" "), grant.timeout))?
}
