//! `merge`: one report of a sharded run's slices. Each slice is a typed
//! report (`--report-json`), which keeps everything, timeline included, or
//! Cucumber JSON (`--json`), which keeps the verdicts and their findings but
//! no start times or clusters.

use std::path::{Path, PathBuf};

use anyhow::Context;
use pcmk_model::error::InputError;
use pcmk_model::report::{Report, RunInfo};
use pcmk_model::verdict::Outcome;

pub fn merge(paths: &[PathBuf]) -> anyhow::Result<Report> {
    let mut parts = Vec::new();
    for path in paths {
        let report = read(path)?;
        parts.push((label(path, &report), report));
    }
    Report::merge_shards(parts)
        .map_err(|e| InputError::new(paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "), None, e).into())
}

/// A slice as a report: typed JSON is an object, Cucumber JSON an array.
fn read(path: &Path) -> anyhow::Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        // Results as run: the merge applies its own waivers to the whole, as it does to Cucumber JSON.
        let mut report = crate::report_json::parse(path, &text)?;
        report.expired_waivers.clear();
        report.unused_waivers.clear();
        for verdict in &mut report.verdicts {
            verdict.waived_by = None;
        }
        return Ok(report);
    }
    let verdicts = crate::cucumber_json::read(path)?;
    let mut report = Report::new(verdicts, RunInfo { command: "merge".into(), ..RunInfo::default() });
    // An infrastructure error in any shard is still one after merging.
    report.infra_errors = report
        .verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::InfraError)
        .map(|v| format!("{} » {}: {}", v.feature, v.scenario, v.reason.as_deref().unwrap_or_default()))
        .collect();
    Ok(report)
}

/// `shard 2/4` where the slice says which it was, else its file name.
fn label(path: &Path, report: &Report) -> String {
    match &report.info.shard {
        Some(shard) => format!("shard {shard}"),
        None => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::fixture;

    fn slice(dir: &Path, name: &str, shard: &str, typed: bool, keep: usize) -> PathBuf {
        let mut report = fixture::report();
        report.verdicts = vec![report.verdicts.remove(keep)];
        report.verdicts[0].started = Some(Duration::from_secs(3));
        report.verdicts[0].cluster = Some("shared cluster".into());
        report.info.shard = Some(shard.into());
        report.verdicts[0].waived_by = Some("accepted in the shard's own run".into());
        report.expired_waivers.push("a waiver of the shard's own run expired".into());
        let file = dir.join(name);
        let text = if typed { crate::report_json::render(&report) } else { crate::cucumber_json::render(&report) };
        std::fs::write(&file, text.unwrap()).unwrap();
        file
    }

    #[test]
    fn typed_slices_keep_their_timeline_and_cucumber_slices_their_verdicts() {
        let dir = std::env::temp_dir().join(format!("pcmk-merge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let typed = merge(&[slice(&dir, "a.json", "1/2", true, 0), slice(&dir, "b.json", "2/2", true, 1)]).unwrap();
        assert_eq!(typed.verdicts.len(), 2);
        assert_eq!(typed.verdicts[1].cluster.as_deref(), Some("shard 2/2: shared cluster"));
        assert_eq!(typed.verdicts[0].findings.len(), 1, "findings travel with the slice");
        assert_eq!(typed.exit_code(), 1);
        assert!(
            typed.verdicts.iter().all(|v| v.waived_by.is_none()) && typed.expired_waivers.is_empty(),
            "the merge applies its own waivers"
        );
        let mixed = merge(&[slice(&dir, "c.json", "1/2", false, 0), slice(&dir, "d.json", "2/2", true, 1)]).unwrap();
        assert_eq!(mixed.verdicts[0].started, None, "Cucumber JSON keeps no start times");
        assert_eq!(mixed.verdicts[0].findings.len(), 1);
        let twice = merge(&[slice(&dir, "e.json", "1/2", true, 0), slice(&dir, "f.json", "1/2", true, 0)]).unwrap_err();
        assert!(twice.downcast_ref::<InputError>().is_some() && twice.to_string().contains("disjoint"), "{twice:#}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
