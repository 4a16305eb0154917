//! Pacemaker cluster options as each Pacemaker version reads them: which
//! `cluster_property_set` wins, which names are aliases, what a boolean or
//! enumerated value means, and what an invalid one falls back to.
//!
//! Sources (ClusterLabs/pacemaker):
//! - booleans: `crm_str_to_boolean()` (lib/common/strings.c, 2.1.5 and 3.0.0),
//!   `pcmk__parse_bool()` (3.0.2): `true on yes y 1` / `false off no n 0`,
//!   case-insensitive, whole string, no trimming;
//! - an invalid value: `cluster_option_value()` (lib/common/options.c) logs
//!   "Using default value for cluster option '%s' because '%s' is invalid"
//!   and uses the default;
//! - set order: `cib-bootstrap-options` first (id compared case-insensitively in
//!   2.1.5, exactly in 3.0), then by `score`, highest first; sets of equal
//!   score are taken last-in-document first (the sets are collected in reverse
//!   and the sort keeps ties); the first value found for a name wins
//!   (`pe__unpack_dataset_nvpairs`/`sort_pairs` in 2.1.5, `pcmk__cmp_nvpair_blocks` in 3.0);
//! - `enable-acl` is read by the CIB manager, which in 2.1.5 to 2.1.9 merges
//!   the sets with overwrite on (`cib_read_config()`), so the last set read
//!   wins (fixed in 3.0.0, commit 5d91cf665b);
//! - aliases: `fencing-enabled` is 3.0.2's name for `stonith-enabled`; the new
//!   name wins whenever it is set (aliases are resolved after merging);
//!   2.1.5 and 3.0.0 do not know it and ignore it;
//! - underscore names (`stonith_enabled`) are renamed only by the schema
//!   upgrade (xml/upgrade-2.10.xsl), i.e. when `validate-with` is older than
//!   pacemaker-3.0; the option lookup itself never accepts them;
//! - sets with a `<rule>` are evaluated against the current time only; a
//!   static reading cannot know the time the cluster will run at, so both
//!   readings are judged.

use crate::facts::{CibFacts, PropertySet};
use pcmk_model::finding::Place;

/// A Pacemaker release line whose option semantics differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacemaker {
    /// 2.1.x (Debian bookworm ships 2.1.5).
    V2_1,
    /// 3.0.0 and 3.0.1 (Debian trixie ships 3.0.0).
    V3_0,
    /// 3.0.2 and later: `fencing-*` names.
    V3_0_2,
}

impl Pacemaker {
    pub fn name(self) -> &'static str {
        match self {
            Pacemaker::V2_1 => "Pacemaker 2.1",
            Pacemaker::V3_0 => "Pacemaker 3.0.0-3.0.1",
            Pacemaker::V3_0_2 => "Pacemaker 3.0.2 and later",
        }
    }

    /// The release a package version string (`2.1.5-1+deb12u1`) belongs to.
    pub fn of_version(version: &str) -> Pacemaker {
        let mut parts = version.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).map(|p| p.parse::<u32>().unwrap_or(0));
        match (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0)) {
            (major, _, _) if major < 3 => Pacemaker::V2_1,
            (3, 0, patch) if patch < 2 => Pacemaker::V3_0,
            _ => Pacemaker::V3_0_2,
        }
    }
}

/// The Pacemaker that wrote this CIB, and how that is known: its
/// `dc-version` stamp, else a pacemaker-4 schema (only 3.0 and later write one).
pub fn writer(cib: &CibFacts, origin: &str) -> Option<(Pacemaker, String)> {
    let stamp = cib.property_sets.iter().flat_map(|s| s.pairs.iter()).find(|p| p.0 == "dc-version" && !p.1.trim().is_empty());
    if let Some((_, version, line)) = stamp {
        return Some((Pacemaker::of_version(version), format!("{origin} line {line} records dc-version {version}")));
    }
    match cib.validate_with.as_deref() {
        Some(schema) if schema.starts_with("pacemaker-4") => {
            Some((Pacemaker::V3_0, format!("{origin} validates with {schema}, which only Pacemaker 3.0 and later write")))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Boolean,
    /// Case-insensitive choice among these values.
    Choice(&'static [&'static str]),
}

struct Spec {
    name: &'static str,
    /// The name 3.0.2 and later read first, if the option was renamed.
    new_name: Option<&'static str>,
    default: &'static str,
    kind: Kind,
}

const NO_QUORUM_2_1: &[&str] = &["stop", "freeze", "ignore", "demote", "suicide"];
const NO_QUORUM_3_0: &[&str] = &["stop", "freeze", "ignore", "demote", "suicide", "fence"];

fn spec(name: &str, version: Pacemaker) -> Option<Spec> {
    let found = match name {
        "stonith-enabled" | "fencing-enabled" => {
            Spec { name: "stonith-enabled", new_name: Some("fencing-enabled"), default: "true", kind: Kind::Boolean }
        }
        "enable-acl" => Spec { name: "enable-acl", new_name: None, default: "false", kind: Kind::Boolean },
        "maintenance-mode" => Spec { name: "maintenance-mode", new_name: None, default: "false", kind: Kind::Boolean },
        "symmetric-cluster" => Spec { name: "symmetric-cluster", new_name: None, default: "true", kind: Kind::Boolean },
        "startup-fencing" => Spec { name: "startup-fencing", new_name: None, default: "true", kind: Kind::Boolean },
        // `fence` is valid from 2.1.9; 2.1.5 logs a configuration error and uses `stop`.
        "no-quorum-policy" => {
            let values = if version == Pacemaker::V2_1 { NO_QUORUM_2_1 } else { NO_QUORUM_3_0 };
            Spec { name: "no-quorum-policy", new_name: None, default: "stop", kind: Kind::Choice(values) }
        }
        _ => return None,
    };
    Some(found)
}

use pcmk_model::text::parse_bool;

/// What one Pacemaker makes of an option: the value in canonical form and
/// how it got there, in words that point at the CIB line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub version: Pacemaker,
    /// Canonical: `true`/`false` for booleans, lower case for choices.
    pub value: String,
    pub how: String,
    /// The CIB line that set it; None for a default.
    pub place: Option<pcmk_model::finding::Place>,
    /// Whether sets with rules were taken as applying.
    pub with_rules: bool,
}

/// Every distinct reading of `name` that the Pacemakers in `versions` can
/// make of this CIB, with and without its rule-bound sets.
pub fn readings(cib: &CibFacts, origin: &str, name: &str, versions: &[Pacemaker]) -> Vec<Reading> {
    let mut out: Vec<Reading> = Vec::new();
    for &version in versions {
        let rule_cases: &[bool] = if cib.property_sets.iter().any(|s| s.has_rule) { &[true, false] } else { &[false] };
        for &with_rules in rule_cases {
            let mut reading = read(cib, origin, name, version, with_rules);
            if name == "no-quorum-policy" && matches!(reading.value.as_str(), "suicide" | "fence") {
                // `unpack_config()`: fencing nodes needs fencing.
                let fencing = read(cib, origin, "stonith-enabled", version, with_rules);
                if fencing.value == "false" {
                    reading.how =
                        format!("{}, which {} resets to `stop` because fencing is disabled ({})", reading.how, version.name(), fencing.how);
                    reading.value = "stop".into();
                }
            }
            if !out.iter().any(|r| r.value == reading.value && r.version == reading.version) {
                out.push(reading);
            }
        }
    }
    out
}

/// A cluster option as one reading finds it: the name it is set by, the raw
/// value (None when unset), how, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionValue {
    pub name: String,
    pub raw: Option<String>,
    pub how: String,
    pub place: Option<pcmk_model::finding::Place>,
}

/// Every value an option takes in this CIB for the Pacemakers in `versions`,
/// where `names` are its spellings, oldest first: the first name's readings,
/// set or not, and the others' where they are set (the newer names a
/// Pacemaker reads instead, where it knows them).
pub fn values(cib: &CibFacts, origin: &str, names: &[&str], versions: &[Pacemaker]) -> Vec<OptionValue> {
    let mut out: Vec<OptionValue> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        for reading in readings(cib, origin, name, versions) {
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

fn read(cib: &CibFacts, origin: &str, name: &str, version: Pacemaker, with_rules: bool) -> Reading {
    let Some(spec) = spec(name, version) else {
        // Not an option this module knows: the first value as written, else unset.
        let found = ordered_sets(cib, version, with_rules).into_iter().find_map(|s| s.pairs.iter().find(|p| p.0 == name));
        let (value, how, place) = match found {
            Some((_, value, line)) => (value.clone(), format!("{origin} line {line}"), Some(Place::new(origin, *line))),
            None => (String::new(), format!("unset in {origin}"), None),
        };
        return Reading { version, value, how, place, with_rules };
    };
    let legacy_ok = cib.validate_with_before_3_0();
    let sets = ordered_sets(cib, version, with_rules && spec.name != "enable-acl");
    // 2.1's CIB manager lets the last set it reads win for enable-acl.
    let last_wins = spec.name == "enable-acl" && version == Pacemaker::V2_1;
    let lookup = |wanted: &str| -> Option<(String, String, usize)> {
        let renamed = |n: &str| pcmk_containers::cib::RENAMED_OPTIONS.iter().any(|(old, new)| *old == n && *new == wanted);
        let matches = |n: &str| n == wanted || (legacy_ok && renamed(n));
        let mut found = sets.iter().flat_map(|s| s.pairs.iter()).filter(|p| matches(&p.0));
        let pair = if last_wins { found.next_back() } else { found.next() };
        pair.map(|(n, v, l)| (n.clone(), v.clone(), *l))
    };
    let found = match spec.new_name.filter(|_| version == Pacemaker::V3_0_2) {
        Some(new_name) => lookup(new_name).or_else(|| lookup(spec.name)),
        None => lookup(spec.name),
    };
    let rule_note = if with_rules { " (taking the sets with rules as in force)" } else { "" };
    let Some((spelled, raw, line)) = found else {
        return Reading {
            version,
            value: spec.default.into(),
            how: format!("unset in {origin}{rule_note}; {}'s default", version.name()),
            place: None,
            with_rules,
        };
    };
    let canonical = match spec.kind {
        Kind::Boolean => parse_bool(&raw).map(|b| b.to_string()),
        Kind::Choice(values) => values.iter().find(|v| v.eq_ignore_ascii_case(&raw)).map(|v| v.to_string()),
    };
    let at = format!("{origin} line {line} sets {spelled}=`{raw}`{rule_note}");
    let place = Some(Place::new(origin, line));
    match canonical {
        Some(value) => Reading { version, value, how: at, place, with_rules },
        None => Reading {
            version,
            value: spec.default.into(),
            how: format!("{at}, which {} finds invalid and replaces with its default `{}`", version.name(), spec.default),
            place,
            with_rules,
        },
    }
}

/// The sets in the order this Pacemaker reads them, leaving out rule-bound ones unless `with_rules`.
fn ordered_sets(cib: &CibFacts, version: Pacemaker, with_rules: bool) -> Vec<&PropertySet> {
    let bootstrap = |s: &PropertySet| match version {
        Pacemaker::V2_1 => s.id.eq_ignore_ascii_case("cib-bootstrap-options"),
        _ => s.id == "cib-bootstrap-options",
    };
    let mut sets: Vec<(usize, &PropertySet)> = cib.property_sets.iter().filter(|s| with_rules || !s.has_rule).enumerate().collect();
    // Bootstrap first; then score, highest first; equal scores, later in the document first.
    // 2.1's `sort_pairs()` puts every set whose id matches first without
    // looking at their scores, so among those the later in the document wins.
    let score = |s: &PropertySet| if version == Pacemaker::V2_1 && bootstrap(s) { 0 } else { s.score };
    sets.sort_by(|(ia, a), (ib, b)| bootstrap(b).cmp(&bootstrap(a)).then(score(b).cmp(&score(a))).then(ib.cmp(ia)));
    sets.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cib(sets: &str) -> CibFacts {
        let text = format!(
            "<cib validate-with=\"pacemaker-3.9\"><configuration><crm_config>\n{sets}\n</crm_config><resources/></configuration></cib>"
        );
        CibFacts::parse(&text, "cib.xml").unwrap()
    }

    fn values(cib: &CibFacts, name: &str, versions: &[Pacemaker]) -> Vec<String> {
        readings(cib, "cib.xml", name, versions).into_iter().map(|r| r.value).collect()
    }

    const ALL: [Pacemaker; 3] = [Pacemaker::V2_1, Pacemaker::V3_0, Pacemaker::V3_0_2];

    #[test]
    fn every_boolean_spelling_is_read_as_pacemaker_reads_it() {
        for (raw, expected) in [
            ("0", "false"),
            ("no", "false"),
            ("N", "false"),
            ("Off", "false"),
            ("FALSE", "false"),
            ("y", "true"),
            ("on", "true"),
            ("maybe", "true"),
            (" false", "true"),
        ] {
            let c = cib(&format!("<cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"a\" name=\"stonith-enabled\" value=\"{raw}\"/></cluster_property_set>"));
            assert_eq!(values(&c, "stonith-enabled", &[Pacemaker::V2_1]), vec![expected], "{raw}");
        }
    }

    #[test]
    fn fencing_enabled_is_known_from_3_0_2_and_wins_there() {
        let c = cib("<cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"a\" name=\"stonith-enabled\" value=\"false\"/><nvpair id=\"b\" name=\"fencing-enabled\" value=\"true\"/></cluster_property_set>");
        assert_eq!(values(&c, "stonith-enabled", &ALL), vec!["false", "false", "true"]);
        let c = cib("<cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"b\" name=\"fencing-enabled\" value=\"0\"/></cluster_property_set>");
        assert_eq!(values(&c, "stonith-enabled", &ALL), vec!["true", "true", "false"]);
    }

    #[test]
    fn bootstrap_set_first_then_score_and_later_ties_first() {
        let c = cib("<cluster_property_set id=\"low\" score=\"10\"><nvpair id=\"a\" name=\"no-quorum-policy\" value=\"ignore\"/></cluster_property_set>\
                     <cluster_property_set id=\"high\" score=\"INFINITY\"><nvpair id=\"b\" name=\"no-quorum-policy\" value=\"freeze\"/></cluster_property_set>");
        assert_eq!(values(&c, "no-quorum-policy", &[Pacemaker::V2_1]), vec!["freeze"]);
        let c = cib(
            "<cluster_property_set id=\"one\"><nvpair id=\"a\" name=\"no-quorum-policy\" value=\"freeze\"/></cluster_property_set>\
                     <cluster_property_set id=\"two\"><nvpair id=\"b\" name=\"no-quorum-policy\" value=\"IGNORE\"/></cluster_property_set>",
        );
        assert_eq!(values(&c, "no-quorum-policy", &[Pacemaker::V2_1]), vec!["ignore"]);
        let c = cib("<cluster_property_set id=\"other\" score=\"INFINITY\"><nvpair id=\"a\" name=\"stonith-enabled\" value=\"false\"/></cluster_property_set>\
                     <cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"b\" name=\"stonith-enabled\" value=\"true\"/></cluster_property_set>");
        assert_eq!(values(&c, "stonith-enabled", &[Pacemaker::V2_1]), vec!["true"]);
    }

    #[test]
    fn enable_acl_on_2_1_takes_the_last_set_read() {
        let c = cib("<cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"a\" name=\"enable-acl\" value=\"true\"/></cluster_property_set>\
                     <cluster_property_set id=\"extra\" score=\"-10\"><nvpair id=\"b\" name=\"enable-acl\" value=\"false\"/></cluster_property_set>");
        assert_eq!(values(&c, "enable-acl", &[Pacemaker::V2_1, Pacemaker::V3_0]), vec!["false", "true"]);
    }

    #[test]
    fn underscore_names_count_only_where_the_schema_upgrade_renames_them() {
        let old = CibFacts::parse("<cib validate-with=\"pacemaker-1.2\"><configuration><crm_config><cluster_property_set id=\"c\"><nvpair id=\"a\" name=\"stonith_enabled\" value=\"off\"/><nvpair id=\"b\" name=\"maintenance_mode\" value=\"on\"/></cluster_property_set></crm_config></configuration></cib>", "cib.xml").unwrap();
        assert_eq!(values(&old, "stonith-enabled", &[Pacemaker::V2_1]), vec!["false"]);
        // maintenance-mode never had an underscore name: the upgrade leaves `maintenance_mode` alone.
        assert_eq!(values(&old, "maintenance-mode", &[Pacemaker::V2_1]), vec!["false"]);
        let set = "<cluster_property_set id=\"c\"><nvpair id=\"a\" name=\"stonith_enabled\" value=\"off\"/></cluster_property_set>";
        let refused = CibFacts::parse(
            &format!("<cib validate-with=\"pacemaker-3.9\"><configuration><crm_config>{set}</crm_config></configuration></cib>"),
            "cib.xml",
        );
        assert!(format!("{:#}", refused.unwrap_err()).contains("`stonith_enabled` is not valid under pacemaker-3.9"));
        let ignored = CibFacts::parse(
            &format!("<cib validate-with=\"pacemaker-4.0\"><configuration><crm_config>{set}</crm_config></configuration></cib>"),
            "cib.xml",
        )
        .unwrap();
        assert_eq!(values(&ignored, "stonith-enabled", &[Pacemaker::V3_0]), vec!["true"]);
    }

    #[test]
    fn pacemaker_2_1_takes_bootstrap_named_sets_first_whatever_their_scores() {
        // 2.1's sort_pairs() matches the id case-insensitively and never compares those sets' scores.
        let c = cib("<cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"a\" name=\"maintenance-mode\" value=\"off\"/></cluster_property_set>\
                     <cluster_property_set id=\"CIB-Bootstrap-Options\" score=\"-INFINITY\"><nvpair id=\"b\" name=\"maintenance-mode\" value=\"yes\"/></cluster_property_set>");
        assert_eq!(values(&c, "maintenance-mode", &[Pacemaker::V2_1, Pacemaker::V3_0]), vec!["true", "false"]);
    }

    #[test]
    fn a_set_by_reference_is_read_where_the_reference_stands() {
        let c = cib("<cluster_property_set id=\"base\" score=\"10\"><nvpair id=\"a\" name=\"no-quorum-policy\" value=\"freeze\"/></cluster_property_set>\
                     <cluster_property_set id=\"other\" score=\"10\"><nvpair id=\"b\" name=\"no-quorum-policy\" value=\"ignore\"/></cluster_property_set>\
                     <cluster_property_set id-ref=\"base\"/>");
        assert_eq!(values(&c, "no-quorum-policy", &[Pacemaker::V2_1]), vec!["freeze"]);
    }

    #[test]
    fn fencing_nodes_on_quorum_loss_needs_fencing() {
        let c = cib("<cluster_property_set id=\"cib-bootstrap-options\"><nvpair id=\"a\" name=\"no-quorum-policy\" value=\"suicide\"/><nvpair id=\"b\" name=\"stonith-enabled\" value=\"false\"/></cluster_property_set>");
        let read = readings(&c, "cib.xml", "no-quorum-policy", &[Pacemaker::V2_1]);
        assert_eq!(read[0].value, "stop");
        assert!(read[0].how.contains("because fencing is disabled"), "{}", read[0].how);
    }

    #[test]
    fn a_rule_bound_set_is_judged_both_ways() {
        let c = cib("<cluster_property_set id=\"night\" score=\"100\"><rule id=\"r\"><date_expression id=\"d\" operation=\"gt\" start=\"2030-01-01\"/></rule><nvpair id=\"a\" name=\"stonith-enabled\" value=\"false\"/></cluster_property_set>");
        assert_eq!(values(&c, "stonith-enabled", &[Pacemaker::V2_1]), vec!["false", "true"]);
    }

    #[test]
    fn versions_are_told_from_package_versions() {
        assert_eq!(Pacemaker::of_version("2.1.5-1+deb12u1"), Pacemaker::V2_1);
        assert_eq!(Pacemaker::of_version("3.0.0-3"), Pacemaker::V3_0);
        assert_eq!(Pacemaker::of_version("3.0.2-1"), Pacemaker::V3_0_2);
    }
}
