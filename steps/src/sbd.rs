//! SBD fencing, judged from the files: sbd's environment file
//! (/etc/sysconfig/sbd, /etc/default/sbd on Debian), the devices' headers
//! where a capture read them, and the CIB. SBD fences through every node's
//! watchdog and, with shared disks, through message slots each node's sbd
//! watches; Pacemaker takes a node for dead once SBD must have reset it. When
//! these disagree, a fencing times out before SBD has done its work (and is
//! tried again and again), or a node is taken for dead while it still runs.
//!
//! How each value is read:
//! - the file as sbd reads its environment (ClusterLabs/sbd
//!   src/sbd-inquisitor.c, `get_env_option()`: leading blanks dropped, an
//!   empty value unset); the last assignment wins, as in the shell that
//!   systemd's `EnvironmentFile` mimics;
//! - `SBD_DEVICE`: `;`-separated, blanks around each path dropped, empty
//!   entries skipped (`parse_device_line()`); none is diskless SBD;
//! - `SBD_PACEMAKER`: on unless set to something Pacemaker's `crm_is_true()`
//!   does not call true (default `yes`, src/sbd.sysconfig.in);
//! - `SBD_WATCHDOG_TIMEOUT`: `crm_get_msec(value) / 1000` (sbd-inquisitor.c),
//!   so `10`, `10s` and `10000ms` are 10 s and a value it cannot read is 0;
//!   unset, sbd's compiled-in default, 5 s (15 s on s390: configure.ac);
//! - the header of a device, as `sbd -d DEV dump` prints it and crmsh reads
//!   it (crmsh/sbd.py, `SBDUtils.get_sbd_device_metadata()`: `Timeout
//!   (watchdog)`, `Timeout (msgwait)`);
//! - cluster options as Pacemaker orders the sets (`cluster_options::readings`);
//!   `fencing-timeout` and `fencing-watchdog-timeout` are the newer names of
//!   `stonith-timeout` and `stonith-watchdog-timeout`: where both are set,
//!   each is judged, since a Pacemaker reads one or the other; durations as
//!   `crm_get_msec()` (lib/common/strings.c) reads them.
//!
//! What fails, and why:
//! - **SBD in use but nothing to fence with**: SBD runs (an SBD
//!   configuration, `have-watchdog=true`, an SBD fence device) while the CIB
//!   has no enabled fence device and `stonith-watchdog-timeout` is unset or
//!   0: Pacemaker cannot fence (with `have-watchdog=true` its scheduler even
//!   counts on fencing, lib/pengine/unpack.c, and waits for one that never
//!   comes).
//! - **An SBD fence device and no device to watch**: `fence_sbd` or
//!   `external/sbd` writes a poison pill to a disk slot, but a node whose sbd
//!   names no `SBD_DEVICE` reads none: the fencing fails, or is reported done
//!   on a node that still runs.
//! - **`SBD_PACEMAKER` off**: sbd then watches neither Pacemaker nor corosync
//!   (its `pcmk` and `cluster` servants are off), so a node whose Pacemaker
//!   hangs or that loses quorum is not reset; Trento's check 0B6DB2 expects
//!   `yes`.
//! - **`SBD_WATCHDOG_TIMEOUT` below the step's minimum** (5 s in the
//!   built-in policy): crmsh's `crm sbd configure` refuses a watchdog timeout
//!   below 5 s (`SBDTimeout.get_timeout_minimum_value()`), sbd's own default;
//!   a shorter one resets healthy nodes on a storage or scheduling hiccup. A
//!   long one only slows recovery, and the rules below tie msgwait,
//!   stonith-timeout and stonith-watchdog-timeout to it, so there is no upper
//!   bound. Trento's B089BE wants exactly 15 s (60 s on Azure) on the disk: a
//!   platform's recommendation, not a safety bound.
//! - **Two devices, more than three, or an empty entry in `SBD_DEVICE`**:
//!   sbd(8) «Two devices»: SBD will not fence the other side while only one
//!   device is available; one or three, never two (Trento's 61451E warns
//!   below three and treats an empty entry as critical: sbd skips it, the
//!   fence agent does not; crmsh takes at most three, `SBD_DEVICE_MAX`).
//! - **msgwait below twice the watchdog timeout** on a device's header:
//!   sbd(8) `create -4`: «This should be twice the watchdog timeout»;
//!   Trento's 68626E; crmsh's `_check_sbd_disk_metadata()` (an error).
//! - **A fencing timeout below msgwait + 20 %**: an SBD fencing succeeds only
//!   after msgwait; sbd(8) warns that a stonith-timeout too low for msgwait
//!   makes a fencing loop. crmsh computes stonith-timeout as `max(1.2 ×
//!   msgwait, 60) + token + consensus` (`SBDTimeout.get_fencing_timeout_expected()`,
//!   `get_stonith_timeout_expected()` in 5.0); its sbd-derived part, 1.2 ×
//!   msgwait, is the bound judged here. The timeout of a device's fencing is
//!   its `pcmk_reboot_timeout` (`pcmk_off_timeout` when stonith-action is
//!   off), else stonith-timeout (default 60 s).
//! - **With diskless SBD, a positive stonith-watchdog-timeout below twice
//!   `SBD_WATCHDOG_TIMEOUT`**: Pacemaker takes a node for self-fenced that
//!   long after it lost it; crmsh requires at least 2 × SBD_WATCHDOG_TIMEOUT
//!   (`SBDTimeout.able_to_set_fencing_watchdog_timeout()`, and Pacemaker's own
//!   automatic value is that, `pcmk__auto_stonith_watchdog_timeout()`,
//!   lib/common/watchdog.c); below SBD_WATCHDOG_TIMEOUT itself Pacemaker's
//!   controller refuses to run (`pcmk__valid_stonith_watchdog_timeout()`). A
//!   negative or unreadable value is that automatic one.
//!
//! Notes, never failures: `SBD_STARTMODE=clean` is recommended (Trento's
//! 49591F) so that a fenced node does not rejoin by itself, but sbd's default
//! is `always` and Trento itself expects `always` on Azure: the scenario's
//! remediation says so. Trento's 373DB8 wants stonith-timeout of at least
//! 150 s with SBD (144 s on Azure, more on other clouds): a platform's
//! figure, where the bound judged here follows from msgwait. A
//! stonith-watchdog-timeout set beside disk-based SBD is a warning in crmsh,
//! not an error, and is not judged.
//!
//! What the candidate must hold: a scenario on a cluster that uses no SBD
//! (no SBD configuration, no `fence_sbd` or `external/sbd` device, no
//! `have-watchdog=true`) is not applicable. Where the cluster uses SBD and the
//! candidate holds no SBD configuration, a kind that would carry it (a
//! directory, a capture) means the node has none, so sbd runs with its
//! defaults (diskless, 5 s); any other kind leaves the configuration's rules
//! unjudged, with how to bring the file. msgwait is on the device: without a
//! capture's dump it is taken as twice the watchdog timeout, the least a
//! sound device has (crmsh creates devices so), which can fail a fencing
//! timeout but never pass it: the step is then not judged.

use std::collections::BTreeMap;

use cucumber::then;

use crate::cluster_options::{readings, Pacemaker};
use crate::facts::{CibFacts, Primitive};
use crate::support::{place, shell_assignments, subject, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Place, Subject};
use pcmk_model::scope::Evidence;
use pcmk_model::text::parse_bool;

/// sbd's environment file on RHEL and SUSE.
pub const SYSCONFIG: &str = "/etc/sysconfig/sbd";
/// sbd's environment file on Debian, where a Debian node reads it.
pub const DEFAULTS: &str = "/etc/default/sbd";
/// sbd's compiled-in SBD_WATCHDOG_TIMEOUT (configure.ac; 15 on s390).
const DEFAULT_WATCHDOG_S: i64 = 5;
/// Pacemaker's default stonith-timeout.
const DEFAULT_FENCING_TIMEOUT_MS: i64 = 60_000;
/// Fence agents that fence through SBD's disk slots.
const SBD_AGENTS: &[&str] = &["fence_sbd", "external/sbd"];

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

/// Milliseconds as people read them: `10 s`, `1.5 s`.
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} s", ms as f64 / 1000.0)
    }
}

/// One node's SBD configuration, as sbd reads it from its environment.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The file read; None where the node has none and sbd runs on its defaults.
    file: Option<String>,
    /// name → (value, line): the last assignment; an empty value is unset.
    values: BTreeMap<String, (String, usize)>,
}

/// SBD_DEVICE, split as sbd splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Devices {
    paths: Vec<String>,
    empty_entries: usize,
    raw: String,
    line: usize,
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

    fn get(&self, key: &str) -> Option<(&str, usize)> {
        self.values.get(key).map(|(v, l)| (v.as_str(), *l))
    }

    /// Where a key's value comes from, for people.
    fn at(&self, key: &str) -> String {
        match (&self.file, self.get(key)) {
            (Some(file), Some((_, line))) => format!("{file} line {line}"),
            (Some(file), None) => format!("{file} does not set {key}"),
            (None, _) => format!("the node has no {SYSCONFIG} or {DEFAULTS}, so sbd uses its defaults"),
        }
    }

    fn place(&self, key: &str) -> Option<Place> {
        Some(Place::new(self.file.as_deref()?, self.get(key)?.1))
    }

    /// The devices; None for diskless SBD.
    fn devices(&self) -> Option<Devices> {
        let (raw, line) = self.get("SBD_DEVICE")?;
        let entries: Vec<&str> = raw.split(';').map(str::trim).collect();
        let paths: Vec<String> = entries.iter().filter(|e| !e.is_empty()).map(|e| e.to_string()).collect();
        let empty_entries = entries.len() - paths.len();
        (!paths.is_empty() || empty_entries > 0).then(|| Devices { paths, empty_entries, raw: raw.to_string(), line })
    }

    fn disk_based(&self) -> bool {
        self.devices().is_some_and(|d| !d.paths.is_empty())
    }

    /// SBD_WATCHDOG_TIMEOUT in whole seconds, as sbd reads it, and how.
    fn watchdog(&self) -> (i64, String) {
        match self.get("SBD_WATCHDOG_TIMEOUT") {
            None => (DEFAULT_WATCHDOG_S, format!("{}; sbd's default {DEFAULT_WATCHDOG_S} s", self.at("SBD_WATCHDOG_TIMEOUT"))),
            Some((raw, _)) => match crm_get_msec(raw) {
                Some(ms) => (ms / 1000, format!("`{raw}`, {}", self.at("SBD_WATCHDOG_TIMEOUT"))),
                None => (0, format!("`{raw}`, {}, which sbd cannot read as a duration and takes as 0 s", self.at("SBD_WATCHDOG_TIMEOUT"))),
            },
        }
    }
}

/// One device's header, as `sbd -d DEV dump` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    device: String,
    watchdog: Option<i64>,
    msgwait: Option<i64>,
}

/// The headers of a dump: `==Dumping header on disk DEV`, then `Timeout (watchdog) : N` and
/// `Timeout (msgwait) : N` (crmsh's `get_sbd_device_metadata()` reads the same lines).
fn dump_headers(text: &str) -> Vec<Header> {
    let mut headers: Vec<Header> = Vec::new();
    for line in text.lines() {
        if let Some(device) = line.trim().strip_prefix("==Dumping header on disk ") {
            headers.push(Header { device: device.trim().to_string(), watchdog: None, msgwait: None });
            continue;
        }
        let Some(header) = headers.last_mut() else { continue };
        let Some(rest) = line.trim().strip_prefix("Timeout (") else { continue };
        let Some((kind, value)) = rest.split_once(')') else { continue };
        let Ok(value) = value.trim().trim_start_matches(':').trim().parse::<i64>() else { continue };
        match kind {
            "watchdog" => header.watchdog = Some(value),
            "msgwait" => header.msgwait = Some(value),
            _ => {}
        }
    }
    headers
}

/// One node's configuration, with whom findings name.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    subject: Subject,
    /// The node's name for messages (`the candidate`, `node1`).
    node: String,
    config: Config,
    /// What a capture's `sbd -d DEV dump` printed on the node, if it ran.
    dump: Option<String>,
}

/// A cluster option as one reading finds it: the raw value (None when unset), how, where.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OptionValue {
    name: String,
    raw: Option<String>,
    how: String,
    place: Option<Place>,
}

/// Everything the SBD steps judge.
#[derive(Debug, Clone)]
pub(crate) struct Sbd {
    cib: CibFacts,
    origin: String,
    /// Whose CIB it is: the candidate's, or the cluster's.
    cib_subject: Subject,
    versions: Vec<Pacemaker>,
    /// Why the cluster counts as using SBD.
    uses: Vec<String>,
    /// Every node's configuration; None where the candidate cannot show it (the reason is recorded).
    configs: Option<Vec<NodeConfig>>,
}

/// What a rule found: failures, and what it could not judge.
#[derive(Debug, Default)]
struct Judgement {
    findings: Vec<Finding>,
    unjudged: Vec<String>,
}

impl Judgement {
    fn fail(&mut self, finding: Finding) {
        if !self.findings.iter().any(|f| f.message == finding.message) {
            self.findings.push(finding);
        }
    }
}

impl Sbd {
    /// Every value the options take in this CIB: the first name's readings,
    /// set or not, and the others' where they are set (the newer names a
    /// Pacemaker reads instead, where it knows them).
    fn option(&self, names: &[&str]) -> Vec<OptionValue> {
        let mut out: Vec<OptionValue> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            for reading in readings(&self.cib, &self.origin, name, &self.versions) {
                let raw = (!reading.value.is_empty()).then(|| reading.value.clone());
                if i > 0 && raw.is_none() {
                    continue;
                }
                let value = OptionValue { name: name.to_string(), raw, how: reading.how, place: reading.place };
                if !out.iter().any(|o| o.name == value.name && o.raw == value.raw) {
                    out.push(value);
                }
            }
        }
        out
    }

    fn fence_devices(&self) -> impl Iterator<Item = &Primitive> {
        self.cib.primitives.iter().filter(|p| p.class == "stonith")
    }

    /// Enabled fence devices that fence through SBD's disk slots.
    fn sbd_fence_devices(&self) -> Vec<&Primitive> {
        self.fence_devices().filter(|p| !p.disabled && SBD_AGENTS.contains(&p.kind.as_str())).collect()
    }

    fn at_cib(&self, line: usize) -> String {
        format!("{} line {line}", self.origin)
    }
}

fn param<'a>(device: &'a Primitive, name: &str) -> Option<(&'a str, usize)> {
    device.params.iter().find(|(n, _, _)| n == name).map(|(_, v, l)| (v.trim(), *l))
}

/// Why the cluster counts as using SBD: its configuration files, an SBD fence device, `have-watchdog=true`.
fn uses_sbd(cib: &CibFacts, origin: &str, files: &[String]) -> Vec<String> {
    let mut uses: Vec<String> = files.to_vec();
    for device in cib.primitives.iter().filter(|p| p.class == "stonith" && SBD_AGENTS.contains(&p.kind.as_str())) {
        uses.push(format!("fence device {} ({}, {origin} line {})", device.id, device.agent(), device.line));
    }
    if let Some((_, value, line)) =
        cib.property_sets.iter().flat_map(|s| s.pairs.iter()).find(|(n, v, _)| n == "have-watchdog" && parse_bool(v) == Some(true))
    {
        uses.push(format!("have-watchdog={value} ({origin} line {line}): Pacemaker found sbd running"));
    }
    uses
}

/// Watchdog fencing, as one reading of stonith-watchdog-timeout sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchdogFencing {
    Off,
    /// Negative or unreadable: twice each node's SBD_WATCHDOG_TIMEOUT.
    Auto,
    On(i64),
}

fn watchdog_fencing(value: &OptionValue) -> WatchdogFencing {
    match value.raw.as_deref().map(crm_get_msec) {
        None | Some(Some(0)) => WatchdogFencing::Off,
        Some(None) => WatchdogFencing::Auto,
        Some(Some(ms)) => WatchdogFencing::On(ms),
    }
}

const WATCHDOG_TIMEOUT: &[&str] = &["stonith-watchdog-timeout", "fencing-watchdog-timeout"];
const FENCING_TIMEOUT: &[&str] = &["stonith-timeout", "fencing-timeout"];
const FENCING_ACTION: &[&str] = &["stonith-action", "fencing-action"];

/// The cluster uses SBD: it can fence with it.
fn can_fence(s: &Sbd) -> Judgement {
    let mut judgement = Judgement::default();
    let uses = s.uses.join("; ");
    let enabled = s.fence_devices().filter(|p| !p.disabled).count();
    let disabled: Vec<&str> = s.fence_devices().filter(|p| p.disabled).map(|p| p.id.as_str()).collect();
    if enabled == 0 {
        let note = if disabled.is_empty() { String::new() } else { format!(" ({} disabled: target-role=Stopped)", disabled.join(", ")) };
        for value in s.option(WATCHDOG_TIMEOUT).into_iter().filter(|v| watchdog_fencing(v) == WatchdogFencing::Off) {
            let set = match &value.raw {
                Some(raw) => format!("`{raw}` ({})", value.how),
                None => format!("unset ({})", value.how),
            };
            judgement.fail(
                Finding::new(
                    s.cib_subject.clone(),
                    format!(
                        "SBD is in use ({uses}), but the CIB has no enabled fence device{note} and {} is {set}, so watchdog fencing is off: \
                         nothing can fence a failed node, and its resources never move",
                        value.name
                    ),
                )
                .at(value.place.clone()),
            );
        }
    }
    let Some(configs) = &s.configs else { return judgement };
    for device in s.sbd_fence_devices() {
        for node in configs.iter().filter(|n| !n.config.disk_based()) {
            judgement.fail(
                Finding::new(
                    node.subject.clone(),
                    format!(
                        "{}: fence device {} ({}, {}) fences through SBD's disk slots, but no SBD_DEVICE is set ({}), so {}'s sbd watches no disk: \
                         the fencing fails, or is reported done on a node that never read its poison pill and still runs",
                        node.node,
                        device.id,
                        device.agent(),
                        s.at_cib(device.line),
                        node.config.at("SBD_DEVICE"),
                        node.node
                    ),
                )
                .at(Place::new(&s.origin, device.line)),
            );
        }
    }
    judgement
}

/// SBD_PACEMAKER on, and a watchdog timeout of at least `min_watchdog` seconds.
fn watches_pacemaker(s: &Sbd, min_watchdog: i64) -> Judgement {
    let mut judgement = Judgement::default();
    let Some(configs) = &s.configs else { return judgement };
    for node in configs {
        let config = &node.config;
        if let Some((raw, _)) = config.get("SBD_PACEMAKER").filter(|(v, _)| parse_bool(v) != Some(true)) {
            judgement.fail(
                Finding::new(
                    node.subject.clone(),
                    format!(
                        "{}: SBD_PACEMAKER=`{raw}` ({}) turns off sbd's watch of Pacemaker and corosync: a node whose Pacemaker hangs \
                         or that loses quorum is not reset by its own watchdog, which diskless SBD and watchdog fencing count on; \
                         set SBD_PACEMAKER=yes",
                        node.node,
                        config.at("SBD_PACEMAKER")
                    ),
                )
                .at(config.place("SBD_PACEMAKER")),
            );
        }
        let (timeout, how) = config.watchdog();
        if timeout < min_watchdog {
            judgement.fail(
                Finding::new(
                    node.subject.clone(),
                    format!(
                        "{}: SBD_WATCHDOG_TIMEOUT is {timeout} s ({how}); the policy requires at least {min_watchdog} s \
                         (crmsh refuses less): a shorter watchdog resets healthy nodes on a storage or scheduling stall",
                        node.node
                    ),
                )
                .at(config.place("SBD_WATCHDOG_TIMEOUT")),
            );
        }
        for header in node.dump.as_deref().map(dump_headers).unwrap_or_default() {
            if let Some(watchdog) = header.watchdog.filter(|w| *w < min_watchdog) {
                judgement.fail(Finding::new(
                    node.subject.clone(),
                    format!(
                        "{}: the header of {} sets a watchdog timeout of {watchdog} s (sbd -d {} dump), which wins over SBD_WATCHDOG_TIMEOUT; \
                         the policy requires at least {min_watchdog} s",
                        node.node, header.device, header.device
                    ),
                ));
            }
        }
    }
    judgement
}

/// One or three devices, no empty entry.
fn device_count(s: &Sbd) -> Judgement {
    let mut judgement = Judgement::default();
    let Some(configs) = &s.configs else { return judgement };
    for node in configs {
        let Some(devices) = node.config.devices() else { continue };
        let at = node.config.at("SBD_DEVICE");
        let place = node.config.place("SBD_DEVICE");
        if devices.empty_entries > 0 {
            judgement.fail(
                Finding::new(
                    node.subject.clone(),
                    format!(
                        "{}: SBD_DEVICE=`{}` ({at}) holds an empty entry: sbd skips it, the fence agent does not; \
                         separate the devices with single `;`",
                        node.node, devices.raw
                    ),
                )
                .at(place.clone()),
            );
        }
        let count = devices.paths.len();
        let why = match count {
            2 => Some("with two, SBD cannot fence while one of them is down (sbd(8)); use one, or three on independent storage"),
            n if n > 3 => Some("sbd and crmsh take at most three"),
            _ => None,
        };
        if let Some(why) = why {
            judgement.fail(
                Finding::new(
                    node.subject.clone(),
                    format!("{}: SBD_DEVICE names {count} devices ({at}: {}): {why}", node.node, devices.paths.join(", ")),
                )
                .at(place),
            );
        }
    }
    judgement
}

/// The msgwait the cluster's SBD fencing waits for: the largest of the
/// headers a capture dumped, else twice the watchdog timeout (the least a
/// sound device has), which is then no evidence.
fn disk_timeouts(s: &Sbd) -> Judgement {
    let mut judgement = Judgement::default();
    let Some(configs) = &s.configs else { return judgement };
    let mut msgwait: Option<(i64, String)> = None;
    let mut consider = |value: i64, how: String| {
        if msgwait.as_ref().is_none_or(|(m, _)| value > *m) {
            msgwait = Some((value, how));
        }
    };
    for node in configs {
        let Some(devices) = node.config.devices().filter(|d| !d.paths.is_empty()) else { continue };
        let headers = node.dump.as_deref().map(dump_headers);
        match headers {
            Some(headers) => {
                for device in &devices.paths {
                    let Some(header) = headers.iter().find(|h| &h.device == device) else {
                        judgement.unjudged.push(format!(
                            "{}: the capture's `sbd dump` holds no header for {device}, so its msgwait is unknown: \
                             check that `sbd -d {device} dump` answers on the node, and capture it again",
                            node.node
                        ));
                        continue;
                    };
                    let (Some(watchdog), Some(wait)) = (header.watchdog, header.msgwait) else {
                        judgement.unjudged.push(format!("{}: the header of {device} shows no watchdog or msgwait timeout", node.node));
                        continue;
                    };
                    if wait < 2 * watchdog {
                        judgement.fail(Finding::new(
                            node.subject.clone(),
                            format!(
                                "{}: the header of {device} sets msgwait {wait} s, less than twice its watchdog timeout {watchdog} s: \
                                 a node can be taken for fenced before its watchdog has reset it (sbd(8)); recreate the device with \
                                 msgwait {} s (`crm sbd configure msgwait-timeout={}`)",
                                node.node,
                                2 * watchdog,
                                2 * watchdog
                            ),
                        ));
                    }
                    consider(wait, format!("the header of {device} on {}", node.node));
                }
            }
            None => {
                let (watchdog, how) = node.config.watchdog();
                judgement.unjudged.push(format!(
                    "{}: msgwait is written in the header of {}, which only `sbd -d DEV dump` shows: capture the nodes \
                     (`pcmk-comply capture` reads it)",
                    node.node,
                    devices.paths.join(", ")
                ));
                consider(
                    2 * watchdog,
                    format!(
                        "taken as twice SBD_WATCHDOG_TIMEOUT, the least a sound device has and what crmsh writes; \
                         SBD_WATCHDOG_TIMEOUT is {watchdog} s: {how}"
                    ),
                );
            }
        }
    }
    let Some((wait, wait_how)) = msgwait else { return judgement };
    let action_off = s
        .option(FENCING_ACTION)
        .iter()
        .any(|v| v.raw.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("off") || a.eq_ignore_ascii_case("poweroff")));
    let action = if action_off { "off" } else { "reboot" };
    let needed_ms = wait * 1200;
    for device in s.sbd_fence_devices() {
        let own = format!("pcmk_{action}_timeout");
        // (milliseconds, how, where, the option to raise)
        let timeouts: Vec<(i64, String, Option<Place>, String)> = match param(device, &own)
            .and_then(|(v, l)| Some((crm_get_msec(v)?, v, l)))
        {
            Some((ms, raw, line)) => {
                vec![(ms, format!("{own}=`{raw}` on {}, {}", device.id, s.at_cib(line)), Some(Place::new(&s.origin, line)), own.clone())]
            }
            None => s
                .option(FENCING_TIMEOUT)
                .into_iter()
                .map(|v| {
                    let how = match v.raw.as_deref().map(|r| (r, crm_get_msec(r))) {
                        None => (DEFAULT_FENCING_TIMEOUT_MS, format!("{} {}, Pacemaker's default 60 s", v.name, v.how)),
                        Some((raw, Some(ms))) => (ms, format!("{}=`{raw}`, {}", v.name, v.how)),
                        Some((raw, None)) => (
                            DEFAULT_FENCING_TIMEOUT_MS,
                            format!("{}=`{raw}`, {}, which Pacemaker finds invalid and replaces with its default 60 s", v.name, v.how),
                        ),
                    };
                    (how.0, how.1, v.place, v.name)
                })
                .collect(),
        };
        for (ms, how, place, option) in timeouts {
            if ms < needed_ms {
                judgement.fail(
                    Finding::new(
                        s.cib_subject.clone(),
                        format!(
                            "fence device {} ({}) waits {} for a fencing ({how}), less than msgwait + 20 % = {} (msgwait {wait} s: {wait_how}): \
                             the fencing times out before SBD takes the node for dead, and Pacemaker fences again and again (sbd(8)); \
                             set {option} to at least {} (crmsh sets stonith-timeout to max(1.2 × msgwait, 60 s) + token + consensus)",
                            device.id,
                            device.agent(),
                            seconds(ms),
                            seconds(needed_ms),
                            seconds(needed_ms)
                        ),
                    )
                    .at(place),
                );
            }
        }
    }
    judgement
}

/// With diskless SBD, a positive stonith-watchdog-timeout is at least twice SBD_WATCHDOG_TIMEOUT.
fn diskless_timeouts(s: &Sbd) -> Judgement {
    let mut judgement = Judgement::default();
    let Some(configs) = &s.configs else { return judgement };
    let values = s.option(WATCHDOG_TIMEOUT);
    for node in configs.iter().filter(|n| !n.config.disk_based()) {
        let (watchdog, how) = node.config.watchdog();
        for value in &values {
            let WatchdogFencing::On(ms) = watchdog_fencing(value) else { continue };
            let needed = 2 * watchdog * 1000;
            if ms >= needed {
                continue;
            }
            let refused =
                if ms < watchdog * 1000 { "; below SBD_WATCHDOG_TIMEOUT itself Pacemaker's controller refuses to run" } else { "" };
            judgement.fail(
                Finding::new(
                    node.subject.clone(),
                    format!(
                        "{}: {}=`{}` ({}) is less than twice SBD_WATCHDOG_TIMEOUT ({watchdog} s: {how}) = {}: Pacemaker takes a lost node \
                         for self-fenced before its watchdog has surely reset it{refused}; set it to at least {} (or -1, which Pacemaker computes so)",
                        node.node,
                        value.name,
                        value.raw.as_deref().unwrap_or_default(),
                        value.how,
                        seconds(needed),
                        seconds(needed)
                    ),
                )
                .at(value.place.clone()),
            );
        }
    }
    judgement
}

/// Reads what the SBD steps judge; not applicable where the cluster uses no SBD.
async fn context(world: &mut PolicyWorld) -> anyhow::Result<Sbd> {
    let (cib, origin) = if world.ctx.is_live() {
        // The running CIB holds the harness's fence devices and the lab's have-watchdog.
        world.candidate_cib()?
    } else {
        let cib = world.cib().await?;
        (cib, world.facts().await?.cib_origin.clone())
    };
    let facts = world.facts().await?;
    let captured = &world.ctx.candidate.captured;
    let mut configs: Vec<NodeConfig> = Vec::new();
    let mut without: Vec<(Subject, String, Option<String>)> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    for node in &facts.nodes {
        let dump =
            captured.iter().find(|c| c.name == node.name).and_then(|c| c.queries.get(pcmk_containers::capture::script::SBD_DUMP)).cloned();
        let mut found = false;
        for path in [SYSCONFIG, DEFAULTS] {
            if let Some(text) = node.texts.get(path) {
                found = true;
                let file = if node.name == "candidate" { path.to_string() } else { format!("{}:{path}", node.name) };
                if !files.contains(&path.to_string()) {
                    files.push(path.to_string());
                }
                configs.push(NodeConfig {
                    subject: subject(node),
                    node: place(node),
                    config: Config::parse(&file, text),
                    dump: dump.clone(),
                });
            }
        }
        if !found {
            without.push((subject(node), place(node), dump));
        }
    }
    let uses = uses_sbd(&cib, &origin, &files);
    if uses.is_empty() {
        return Err(world.not_applicable(format!(
            "the cluster does not use SBD: no {SYSCONFIG} or {DEFAULTS}, no fence_sbd or external/sbd device and no have-watchdog=true in {origin}"
        )));
    }
    // A kind that would carry the file shows that the node has none: sbd runs on its defaults.
    let configs = if without.is_empty() {
        Some(configs)
    } else if world.lacks(&[Evidence::File(SYSCONFIG)]) || world.lacks(&[Evidence::File(DEFAULTS)]) {
        None
    } else {
        configs.extend(without.into_iter().map(|(subject, node, dump)| NodeConfig { subject, node, config: Config::defaults(), dump }));
        Some(configs)
    };
    let mut versions = vec![world.target_pacemaker(), Pacemaker::V3_0_2];
    versions.dedup();
    let cib_subject = if world.ctx.is_live() { Subject::Cluster } else { Subject::Candidate };
    Ok(Sbd { cib, origin, cib_subject, versions, uses, configs })
}

fn verdict(world: &mut PolicyWorld, judgement: Judgement) -> anyhow::Result<()> {
    for reason in judgement.unjudged {
        world.not_judged(reason);
    }
    let mut violations = Violations::default();
    judgement.findings.into_iter().for_each(|f| violations.add(f));
    world.judge(violations)
}

#[then(expr = "a cluster that uses SBD can fence with it")]
async fn sbd_can_fence(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, can_fence(&sbd))
}

#[then(expr = "SBD watches Pacemaker with a watchdog timeout of at least {int} seconds")]
async fn sbd_watches_pacemaker(world: &mut PolicyWorld, min_watchdog: i64) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, watches_pacemaker(&sbd, min_watchdog))
}

#[then(expr = "SBD names one or three devices")]
async fn sbd_device_count(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, device_count(&sbd))
}

#[then(expr = "with disk-based SBD, msgwait is at least twice the watchdog timeout and the fencing timeout outlasts it by a fifth")]
async fn sbd_disk_timeouts(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, disk_timeouts(&sbd))
}

#[then(expr = "with diskless SBD, stonith-watchdog-timeout is at least twice SBD_WATCHDOG_TIMEOUT")]
async fn sbd_diskless_timeouts(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, diskless_timeouts(&sbd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cib(resources: &str, options: &str) -> CibFacts {
        let text = format!(
            "<cib validate-with=\"pacemaker-3.9\"><configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">{options}</cluster_property_set></crm_config><nodes/><resources>{resources}</resources><constraints/></configuration></cib>"
        );
        CibFacts::parse(&text, "cib.xml").unwrap()
    }

    fn nv(name: &str, value: &str) -> String {
        format!("<nvpair id=\"o-{name}\" name=\"{name}\" value=\"{value}\"/>")
    }

    fn device(id: &str, agent: &str, params: &str) -> String {
        format!("<primitive id=\"{id}\" class=\"stonith\" type=\"{agent}\"><instance_attributes id=\"{id}-ia\">{params}</instance_attributes></primitive>")
    }

    fn node(text: &str, dump: Option<&str>) -> NodeConfig {
        NodeConfig {
            subject: Subject::Candidate,
            node: "the candidate".into(),
            config: Config::parse(DEFAULTS, text),
            dump: dump.map(str::to_string),
        }
    }

    /// The steps' view of a CIB and the nodes' files (None: the candidate cannot show them).
    fn sbd(cib: CibFacts, nodes: Option<Vec<NodeConfig>>) -> Sbd {
        let files: Vec<String> = nodes.iter().flatten().filter_map(|n| n.config.file.clone()).collect();
        let uses = uses_sbd(&cib, "cib.xml", &files);
        Sbd {
            cib,
            origin: "cib.xml".into(),
            cib_subject: Subject::Candidate,
            versions: vec![Pacemaker::V2_1, Pacemaker::V3_0_2],
            uses,
            configs: nodes,
        }
    }

    fn said(judgement: &Judgement) -> String {
        judgement.findings.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("\n")
    }

    fn dump(device: &str, watchdog: i64, msgwait: i64) -> String {
        format!(
            "==Dumping header on disk {device}\nHeader version     : 2.1\nUUID               : 1d6b3e0f\nNumber of slots    : 255\nSector size        : 512\n\
             Timeout (watchdog) : {watchdog}\nTimeout (allocate) : 2\nTimeout (loop)     : 1\nTimeout (msgwait)  : {msgwait}\n==Header on disk {device} is dumped\n"
        )
    }

    const DISK: &str = "SBD_DEVICE=\"/dev/disk/by-id/sbd1\"\nSBD_WATCHDOG_TIMEOUT=5\n";

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

    #[test]
    fn a_cluster_without_sbd_is_not_judged() {
        let plain = cib(&device("f1", "fence_ipmilan", &nv("pcmk_host_list", "n1")), &nv("have-watchdog", "false"));
        assert!(uses_sbd(&plain, "cib.xml", &[]).is_empty());
        let sbd_device = cib(&device("sbd", "external/sbd", ""), "");
        assert!(uses_sbd(&sbd_device, "cib.xml", &[])[0].contains("fence device sbd (stonith:external/sbd"));
        assert!(uses_sbd(&plain, "cib.xml", &[SYSCONFIG.into()]).contains(&SYSCONFIG.to_string()));
    }

    #[test]
    fn sbd_with_no_fence_device_and_no_watchdog_fencing_cannot_fence() {
        let watchdog_only = sbd(cib("", &nv("have-watchdog", "true")), None);
        let found = said(&can_fence(&watchdog_only));
        assert!(found.contains("no enabled fence device") && found.contains("stonith-watchdog-timeout is unset"), "{found}");
        assert!(found.contains("have-watchdog=true (cib.xml line 1)"), "{found}");
        let fenced = sbd(cib("", &[nv("have-watchdog", "true"), nv("stonith-watchdog-timeout", "10s")].concat()), None);
        assert!(can_fence(&fenced).findings.is_empty());
        let off = sbd(cib("", &[nv("have-watchdog", "true"), nv("stonith-watchdog-timeout", "0")].concat()), None);
        assert!(said(&can_fence(&off)).contains("stonith-watchdog-timeout is `0`"));
        let other_device = sbd(cib(&device("f1", "fence_ipmilan", ""), &nv("have-watchdog", "true")), None);
        assert!(can_fence(&other_device).findings.is_empty());
    }

    #[test]
    fn an_sbd_fence_device_needs_a_disk_every_node_watches() {
        let resources = device("sbd", "fence_sbd", &nv("devices", "/dev/disk/by-id/sbd1"));
        let diskless = sbd(cib(&resources, ""), Some(vec![node("SBD_PACEMAKER=yes\n", None)]));
        let found = said(&can_fence(&diskless));
        assert!(found.contains("fence device sbd (stonith:fence_sbd") && found.contains("watches no disk"), "{found}");
        assert!(found.contains("/etc/default/sbd does not set SBD_DEVICE"), "{found}");
        let disk = sbd(cib(&resources, ""), Some(vec![node(DISK, None)]));
        assert!(can_fence(&disk).findings.is_empty(), "{}", said(&can_fence(&disk)));
        // Without the file (a kind that cannot carry it), only the CIB is judged.
        assert!(can_fence(&sbd(cib(&resources, ""), None)).findings.is_empty());
        let defaults = NodeConfig { config: Config::defaults(), ..node("", None) };
        let found = said(&can_fence(&sbd(cib(&resources, ""), Some(vec![defaults]))));
        assert!(found.contains("the node has no /etc/sysconfig/sbd or /etc/default/sbd"), "{found}");
    }

    #[test]
    fn sbd_must_watch_pacemaker_with_a_sound_watchdog_timeout() {
        let resources = device("sbd", "external/sbd", "");
        let judge = |text: &str| said(&watches_pacemaker(&sbd(cib(&resources, ""), Some(vec![node(text, None)])), 5));
        assert_eq!(judge("SBD_PACEMAKER=yes\nSBD_WATCHDOG_TIMEOUT=5\n"), "");
        assert_eq!(judge("# all defaults\n"), "", "SBD_PACEMAKER defaults to yes and the watchdog to 5 s");
        assert!(judge("SBD_PACEMAKER=no\n").contains("SBD_PACEMAKER=`no` (/etc/default/sbd line 1)"));
        assert!(judge("SBD_PACEMAKER=maybe\n").contains("SBD_PACEMAKER=`maybe`"), "crm_is_true() calls it false");
        assert!(judge("SBD_WATCHDOG_TIMEOUT=3\n").contains("SBD_WATCHDOG_TIMEOUT is 3 s"));
        assert!(judge("SBD_WATCHDOG_TIMEOUT=500ms\n").contains("SBD_WATCHDOG_TIMEOUT is 0 s"));
        assert!(judge("SBD_WATCHDOG_TIMEOUT=soon\n").contains("cannot read as a duration"));
        let on_disk = sbd(cib(&resources, ""), Some(vec![node(DISK, Some(&dump("/dev/disk/by-id/sbd1", 2, 4)))]));
        assert!(said(&watches_pacemaker(&on_disk, 5)).contains("watchdog timeout of 2 s (sbd -d /dev/disk/by-id/sbd1 dump)"));
    }

    #[test]
    fn one_or_three_devices_never_two() {
        let judge = |devices: &str| said(&device_count(&sbd(cib("", ""), Some(vec![node(&format!("SBD_DEVICE=\"{devices}\"\n"), None)]))));
        assert_eq!(judge("/dev/a"), "");
        assert_eq!(judge("/dev/a;/dev/b;/dev/c"), "");
        assert!(judge("/dev/a;/dev/b").contains("names 2 devices"));
        assert!(judge("/dev/a;/dev/b;/dev/c;/dev/d").contains("at most three"));
        assert!(judge("/dev/a;;/dev/c;/dev/d").contains("empty entry"));
        assert_eq!(said(&device_count(&sbd(cib("", ""), Some(vec![node("SBD_PACEMAKER=yes\n", None)])))), "", "diskless");
    }

    #[test]
    fn msgwait_is_twice_the_watchdog_and_the_fencing_timeout_outlasts_it() {
        let resources = device("sbd", "external/sbd", "");
        let judge = |options: &str, dumped: Option<String>| {
            disk_timeouts(&sbd(cib(&resources, options), Some(vec![node(DISK, dumped.as_deref())])))
        };
        let sound = judge(&nv("stonith-timeout", "12s"), Some(dump("/dev/disk/by-id/sbd1", 5, 10)));
        assert!(sound.findings.is_empty() && sound.unjudged.is_empty(), "{}", said(&sound));
        assert!(
            said(&judge("", Some(dump("/dev/disk/by-id/sbd1", 5, 8)))).contains("msgwait 8 s, less than twice its watchdog timeout 5 s")
        );
        let short = said(&judge(&nv("stonith-timeout", "11"), Some(dump("/dev/disk/by-id/sbd1", 5, 10))));
        assert!(short.contains("waits 11 s for a fencing") && short.contains("+ 20 % = 12 s"), "{short}");
        // Unset: Pacemaker's 60 s, too short for a msgwait of 60 s.
        let default = said(&judge("", Some(dump("/dev/disk/by-id/sbd1", 30, 60))));
        assert!(default.contains("stonith-timeout unset") && default.contains("= 72 s"), "{default}");
        // The device's own timeout wins for its reboots.
        let own = device("sbd", "external/sbd", &nv("pcmk_reboot_timeout", "90s"));
        let judged = disk_timeouts(&sbd(
            cib(&own, &nv("stonith-timeout", "20")),
            Some(vec![node(DISK, Some(&dump("/dev/disk/by-id/sbd1", 30, 60)))]),
        ));
        assert!(judged.findings.is_empty(), "{}", said(&judged));
        // Both names are judged: a Pacemaker reads one or the other.
        let both =
            said(&judge(&[nv("stonith-timeout", "5s"), nv("fencing-timeout", "90s")].concat(), Some(dump("/dev/disk/by-id/sbd1", 5, 10))));
        assert!(both.contains("stonith-timeout=`5s`") && !both.contains("fencing-timeout="), "{both}");
    }

    #[test]
    fn without_a_dump_msgwait_can_fail_the_timeout_but_never_pass_it() {
        let resources = device("sbd", "external/sbd", "");
        let unknown = disk_timeouts(&sbd(cib(&resources, &nv("stonith-timeout", "60s")), Some(vec![node(DISK, None)])));
        assert!(unknown.findings.is_empty());
        assert!(unknown.unjudged[0].contains("only `sbd -d DEV dump` shows"), "{:?}", unknown.unjudged);
        let short = disk_timeouts(&sbd(cib(&resources, &nv("stonith-timeout", "5s")), Some(vec![node(DISK, None)])));
        assert!(
            said(&short).contains("taken as twice SBD_WATCHDOG_TIMEOUT") && said(&short).contains("SBD_WATCHDOG_TIMEOUT is 5 s"),
            "{}",
            said(&short)
        );
        let missing = disk_timeouts(&sbd(cib(&resources, ""), Some(vec![node(DISK, Some(&dump("/dev/other", 5, 10)))])));
        assert!(missing.unjudged[0].contains("no header for /dev/disk/by-id/sbd1"), "{:?}", missing.unjudged);
        let diskless = disk_timeouts(&sbd(cib("", &nv("have-watchdog", "true")), Some(vec![node("SBD_PACEMAKER=yes\n", None)])));
        assert!(diskless.findings.is_empty() && diskless.unjudged.is_empty(), "no disk: nothing to wait for");
    }

    #[test]
    fn diskless_watchdog_fencing_waits_twice_the_watchdog_timeout() {
        let judge = |options: &str, config: &str| said(&diskless_timeouts(&sbd(cib("", options), Some(vec![node(config, None)]))));
        let watchdog = "SBD_WATCHDOG_TIMEOUT=5\n";
        assert_eq!(judge(&nv("stonith-watchdog-timeout", "10s"), watchdog), "");
        assert_eq!(judge(&nv("stonith-watchdog-timeout", "-1"), watchdog), "", "Pacemaker computes twice SBD_WATCHDOG_TIMEOUT");
        assert_eq!(judge(&nv("stonith-watchdog-timeout", "0"), watchdog), "", "off: judged by whether the cluster can fence");
        let short = judge(&nv("stonith-watchdog-timeout", "8s"), watchdog);
        assert!(short.contains("stonith-watchdog-timeout=`8s`") && short.contains("= 10 s") && !short.contains("refuses"), "{short}");
        assert!(judge(&nv("fencing-watchdog-timeout", "4"), watchdog).contains("controller refuses to run"));
        assert!(judge(&nv("stonith-watchdog-timeout", "8s"), "# defaults\n").contains("sbd's default 5 s"));
        assert_eq!(judge(&nv("stonith-watchdog-timeout", "8s"), DISK), "", "disk-based SBD is judged by msgwait");
    }

    #[test]
    fn dump_headers_are_read_per_device() {
        let text = format!("{}{}", dump("/dev/a", 5, 10), dump("/dev/b", 15, 30));
        assert_eq!(
            dump_headers(&text),
            vec![
                Header { device: "/dev/a".into(), watchdog: Some(5), msgwait: Some(10) },
                Header { device: "/dev/b".into(), watchdog: Some(15), msgwait: Some(30) }
            ]
        );
    }
}
