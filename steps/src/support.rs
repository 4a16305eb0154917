//! Small helpers shared by the step modules.

use pcmk_model::corosync_conf::CorosyncConf;
use pcmk_model::finding::{Finding, Place, Subject};
use pcmk_model::node::COROSYNC_CONF;

use crate::facts::{FileFact, NodeFacts};

/// "aes256, aes192" → ["aes256", "aes192"].
pub fn list(text: &str) -> Vec<String> {
    text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// The first column of a step's data table, header row left out; a step
/// without one is an authoring error naming the column it expects.
pub fn table_column(step: &cucumber::gherkin::Step, column: &str) -> anyhow::Result<Vec<String>> {
    let values: Vec<String> =
        step.table.as_ref().map(|t| t.rows.iter().skip(1).filter_map(|r| r.first().cloned()).collect()).unwrap_or_default();
    anyhow::ensure!(!values.is_empty(), "the step needs a table with a `{column}` column");
    Ok(values)
}

/// A corosync.conf value as the node has it, where it comes from for people
/// (its line, or corosync's default), and its line. Lines are the
/// candidate's own: a node's copy is the candidate's file with its nodelist
/// written for the run, so its lines past the nodelist are not the candidate's.
pub fn conf_value(conf: &CorosyncConf, candidate: &CorosyncConf, path: &str, default: &str) -> (String, String, Option<Place>) {
    match (conf.root.lookup(path), candidate.root.lookup(path)) {
        (Some(pair), Some(written)) => {
            (pair.value.clone(), format!("corosync.conf line {}", written.line), Some(Place::new(COROSYNC_CONF, written.line)))
        }
        (Some(pair), None) => (pair.value.clone(), "the node's corosync.conf, not the candidate's".to_string(), None),
        (None, _) => (default.to_string(), "unset in corosync.conf, corosync's default".to_string(), None),
    }
}

/// Collects findings across nodes; the step fails with all of them at once
/// (`PolicyWorld::judge`).
#[derive(Default)]
pub struct Violations(pub(crate) Vec<Finding>);

impl Violations {
    pub fn add(&mut self, finding: Finding) {
        self.0.push(finding);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The reason people read: one finding a line.
    pub fn text(&self) -> String {
        self.0.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("\n")
    }
}

/// What facts are about: a node, or the candidate read without a cluster.
pub fn subject(node: &NodeFacts) -> Subject {
    if node.name == "candidate" {
        Subject::Candidate
    } else {
        Subject::Node(node.name.clone())
    }
}

/// A node named in a live run.
pub fn node_named(name: &str) -> Subject {
    Subject::Node(name.to_string())
}

pub fn parse_mode(text: &str) -> anyhow::Result<u32> {
    pcmk_model::text::parse_mode(text).map_err(anyhow::Error::msg)
}

/// Where a fact came from, for messages: a node name, or the candidate.
pub fn place(node: &NodeFacts) -> String {
    subject(node).to_string()
}

/// Checks owner, group and that no mode bit exceeds `max_mode`.
pub fn check_file(node: &NodeFacts, path: &str, file: &FileFact, owner: &str, group: &str, max_mode: u32, out: &mut Violations) {
    let mut problems = Vec::new();
    if file.owner != owner || file.group != group {
        problems.push(format!("owned by {}:{} instead of {owner}:{group}", file.owner, file.group));
    }
    let extra = file.mode & !max_mode;
    if extra != 0 {
        problems.push(format!("mode {:04o} allows {:04o} beyond {:04o}", file.mode, extra, max_mode));
    }
    if !problems.is_empty() {
        out.add(Finding::new(subject(node), format!("{}: {path} is {}", place(node), problems.join(" and "))));
    }
}

/// KEY=value lines of a shell-style defaults file, quotes removed.
pub fn shell_assignments(text: &str) -> Vec<(String, String, usize)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.starts_with('#') {
                return None;
            }
            let (key, value) = line.strip_prefix("export ").unwrap_or(line).split_once('=')?;
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            Some((key.trim().to_string(), value.to_string(), i + 1))
        })
        .collect()
}

/// Debian version ordering (dpkg --compare-versions): epoch, upstream, revision,
/// with `~` sorting before everything.
pub fn compare_debian_versions(a: &str, b: &str) -> std::cmp::Ordering {
    fn split(v: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, v),
        };
        match rest.rsplit_once('-') {
            Some((upstream, revision)) => (epoch, upstream, revision),
            None => (epoch, rest, ""),
        }
    }
    fn order(c: Option<char>) -> i32 {
        match c {
            Some('~') => -1,
            None => 0,
            Some(c) if c.is_ascii_alphabetic() => c as i32,
            Some(c) => c as i32 + 256,
        }
    }
    fn part(mut a: &str, mut b: &str) -> std::cmp::Ordering {
        while !a.is_empty() || !b.is_empty() {
            let a_text: String = a.chars().take_while(|c| !c.is_ascii_digit()).collect();
            let b_text: String = b.chars().take_while(|c| !c.is_ascii_digit()).collect();
            let (mut ai, mut bi) = (a_text.chars(), b_text.chars());
            loop {
                let (x, y) = (ai.next(), bi.next());
                if x.is_none() && y.is_none() {
                    break;
                }
                let o = order(x).cmp(&order(y));
                if o.is_ne() {
                    return o;
                }
            }
            a = &a[a_text.len()..];
            b = &b[b_text.len()..];
            let a_num: String = a.chars().take_while(|c| c.is_ascii_digit()).collect();
            let b_num: String = b.chars().take_while(|c| c.is_ascii_digit()).collect();
            let o = a_num.parse::<u128>().unwrap_or(0).cmp(&b_num.parse::<u128>().unwrap_or(0));
            if o.is_ne() {
                return o;
            }
            a = &a[a_num.len()..];
            b = &b[b_num.len()..];
        }
        std::cmp::Ordering::Equal
    }
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    ea.cmp(&eb).then_with(|| part(ua, ub)).then_with(|| part(ra, rb))
}

/// Fails the step as a policy failure unless `cond` holds (a finding, see `PolicyWorld::fails`).
macro_rules! ensure_policy {
    ($world:expr, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($world.fails(format!($($arg)+)));
        }
    };
}

/// Fails the step as a policy failure (a finding, see `PolicyWorld::fails`).
macro_rules! fail_policy {
    ($world:expr, $($arg:tt)+) => {
        return Err($world.fails(format!($($arg)+)))
    };
}

/// Fails the step as an authoring error unless `cond` holds (exit 2, see `PolicyWorld::authoring`).
macro_rules! ensure_authored {
    ($world:expr, $cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err($world.authoring(format!($($arg)+)));
        }
    };
}

pub(crate) use {ensure_authored, ensure_policy, fail_policy};

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering::*;

    #[test]
    fn debian_versions_order_like_dpkg() {
        let cases = [
            ("2.1.5-1+deb12u1", "2.0.5", Greater),
            ("2.0.5", "2.0.5-1", Less),
            ("1.0~rc1", "1.0", Less),
            ("0.11.5-1+deb12u1", "0.11.4", Greater),
            ("0.10.14-1", "0.10.15", Less),
            ("1:0.1", "9.9", Greater),
            ("5.0.0~rc1-1", "4.3.1", Greater),
            ("4.4.1-1+deb12u1", "4.4.1-1", Greater),
            ("3.1.7-1", "3.1.7-1", Equal),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare_debian_versions(a, b), expected, "{a} vs {b}");
        }
    }

    #[test]
    fn file_checks_name_every_problem() {
        let node = NodeFacts { name: "n1".into(), ..Default::default() };
        let file = FileFact { owner: "root".into(), group: "haclient".into(), mode: 0o644, size: 1, is_dir: false, sha256: None };
        let mut v = Violations::default();
        check_file(&node, "/etc/corosync/authkey", &file, "root", "root", 0o400, &mut v);
        assert_eq!(v.0[0].subject, Subject::Node("n1".into()));
        let text = v.text();
        assert_eq!(
            text,
            "node n1: /etc/corosync/authkey is owned by root:haclient instead of root:root and mode 0644 allows 0244 beyond 0400"
        );
        let mut v = Violations::default();
        check_file(&node, "/x", &FileFact { group: "root".into(), mode: 0o400, ..file }, "root", "root", 0o440, &mut v);
        assert!(v.is_empty());
    }

    #[test]
    fn shell_defaults_are_read() {
        let a = shell_assignments("# c\nPCSD_BIND_ADDR=\"10.0.0.1\"\nexport X='y'\n");
        assert_eq!(a, vec![("PCSD_BIND_ADDR".into(), "10.0.0.1".into(), 2), ("X".into(), "y".into(), 3)]);
    }
}
