//! Practice 6, intrusion detection: the candidate's file-integrity
//! configuration (AIDE) covers the cluster's configuration and keys, and on a
//! running node a real AIDE check finds tampering and nothing else.

use pcmk_model::scope::Evidence;
use std::collections::BTreeMap;

use cucumber::gherkin::Step;
use cucumber::{then, when};
use regex::Regex;

use crate::support::{ensure_authored, ensure_policy};
use crate::support::{list, place, subject, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place};

pub const AIDE_CONF: &str = "/etc/aide/aide.conf";

/// AIDE attributes that look at a file's content.
const CONTENT_ATTRIBUTES: &[&str] = &[
    "sha256",
    "sha512",
    "sha1",
    "md5",
    "rmd160",
    "tiger",
    "crc32",
    "crc32b",
    "haval",
    "whirlpool",
    "gost",
    "stribog256",
    "stribog512",
    "H",
    "R",
];

#[derive(Debug)]
struct Selection {
    regex: Regex,
    /// `!`: excluded; `=`: this path only.
    negative: bool,
    exact: bool,
    group: String,
    line: usize,
}

/// The rules of an aide.conf: selection lines and group definitions.
#[derive(Debug, Default)]
pub struct AideRules {
    selections: Vec<Selection>,
    groups: BTreeMap<String, String>,
    /// (what is wrong, its line).
    pub problems: Vec<(String, usize)>,
}

impl AideRules {
    pub fn parse(text: &str) -> AideRules {
        let mut rules = AideRules::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("@@") {
                continue;
            }
            let (negative, exact, rest) = match line.as_bytes()[0] {
                b'!' => (true, false, &line[1..]),
                b'=' => (false, true, &line[1..]),
                _ => (false, false, line),
            };
            if rest.starts_with('/') {
                let mut words = rest.split_whitespace();
                let pattern = words.next().unwrap_or_default();
                let anchored = if exact { format!("^(?:{pattern})/?$") } else { format!("^(?:{pattern})") };
                match Regex::new(&anchored) {
                    Ok(regex) => rules.selections.push(Selection {
                        regex,
                        negative,
                        exact,
                        group: words.next().unwrap_or_default().to_string(),
                        line: index + 1,
                    }),
                    Err(e) => {
                        rules.problems.push((format!("aide.conf line {}: bad regular expression `{pattern}`: {e}", index + 1), index + 1))
                    }
                }
            } else if let Some((name, value)) = line.split_once('=') {
                rules.groups.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
        rules
    }

    /// Whether a group expression (e.g. `ClusterFiles` or `p+u+sha256`) looks at content.
    fn checks_content(&self, group: &str, depth: usize) -> bool {
        depth < 8
            && group
                .split('+')
                .map(|a| a.split('-').next().unwrap_or_default().trim())
                .any(|attr| CONTENT_ATTRIBUTES.contains(&attr) || self.groups.get(attr).is_some_and(|g| self.checks_content(g, depth + 1)))
    }

    /// None when `path` is covered with a content check; else why not, and the line that decided it.
    pub fn coverage_gap(&self, path: &str) -> Option<(String, Option<usize>)> {
        if let Some(excluded) = self.selections.iter().find(|s| s.negative && s.regex.is_match(path)) {
            return Some((format!("is excluded (aide.conf line {})", excluded.line), Some(excluded.line)));
        }
        // AIDE applies the most specific (last matching) selection; any content check will do here.
        let matching: Vec<&Selection> =
            self.selections.iter().filter(|s| !s.negative && s.regex.is_match(path) && (s.exact || !s.group.is_empty())).collect();
        match matching.iter().find(|s| self.checks_content(&s.group, 0)) {
            Some(_) => None,
            None if matching.is_empty() => Some(("is not selected".to_string(), None)),
            None => Some((
                format!("is selected without a content hash (aide.conf line {}: `{}`)", matching[0].line, matching[0].group),
                Some(matching[0].line),
            )),
        }
    }
}

#[then(expr = "the file-integrity configuration covers these paths:")]
async fn aide_covers(world: &mut PolicyWorld, step: &Step) -> anyhow::Result<()> {
    let required = crate::support::table_column(step, "path")?;
    if world.lacks(&[Evidence::File(AIDE_CONF)]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let Some(text) = node.texts.get(AIDE_CONF) else {
            violations.add(Finding::new(subject(node), format!("{}: no {AIDE_CONF}", place(node))));
            continue;
        };
        let rules = AideRules::parse(text);
        for (problem, line) in &rules.problems {
            violations.add(Finding::new(subject(node), format!("{}: {problem}", place(node))).at(Place::new(AIDE_CONF, *line)));
        }
        for path in &required {
            if let Some((gap, line)) = rules.coverage_gap(path) {
                violations.add(
                    Finding::new(subject(node), format!("{}: {path} {gap} in {AIDE_CONF}", place(node)))
                        .at(line.map(|l| Place::new(AIDE_CONF, l))),
                );
            }
        }
    }
    world.judge(violations)
}

#[when(expr = "the file-integrity baseline is taken on every node")]
async fn aide_init(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("running AIDE")?;
    // AIDE run with the lab image's configuration would judge the lab.
    world.require(&[Evidence::File(AIDE_CONF)])?;
    ensure_policy!(
        world,
        world.ctx.candidate.holds(AIDE_CONF),
        "the candidate places no {AIDE_CONF}, so the nodes have no file-integrity configuration of their own"
    );
    let live = world.live().await?;
    for node in live.cluster.node_names() {
        let out = world
            .exec(node, &["sh", "-c", "aide --config /etc/aide/aide.conf --init && mv /var/lib/aide/aide.db.new /var/lib/aide/aide.db"])
            .await?;
        ensure_policy!(world, out.success(), "{node}: `aide --init` failed (exit {}): {}", out.code, out.stderr.trim());
    }
    Ok(())
}

#[when(expr = "the files {string} are tampered with on {string}")]
async fn tamper(world: &mut PolicyWorld, files: String, node: String) -> anyhow::Result<()> {
    world.require_live("tampering with files")?;
    for file in list(&files) {
        // One byte appended: the running daemons keep what they read at start.
        let out = world.exec(&node, &["sh", "-c", "printf '#' >> \"$1\"", "tamper", &file]).await?;
        if !out.success() {
            return world.infra(Err(anyhow::anyhow!("{node}: could not append to {file}: {}", out.stderr.trim())));
        }
    }
    world.tampered = list(&files);
    world.changed_cluster().await;
    Ok(())
}

/// Paths AIDE lists under "Changed entries" (and added or removed ones).
fn aide_reported(output: &str) -> Vec<String> {
    let mut in_entries = false;
    let mut paths = Vec::new();
    for line in output.lines() {
        if line.ends_with("entries:") {
            in_entries = true;
        } else if line.starts_with("File: ") || line.starts_with("Detailed information") || line.starts_with("The attributes of") {
            in_entries = false;
        } else if let (true, Some((_, path))) = (in_entries, line.rsplit_once(" : ")) {
            if path.starts_with('/') {
                paths.push(path.trim().to_string());
            }
        }
    }
    paths
}

#[then(expr = "the file-integrity check on {string} reports exactly the tampered files")]
async fn aide_finds_tampering(world: &mut PolicyWorld, node: String) -> anyhow::Result<()> {
    ensure_authored!(world, !world.tampered.is_empty(), "no file was tampered with in this scenario");
    let out = world.exec(&node, &["aide", "--config", AIDE_CONF, "--check"]).await?;
    let reported = aide_reported(&out.stdout);
    let missed: Vec<&String> = world.tampered.iter().filter(|f| !reported.contains(f)).collect();
    ensure_policy!(
        world,
        out.code != 0 && missed.is_empty(),
        "{node}: AIDE (exit {}) did not report {} as changed; it reported: {}",
        out.code,
        missed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
        if reported.is_empty() { "nothing".to_string() } else { reported.join(", ") }
    );
    let extra: Vec<&String> = reported.iter().filter(|r| !world.tampered.contains(r)).collect();
    ensure_policy!(
        world,
        extra.is_empty(),
        "{node}: AIDE also reports {} as changed, which nobody touched",
        extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(())
}

#[then(expr = "the file-integrity check on {string} reports no change")]
async fn aide_clean(world: &mut PolicyWorld, node: String) -> anyhow::Result<()> {
    let out = world.exec(&node, &["aide", "--config", AIDE_CONF, "--check"]).await?;
    ensure_policy!(
        world,
        out.code == 0,
        "{node}: AIDE (exit {}) reports changes on an untouched node: {}",
        out.code,
        aide_reported(&out.stdout).join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_groups_and_exclusions_decide_coverage() {
        let rules = AideRules::parse(
            "database_in=file:/var/lib/aide/aide.db\nClusterFiles = p+u+g+s+sha256\nMeta = p+u+g\n/etc/corosync ClusterFiles\n/etc/pacemaker Meta\n!/etc/corosync/uidgid.d\n=/etc/default/pcsd R\n/var/lib/pcsd p+u+g+s\n",
        );
        assert!(rules.problems.is_empty());
        assert_eq!(rules.coverage_gap("/etc/corosync/authkey"), None);
        assert_eq!(rules.coverage_gap("/etc/default/pcsd"), None);
        assert_eq!(
            rules.coverage_gap("/etc/pacemaker/authkey"),
            Some(("is selected without a content hash (aide.conf line 5: `Meta`)".into(), Some(5)))
        );
        assert_eq!(rules.coverage_gap("/etc/corosync/uidgid.d/x"), Some(("is excluded (aide.conf line 6)".into(), Some(6))));
        assert_eq!(rules.coverage_gap("/etc/shadow"), Some(("is not selected".into(), None)));
        assert!(rules.coverage_gap("/var/lib/pcsd/pcsd.key").unwrap().0.contains("without a content hash"));
        assert!(AideRules::parse("/etc/(corosync ClusterFiles\n").problems[0].0.contains("line 1: bad regular expression"));
    }

    #[test]
    fn changed_entries_are_read_from_aide_output() {
        let out = "Changed entries:\n---\n\nf > ... mc  H     : /etc/corosync/authkey\nf > ... mc  H     : /etc/corosync/corosync.conf\n\nFile: /etc/corosync/authkey\n Size      : 257 | 258\nThe attributes of the (uncompressed) database(s):\n SHA256    : AuA4ds11ObIqRNi38+VOT6YURRchLQU7/x\n";
        assert_eq!(aide_reported(out), vec!["/etc/corosync/authkey".to_string(), "/etc/corosync/corosync.conf".to_string()]);
    }
}
