//! How long each scenario took when it last passed on this machine. A run
//! starts the longest first, so it ends soon after its longest scenario rather
//! than with a long one that started late. Only the start order depends on it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pcmk_model::verdict::{Outcome, Verdict};

const FILE: &str = "durations.json";
/// A larger file is not ours to read.
const MAX_BYTES: u64 = 1 << 20;

#[derive(Debug, Default)]
pub struct Durations {
    file: Option<PathBuf>,
    seconds: BTreeMap<String, f64>,
}

/// This machine's record: in `$PCMK_COMPLY_CACHE_DIR`, else `$XDG_CACHE_HOME/pcmk-comply`, else `~/.cache/pcmk-comply`.
pub fn default_file() -> Option<PathBuf> {
    Some(pcmk_containers::cache::dir()?.join(FILE))
}

fn key(feature: &str, scenario: &str) -> String {
    format!("{feature} » {scenario}")
}

fn read(file: &Path) -> Option<BTreeMap<String, f64>> {
    if std::fs::metadata(file).ok()?.len() > MAX_BYTES {
        return None;
    }
    serde_json::from_slice(&std::fs::read(file).ok()?).ok()
}

impl Durations {
    /// Empty when there is no record or it cannot be read.
    pub fn load_from(file: Option<PathBuf>) -> Durations {
        let seconds = file.as_deref().and_then(read).unwrap_or_default();
        Durations { file, seconds }
    }

    pub fn expected(&self, feature: &str, scenario: &str) -> Option<Duration> {
        self.seconds.get(&key(feature, scenario)).and_then(|s| Duration::try_from_secs_f64(*s).ok())
    }

    /// Keeps the time of every scenario that passed. Best effort: a record
    /// that cannot be written only costs the next run its order.
    pub fn record(mut self, verdicts: &[Verdict]) {
        let Some(file) = self.file.take() else { return };
        for verdict in verdicts.iter().filter(|v| v.outcome == Outcome::Passed) {
            self.seconds.insert(key(&verdict.feature, &verdict.scenario), verdict.duration.as_secs_f64());
        }
        let Ok(json) = serde_json::to_vec_pretty(&self.seconds) else { return };
        // Written beside and renamed over, so a run reading it at the same time sees one whole record.
        let partial = file.with_extension(format!("{}.partial", std::process::id()));
        let written = file.parent().is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
            && std::fs::write(&partial, json).is_ok()
            && std::fs::rename(&partial, &file).is_ok();
        if !written {
            let _ = std::fs::remove_file(&partial);
            tracing::debug!("could not keep scenario durations in {}", file.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(scenario: &str, outcome: Outcome, seconds: u64) -> Verdict {
        Verdict { duration: Duration::from_secs(seconds), ..Verdict::new("F", scenario, outcome) }
    }

    #[test]
    fn passed_scenarios_are_remembered_and_failed_ones_keep_their_last_pass() {
        let dir = std::env::temp_dir().join(format!("pcmk-durations-{}", std::process::id()));
        let file = dir.join("sub").join(FILE);
        Durations::load_from(Some(file.clone())).record(&[verdict("a", Outcome::Passed, 30), verdict("b", Outcome::Passed, 5)]);
        Durations::load_from(Some(file.clone())).record(&[verdict("a", Outcome::Failed, 1), verdict("c", Outcome::Passed, 7)]);
        let durations = Durations::load_from(Some(file.clone()));
        assert_eq!(durations.expected("F", "a"), Some(Duration::from_secs(30)));
        assert_eq!(durations.expected("F", "b"), Some(Duration::from_secs(5)));
        assert_eq!(durations.expected("F", "c"), Some(Duration::from_secs(7)));
        assert_eq!(durations.expected("G", "a"), None);

        std::fs::write(&file, "not json").unwrap();
        assert_eq!(Durations::load_from(Some(file.clone())).expected("F", "a"), None, "an unreadable record is an empty one");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
