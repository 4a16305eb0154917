//! CIB cases: every real-tool CIB, then generated `crm_config` sections that
//! vary what decides a cluster option's value.

use super::rng::Rng;

pub struct CibCase {
    pub name: String,
    pub xml: String,
    /// Whether a set's rule can hold at one time and not another: the
    /// scheduler is then asked at two times.
    pub timed: bool,
    /// Schemas this Pacemaker line does not know (pacemaker-4.0 on 2.1).
    pub needs_3_0: bool,
}

/// The options compared, by the names lint is asked about.
pub const OPTIONS: &[&str] = &["stonith-enabled", "no-quorum-policy", "maintenance-mode", "symmetric-cluster"];

const BOOLEANS: &[&str] =
    &["true", "false", "on", "off", "yes", "no", "y", "n", "1", "0", "TRUE", "Off", "YES", "maybe", " true", "false ", ""];
const NO_QUORUM: &[&str] = &["stop", "freeze", "ignore", "demote", "suicide", "fence", "Freeze", "IGNORE", "bogus", ""];
const SCHEMAS: &[&str] = &[
    "pacemaker-3.9",
    "pacemaker-3.7",
    "pacemaker-3.0",
    "pacemaker-2.10",
    "pacemaker-2.0",
    "pacemaker-1.2",
    "pacemaker-1.0",
    "pacemaker-4.0",
];
const DC_VERSIONS: &[Option<&str>] =
    &[None, Some("2.1.5-a3f44794f94"), Some("1.1.24-1.el7-8f22be2ae"), Some("2.0.5-ba59be7122"), Some("3.0.0-d8340737c4"), Some("3.0.2-1")];
const IDS: &[&str] = &["cib-bootstrap-options", "CIB-Bootstrap-Options", "extra-options", "site-a", "zz-last"];
const SCORES: &[Option<&str>] =
    &[None, None, Some("0"), Some("10"), Some("100"), Some("INFINITY"), Some("-INFINITY"), Some("-10"), Some("+INFINITY")];

fn nvpair(set: &str, n: usize, name: &str, value: &str) -> String {
    format!("        <nvpair id=\"{set}-nv{n}\" name=\"{name}\" value=\"{value}\"/>\n")
}

/// One option as a set might spell it: a name (new, old, legacy underscore) and a value.
fn option(rng: &mut Rng) -> (String, String) {
    let which = OPTIONS[rng.below(OPTIONS.len())];
    let name = match (which, rng.below(6)) {
        ("stonith-enabled", 0) => "fencing-enabled".to_string(),
        (_, 1) => which.replace('-', "_"),
        _ => which.to_string(),
    };
    let value = if which == "no-quorum-policy" { NO_QUORUM[rng.below(NO_QUORUM.len())] } else { BOOLEANS[rng.below(BOOLEANS.len())] };
    (name, value.to_string())
}

fn rule(rng: &mut Rng, set: &str) -> (String, bool) {
    match rng.below(3) {
        // Holds after 2030 only: the scheduler is asked in 2026 and in 2031.
        0 => (format!("        <rule id=\"{set}-rule\" score=\"INFINITY\"><date_expression id=\"{set}-date\" operation=\"gt\" start=\"2030-01-01\"/></rule>\n"), true),
        // Always holds.
        1 => (format!("        <rule id=\"{set}-rule\" score=\"INFINITY\"><date_expression id=\"{set}-date\" operation=\"lt\" end=\"2099-01-01\"/></rule>\n"), false),
        // Never holds.
        _ => (format!("        <rule id=\"{set}-rule\" score=\"INFINITY\"><date_expression id=\"{set}-date\" operation=\"lt\" end=\"2001-01-01\"/></rule>\n"), false),
    }
}

pub fn skeleton(schema: &str, dc_version: Option<&str>, crm_config: &str, defaults: &str) -> String {
    let dc = dc_version
        .map(|v| format!("        <nvpair id=\"cib-bootstrap-options-dc-version\" name=\"dc-version\" value=\"{v}\"/>\n"))
        .unwrap_or_default();
    let dc_set = if dc.is_empty() {
        String::new()
    } else {
        format!("      <cluster_property_set id=\"stamp\" score=\"-1000\">\n{dc}      </cluster_property_set>\n")
    };
    format!(
        "<cib crm_feature_set=\"3.16.2\" validate-with=\"{schema}\" epoch=\"5\" num_updates=\"0\" admin_epoch=\"0\" have-quorum=\"1\">\n  <configuration>\n    <crm_config>\n{crm_config}{dc_set}    </crm_config>\n    <nodes>\n      <node id=\"1\" uname=\"node1\" type=\"member\"/>\n      <node id=\"2\" uname=\"node2\" type=\"member\"/>\n    </nodes>\n    <resources/>\n    <constraints/>\n{defaults}  </configuration>\n  <status/>\n</cib>\n"
    )
}

fn pick_old(rng: &mut Rng) -> &'static str {
    ["pacemaker-0.6", "transitional-0.6", "pacemaker-0.7"][rng.below(3)]
}

/// `count` generated cases, the same for the same seed.
pub fn generated(count: usize, seed: u64) -> Vec<CibCase> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::with_capacity(count);
    for n in 0..count {
        // 0.6-era markup: the pairs inside `<attributes>`.
        let old_markup = rng.below(20) == 0;
        let schema = if old_markup { pick_old(&mut rng) } else { SCHEMAS[rng.below(SCHEMAS.len())] };
        let sets = 1 + rng.below(3);
        let mut crm_config = String::new();
        let mut timed = false;
        let mut used_ids = Vec::new();
        for s in 0..sets {
            let mut id = IDS[rng.below(IDS.len())].to_string();
            if used_ids.contains(&id) {
                id = format!("{id}-{s}");
            }
            used_ids.push(id.clone());
            let score = SCORES[rng.below(SCORES.len())].map(|s| format!(" score=\"{s}\"")).unwrap_or_default();
            crm_config.push_str(&format!("      <cluster_property_set id=\"{id}\"{score}>\n"));
            if s > 0 && rng.below(5) == 0 {
                let (text, holds_sometimes) = rule(&mut rng, &id);
                crm_config.push_str(&text);
                timed |= holds_sometimes;
            }
            if old_markup {
                crm_config.push_str(&format!("        <attributes id=\"{id}-attributes\">\n"));
            }
            for p in 0..1 + rng.below(4) {
                let (name, value) = option(&mut rng);
                crm_config.push_str(&nvpair(&id, p, &name, &value));
            }
            if old_markup {
                crm_config.push_str("        </attributes>\n");
            }
            crm_config.push_str("      </cluster_property_set>\n");
        }
        // A set may stand for another by id-ref: a set of crm_config (read
        // again where the reference is), or an element of another kind.
        let mut defaults = String::new();
        if rng.below(8) == 0 {
            let target = &used_ids[rng.below(used_ids.len())];
            crm_config.push_str(&format!("      <cluster_property_set id-ref=\"{target}\"/>\n"));
        } else if rng.below(10) == 0 && !schema.starts_with("pacemaker-1") && !schema.starts_with("pacemaker-2") && !old_markup {
            // Not before 3.0: Pacemaker 3.0.0's upgrade transform fails an
            // assertion on a reference to another kind of element.
            let (name, value) = option(&mut rng);
            defaults = format!(
                "    <rsc_defaults>\n      <meta_attributes id=\"shared\">\n{}      </meta_attributes>\n    </rsc_defaults>\n",
                nvpair("shared", 0, &name, &value)
            );
            crm_config.push_str("      <cluster_property_set id-ref=\"shared\"/>\n");
        }
        let dc = DC_VERSIONS[rng.below(DC_VERSIONS.len())];
        cases.push(CibCase {
            name: format!("generated-{n:04}"),
            xml: skeleton(schema, dc, &crm_config, &defaults),
            timed,
            needs_3_0: schema == "pacemaker-4.0",
        });
    }
    cases
}

/// The real-tool CIBs, as they are.
pub fn real(root: &std::path::Path) -> Vec<CibCase> {
    let mut cases = Vec::new();
    for path in [
        "tests/fixtures/real/crmsh-made/cib.xml",
        "tests/fixtures/real/crmsh-legacy/cib.xml",
        "tests/fixtures/real/pcs-cib/cib.xml",
        "tests/fixtures/real/pcs012-trixie/cib.xml",
        "candidates/hardened/cib.xml",
        "candidates/insecure/cib.xml",
        "candidates/upgrade-trap/cib.xml",
    ] {
        let Ok(xml) = std::fs::read_to_string(root.join(path)) else { continue };
        let needs_3_0 = xml.contains("validate-with=\"pacemaker-4.");
        cases.push(CibCase { name: path.to_string(), xml, timed: false, needs_3_0 });
    }
    cases
}
