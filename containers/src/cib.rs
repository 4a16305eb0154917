//! Seeding the CIB a throwaway cluster starts from: the candidate's own
//! cib.xml (or an empty one) plus cluster options the harness needs to start
//! fast, each reported, and only where the candidate leaves the option unset.

use std::path::Path;

use crate::error::InputError;

/// A cluster option the harness set because the candidate did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarnessSetting {
    pub name: String,
    pub value: String,
    pub why: String,
}

/// Options the harness seeds; a candidate's own value always wins.
pub fn harness_defaults() -> Vec<HarnessSetting> {
    vec![HarnessSetting {
        name: "dc-deadtime".into(),
        value: "2s".into(),
        why: "default 20s would dominate start-up; only affects the first DC election".into(),
    }]
}

const EMPTY_CIB: &str = r#"<cib crm_feature_set="3.0.0" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
"#;

pub fn parse<'a>(text: &'a str, file: &Path) -> Result<roxmltree::Document<'a>, InputError> {
    let doc = pcmk_model::text::parse_xml(text).map_err(|e| {
        let pos = e.pos();
        InputError::new(file, Some(pos.row as usize), format!("not a valid CIB: {e}"))
    })?;
    if !doc.root_element().has_tag_name("cib") {
        return Err(InputError::new(
            file,
            Some(doc.text_pos_at(doc.root_element().range().start).row as usize),
            "root element is not <cib>",
        ));
    }
    if !doc.root_element().children().any(|n| n.has_tag_name("configuration")) {
        return Err(InputError::new(file, None, "the CIB has no <configuration> section"));
    }
    if let Some((line, message)) = refusal(&doc) {
        return Err(InputError::new(file, Some(line), format!("Pacemaker would refuse this CIB: {message}")));
    }
    Ok(doc)
}

/// Cluster option names that the schema upgrade to pacemaker-3.0 renames
/// (xml/upgrade-2.10.xsl, `cibtr:table for="cluster-properties"`), and that
/// every pacemaker-3.x and later schema refuses (xml/options-3.0.rng).
pub const RENAMED_OPTIONS: &[(&str, &str)] = &[
    ("cluster_recheck_interval", "cluster-recheck-interval"),
    ("dc_deadtime", "dc-deadtime"),
    ("default_action_timeout", "default-action-timeout"),
    ("default_migration_threshold", "default-migration-threshold"),
    ("default_resource_failure_stickiness", "default-resource-failure-stickiness"),
    ("default_resource_stickiness", "default-resource-stickiness"),
    ("election_timeout", "election-timeout"),
    ("is_managed_default", "is-managed-default"),
    ("no_quorum_policy", "no-quorum-policy"),
    ("remove_after_stop", "remove-after-stop"),
    ("shutdown_escalation", "shutdown-escalation"),
    ("startup_fencing", "startup-fencing"),
    ("stonith_action", "stonith-action"),
    ("stonith_enabled", "stonith-enabled"),
    ("stop_orphan_actions", "stop-orphan-actions"),
    ("stop_orphan_resources", "stop-orphan-resources"),
    ("symmetric_cluster", "symmetric-cluster"),
    ("transition_idle_timeout", "transition-timeout"),
];

/// Whether `validate-with` names a pacemaker-3.x schema: those refuse the
/// pre-3.0 option names (options-3.0.rng); pacemaker-4.0 accepts and ignores them.
fn schema_3_x(doc: &roxmltree::Document) -> bool {
    let schema = doc.root_element().attribute("validate-with").unwrap_or_default();
    schema.strip_prefix("pacemaker-").and_then(|v| v.split('.').next()).and_then(|m| m.parse::<u32>().ok()) == Some(3)
}

/// What Pacemaker's schema validation refuses in the option sets, first
/// found, as the oracle suite (tests/oracle) confirms with 2.1.5 and 3.0.0:
/// an id used twice (Relax-NG `ID`), 0.6-era `<attributes>` inside a set,
/// and, under a pacemaker-3.x schema, an option spelled with its pre-3.0
/// underscore name.
fn refusal(doc: &roxmltree::Document) -> Option<(usize, String)> {
    let line = |n: roxmltree::Node| doc.text_pos_at(n.range().start).row as usize;
    let option_sections = doc.descendants().filter(|n| ["crm_config", "rsc_defaults", "op_defaults"].iter().any(|t| n.has_tag_name(*t)));
    let mut seen: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for node in option_sections.flat_map(|s| s.descendants()).filter(|n| n.is_element()) {
        if let Some(id) = node.attribute("id") {
            if let Some(first) = seen.insert(id, line(node)) {
                return Some((line(node), format!("id `{id}` is used twice (lines {first} and {}); ids must be unique", line(node))));
            }
        }
    }
    let sets = doc.descendants().filter(|n| n.has_tag_name("cluster_property_set"));
    if let Some(old) = sets.flat_map(|s| s.children()).find(|n| n.has_tag_name("attributes")) {
        return Some((
            line(old),
            "`<attributes>` inside a property set is 0.6-era markup that Pacemaker 2 and 3 no longer read: the nvpairs belong directly in the set".into(),
        ));
    }
    if schema_3_x(doc) {
        let sets = doc.descendants().filter(|n| n.has_tag_name("cluster_property_set"));
        for pair in sets.flat_map(|s| s.children()).filter(|n| n.has_tag_name("nvpair")) {
            let name = pair.attribute("name").unwrap_or_default();
            if let Some((_, new)) = RENAMED_OPTIONS.iter().find(|(old, _)| *old == name) {
                let schema = doc.root_element().attribute("validate-with").unwrap_or_default();
                return Some((line(pair), format!("cluster option `{name}` is not valid under {schema}: its name is `{new}`")));
            }
        }
    }
    None
}

/// Where to give a fence device's stand-in agent the device's own id
/// (`comply_device`), so that the harness can tell the devices of a fencing
/// topology apart: in its first instance_attributes without a rule, else in a
/// set of its own.
fn device_id_param(text: &str, primitive: roxmltree::Node) -> Option<(std::ops::Range<usize>, String)> {
    let id = primitive.attribute("id")?;
    let nvpair = format!("<nvpair id=\"{id}-pcmk-comply-device\" name=\"comply_device\" value=\"{id}\"/>");
    let sets = primitive.children().filter(|n| n.has_tag_name("instance_attributes"));
    let (element, content) = match sets.clone().find(|set| !set.children().any(|n| n.has_tag_name("rule"))) {
        Some(set) => (set, nvpair),
        None => (primitive, format!("<instance_attributes id=\"{id}-pcmk-comply\">{nvpair}</instance_attributes>")),
    };
    let range = element.range();
    let raw = &text[range.clone()];
    if raw.ends_with("/>") {
        // `<x .../>`: its end made `>…</x>`, leaving its attributes (the agent's type among them) where they are.
        return Some((range.end - 2..range.end, format!(">{content}</{}>", element.tag_name().name())));
    }
    // Before the closing tag.
    let at = range.start + raw.rfind("</")?;
    Some((at..at, content))
}

/// The CIB to place on every node before first start, and the settings the harness added.
/// `placed` are the node paths the candidate places (its own agents run as they are).
pub fn seed(candidate_cib: Option<(&str, &Path)>, placed: &[String]) -> Result<(String, Vec<HarnessSetting>), InputError> {
    let (text, file) = candidate_cib.unwrap_or((EMPTY_CIB, Path::new("<harness empty CIB>")));
    let doc = parse(text, file)?;
    // Real fence devices cannot reach power switches from a container: every
    // stonith primitive uses the harness's agent, which powers off containers.
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut fence_settings = Vec::new();
    for primitive in doc.descendants().filter(|n| n.has_tag_name("primitive") && n.attribute("class") == Some("stonith")) {
        let Some(kind) = primitive.attributes().find(|a| a.name() == "type") else { continue };
        if kind.value() != crate::fence::AGENT_TYPE {
            fence_settings.push(HarnessSetting {
                name: format!("fence agent of {}", primitive.attribute("id").unwrap_or("?")),
                value: crate::fence::AGENT_TYPE.into(),
                why: format!(
                    "{} cannot reach real power switches from a container; {} powers off the target's container",
                    kind.value(),
                    crate::fence::AGENT_TYPE
                ),
            });
            replacements.push((kind.range_value(), crate::fence::AGENT_TYPE.to_string()));
        }
        replacements.extend(device_id_param(text, primitive));
    }
    let (stand_ins, stood_in) = crate::stand_in::stand_ins(&doc, placed);
    replacements.extend(stand_ins);
    fence_settings.extend(stood_in.into_iter().map(|s| HarnessSetting {
        name: format!("agent of {}", s.id),
        value: s.stand_in,
        why: format!("the node image cannot run {}; a stand-in with the same id, operations and meta attributes keeps constraints, groups and failover provable", s.agent),
    }));
    let configured: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("nvpair"))
        .filter(|n| n.ancestors().any(|a| a.has_tag_name("crm_config")))
        .filter_map(|n| n.attribute("name"))
        .collect();
    let added: Vec<HarnessSetting> = harness_defaults().into_iter().filter(|s| !configured.contains(&s.name.as_str())).collect();
    // From the end, so earlier ranges stay valid.
    let mut fenced = text.to_string();
    replacements.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    for (range, value) in replacements {
        fenced.replace_range(range, &value);
    }
    let doc = parse(&fenced, file)?;
    let (seeded, mut settings) = add_options(&fenced, &doc, added);
    settings.extend(fence_settings);
    Ok((seeded, settings))
}

/// Adds the harness's cluster options in a property set of their own.
fn add_options(text: &str, doc: &roxmltree::Document, added: Vec<HarnessSetting>) -> (String, Vec<HarnessSetting>) {
    if added.is_empty() {
        return (text.to_string(), added);
    }
    let pairs: String =
        added.iter().map(|s| format!(r#"<nvpair id="pcmk-comply-harness-{0}" name="{0}" value="{1}"/>"#, s.name, s.value)).collect();
    let set = format!(r#"<cluster_property_set id="pcmk-comply-harness">{pairs}</cluster_property_set>"#);
    let configuration = doc.root_element().children().find(|n| n.has_tag_name("configuration")).expect("checked in parse");
    let seeded = match configuration.children().find(|n| n.has_tag_name("crm_config")) {
        Some(crm_config) => {
            let range = crm_config.range();
            let element = &text[range.clone()];
            if element.trim_end().ends_with("/>") && !element.contains("</crm_config") {
                format!("{}<crm_config>{set}</crm_config>{}", &text[..range.start], &text[range.end..])
            } else {
                let close = range.start + element.rfind("</crm_config").expect("non-empty element has a closing tag");
                format!("{}{set}{}", &text[..close], &text[close..])
            }
        }
        None => {
            let range = configuration.range();
            let element = &text[range.clone()];
            let open_end = range.start + element.find('>').expect("element has a start tag") + 1;
            format!("{}<crm_config>{set}</crm_config>{}", &text[..open_end], &text[open_end..])
        }
    };
    (seeded, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dc_deadtime(cib: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(cib).unwrap();
        doc.descendants()
            .filter(|n| n.attribute("name") == Some("dc-deadtime"))
            .map(|n| n.attribute("value").unwrap().to_string())
            .collect()
    }

    #[test]
    fn empty_cib_is_seeded() {
        let (cib, added) = seed(None, &[]).unwrap();
        assert_eq!(dc_deadtime(&cib), vec!["2s"]);
        assert_eq!(added.len(), 1);
    }

    #[test]
    fn candidate_value_wins() {
        let text = r#"<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="d" name="dc-deadtime" value="7s"/></cluster_property_set></crm_config></configuration></cib>"#;
        let (cib, added) = seed(Some((text, Path::new("cib.xml"))), &[]).unwrap();
        assert_eq!(cib, text);
        assert!(added.is_empty());
    }

    #[test]
    fn seeding_keeps_candidate_options() {
        for text in [
            r#"<cib><configuration><crm_config><cluster_property_set id="o"><nvpair id="s" name="stonith-enabled" value="true"/></cluster_property_set></crm_config></configuration></cib>"#,
            r#"<cib><configuration><crm_config/></configuration></cib>"#,
            r#"<cib><configuration><resources/></configuration></cib>"#,
        ] {
            let (cib, added) = seed(Some((text, Path::new("cib.xml"))), &[]).unwrap();
            assert_eq!(dc_deadtime(&cib), vec!["2s"], "{cib}");
            assert_eq!(added[0].name, "dc-deadtime");
            assert_eq!(text.contains("stonith-enabled"), cib.contains(r#"name="stonith-enabled" value="true""#));
        }
    }

    /// Each device's stand-in learns the device's id, in a set without a rule,
    /// a set of its own, or a self-closing element opened for it.
    #[test]
    fn every_fence_device_names_itself_to_the_harness_agent() {
        let text = r#"<cib><configuration><crm_config/><resources><primitive id="a" class="stonith" type="fence_ipmilan"><instance_attributes id="ia"><rule id="r" score="0"/><nvpair id="p" name="ip" value="1"/></instance_attributes><instance_attributes id="ib"><nvpair id="q" name="ip" value="2"/></instance_attributes></primitive><primitive id="b" class="stonith" type="fence_apc"><operations/></primitive><primitive id="c" class="stonith" type="fence_kdump"/></resources></configuration></cib>"#;
        let (cib, _) = seed(Some((text, Path::new("cib.xml"))), &[]).unwrap();
        let doc = roxmltree::Document::parse(&cib).unwrap();
        let device = |id: &str| {
            let primitive = doc.descendants().find(|n| n.attribute("id") == Some(id)).unwrap();
            assert_eq!(primitive.attribute("type"), Some("fence_pcmk_comply"), "{cib}");
            let pair = primitive.descendants().find(|n| n.attribute("name") == Some("comply_device")).expect("named");
            (pair.parent().unwrap().attribute("id").unwrap().to_string(), pair.attribute("value").unwrap().to_string())
        };
        assert_eq!(device("a"), ("ib".to_string(), "a".to_string()));
        assert_eq!(device("b"), ("b-pcmk-comply".to_string(), "b".to_string()));
        assert_eq!(device("c"), ("c-pcmk-comply".to_string(), "c".to_string()));
    }

    #[test]
    fn every_fence_device_uses_the_harness_agent() {
        let text = r#"<cib><configuration><crm_config/><resources><primitive id="ipmi" class="stonith" type="fence_ipmilan"><instance_attributes id="i"><nvpair id="p" name="ip" value="10.0.0.9"/></instance_attributes></primitive><primitive id="web" class="ocf" provider="heartbeat" type="apache"/></resources></configuration></cib>"#;
        let (cib, settings) = seed(Some((text, Path::new("cib.xml"))), &[]).unwrap();
        assert!(cib.contains(r#"id="ipmi" class="stonith" type="fence_pcmk_comply""#), "{cib}");
        assert!(cib.contains(r#"id="web" class="ocf" provider="pacemaker" type="Dummy""#) && cib.contains(r#"value="10.0.0.9""#), "{cib}");
        assert!(settings.iter().any(|s| s.name == "agent of web" && s.why.contains("ocf:heartbeat:apache")));
        assert!(settings.iter().any(|s| s.name == "fence agent of ipmi" && s.why.starts_with("fence_ipmilan")));
        assert_eq!(dc_deadtime(&cib), vec!["2s"]);
    }

    #[test]
    fn malformed_cib_names_the_line() {
        let e = seed(Some(("<cib>\n<configuration>\n</cib>", Path::new("cib.xml"))), &[]).unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        let e = seed(Some(("<!DOCTYPE cib [<!ENTITY a \"aaaa\">]><cib/>", Path::new("cib.xml"))), &[]).unwrap_err();
        assert!(e.message.contains("not a valid CIB"), "{e}");
        let e = seed(Some(("<notcib/>", Path::new("cib.xml"))), &[]).unwrap_err();
        assert!(e.message.contains("not <cib>"), "{e}");
    }
}
