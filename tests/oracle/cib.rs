//! Pacemaker as the arbiter of cluster options: the scheduler's own trace of
//! `unpack_config()` (`PCMK_trace_functions=unpack_config crm_simulate`)
//! says which fencing, quorum, maintenance and symmetry settings it uses.

use std::collections::{BTreeMap, BTreeSet};

use pcmk_model::node::Distro;
use pcmk_steps::cluster_options::{self, Pacemaker};
use pcmk_steps::facts::CibFacts;

use super::cib_cases::{CibCase, OPTIONS};

/// Each option's values: lint's readings, or the scheduler's at each time asked.
pub type Values = BTreeMap<&'static str, BTreeSet<String>>;

/// The scheduler's reading, or why it could not read the CIB.
pub type Answer = Result<Values, String>;

// One process per case and time, and nothing else forked: the scheduler's
// lines are picked out here, not in the container.
const SCRIPT: &str = r#"set -u
for f in /oracle/cib/*.xml; do
  id=${f##*/}; id=${id%.xml}
  for when in 2026-06-01 2031-06-01; do
    if [ "$when" = 2031-06-01 ] && [ ! -f "/oracle/cib/$id.timed" ]; then continue; fi
    echo "BEGIN $id@$when"
    PCMK_trace_functions=unpack_config PCMK_stderr=1 crm_simulate -x "$f" -Q -t "$when" 2>&1 </dev/null
    echo "END $?"
  done
done
"#;

pub fn script() -> &'static str {
    SCRIPT
}

pub fn files(cases: &[(usize, &CibCase)]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for (n, case) in cases {
        files.push((format!("/oracle/cib/{n:05}.xml"), case.xml.clone().into_bytes()));
        if case.timed {
            files.push((format!("/oracle/cib/{n:05}.timed"), Vec::new()));
        }
    }
    files
}

/// The scheduler's output for each case and time, by `NNNNN@date`.
pub fn outputs(stdout: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<String>)> = None;
    for line in stdout.lines() {
        if let Some(key) = line.strip_prefix("BEGIN ") {
            current = Some((key.to_string(), Vec::new()));
        } else if let Some(rc) = line.strip_prefix("END ") {
            if let Some((key, lines)) = current.take() {
                out.insert(key, (rc.to_string(), lines));
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line.to_string());
        }
    }
    out
}

/// The text after `marker` on the first line holding it.
fn after<'a>(lines: &'a [String], marker: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| l.split_once(marker).map(|(_, rest)| rest.trim()))
}

/// The scheduler's values for case `n`, over the times it was asked at.
pub fn pacemaker(outputs: &BTreeMap<String, (String, Vec<String>)>, n: usize) -> Answer {
    let mut values: Values = OPTIONS.iter().map(|o| (*o, BTreeSet::new())).collect();
    let mut asked = 0;
    for when in ["2026-06-01", "2031-06-01"] {
        let Some((rc, lines)) = outputs.get(&format!("{n:05}@{when}")) else { continue };
        asked += 1;
        let Some(stonith) = after(lines, "STONITH of failed nodes is ") else {
            let errors: Vec<&String> = lines.iter().filter(|l| l.contains("rror")).take(3).collect();
            return Err(format!("crm_simulate exit {rc}: {errors:?}"));
        };
        let quorum = match after(lines, "On loss of quorum: ").unwrap_or_default() {
            "Freeze resources" => "freeze",
            "Stop ALL resources" => "stop",
            "Demote promotable resources and stop other resources" => "demote",
            "Fence all remaining nodes" => "suicide",
            "Ignore" => "ignore",
            other => return Err(format!("unknown no-quorum line `{other}`")),
        };
        let insert =
            |values: &mut Values, option: &'static str, value: &str| values.get_mut(option).expect("known").insert(value.to_string());
        insert(&mut values, "stonith-enabled", if stonith == "enabled" { "true" } else { "false" });
        insert(&mut values, "no-quorum-policy", quorum);
        insert(&mut values, "maintenance-mode", after(lines, "Maintenance mode: ").unwrap_or_default());
        let symmetric = lines.iter().any(|l| l.contains("Cluster is symmetric"));
        insert(&mut values, "symmetric-cluster", if symmetric { "true" } else { "false" });
    }
    if asked == 0 {
        return Err("no answer".into());
    }
    Ok(values)
}

/// Lint's readings for the Pacemaker of `distro`.
pub fn lint(case: &CibCase, distro: Distro) -> Answer {
    let cib = CibFacts::parse(&case.xml, "cib.xml").map_err(|e| format!("{e:#}"))?;
    let version = if distro == Distro::Bookworm { Pacemaker::V2_1 } else { Pacemaker::V3_0 };
    let mut values = Values::new();
    for option in OPTIONS {
        let read = cluster_options::readings(&cib, "cib.xml", option, &[version]);
        // 3.0's `fence` is the scheduler's `suicide` under its new name.
        values.insert(option, read.into_iter().map(|r| if r.value == "fence" { "suicide".to_string() } else { r.value }).collect());
    }
    Ok(values)
}

/// How lint's reading stands to the scheduler's.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing {
    Agrees,
    /// Deliberately stricter than the software, for the reason given
    /// (docs/semantics.md, «Where lint is stricter»).
    Stricter(&'static str),
    Disagrees(String),
}

/// Whether lint and the scheduler agree on case `case`, read for `distro`.
pub fn compare(case: &CibCase, distro: Distro, lint: &Answer, pacemaker: &Answer) -> Standing {
    match (lint, pacemaker) {
        (Ok(ours), Ok(theirs)) if ours == theirs => Standing::Agrees,
        (Ok(ours), Ok(theirs)) => {
            let wider = OPTIONS.iter().all(|o| ours[*o].is_superset(&theirs[*o]));
            if wider && case.xml.contains("<rule") {
                return Standing::Stricter("a set with a rule is judged both in force and not, whatever the date");
            }
            let differ: Vec<String> = OPTIONS
                .iter()
                .filter(|o| ours[*o] != theirs[*o])
                .map(|o| format!("{o}: lint {:?}, Pacemaker {:?}", ours[*o], theirs[*o]))
                .collect();
            Standing::Disagrees(differ.join("; "))
        }
        (Err(_), Err(_)) => Standing::Agrees,
        (Err(why), Ok(_)) if distro == Distro::Trixie && why.contains("is not valid under pacemaker-3.") => {
            Standing::Stricter("a pre-3.0 option name under a pacemaker-3.x schema is refused, as Pacemaker 2.1 refuses it, though 3.0.0 reads some such documents")
        }
        (ours, theirs) => Standing::Disagrees(format!("lint {ours:?}, Pacemaker {theirs:?}")),
    }
}
