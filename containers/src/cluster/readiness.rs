//! Waiting for a cluster: membership, a DC, quorum, daemons that started or
//! stay down, and the diagnosis when it does not come.

use super::supervisor::Verb;
use super::*;

/// Nodes that kept running but never formed the expected cluster in time, or
/// whose daemons ended and will not restart (as opposed to a daemon that
/// refused its configuration, which fails at once).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotReadyInTime(pub String);

/// What a node's log and supervisor say of its joining a DC.
enum Join {
    Joined,
    NotYet,
    /// Daemons that ended unasked and will not be restarted, with how they ended.
    StaysDown(String),
}

/// A node's container stopped and stayed stopped while the cluster was awaited:
/// the cluster's own doing (a daemon, fencing), not the harness's.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NodeStopped(pub String);

impl Cluster {
    /// `crm_mon` as seen from `node`; an error when pacemaker cannot answer there.
    pub async fn status(&self, node: &str) -> anyhow::Result<ClusterStatus> {
        self.node(node)?;
        let out = self.exec(node, &["crm_mon", "--one-shot", "--output-as=xml"]).await?;
        if out.stdout.trim().is_empty() {
            bail!("crm_mon on {node} answered nothing (exit {}): {}", out.code, out.stderr.trim());
        }
        ClusterStatus::parse(&out.stdout).map_err(|e| anyhow::anyhow!("{node}: {e}"))
    }

    /// Waits until every node in `ask` sees a DC, quorum and exactly `members` online.
    pub async fn wait_for_members(&self, ask: &[&str], members: &[&str], timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut down_since: HashMap<&str, Instant> = HashMap::new();
        let mut checked_liveness: Option<Instant> = None;
        let mut joined: Vec<&str> = Vec::new();
        loop {
            // Each view costs about 50 ms of the machine's CPU (crm_mon through the
            // node's shell): the others are asked only once the first agrees.
            let Some((first, others)) = ask.split_first() else { bail!("no node to ask") };
            if self.status(first).await.is_ok_and(|s| s.has_members(members)) {
                let views = future::join_all(others.iter().map(|n| self.status(n))).await;
                if views.iter().all(|v| v.as_ref().is_ok_and(|s| s.has_members(members))) {
                    return Ok(started.elapsed());
                }
            }
            // A node that stays down will not come back by waiting: say so early.
            // A fencing reboot stops a node for a moment, so only a lasting stop counts.
            if checked_liveness.is_none_or(|at| at.elapsed() >= LIVENESS_CHECK) {
                checked_liveness = Some(Instant::now());
                for node in ask {
                    if self.running(node).await? {
                        down_since.remove(node);
                    } else if down_since.entry(node).or_insert_with(Instant::now).elapsed() > NODE_DOWN_GRACE {
                        let logs = self.recent_logs(ask).await;
                        return Err(NodeStopped(format!(
                            "run {}: node {node} stopped running while the cluster was awaited\n{logs}",
                            self.run
                        ))
                        .into());
                    }
                }
            }
            if started.elapsed() >= timeout {
                let views = future::join_all(ask.iter().map(|n| self.status(n))).await;
                let last: Vec<String> = ask
                    .iter()
                    .zip(&views)
                    .map(|(node, view)| match view {
                        Ok(s) => {
                            format!("{node}: dc={} quorate={} members={:?}", s.dc.as_deref().unwrap_or("none"), s.quorate, s.members())
                        }
                        Err(e) => format!("{node}: {e:#}"),
                    })
                    .collect();
                let logs = self.recent_logs(ask).await;
                // Corosync's own view (links, membership) tells a network miss from a daemon's.
                let mut corosync = String::new();
                for node in ask {
                    let view = match self.exec(node, &["sh", "-c", "corosync-cfgtool -s; corosync-quorumtool -s"]).await {
                        Ok(out) => format!("{}{}", out.stdout, out.stderr),
                        Err(e) => format!("{e:#}\n"),
                    };
                    corosync.push_str(&format!("--- {node} corosync view ---\n{view}"));
                }
                return Err(NotReadyInTime(format!(
                    "run {}: the cluster did not reach quorum with members {members:?} within {timeout:?}\nlast view:\n  {}\n{corosync}{logs}",
                    self.run,
                    last.join("\n  ")
                ))
                .into());
            }
            // A node that has never joined a DC (a new container) cannot agree yet:
            // follow its log instead of asking `crm_mon` (a cluster start took 20–45 views).
            match ask.iter().find(|n| !joined.contains(n)) {
                Some(node) => match self.await_join(node).await {
                    Join::Joined => joined.push(node),
                    Join::NotYet => {}
                    // It will not join by waiting (the start-up miss: a pacemakerd
                    // staying down after a fatal error, its cause not yet proven).
                    Join::StaysDown(why) => {
                        let logs = self.recent_logs(ask).await;
                        return Err(NotReadyInTime(format!(
                            "run {}: {node} stays down ({why}) while the cluster was awaited\n{logs}",
                            self.run
                        ))
                        .into());
                    }
                },
                None => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Whether `node`'s controller has joined a DC at least once, waiting up to
    /// `JOIN_WAIT` for it. Joined is not an answer on its own (a log may be
    /// elsewhere): it only saves views that could not agree yet.
    async fn await_join(&self, node: &str) -> Join {
        match self.supervise(node, Verb::AwaitJoin { seconds: JOIN_WAIT.as_secs_f64() }).await {
            Ok(out) if out.success() => Join::Joined,
            Ok(out) if out.code == 3 => Join::StaysDown(out.stderr.trim().to_string()),
            Ok(_) => Join::NotYet,
            Err(_) => {
                tokio::time::sleep(POLL).await;
                Join::NotYet
            }
        }
    }

    /// Waits until all nodes agree (quorum, a DC, every node online) and every
    /// node's boot has started its services, as a host that reached multi-user.target.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let names = self.node_names();
        let ready = async {
            self.wait_for_members(&names, &names, timeout).await?;
            self.wait_booted(&names, timeout.saturating_sub(started.elapsed())).await
        };
        tokio::pin!(ready);
        loop {
            tokio::select! {
                result = &mut ready => {
                    result?;
                    // A service that failed at the end of the boot, after the members agreed.
                    self.refuse_failed_starts(&names).await?;
                    return Ok(started.elapsed());
                }
                // A daemon that refused the configuration will not come up by waiting: say so at once.
                _ = tokio::time::sleep(Duration::from_secs(1)) => self.refuse_failed_starts(&names).await?,
            }
        }
    }

    /// Waits until each node's boot has started (or failed to start) its services.
    async fn wait_booted(&self, nodes: &[&str], timeout: Duration) -> anyhow::Result<()> {
        let seconds = timeout.as_secs().clamp(1, EXEC_TIMEOUT.as_secs() - 10);
        let waits = future::join_all(nodes.iter().map(|n| self.supervise(n, Verb::AwaitBoot { seconds }))).await;
        for (node, out) in nodes.iter().zip(waits) {
            let out = out?;
            if !out.success() {
                let logs = self.recent_logs(&[node]).await;
                return Err(NotReadyInTime(format!("run {}: {node}: {}\n{logs}", self.run, out.stderr.trim())).into());
            }
        }
        Ok(())
    }

    /// An error naming every node whose supervisor says a service failed to start.
    async fn refuse_failed_starts(&self, nodes: &[&str]) -> anyhow::Result<()> {
        let mut failed = Vec::new();
        for node in nodes {
            if let Some(line) = self.console(node, 20).await.lines().find(|l| l.contains("failed to start")) {
                failed.push((*node, line.trim().trim_start_matches("pcmk-node: ").to_string()));
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        let failed_nodes: Vec<&str> = failed.iter().map(|(n, _)| *n).collect();
        let logs = self.recent_logs(&failed_nodes).await;
        let what: Vec<String> = failed.iter().map(|(n, why)| format!("{n}: {why}")).collect();
        bail!("run {}: the cluster cannot become ready ({})\n{logs}", self.run, what.join("; "))
    }

    /// The corosync and pacemaker log lines of each node around what went
    /// wrong, for error messages, with the full logs kept in a file the
    /// message names; for a node that is no longer running, its console output.
    pub async fn recent_logs(&self, nodes: &[&str]) -> String {
        let mut out = String::new();
        for node in nodes {
            let text = match self.running(node).await {
                Ok(true) => match self.supervise(node, Verb::Logs { lines: KEPT_LOG_LINES }).await {
                    Ok(o) => format!("{}{}", o.stdout, o.stderr),
                    Err(e) => format!("no logs: {e:#}\n"),
                },
                Ok(false) => format!("(node is not running)\n{}", self.console(node, KEPT_LOG_LINES).await),
                Err(e) => format!("no logs: {e:#}\n"),
            };
            let kept = match self.keep_log(node, &text) {
                Ok(path) => format!(" (full logs: {})", path.display()),
                Err(e) => format!(" (full logs not kept: {e:#})"),
            };
            out.push_str(&format!("--- {node} logs, the lines around the failure{kept} ---\n{}", log_excerpt(&text)));
        }
        out
    }

    /// Writes a node's logs under the cache directory, named by run and container.
    fn keep_log(&self, node: &str, text: &str) -> anyhow::Result<std::path::PathBuf> {
        let dir = crate::cache::node_logs(&self.run.to_string()).context("no cache directory (set PCMK_COMPLY_CACHE_DIR)")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}.log", self.container_of(node)));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Whether the node's container is running.
    pub async fn running(&self, node: &str) -> anyhow::Result<bool> {
        let container = &self.node_container(node)?;
        let state = self.docker.inspect_container(container, None).await.with_context(|| format!("inspecting {node}"))?.state;
        Ok(state.and_then(|s| s.running).unwrap_or(false))
    }

    /// The container's own output (the supervisor's messages).
    async fn console(&self, node: &str, lines: usize) -> String {
        let Ok(node) = self.node(node) else { return String::new() };
        let options = bollard::query_parameters::LogsOptionsBuilder::default().stdout(true).stderr(true).tail(&lines.to_string()).build();
        let mut stream = self.docker.logs(&self.container_of(&node.name), Some(options));
        let mut text = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        text
    }
}

/// Lines of each log a diagnosis keeps in full in its file.
const KEPT_LOG_LINES: usize = 2000;
/// Lines a message quotes of each log file that says something failed.
const QUOTED_PER_FILE: usize = 5;
/// Lines quoted of each file when none says anything failed (a timeout).
const QUOTED_WHEN_QUIET: usize = 3;

/// What an error message quotes of a node's logs (`pcmk-node logs`: `== FILE`
/// headers, each followed by that file's last lines): of each file that says
/// something failed, its latest such lines with one line either side; the
/// files that say nothing of the kind are named on one line. When no file
/// says anything failed, the last lines of each.
pub fn log_excerpt(text: &str) -> String {
    let failing = |line: &str| {
        let line = line.to_ascii_lowercase();
        [" error", "crit", "emerg", "fatal", "exited with", "exiting", "failed to", "not restarting", "refus", "denied"]
            .iter()
            .any(|w| line.contains(w))
    };
    let mut sections: Vec<(&str, Vec<&str>)> = vec![("", Vec::new())];
    for line in text.lines() {
        match line.strip_prefix("== ") {
            Some(_) => sections.push((line, Vec::new())),
            None => sections.last_mut().expect("one section at least").1.push(line),
        }
    }
    sections.retain(|(header, lines)| !header.is_empty() || !lines.is_empty());
    let around = |lines: &[&str]| -> std::collections::BTreeSet<usize> {
        let last = lines.len().saturating_sub(1);
        (0..lines.len()).filter(|i| failing(lines[*i])).flat_map(|i| i.saturating_sub(1)..=(i + 1).min(last)).collect()
    };
    let hits: Vec<_> = sections.iter().map(|(_, lines)| around(lines)).collect();
    let any_failing = hits.iter().any(|h| !h.is_empty());
    let (mut out, mut quiet) = (String::new(), Vec::new());
    for ((header, lines), hits) in sections.iter().zip(hits) {
        let keep: Vec<usize> = match hits {
            hits if !hits.is_empty() => hits.into_iter().rev().take(QUOTED_PER_FILE).rev().collect(),
            _ if any_failing => {
                quiet.push(header.trim_start_matches("== "));
                continue;
            }
            _ => (lines.len().saturating_sub(QUOTED_WHEN_QUIET)..lines.len()).collect(),
        };
        for line in std::iter::once(*header).filter(|h| !h.is_empty()).chain(keep.into_iter().map(|i| lines[i])) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !quiet.is_empty() {
        out.push_str(&format!("(nothing failing in {})\n", quiet.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::log_excerpt;

    #[test]
    fn an_excerpt_keeps_the_failing_lines_with_their_neighbours_and_stays_short() {
        let mut log =
            String::from("== /var/log/cluster/rsyslog.out\nrsyslogd: imklog: cannot open kernel log\n== /var/log/corosync/corosync.log\n");
        for i in 0..500 {
            log.push_str(&format!("line {i} all is well\n"));
        }
        log.push_str("just before\ncorosync error   [MAIN  ] Could only read 512 bits of minimum 1024 bits from /etc/corosync/authkey.\n");
        log.push_str("corosync error   [MAIN  ] Corosync Cluster Engine exiting with status 8 at main.c:1417.\n");
        let excerpt = log_excerpt(&log);
        assert_eq!(
            excerpt,
            "== /var/log/corosync/corosync.log\njust before\ncorosync error   [MAIN  ] Could only read 512 bits of minimum 1024 bits from /etc/corosync/authkey.\n\
             corosync error   [MAIN  ] Corosync Cluster Engine exiting with status 8 at main.c:1417.\n(nothing failing in /var/log/cluster/rsyslog.out)\n"
        );
    }

    #[test]
    fn with_nothing_failing_each_file_shows_its_last_lines() {
        let excerpt = log_excerpt("== a.log\n1\n2\n3\n4\n== b.log\nx\n");
        assert_eq!(excerpt, "== a.log\n2\n3\n4\n== b.log\nx\n");
    }
}
