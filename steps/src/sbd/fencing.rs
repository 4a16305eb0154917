//! Whether a cluster that uses SBD can fence with it at all, and what each
//! node's sbd must watch: Pacemaker, with a sound watchdog timeout, on one or
//! three devices.

use pcmk_model::finding::{Finding, Place};
use pcmk_model::text::parse_bool;

use super::dump::dump_headers;
use super::timeouts::{watchdog_fencing, WatchdogFencing, WATCHDOG_TIMEOUT};
use super::{Judgement, Sbd};

/// The cluster uses SBD: it can fence with it.
pub(super) fn can_fence(s: &Sbd) -> Judgement {
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
pub(super) fn watches_pacemaker(s: &Sbd, min_watchdog: i64) -> Judgement {
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
pub(super) fn device_count(s: &Sbd) -> Judgement {
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

#[cfg(test)]
mod tests {
    use super::super::config::Config;
    use super::super::fixtures::{cib, device, dump, node, nv, said, sbd, DISK};
    use super::super::NodeConfig;
    use super::*;

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
}
