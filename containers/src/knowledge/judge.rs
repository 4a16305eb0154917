//! A candidate's settings against what two versions know: its cluster
//! options (crm_config nvpairs) and fence devices' `pcmk_*` parameters, the
//! crm_mon options its scripts use, its pcsd settings (/etc/default/pcsd or
//! /etc/sysconfig/pcsd) and its corosync.conf keys. Each judgement says what
//! the newer version does, from its own tables and its own tools' reading of
//! the candidate's CIB. Pure: the engine work is done before.

use std::collections::{BTreeMap, BTreeSet};

use pcmk_model::corosync_conf::{CorosyncConf, Section};

use super::{Knowledge, Upgrade};
use crate::candidate::Candidate;

/// Options whose removal or refused value loses a hardening the candidate asked for.
const HARDENING_OPTIONS: &[&str] =
    &["stonith-enabled", "fencing-enabled", "enable-acl", "no-quorum-policy", "startup-fencing", "stonith-action", "fencing-action"];
/// pcsd settings that harden it (where it listens, the TLS it accepts).
const HARDENING_PCSD: &[&str] = &["PCSD_BIND_ADDR", "PCSD_SSL_OPTIONS", "PCSD_SSL_CIPHERS", "PCSD_DISABLE_GUI"];
/// corosync.conf keys that harden it (encryption and its key).
const HARDENING_COROSYNC: &[&str] = &["totem.crypto_cipher", "totem.crypto_hash", "totem.secauth", "totem.keyfile", "totem.key"];

/// One version: its name (`bookworm`) and what it knows.
#[derive(Debug, Clone, Copy)]
pub struct Version<'a> {
    pub name: &'a str,
    pub knows: &'a Knowledge,
}

/// Which packages the candidate's nodes have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packages {
    /// A capture's package lists: node → installed packages.
    Listed(BTreeMap<String, BTreeSet<String>>),
    /// The candidate names its distribution, so its nodes have the node image's packages.
    Image,
    /// Nothing in the candidate says.
    Unknown,
}

/// What `judge` reads of a candidate.
#[derive(Debug, Clone)]
pub struct Settings {
    /// (file name, text) of its CIB.
    pub cib: Option<(String, String)>,
    /// (file name, text) of /etc/default/pcsd or /etc/sysconfig/pcsd.
    pub pcsd: Option<(String, String)>,
    pub corosync: Option<(String, CorosyncConf)>,
    /// Every text file, for the commands in scripts.
    pub texts: Vec<(String, String)>,
    pub packages: Packages,
    /// Every node path the candidate places a file at.
    pub paths: Vec<String>,
}

/// One thing in the candidate the newer version removed or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub place: String,
    pub message: String,
    /// Stops the candidate working, or loses a hardening it asked for.
    pub breaks: bool,
}

fn name_of(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// What a candidate holds that `judge` reads.
pub fn settings(candidate: &Candidate) -> Settings {
    let text = |path: &str| {
        let f = candidate.file_at(path)?;
        Some((name_of(&f.source), String::from_utf8(f.content.clone()).ok()?))
    };
    let packages = if !candidate.captured.is_empty() {
        Packages::Listed(
            candidate
                .captured
                .iter()
                .filter_map(|node| {
                    let listed = node.queries.get("packages")?;
                    let installed = listed
                        .lines()
                        .filter_map(|l| {
                            let f: Vec<&str> = l.split('\t').collect();
                            (f.len() >= 3 && f[2].starts_with("ii")).then(|| f[0].split(':').next().unwrap_or_default().to_string())
                        })
                        .collect();
                    Some((node.name.clone(), installed))
                })
                .collect(),
        )
    } else if candidate.distro_declared {
        Packages::Image
    } else {
        Packages::Unknown
    };
    Settings {
        cib: text(pcmk_model::node::CIB_XML),
        pcsd: text("/etc/default/pcsd").or_else(|| text("/etc/sysconfig/pcsd")),
        corosync: candidate.corosync.as_ref().map(|(conf, _)| {
            let name = candidate.file_at(pcmk_model::node::COROSYNC_CONF).map(|f| name_of(&f.source)).unwrap_or("corosync.conf".into());
            (name, conf.clone())
        }),
        texts: candidate
            .files
            .iter()
            .filter(|f| !f.secret)
            .filter_map(|f| Some((name_of(&f.source), String::from_utf8(f.content.clone()).ok()?)))
            .collect(),
        packages,
        paths: candidate.files.iter().map(|f| f.placement.path.clone()).collect(),
    }
}

/// A duration in milliseconds, as Pacemaker reads `60s`, `1min`, `500ms`, `2h`, or a bare number of seconds.
fn millis(value: &str) -> Option<u64> {
    let value = value.trim();
    let digits = value.find(|c: char| !c.is_ascii_digit()).unwrap_or(value.len());
    let n: u64 = value[..digits].parse().ok()?;
    let unit = match value[digits..].trim() {
        "" | "s" | "sec" => 1000,
        "ms" | "msec" => 1,
        "m" | "min" => 60_000,
        "h" | "hr" => 3_600_000,
        _ => return None,
    };
    Some(n * unit)
}

fn same_default(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || matches!((millis(a), millis(b)), (Some(x), Some(y)) if x == y)
}

/// The line of the target's own tools' output that names `id` (or `name`).
fn said_about<'u>(upgrade: Option<&'u Upgrade>, id: &str, name: &str) -> Option<&'u str> {
    upgrade?.said.lines().map(str::trim).find(|l| l.contains(&format!(" {id} ")) || l.contains(&format!(" {name} ")))
}

/// What the dry upgrade made of the element with this id: None without an
/// upgraded CIB, Some(None) when it is gone, else its attribute's value.
fn upgraded_attribute(upgrade: Option<&Upgrade>, id: &str, attribute: &str) -> Option<Option<String>> {
    if id.is_empty() {
        return None;
    }
    let text = upgrade?.upgraded.as_deref()?;
    let doc = pcmk_model::text::parse_xml(text).ok()?;
    let node = doc.descendants().find(|n| n.attribute("id") == Some(id));
    Some(node.map(|n| n.attribute(attribute).unwrap_or_default().to_string()))
}

/// The commands that listed a table's options: `` `crm_attribute …` ``.
fn listed_by(table: &BTreeMap<String, super::PcmkOption>) -> String {
    let sources: BTreeSet<&str> = table.values().map(|o| o.source.as_str()).collect();
    sources.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// The candidate's settings against the older and the newer version.
pub fn judge(settings: &Settings, upgrade: Option<&Upgrade>, from: Version, to: Version) -> Vec<Judgement> {
    let mut out = Vec::new();
    if let Some((name, text)) = &settings.cib {
        cib(name, text, upgrade, from, to, &mut out);
    }
    crm_mon(&settings.texts, from, to, &mut out);
    if let Some((name, text)) = &settings.pcsd {
        pcsd(name, text, settings, from, to, &mut out);
    }
    if let Some((name, conf)) = &settings.corosync {
        corosync(name, conf, from, to, &mut out);
    }
    out
}

fn cib(file: &str, text: &str, upgrade: Option<&Upgrade>, from: Version, to: Version, out: &mut Vec<Judgement>) {
    let Ok(doc) = pcmk_model::text::parse_xml(text) else { return };
    let (old, new) = (from.knows.named("pacemaker"), to.knows.named("pacemaker"));
    let new_version = to.knows.version("pacemaker").unwrap_or(to.name);
    let mut set = BTreeSet::new();
    for nvpair in doc.descendants().filter(|n| n.has_tag_name("nvpair")) {
        let (Some(name), value) = (nvpair.attribute("name"), nvpair.attribute("value").unwrap_or_default()) else { continue };
        let id = nvpair.attribute("id").unwrap_or_default();
        let place = format!("{file} line {}", doc.text_pos_at(nvpair.range().start).row);
        let in_crm_config = nvpair.ancestors().any(|a| a.has_tag_name("crm_config"));
        let fence_device = nvpair.ancestors().any(|a| a.has_tag_name("primitive") && a.attribute("class") == Some("stonith"))
            && nvpair.parent().is_some_and(|p| p.has_tag_name("instance_attributes"));
        let (tables, what, lister) = if in_crm_config {
            set.insert(name.to_string());
            ((&from.knows.cluster_options, &to.knows.cluster_options), "cluster option", "cluster options")
        } else if fence_device && name.starts_with("pcmk_") {
            ((&from.knows.fencing_options, &to.knows.fencing_options), "fence device parameter", "fencing options")
        } else {
            continue;
        };
        let breaks = in_crm_config && HARDENING_OPTIONS.contains(&name);
        let source = |o: &super::PcmkOption| format!("`{}`", o.source);
        match (tables.0.get(name), tables.1.get(name)) {
            (Some(was), None) => {
                let fate = match upgraded_attribute(upgrade, id, "value") {
                    Some(None) => match said_about(upgrade, id, name) {
                        Some(line) => format!("its CIB upgrade drops it (\"{line}\")"),
                        None => "its CIB upgrade drops it".to_string(),
                    },
                    Some(Some(_)) => format!("{new_version} keeps it in the CIB and never reads it (crm_verify says nothing of it)"),
                    None => format!("{new_version} never reads it"),
                };
                let deprecated = if was.deprecated { ", deprecated" } else { "" };
                out.push(Judgement {
                    place,
                    message: format!(
                        "{what} {name}={value}: {new} has no such option (its {lister}: {}; {old} had it{deprecated}): {fate}{}",
                        listed_by(tables.1),
                        if breaks { "; the setting the candidate asked for is lost" } else { "" }
                    ),
                    breaks,
                });
            }
            (Some(was), Some(now)) => {
                if !now.values.is_empty() && !now.values.iter().any(|v| v == value) && was.values.iter().any(|v| v == value) {
                    let fate = match upgraded_attribute(upgrade, id, "value") {
                        Some(Some(v)) if v != value => format!("its CIB upgrade rewrites it to `{v}`"),
                        Some(None) => "its CIB upgrade drops it".to_string(),
                        Some(Some(_)) => format!("{new_version} keeps the value, which it does not accept"),
                        None => format!("{new_version} does not accept it"),
                    };
                    let rewritten = fate.contains("rewrites");
                    out.push(Judgement {
                        place: place.clone(),
                        message: format!(
                            "{what} {name}={value}: {new} allows {} ({}), {old} also allowed `{value}`: {fate}",
                            now.values.join(", "),
                            source(now)
                        ),
                        breaks: breaks && !rewritten,
                    });
                }
                if now.deprecated && !was.deprecated {
                    out.push(Judgement {
                        place,
                        message: format!("{what} {name} is deprecated in {new} ({}); {old} did not deprecate it", source(now)),
                        breaks: false,
                    });
                }
            }
            _ => {}
        }
    }
    // Defaults that changed, for the options the candidate leaves unset.
    for (name, was) in &from.knows.cluster_options {
        let Some(now) = to.knows.cluster_options.get(name) else { continue };
        if set.contains(name) || was.generated || now.generated {
            continue;
        }
        if let (Some(a), Some(b)) = (&was.default, &now.default) {
            if !same_default(a, b) {
                let deprecated = if now.deprecated && !was.deprecated { format!("; {new} also deprecates it") } else { String::new() };
                out.push(Judgement {
                    place: file.to_string(),
                    message: format!(
                        "cluster option {name} is unset: its default is {a} on {old} and {b} on {new} (`{}`, `{}`){deprecated}; set it to keep the old behaviour",
                        was.source, now.source
                    ),
                    breaks: false,
                });
            }
        }
    }
}

fn crm_mon(texts: &[(String, String)], from: Version, to: Version, out: &mut Vec<Judgement>) {
    let (old, new) = (from.knows.named("pacemaker"), to.knows.named("pacemaker"));
    if to.knows.crm_mon_options.is_empty() {
        return;
    }
    for (name, text) in texts {
        for (index, line) in text.lines().enumerate() {
            if !line.split(|c: char| c.is_whitespace() || c == '/' || c == ';' || c == '(' || c == '`').any(|w| w == "crm_mon") {
                continue;
            }
            for word in line.split_whitespace().filter(|w| w.starts_with("--")) {
                let option = word.split('=').next().unwrap_or_default().trim_end_matches(['"', '\'', ';', ')']);
                let (was, now) = (from.knows.crm_mon_options.get(option), to.knows.crm_mon_options.get(option));
                let place = format!("{name} line {}", index + 1);
                match (was, now) {
                    (Some(deprecated), None) => out.push(Judgement {
                        place,
                        message: format!(
                            "crm_mon {option}: {new}'s crm_mon has no such option (`crm_mon --help-all`; {old}'s had it{}), so the command stops with \"Unknown option\"; use --output-as",
                            if *deprecated { ", deprecated" } else { "" }
                        ),
                        breaks: true,
                    }),
                    (Some(false), Some(true)) => out.push(Judgement {
                        place,
                        message: format!("crm_mon {option} is deprecated in {new} (`crm_mon --help-all`); use --output-as"),
                        breaks: false,
                    }),
                    _ => {}
                }
            }
        }
    }
}

/// `KEY=value` lines of a shell environment file, with their line numbers and unquoted values.
fn assignments(text: &str) -> Vec<(usize, String, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let key = key.trim();
            (!key.is_empty() && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')).then(|| {
                let value = value.trim().trim_matches(|c| c == '\'' || c == '"');
                (i + 1, key.to_string(), value.to_string())
            })
        })
        .collect()
}

/// Where the candidate installs the web UI that `to` serves, if it does.
fn installs_web_ui(settings: &Settings, to: Version) -> Option<String> {
    const PACKAGE: &str = "pcs-web-ui";
    if let Some((dir, _)) = &to.knows.webui {
        if let Some(path) = settings.paths.iter().find(|p| p.starts_with(&format!("{dir}/"))) {
            return Some(format!("it places {path}"));
        }
    }
    match &settings.packages {
        Packages::Listed(nodes) => {
            let with: Vec<&str> = nodes.iter().filter(|(_, p)| p.contains(PACKAGE)).map(|(n, _)| n.as_str()).collect();
            (!with.is_empty()).then(|| format!("{PACKAGE} is installed on {}", with.join(", ")))
        }
        Packages::Image => match (&to.knows.webui, to.knows.packages.contains_key(PACKAGE)) {
            (_, true) => Some(format!("{}'s packages include {PACKAGE}", to.name)),
            (Some((dir, true)), _) => Some(format!("{dir} is there on {}", to.name)),
            _ => None,
        },
        Packages::Unknown => None,
    }
}

fn pcsd(file: &str, text: &str, settings: &Settings, from: Version, to: Version, out: &mut Vec<Judgement>) {
    let (old, new) = (from.knows.named("pcs"), to.knows.named("pcs"));
    for (line, key, value) in assignments(text) {
        let (Some(reader), None) = (from.knows.pcsd_env.get(&key), to.knows.pcsd_env.get(&key)) else { continue };
        let place = format!("{file} line {line}");
        let no_longer = format!("{key}={value}: {new}'s pcsd reads no {key} (the variables it reads: pcs/daemon/env.py, pcsd's Ruby, the pcs library); {old} read it ({reader})");
        if key == "PCSD_DISABLE_GUI" {
            if !value.eq_ignore_ascii_case("true") {
                out.push(Judgement {
                    place,
                    message: format!("{no_longer}; with `{value}` it did not turn the web UI off there either: the line can go"),
                    breaks: false,
                });
                continue;
            }
            let dir = to.knows.webui.as_ref().map(|(d, _)| d.as_str()).unwrap_or("its public/ui directory");
            let serves = format!("pcsd serves the web UI from {dir} when that is there (the pcs-web-ui package puts it there), else only an instructions page");
            match installs_web_ui(settings, to) {
                Some(how) => out.push(Judgement {
                    place,
                    message: format!("{no_longer}; {serves}; the candidate installs the web UI ({how}), so on {} pcsd serves the web UI this setting turned off: remove pcs-web-ui, or accept the web UI", to.name),
                    breaks: true,
                }),
                None => {
                    let evidence = match &settings.packages {
                        Packages::Listed(_) => "no captured node has pcs-web-ui".to_string(),
                        Packages::Image => format!("{}'s packages do not include pcs-web-ui", to.name),
                        Packages::Unknown => "the candidate does not say which packages its nodes have".to_string(),
                    };
                    out.push(Judgement {
                        place,
                        message: format!("{no_longer}; {serves}; {evidence}: keep pcs-web-ui uninstalled and the web UI stays off (the line can go)"),
                        breaks: false,
                    });
                }
            }
        } else {
            let breaks = HARDENING_PCSD.contains(&key.as_str());
            let lost = if breaks { "; the hardening the candidate asked for is lost" } else { ": it has no effect" };
            out.push(Judgement { place, message: format!("{no_longer}{lost}"), breaks });
        }
    }
}

/// The key a manual documents for a key the candidate sets: `ring1_addr` is
/// `ringX_addr`, a logger_subsys takes every logging key.
fn documented<'k>(keys: &'k BTreeMap<String, super::CorosyncKey>, path: &str) -> Option<&'k super::CorosyncKey> {
    let mut parts: Vec<String> = path.split('.').map(str::to_string).collect();
    if let Some(last) = parts.last_mut() {
        if last.starts_with("ring") && last.ends_with("_addr") {
            *last = "ringX_addr".into();
        }
    }
    let path = parts.join(".");
    keys.get(&path).or_else(|| path.strip_prefix("logging.logger_subsys.").and_then(|k| keys.get(&format!("logging.{k}"))))
}

fn corosync(file: &str, conf: &CorosyncConf, from: Version, to: Version, out: &mut Vec<Judgement>) {
    let (old, new) = (from.knows.named("corosync"), to.knows.named("corosync"));
    let mut set = BTreeSet::new();
    fn walk(section: &Section, prefix: &str, into: &mut Vec<(String, usize, String)>) {
        for pair in &section.pairs {
            into.push((format!("{prefix}{}", pair.key), pair.line, pair.value.clone()));
        }
        for sub in &section.sections {
            walk(sub, &format!("{prefix}{}.", sub.name), into);
        }
    }
    let mut pairs = Vec::new();
    walk(&conf.root, "", &mut pairs);
    for (path, line, value) in pairs {
        set.insert(path.clone());
        // quorum.device is corosync-qdevice's (its own manual); nothing else is judged without a manual.
        if path.starts_with("quorum.device.") {
            continue;
        }
        if let (Some(was), None) = (documented(&from.knows.corosync_keys, &path), documented(&to.knows.corosync_keys, &path)) {
            let breaks = HARDENING_COROSYNC.contains(&path.as_str());
            out.push(Judgement {
                place: format!("{file} line {line}"),
                message: format!(
                    "`{path}: {value}`: {new}'s {} does not document it ({old}'s {} did){}",
                    was.source,
                    was.source,
                    if breaks { "; the encryption setting the candidate asked for may not hold" } else { "" }
                ),
                breaks,
            });
        }
    }
    for (key, was) in &from.knows.corosync_keys {
        let Some(now) = to.knows.corosync_keys.get(key) else { continue };
        if set.iter().any(|s| documented(&from.knows.corosync_keys, s).is_some_and(|k| std::ptr::eq(k, was))) {
            continue;
        }
        if let (Some(a), Some(b)) = (&was.default, &now.default) {
            if !same_default(a, b) {
                out.push(Judgement {
                    place: file.to_string(),
                    message: format!("`{key}` is unset: its default is {a} on {old} and {b} on {new} ({})", now.source),
                    breaks: false,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{bookworm, trixie};
    use super::*;

    fn cib(options: &str) -> String {
        format!(
            "<cib validate-with=\"pacemaker-3.9\">\n<configuration>\n<crm_config>\n<cluster_property_set id=\"o\">\n{options}\n</cluster_property_set>\n</crm_config>\n<resources/>\n</configuration>\n</cib>\n"
        )
    }

    fn run(settings: &Settings, upgrade: Option<&Upgrade>) -> Vec<Judgement> {
        let (b, t) = (bookworm(), trixie());
        judge(settings, upgrade, Version { name: "bookworm", knows: &b }, Version { name: "trixie", knows: &t })
    }

    fn settings(cib_text: Option<String>, pcsd: &str, packages: Packages) -> Settings {
        Settings {
            cib: cib_text.map(|c| ("cib.xml".to_string(), c)),
            pcsd: (!pcsd.is_empty()).then(|| ("pcsd.defaults".to_string(), pcsd.to_string())),
            corosync: None,
            texts: Vec::new(),
            packages,
            paths: Vec::new(),
        }
    }

    #[test]
    fn a_removed_option_says_what_the_upgrade_does_with_it() {
        let text = cib("<nvpair id=\"o-ras\" name=\"remove-after-stop\" value=\"true\"/>\n<nvpair id=\"o-sa\" name=\"stonith-action\" value=\"poweroff\"/>");
        // As Pacemaker 3.0.0's crm_verify and cibadmin --upgrade said and wrote it.
        let upgrade = Upgrade {
            said: "### verify\nWARNING: Dropping nvpair o-ras because the remove-after-stop property is unsupported\n### upgrade\n".into(),
            upgraded: Some(cib("<nvpair id=\"o-sa\" name=\"stonith-action\" value=\"off\"/>")),
        };
        let found = run(&settings(Some(text), "", Packages::Image), Some(&upgrade));
        let at = |line: usize| found.iter().find(|j| j.place == format!("cib.xml line {line}")).unwrap_or_else(|| panic!("{found:#?}"));
        assert_eq!(
            at(5).message,
            "cluster option remove-after-stop=true: Pacemaker 3.0.0 has no such option (its cluster options: `crm_attribute --list-options=cluster --all --output-as=xml`; Pacemaker 2.1.5 had it, deprecated): its CIB upgrade drops it (\"WARNING: Dropping nvpair o-ras because the remove-after-stop property is unsupported\")"
        );
        assert!(!at(5).breaks);
        assert!(
            at(6).message.contains("Pacemaker 3.0.0 allows reboot, off") && at(6).message.contains("its CIB upgrade rewrites it to `off`"),
            "{:?}",
            at(6)
        );
        assert!(!at(6).breaks, "rewritten to the same action");
        let kept = Upgrade { said: String::new(), upgraded: Some(cib("<nvpair id=\"o-ras\" name=\"remove-after-stop\" value=\"true\"/>")) };
        let found =
            run(&settings(Some(cib("<nvpair id=\"o-ras\" name=\"remove-after-stop\" value=\"true\"/>")), "", Packages::Image), Some(&kept));
        assert!(found[0].message.ends_with("3.0.0 keeps it in the CIB and never reads it (crm_verify says nothing of it)"), "{found:#?}");
    }

    #[test]
    fn a_changed_default_is_reported_only_where_the_candidate_leaves_it_unset() {
        let found = run(&settings(Some(cib("")), "", Packages::Image), None);
        let defaults: Vec<&str> = found.iter().filter(|j| j.message.contains("is unset")).map(|j| j.message.as_str()).collect();
        assert_eq!(defaults.len(), 1, "{defaults:#?}");
        assert!(defaults[0].starts_with(
            "cluster option concurrent-fencing is unset: its default is false on Pacemaker 2.1.5 and true on Pacemaker 3.0.0"
        ));
        assert!(defaults[0].contains("Pacemaker 3.0.0 also deprecates it"));
        let found =
            run(&settings(Some(cib("<nvpair id=\"o-cf\" name=\"concurrent-fencing\" value=\"false\"/>")), "", Packages::Image), None);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].message, "cluster option concurrent-fencing is deprecated in Pacemaker 3.0.0 (`crm_attribute --list-options=cluster --all --output-as=xml`); Pacemaker 2.1.5 did not deprecate it");
    }

    #[test]
    fn disable_gui_is_a_change_without_the_web_ui_and_a_break_with_it() {
        let pcsd = "# pcsd\nPCSD_BIND_ADDR=10.0.0.1\nPCSD_DISABLE_GUI=true\n";
        let found = run(&settings(None, pcsd, Packages::Image), None);
        assert_eq!(found.len(), 1, "PCSD_BIND_ADDR is read by both: {found:#?}");
        assert_eq!((found[0].place.as_str(), found[0].breaks), ("pcsd.defaults line 3", false));
        assert!(
            found[0].message.starts_with("PCSD_DISABLE_GUI=true: pcs 0.12.0.2's pcsd reads no PCSD_DISABLE_GUI"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("pcsd serves the web UI from /usr/share/pcsd/public/ui when that is there"));
        assert!(found[0].message.ends_with(
            "trixie's packages do not include pcs-web-ui: keep pcs-web-ui uninstalled and the web UI stays off (the line can go)"
        ));

        let node = |packages: &[&str]| packages.iter().map(|p| p.to_string()).collect::<BTreeSet<_>>();
        let captured = Packages::Listed(BTreeMap::from([("alpha".into(), node(&["pcs"])), ("beta".into(), node(&["pcs", "pcs-web-ui"]))]));
        let found = run(&settings(None, pcsd, captured), None);
        assert!(found[0].breaks, "{found:#?}");
        assert!(found[0].message.contains("the candidate installs the web UI (pcs-web-ui is installed on beta), so on trixie pcsd serves the web UI this setting turned off"));

        let mut placed = settings(None, pcsd, Packages::Unknown);
        placed.paths.push("/usr/share/pcsd/public/ui/index.html".into());
        assert!(run(&placed, None)[0].breaks);
        let found = run(&settings(None, "PCSD_DISABLE_GUI=false\n", Packages::Unknown), None);
        assert!(!found[0].breaks && found[0].message.contains("with `false` it did not turn the web UI off there either"));
    }

    #[test]
    fn crm_mon_options_are_judged_by_the_target_crm_mon() {
        let mut s = settings(None, "", Packages::Unknown);
        s.texts.push((
            "status.sh".into(),
            "#!/bin/sh\n/usr/sbin/crm_mon -1 --as-html=/var/www/s.html\ncrm_mon --as-xml | xmllint -\necho --as-html\n".into(),
        ));
        let found = run(&s, None);
        // --as-xml is deprecated on both, so nothing changes for it.
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].breaks && found[0].place == "status.sh line 2", "{found:#?}");
        assert_eq!(found[0].message, "crm_mon --as-html: Pacemaker 3.0.0's crm_mon has no such option (`crm_mon --help-all`; Pacemaker 2.1.5's had it, deprecated), so the command stops with \"Unknown option\"; use --output-as");
    }

    #[test]
    fn corosync_keys_both_versions_document_raise_nothing() {
        let text = "totem {\n version: 2\n cluster_name: c\n crypto_cipher: aes256\n crypto_hash: sha256\n token: 3000\n interface {\n  linknumber: 0\n  knet_transport: udp\n }\n}\nlogging {\n to_syslog: yes\n logger_subsys {\n  subsys: QUORUM\n  debug: off\n }\n}\nquorum {\n provider: corosync_votequorum\n two_node: 1\n}\nnodelist {\n node {\n  ring0_addr: 10.0.0.1\n  ring1_addr: 10.1.0.1\n  nodeid: 1\n  name: a\n }\n}\n";
        let conf = CorosyncConf::parse(text, std::path::Path::new("corosync.conf")).unwrap();
        let mut s = settings(None, "", Packages::Unknown);
        s.corosync = Some(("corosync.conf".into(), conf));
        assert_eq!(run(&s, None), Vec::new());
        // A key only the older version documents.
        let (b, mut t) = (bookworm(), trixie());
        t.corosync_keys.remove("totem.crypto_cipher");
        let found = judge(&s, None, Version { name: "bookworm", knows: &b }, Version { name: "trixie", knows: &t });
        assert_eq!(found.len(), 1);
        assert!(found[0].breaks && found[0].place == "corosync.conf line 4", "{found:#?}");
        assert!(found[0].message.starts_with("`totem.crypto_cipher: aes256`: corosync 3.1.9's corosync.conf(5) does not document it"));
    }

    #[test]
    fn durations_compare_as_pacemaker_reads_them() {
        assert!(same_default("60s", "1min") && same_default("0", "0s") && same_default("True", "true"));
        assert!(!same_default("false", "true") && !same_default("15min", "15s"));
    }
}
