//! sbd's environment file, read as sbd reads its environment
//! (ClusterLabs/sbd src/sbd-inquisitor.c, `get_env_option()`), and durations
//! as Pacemaker's `crm_get_msec()` reads them.

use std::collections::BTreeMap;

use crate::support::shell_assignments;
use pcmk_model::finding::Place;

/// sbd's environment file on RHEL and SUSE.
pub const SYSCONFIG: &str = "/etc/sysconfig/sbd";
/// sbd's environment file on Debian, where a Debian node reads it.
pub const DEFAULTS: &str = "/etc/default/sbd";
/// sbd's compiled-in SBD_WATCHDOG_TIMEOUT (configure.ac; 15 on s390).
const DEFAULT_WATCHDOG_S: i64 = 5;

/// Pacemaker's `crm_get_msec()` (lib/common/strings.c): blanks, a number (its
/// integer part), blanks and a unit known by its first letters (`ms`, `us`,
/// `s`, `m`, `h`; seconds without one). `None` where it returns -1.
pub(crate) fn crm_get_msec(text: &str) -> Option<i64> {
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c');
    let text = text.trim_start_matches(blank);
    let number_len = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    if number_len == 0 {
        return None;
    }
    let (number, rest) = text.split_at(number_len);
    let units = rest.trim_start_matches(blank).to_ascii_lowercase();
    let (multiplier, divisor) = if units.starts_with("ms") {
        (1, 1)
    } else if units.starts_with("us") {
        (1, 1000)
    } else if units.starts_with('s') {
        (1000, 1)
    } else if units.starts_with('m') {
        (60_000, 1)
    } else if units.starts_with('h') {
        (3_600_000, 1)
    } else if units.is_empty() || units.starts_with(['\n', '\r']) {
        (1000, 1)
    } else {
        return None;
    };
    let whole: String = number.chars().take_while(char::is_ascii_digit).collect();
    let value: i64 = if whole.is_empty() { 0 } else { whole.parse().unwrap_or(i64::MAX) };
    Some(value.saturating_mul(multiplier) / divisor)
}

/// One node's SBD configuration, as sbd reads it from its environment.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The file read; None where the node has none and sbd runs on its defaults.
    pub(super) file: Option<String>,
    /// name → (value, line): the last assignment; an empty value is unset.
    values: BTreeMap<String, (String, usize)>,
}

/// SBD_DEVICE, split as sbd splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Devices {
    pub(super) paths: Vec<String>,
    pub(super) empty_entries: usize,
    pub(super) raw: String,
    pub(super) line: usize,
}

impl Config {
    pub(crate) fn parse(file: &str, text: &str) -> Config {
        let mut values = BTreeMap::new();
        for (key, value, line) in shell_assignments(text) {
            let value = value.trim_start().to_string();
            if value.is_empty() {
                values.remove(&key);
            } else {
                values.insert(key, (value, line));
            }
        }
        Config { file: Some(file.to_string()), values }
    }

    /// A node without a configuration file: sbd's compiled-in defaults.
    pub(crate) fn defaults() -> Config {
        Config { file: None, values: BTreeMap::new() }
    }

    pub(super) fn get(&self, key: &str) -> Option<(&str, usize)> {
        self.values.get(key).map(|(v, l)| (v.as_str(), *l))
    }

    /// Where a key's value comes from, for people.
    pub(super) fn at(&self, key: &str) -> String {
        match (&self.file, self.get(key)) {
            (Some(file), Some((_, line))) => format!("{file} line {line}"),
            (Some(file), None) => format!("{file} does not set {key}"),
            (None, _) => format!("the node has no {SYSCONFIG} or {DEFAULTS}, so sbd uses its defaults"),
        }
    }

    pub(super) fn place(&self, key: &str) -> Option<Place> {
        Some(Place::new(self.file.as_deref()?, self.get(key)?.1))
    }

    /// The devices; None for diskless SBD.
    pub(super) fn devices(&self) -> Option<Devices> {
        let (raw, line) = self.get("SBD_DEVICE")?;
        let entries: Vec<&str> = raw.split(';').map(str::trim).collect();
        let paths: Vec<String> = entries.iter().filter(|e| !e.is_empty()).map(|e| e.to_string()).collect();
        let empty_entries = entries.len() - paths.len();
        (!paths.is_empty() || empty_entries > 0).then(|| Devices { paths, empty_entries, raw: raw.to_string(), line })
    }

    pub(super) fn disk_based(&self) -> bool {
        self.devices().is_some_and(|d| !d.paths.is_empty())
    }

    /// SBD_WATCHDOG_TIMEOUT in whole seconds, as sbd reads it, and how.
    pub(super) fn watchdog(&self) -> (i64, String) {
        match self.get("SBD_WATCHDOG_TIMEOUT") {
            None => (DEFAULT_WATCHDOG_S, format!("{}; sbd's default {DEFAULT_WATCHDOG_S} s", self.at("SBD_WATCHDOG_TIMEOUT"))),
            Some((raw, _)) => match crm_get_msec(raw) {
                Some(ms) => (ms / 1000, format!("`{raw}`, {}", self.at("SBD_WATCHDOG_TIMEOUT"))),
                None => (0, format!("`{raw}`, {}, which sbd cannot read as a duration and takes as 0 s", self.at("SBD_WATCHDOG_TIMEOUT"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_read_as_pacemaker_reads_them() {
        for (text, ms) in
            [("10", Some(10_000)), ("10s", Some(10_000)), (" 7 sec", Some(7_000)), ("500ms", Some(500)), ("2min", Some(120_000))]
        {
            assert_eq!(crm_get_msec(text), ms, "{text}");
        }
        for (text, ms) in [("1h", Some(3_600_000)), ("1.5s", Some(1_000)), ("1500us", Some(1)), ("abc", None), ("-1", None), ("10x", None)]
        {
            assert_eq!(crm_get_msec(text), ms, "{text}");
        }
    }

    #[test]
    fn the_file_is_read_as_sbd_reads_its_environment() {
        let config = Config::parse(DEFAULTS, "# SBD_DEVICE=/dev/old\nexport SBD_DEVICE=\" /dev/a ; /dev/b;/dev/c \"\nSBD_PACEMAKER=yes\nSBD_PACEMAKER=\nSBD_WATCHDOG_TIMEOUT='15s'\n");
        let devices = config.devices().unwrap();
        assert_eq!((devices.paths, devices.empty_entries, devices.line), (vec!["/dev/a".into(), "/dev/b".into(), "/dev/c".into()], 0, 2));
        assert_eq!(config.get("SBD_PACEMAKER"), None, "an empty value is unset");
        assert_eq!(config.watchdog().0, 15);
        assert_eq!(Config::defaults().watchdog().0, 5, "sbd's default");
        assert!(Config::parse(DEFAULTS, "SBD_DEVICE=\"\"\n").devices().is_none(), "no device: diskless");
    }
}
