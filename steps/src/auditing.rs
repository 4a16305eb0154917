//! Practice 5, auditing: audit rules that watch the cluster's configuration
//! (checked as written: containers have no kernel audit subsystem), cluster
//! logging with timestamps, and an audit trail naming who changed the CIB.

use cucumber::gherkin::Step;
use cucumber::{then, when};

use crate::facts::NodeFacts;
use crate::support::{ensure_policy, fail_policy};
use crate::support::{node_named, place, subject, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place};
use pcmk_model::scope::Evidence;

/// One audit rule that watches a path: `-w PATH -p PERMS` or
/// `-a always,exit -F dir=PATH|path=PATH -F perm=PERMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditWatch {
    pub path: String,
    /// Watches below `path` too (`-w` on a directory, `-F dir=`).
    pub recursive: bool,
    pub perms: String,
    /// `file line N`, for messages.
    pub place: String,
    pub at: Place,
}

/// Watches in a rules file, and lines that switch auditing off (what, where).
pub fn parse_audit_rules(file: &str, text: &str) -> (Vec<AuditWatch>, Vec<(String, Place)>) {
    let mut watches = Vec::new();
    let mut disabling = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let place = format!("{file} line {}", index + 1);
        let at = Place::new(file, index + 1);
        let line = raw.split('#').next().unwrap_or_default().trim();
        let words: Vec<&str> = line.split_whitespace().collect();
        let value_of = |flag: &str| words.windows(2).find(|w| w[0] == flag).map(|w| w[1]);
        let fields: Vec<(&str, &str)> = words.windows(2).filter(|w| w[0] == "-F").filter_map(|w| w[1].split_once('=')).collect();
        let field = |name: &str| fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match words.first() {
            Some(&"-e") if value_of("-e") == Some("0") => disabling.push((format!("{place}: `-e 0` disables auditing"), at)),
            Some(&"-w") => {
                if let Some(path) = value_of("-w") {
                    let perms = value_of("-p").unwrap_or("rwxa").to_string();
                    watches.push(AuditWatch { path: path.trim_end_matches('/').to_string(), recursive: true, perms, place, at });
                }
            }
            Some(&"-a") | Some(&"-A") => {
                let Some(spec) = words.get(1) else { continue };
                if !spec.split(',').any(|p| p == "always") || !spec.split(',').any(|p| p == "exit") {
                    continue;
                }
                let target = field("dir").map(|d| (d, true)).or_else(|| field("path").map(|p| (p, false)));
                if let Some((path, recursive)) = target {
                    let perms = field("perm").unwrap_or("rwxa").to_string();
                    watches.push(AuditWatch { path: path.trim_end_matches('/').to_string(), recursive, perms, place, at });
                }
            }
            _ => {}
        }
    }
    (watches, disabling)
}

/// Where auditd's rule files sit (augenrules reads `*.rules` there).
const AUDIT_RULES_DIR: &str = "/etc/audit/rules.d/";

fn audit_rules(node: &NodeFacts) -> Vec<(&String, &String)> {
    node.texts.iter().filter(|(path, _)| path.starts_with(AUDIT_RULES_DIR) && path.ends_with(".rules")).collect()
}

#[then(expr = "the audit rules watch these paths for writes and attribute changes:")]
async fn audit_rules_watch(world: &mut PolicyWorld, step: &Step) -> anyhow::Result<()> {
    let required = crate::support::table_column(step, "path").map_err(|e| world.authoring(e))?;
    if world.lacks(&[Evidence::File(AUDIT_RULES_DIR)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let files = audit_rules(node);
        if files.is_empty() {
            violations.add(Finding::new(subject(node), format!("{}: no audit rules in /etc/audit/rules.d/*.rules", place(node))));
            continue;
        }
        let mut watches = Vec::new();
        for (path, text) in files {
            let (found, disabling) = parse_audit_rules(path, text);
            watches.extend(found);
            for (problem, at) in disabling {
                violations.add(Finding::new(subject(node), format!("{}: {problem}", place(node))).at(at));
            }
        }
        for path in &required {
            let path = path.trim_end_matches('/');
            let covering: Vec<&AuditWatch> =
                watches.iter().filter(|w| w.path == path || (w.recursive && path.starts_with(&format!("{}/", w.path)))).collect();
            if !covering.iter().any(|w| w.perms.contains('w') && w.perms.contains('a')) {
                let (what, at) = match covering.first() {
                    Some(w) => (format!("is watched only for `{}` ({})", w.perms, w.place), Some(w.at.clone())),
                    None => ("is not watched".to_string(), None),
                };
                violations.add(
                    Finding::new(
                        subject(node),
                        format!("{}: {path} {what}; writes (w) and attribute changes (a) must be audited", place(node)),
                    )
                    .at(at),
                );
            }
        }
    }
    world.judge(violations)
}

#[then(expr = "corosync logs to a file and to syslog, with timestamps")]
async fn corosync_logging(world: &mut PolicyWorld) -> anyhow::Result<()> {
    if world.lacks(&[Evidence::File(pcmk_model::node::COROSYNC_CONF)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let candidate = &world.ctx.candidate;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let Some(conf) = &node.corosync_conf else {
            violations.add(Finding::new(subject(node), format!("{}: no corosync.conf", place(node))));
            continue;
        };
        // corosync's defaults: to_syslog yes, to_logfile no, timestamp off.
        for (key, default, wanted) in
            [("to_logfile", "no", &["yes", "on"][..]), ("to_syslog", "yes", &["yes", "on"][..]), ("timestamp", "off", &["on", "hires"][..])]
        {
            let (value, at, line) = crate::support::conf_value(conf, candidate.corosync_conf(), &format!("logging.{key}"), default);
            if !wanted.contains(&value.as_str()) {
                violations.add(
                    Finding::new(
                        subject(node),
                        format!("{}: logging.{key} is `{value}` ({at}); want {}", place(node), wanted.join(" or ")),
                    )
                    .at(line),
                );
            }
        }
        if conf.root.lookup("logging.to_logfile").is_some_and(|p| p.value == "yes" || p.value == "on")
            && conf.root.lookup("logging.logfile").is_none()
        {
            violations
                .add(Finding::new(subject(node), format!("{}: logging.to_logfile is on but logging.logfile names no file", place(node))));
        }
    }
    world.judge(violations)
}

/// Whether a log line starts with a syslog-style or ISO timestamp.
fn timestamped(line: &str) -> bool {
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let b = line.as_bytes();
    let syslog = months.iter().any(|m| line.starts_with(m)) && b.len() > 15 && b[9] == b':' && b[12] == b':';
    let iso = b.len() > 19 && b[4] == b'-' && b[7] == b'-' && (b[10] == b'T' || b[10] == b' ') && b[13] == b':';
    syslog || iso
}

#[then(expr = "on every node the logs {string} have timestamped lines")]
async fn logs_timestamped(world: &mut PolicyWorld, files: String) -> anyhow::Result<()> {
    world.require_live("reading the nodes' logs")?;
    // Where and how corosync logs is corosync.conf's to say.
    if world.lacks(&[Evidence::File(pcmk_model::node::COROSYNC_CONF)]) {
        return Ok(());
    }
    let live = world.live().await?;
    let mut violations = Violations::default();
    for node in live.cluster.node_names() {
        for file in crate::support::list(&files) {
            let out = world.exec(node, &["tail", "-n", "20", &file]).await?;
            let lines: Vec<&str> = out.stdout.lines().filter(|l| !l.trim().is_empty()).collect();
            if !out.success() || lines.is_empty() {
                violations.add(Finding::new(node_named(node), format!("{node}: {file} is missing or empty")));
            } else if let Some(bad) = lines.iter().find(|l| !timestamped(l)) {
                violations.add(Finding::new(
                    node_named(node),
                    format!("{node}: {file} has a line without a timestamp: `{}`", bad.chars().take(100).collect::<String>()),
                ));
            }
        }
    }
    world.judge(violations)
}

#[when(expr = "{string} sets the meta attribute {string} of {string} through sudo")]
async fn change_through_sudo(world: &mut PolicyWorld, user: String, option: String, resource: String) -> anyhow::Result<()> {
    let resource = world.subject_resource(&resource).await?;
    world.require_live("changing the CIB as a user")?;
    // What sudo lets the user do is the sudoers files': the lab's say nothing of the candidate's.
    world.require(&crate::access_control::SUDOERS)?;
    let user = if user == "auto" { sudo_operator(world).await? } else { user };
    let node = world.first_node().await?;
    let marker = format!("{}", rand::random::<u32>());
    crate::access_control::ensure_account(world, &node, &user, &[]).await?;
    let cmd = format!("sudo -n /usr/sbin/crm_resource --resource {resource} --meta --set-parameter {option} --parameter-value {marker}");
    let out = world.exec(&node, &["su", "-s", "/bin/sh", &user, "-c", &cmd]).await?;
    ensure_policy!(world, out.success(), "`{cmd}` as `{user}` on {node} failed (exit {}): {}", out.code, out.stderr.trim());
    world.audit = Some(crate::world::AuditedChange { node, user, option, marker });
    world.changed_cluster().await;
    Ok(())
}

/// The first user the candidate's sudoers rules let run crm_resource (or everything).
async fn sudo_operator(world: &mut PolicyWorld) -> anyhow::Result<String> {
    let rules = crate::access_control::candidate_sudo_rules(world).await?;
    let found = rules.into_iter().find(|r| r.commands.contains("crm_resource") || r.commands.split([',', ' ', ':']).any(|c| c == "ALL"));
    match found {
        Some(rule) => Ok(rule.user),
        None => {
            Err(world.not_applicable("the candidate's sudoers rules let no user run crm_resource, so no change through sudo can be traced"))
        }
    }
}

#[then(expr = "the node's logs name the user, the command and the change")]
async fn audit_trail(world: &mut PolicyWorld) -> anyhow::Result<()> {
    // sudo's lines reach auth.log through the nodes' syslog configuration.
    if world.lacks(&crate::logging::RSYSLOG) {
        return Ok(());
    }
    let change = world.audit.clone().ok_or_else(|| world.authoring("no change was made as a user in this scenario"))?;
    // Give syslog and pacemaker a moment to write.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let sudo_log = world.exec(&change.node, &["sh", "-c", "cat /var/log/auth.log /var/log/secure 2>/dev/null"]).await?.stdout;
        let sudo_line = sudo_log
            .lines()
            .find(|l| l.contains("sudo") && l.contains(&change.user) && l.contains("crm_resource") && l.contains(&change.marker));
        let pcmk_log = world
            .exec(&change.node, &["grep", "-h", &format!("value=\"{}\"", change.marker), "/var/log/pacemaker/pacemaker.log"])
            .await?
            .stdout;
        match (sudo_line, pcmk_log.trim().is_empty()) {
            (Some(line), false) if timestamped(line) => return Ok(()),
            _ if std::time::Instant::now() < deadline => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
            (sudo_line, no_change) => {
                let mut missing = Vec::new();
                match sudo_line {
                    None => missing.push(format!(
                        "no syslog line (auth.log) names `{}` running crm_resource with {}={}",
                        change.user, change.option, change.marker
                    )),
                    Some(line) if !timestamped(line) => missing.push(format!("the sudo line has no timestamp: `{line}`")),
                    _ => {}
                }
                if no_change {
                    missing.push(format!("pacemaker.log does not record {}={}", change.option, change.marker));
                }
                fail_policy!(world, "{}: {}", change.node, missing.join("; "));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_and_syscall_rules_are_read() {
        let rules = "# cluster\n-w /etc/corosync/ -p wa -k cluster\n-a always,exit -F dir=/var/lib/pacemaker/cib -F perm=wa -k cib\n-a never,exit -F path=/etc/pacemaker\n-a exit,always -F path=/var/lib/pcsd/known-hosts -F perm=w\n-e 0\n";
        let (watches, disabling) = parse_audit_rules("cluster.rules", rules);
        assert_eq!(watches.len(), 3);
        assert_eq!(
            watches[0],
            AuditWatch {
                path: "/etc/corosync".into(),
                recursive: true,
                perms: "wa".into(),
                place: "cluster.rules line 2".into(),
                at: Place::new("cluster.rules", 2)
            }
        );
        assert!(watches[1].recursive && watches[1].path == "/var/lib/pacemaker/cib");
        assert!(!watches[2].recursive && watches[2].perms == "w");
        assert_eq!(disabling, vec![("cluster.rules line 6: `-e 0` disables auditing".to_string(), Place::new("cluster.rules", 6))]);
    }

    #[test]
    fn timestamps_are_recognised() {
        assert!(timestamped("Nov 24 23:51:29.440 node1 pacemaker-based [121] (cib_perform_op) info: x"));
        assert!(timestamped("Nov 24 23:51:24 [78] node1 corosync notice [QUORUM] Members[1]: 1"));
        assert!(timestamped("2026-11-24T23:51:24.123456+00:00 node1 sudo: x"));
        assert!(!timestamped("[TOTEM ] A new membership (1.5) was formed."));
    }
}
