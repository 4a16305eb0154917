//! The timeouts SBD fencing waits for: msgwait on the devices' headers (as
//! `sbd -d DEV dump` prints them), the fencing timeout that must outlast it,
//! and with diskless SBD the stonith-watchdog-timeout that must outlast the
//! watchdog.

use pcmk_model::finding::{Finding, Place};

use super::config::crm_get_msec;
use super::dump::{dump_headers, Header};
use super::{param, Judgement, NodeConfig, OptionValue, Sbd};
use crate::cluster_options::{values, Pacemaker};
use crate::facts::CibFacts;
use crate::facts::Primitive;

/// Pacemaker's default stonith-timeout.
const DEFAULT_FENCING_TIMEOUT_MS: i64 = 60_000;

pub(super) const WATCHDOG_TIMEOUT: &[&str] = &["stonith-watchdog-timeout", "fencing-watchdog-timeout"];
const FENCING_TIMEOUT: &[&str] = &["stonith-timeout", "fencing-timeout"];
const FENCING_ACTION: &[&str] = &["stonith-action", "fencing-action"];

/// Milliseconds as people read them: `10 s`, `1.5 s`.
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} s", ms as f64 / 1000.0)
    }
}

/// Watchdog fencing, as one reading of stonith-watchdog-timeout sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WatchdogFencing {
    Off,
    /// Negative or unreadable: twice each node's SBD_WATCHDOG_TIMEOUT.
    Auto,
    On(i64),
}

pub(super) fn watchdog_fencing(value: &OptionValue) -> WatchdogFencing {
    match value.raw.as_deref().map(crm_get_msec) {
        None | Some(Some(0)) => WatchdogFencing::Off,
        Some(None) => WatchdogFencing::Auto,
        Some(Some(ms)) => WatchdogFencing::On(ms),
    }
}

/// Whether watchdog fencing is on in every reading of the CIB (each
/// Pacemaker in `versions`, with and without its rule-bound sets, by either
/// name): only then can every node be fenced by its own watchdog.
pub(crate) fn watchdog_fencing_in_every_reading(cib: &CibFacts, origin: &str, versions: &[Pacemaker]) -> bool {
    let readings = values(cib, origin, WATCHDOG_TIMEOUT, versions);
    !readings.is_empty() && readings.iter().all(|v| watchdog_fencing(v) != WatchdogFencing::Off)
}

/// The msgwait the cluster's SBD fencing waits for: the largest of the
/// headers a capture dumped, else twice the watchdog timeout (the least a
/// sound device has), which is then no evidence.
fn msgwait(configs: &[NodeConfig], judgement: &mut Judgement) -> Option<(i64, String)> {
    let mut msgwait: Option<(i64, String)> = None;
    for node in configs {
        let Some(devices) = node.config.devices().filter(|d| !d.paths.is_empty()) else { continue };
        let waits = match node.dump.as_deref().map(dump_headers) {
            Some(headers) => dumped_msgwaits(node, &devices.paths, &headers, judgement),
            None => vec![assumed_msgwait(node, &devices.paths, judgement)],
        };
        for (value, how) in waits {
            if msgwait.as_ref().is_none_or(|(m, _)| value > *m) {
                msgwait = Some((value, how));
            }
        }
    }
    msgwait
}

/// Each device's msgwait as a capture dumped its header, failing one below twice its watchdog timeout.
fn dumped_msgwaits(node: &NodeConfig, paths: &[String], headers: &[Header], judgement: &mut Judgement) -> Vec<(i64, String)> {
    let mut waits = Vec::new();
    for device in paths {
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
        waits.push((wait, format!("the header of {device} on {}", node.node)));
    }
    waits
}

/// Without a dump: msgwait taken as twice SBD_WATCHDOG_TIMEOUT, and the header left unjudged.
fn assumed_msgwait(node: &NodeConfig, paths: &[String], judgement: &mut Judgement) -> (i64, String) {
    let (watchdog, how) = node.config.watchdog();
    judgement.unjudged.push(format!(
        "{}: msgwait is written in the header of {}, which only `sbd -d DEV dump` shows: capture the nodes \
         (`pcmk-comply capture` reads it)",
        node.node,
        paths.join(", ")
    ));
    (
        2 * watchdog,
        format!(
            "taken as twice SBD_WATCHDOG_TIMEOUT, the least a sound device has and what crmsh writes; \
             SBD_WATCHDOG_TIMEOUT is {watchdog} s: {how}"
        ),
    )
}

/// What a device's fencing waits for: how long, how it is set, where, and the option to raise.
struct FencingTimeout {
    ms: i64,
    how: String,
    place: Option<Place>,
    option: String,
}

/// `reboot`, or `off` where stonith-action powers nodes off.
fn fencing_action(s: &Sbd) -> &'static str {
    let action_off = s
        .option(FENCING_ACTION)
        .iter()
        .any(|v| v.raw.as_deref().is_some_and(|a| a.eq_ignore_ascii_case("off") || a.eq_ignore_ascii_case("poweroff")));
    if action_off {
        "off"
    } else {
        "reboot"
    }
}

/// The device's `pcmk_<action>_timeout`, else every reading of stonith-timeout.
fn fencing_timeouts(s: &Sbd, device: &Primitive, action: &str) -> Vec<FencingTimeout> {
    let own = format!("pcmk_{action}_timeout");
    if let Some((ms, raw, line)) = param(device, &own).and_then(|(v, l)| Some((crm_get_msec(v)?, v, l))) {
        let how = format!("{own}=`{raw}` on {}, {}", device.id, s.at_cib(line));
        return vec![FencingTimeout { ms, how, place: Some(Place::new(&s.origin, line)), option: own }];
    }
    s.option(FENCING_TIMEOUT)
        .into_iter()
        .map(|v| {
            let (ms, how) = match v.raw.as_deref().map(|r| (r, crm_get_msec(r))) {
                None => (DEFAULT_FENCING_TIMEOUT_MS, format!("{} {}, Pacemaker's default 60 s", v.name, v.how)),
                Some((raw, Some(ms))) => (ms, format!("{}=`{raw}`, {}", v.name, v.how)),
                Some((raw, None)) => (
                    DEFAULT_FENCING_TIMEOUT_MS,
                    format!("{}=`{raw}`, {}, which Pacemaker finds invalid and replaces with its default 60 s", v.name, v.how),
                ),
            };
            FencingTimeout { ms, how, place: v.place, option: v.name }
        })
        .collect()
}

/// With disk-based SBD: msgwait at least twice the watchdog timeout, and each SBD device's fencing timeout
/// at least msgwait + 20 %.
pub(super) fn disk_timeouts(s: &Sbd) -> Judgement {
    let mut judgement = Judgement::default();
    let Some(configs) = &s.configs else { return judgement };
    let Some((wait, wait_how)) = msgwait(configs, &mut judgement) else { return judgement };
    let action = fencing_action(s);
    let needed_ms = wait * 1200;
    for device in s.sbd_fence_devices() {
        for FencingTimeout { ms, how, place, option } in fencing_timeouts(s, device, action) {
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
pub(super) fn diskless_timeouts(s: &Sbd) -> Judgement {
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

#[cfg(test)]
mod tests {
    use super::super::fixtures::{cib, device, dump, node, nv, said, sbd, DISK};
    use super::*;

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
}
