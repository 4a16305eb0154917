//! The CIB as the policy reads it: cluster property sets with their scores
//! and rules, primitives with their agents, and every instance attribute
//! with its line.

use std::collections::BTreeMap;

/// A CIB parsed into what the policy asks of it.
#[derive(Debug, Clone, Default)]
pub struct CibFacts {
    /// `cluster_property_set`s of crm_config, in document order; which wins
    /// is Pacemaker's to say (see `cluster_options`).
    pub property_sets: Vec<PropertySet>,
    /// The `validate-with` schema the CIB names.
    pub validate_with: Option<String>,
    pub primitives: Vec<Primitive>,
    /// Every instance attribute of a resource, template or resource default,
    /// at whatever level it is set.
    pub instance_attributes: Vec<InstanceAttribute>,
    /// The cluster nodes `<nodes>` names (remote nodes left out), with their lines.
    pub nodes: Vec<(String, usize)>,
    /// `fencing-topology` levels.
    pub fencing_levels: Vec<FencingLevel>,
}

/// One `fencing-level`: the devices that fence a target, tried in index order.
#[derive(Debug, Clone)]
pub struct FencingLevel {
    /// `target` (a node name); None when the level targets a pattern or an attribute.
    pub target: Option<String>,
    /// `target-pattern` or `target-attribute`, as written.
    pub other_target: Option<String>,
    pub devices: Vec<String>,
    /// `index`: lower levels are tried first (0 when unreadable).
    pub index: u32,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct PropertySet {
    pub id: String,
    pub score: i64,
    /// Holds a `<rule>`: in force only when the rule holds.
    pub has_rule: bool,
    /// (name, value, line)
    pub pairs: Vec<(String, String, usize)>,
}

/// One `nvpair` of an `instance_attributes` block, with what it belongs to.
#[derive(Debug, Clone)]
pub struct InstanceAttribute {
    /// The element holding the block: `primitive`, `group`, `clone`,
    /// `master`, `bundle`, `template` or `rsc_defaults`.
    pub owner_kind: String,
    pub owner_id: String,
    /// `class:provider:type` of a primitive or template (through `template=`).
    pub agent: Option<String>,
    pub name: String,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Primitive {
    pub id: String,
    pub class: String,
    pub provider: Option<String>,
    pub kind: String,
    /// The primitive's own instance_attributes, name → (value, line).
    pub params: Vec<(String, String, usize)>,
    pub line: usize,
    /// The group it belongs to, if any.
    pub group: Option<String>,
    /// The clone, promotable (master) or bundle around it, if any: it runs
    /// on several nodes and does not move as one.
    pub replicated_by: Option<String>,
    /// `target-role=Stopped` on it or a parent, or `is-managed=false`: the
    /// cluster does not run or move it.
    pub held: bool,
    /// `target-role=Stopped` on it or a parent: disabled.
    pub disabled: bool,
}

impl Primitive {
    /// Where the agent lives on a node.
    pub fn agent_path(&self) -> Option<String> {
        match self.class.as_str() {
            "ocf" => Some(format!("/usr/lib/ocf/resource.d/{}/{}", self.provider.as_deref()?, self.kind)),
            "stonith" => Some(format!("/usr/sbin/{}", self.kind)),
            "lsb" => Some(format!("/etc/init.d/{}", self.kind)),
            _ => None,
        }
    }

    pub fn agent(&self) -> String {
        match &self.provider {
            Some(p) => format!("{}:{}:{}", self.class, p, self.kind),
            None => format!("{}:{}", self.class, self.kind),
        }
    }
}

const ATTRIBUTE_OWNERS: &[&str] = &["primitive", "group", "clone", "master", "bundle", "template", "rsc_defaults"];

/// The element an `id-ref` stands for, wherever it is in the document
/// (Pacemaker's `expand_idref()`, which looks for an element of the same
/// name); the element itself when it is no reference.
fn resolve_id_ref<'a, 'input>(
    doc: &'a roxmltree::Document<'input>,
    node: roxmltree::Node<'a, 'input>,
) -> Option<roxmltree::Node<'a, 'input>> {
    match node.attribute("id-ref") {
        // Only an element of the same kind: `//cluster_property_set[@id='x']`.
        Some(reference) if node.attribute("id").is_none() => {
            doc.descendants().find(|n| n.tag_name() == node.tag_name() && n.attribute("id") == Some(reference))
        }
        _ => Some(node),
    }
}

impl CibFacts {
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<CibFacts> {
        let doc = pcmk_containers::cib::parse(text, std::path::Path::new(origin))?;
        let line = |n: roxmltree::Node| doc.text_pos_at(n.range().start).row as usize;
        let mut facts =
            CibFacts { validate_with: doc.root_element().attribute("validate-with").map(str::to_string), ..CibFacts::default() };
        let crm_config = doc.descendants().filter(|n| n.has_tag_name("crm_config"));
        let resolve = |node| resolve_id_ref(&doc, node);
        for set in crm_config.flat_map(|c| c.children().filter(|n| n.has_tag_name("cluster_property_set"))).filter_map(resolve) {
            facts.property_sets.push(PropertySet {
                id: set.attribute("id").unwrap_or_default().to_string(),
                score: pcmk_model::text::parse_score(set.attribute("score")),
                has_rule: set.children().any(|c| c.has_tag_name("rule")),
                pairs: set
                    .children()
                    .filter(|n| n.has_tag_name("nvpair"))
                    .filter_map(resolve)
                    .filter_map(|nv| {
                        Some((nv.attribute("name")?.to_string(), nv.attribute("value").unwrap_or_default().to_string(), line(nv)))
                    })
                    .collect(),
            });
        }
        let templates: BTreeMap<&str, roxmltree::Node> =
            doc.descendants().filter(|n| n.has_tag_name("template")).filter_map(|t| Some((t.attribute("id")?, t))).collect();
        // A primitive made from a template takes its agent from it.
        let agent_of = |node: roxmltree::Node| -> (String, Option<String>, String) {
            let source = node.attribute("template").and_then(|t| templates.get(t).copied()).unwrap_or(node);
            let pick = |name: &str| node.attribute(name).or_else(|| source.attribute(name));
            (
                pick("class").unwrap_or_default().to_string(),
                pick("provider").map(str::to_string),
                pick("type").unwrap_or_default().to_string(),
            )
        };
        for primitive in doc.descendants().filter(|n| n.has_tag_name("primitive")) {
            let (class, provider, kind) = agent_of(primitive);
            let params = primitive
                .children()
                .filter(|c| c.has_tag_name("instance_attributes"))
                .flat_map(|ia| ia.children().filter(|c| c.has_tag_name("nvpair")))
                .filter_map(|nv| Some((nv.attribute("name")?.to_string(), nv.attribute("value").unwrap_or_default().to_string(), line(nv))))
                .collect();
            let ancestors: Vec<roxmltree::Node> = primitive.ancestors().skip(1).take_while(|a| !a.has_tag_name("resources")).collect();
            let id_of = |tags: &[&str]| {
                ancestors.iter().find(|a| tags.iter().any(|t| a.has_tag_name(*t))).and_then(|a| a.attribute("id")).map(str::to_string)
            };
            let meta_says = |wanted: &dyn Fn(&str, &str) -> bool| {
                std::iter::once(primitive).chain(ancestors.iter().copied()).any(|node| {
                    node.children()
                        .filter(|c| c.has_tag_name("meta_attributes"))
                        .flat_map(|m| m.children().filter(|c| c.has_tag_name("nvpair")))
                        .any(|nv| wanted(nv.attribute("name").unwrap_or_default(), nv.attribute("value").unwrap_or_default()))
                })
            };
            let disabled = meta_says(&|name, value| name == "target-role" && value.eq_ignore_ascii_case("stopped"));
            let held = disabled || meta_says(&|name, value| name == "is-managed" && pcmk_model::text::parse_bool(value) == Some(false));
            facts.primitives.push(Primitive {
                id: primitive.attribute("id").unwrap_or_default().to_string(),
                class,
                provider,
                kind,
                params,
                line: line(primitive),
                group: id_of(&["group"]),
                replicated_by: id_of(&["clone", "master", "bundle"]),
                held,
                disabled,
            });
        }
        for block in doc.descendants().filter(|n| n.has_tag_name("instance_attributes")) {
            let Some(owner) = block.ancestors().skip(1).find(|a| ATTRIBUTE_OWNERS.iter().any(|o| a.has_tag_name(*o))) else { continue };
            let agent = matches!(owner.tag_name().name(), "primitive" | "template").then(|| {
                let (class, provider, kind) = agent_of(owner);
                match provider {
                    Some(p) => format!("{class}:{p}:{kind}"),
                    None => format!("{class}:{kind}"),
                }
            });
            for nv in block.descendants().filter(|c| c.has_tag_name("nvpair")) {
                let Some(name) = nv.attribute("name") else { continue };
                facts.instance_attributes.push(InstanceAttribute {
                    owner_kind: owner.tag_name().name().to_string(),
                    owner_id: owner.attribute("id").unwrap_or_default().to_string(),
                    agent: agent.clone(),
                    name: name.to_string(),
                    value: nv.attribute("value").unwrap_or_default().to_string(),
                    line: line(nv),
                });
            }
        }
        let configuration = doc.root_element().children().find(|n| n.has_tag_name("configuration"));
        for node in configuration.iter().flat_map(|c| c.children()).filter(|n| n.has_tag_name("nodes")).flat_map(|n| n.children()) {
            if node.has_tag_name("node") && node.attribute("type") != Some("remote") {
                if let Some(name) = node.attribute("uname") {
                    facts.nodes.push((name.to_string(), line(node)));
                }
            }
        }
        for level in doc.descendants().filter(|n| n.has_tag_name("fencing-level")) {
            let other_target = level.attribute("target-pattern").or(level.attribute("target-attribute")).map(str::to_string);
            facts.fencing_levels.push(FencingLevel {
                target: level.attribute("target").map(str::to_string),
                other_target,
                devices: level
                    .attribute("devices")
                    .unwrap_or_default()
                    .split(',')
                    .map(|d| d.trim().to_string())
                    .filter(|d| !d.is_empty())
                    .collect(),
                index: level.attribute("index").and_then(|i| i.trim().parse().ok()).unwrap_or(0),
                line: line(level),
            });
        }
        Ok(facts)
    }

    /// The primitive a resource name stands for: itself, a group's first
    /// member, or the primitive a clone replicates.
    pub fn primitive_for(&self, name: &str) -> Option<&Primitive> {
        self.primitives
            .iter()
            .find(|p| p.id == name)
            .or_else(|| self.primitives.iter().find(|p| p.group.as_deref() == Some(name) || p.replicated_by.as_deref() == Some(name)))
    }

    /// Resources a failover can move: primitives the cluster runs, outside
    /// clones, promotable sets and bundles, that are not fence devices.
    pub fn movable(&self) -> impl Iterator<Item = &Primitive> {
        self.primitives.iter().filter(|p| p.class != "stonith" && p.replicated_by.is_none() && !p.held)
    }

    /// Whether the schema upgrade renames legacy underscore option names
    /// (`validate-with` older than pacemaker-3.0: xml/upgrade-2.10.xsl).
    pub fn validate_with_before_3_0(&self) -> bool {
        match self.validate_with.as_deref() {
            None => true,
            Some(schema) => match schema.strip_prefix("pacemaker-") {
                Some(version) => version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|major| major < 3),
                // `pacemaker-next`, `none` and the like are not upgraded.
                None => schema.starts_with("transitional"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cib_facts_carry_options_primitives_and_lines() {
        let cib = "<cib>\n<configuration>\n<crm_config><cluster_property_set id=\"c\">\n<nvpair id=\"a\" name=\"stonith-enabled\" value=\"false\"/>\n</cluster_property_set></crm_config>\n<resources>\n<primitive id=\"f\" class=\"stonith\" type=\"fence_ipmilan\">\n<instance_attributes id=\"i\"><nvpair id=\"p\" name=\"password\" value=\"s3cret\"/></instance_attributes>\n</primitive>\n</resources>\n</configuration>\n</cib>";
        let facts = CibFacts::parse(cib, "cib.xml").unwrap();
        assert_eq!(facts.property_sets[0].pairs[0], ("stonith-enabled".to_string(), "false".to_string(), 4));
        assert_eq!(facts.primitives[0].agent_path().as_deref(), Some("/usr/sbin/fence_ipmilan"));
        assert_eq!(facts.primitives[0].params[0], ("password".to_string(), "s3cret".to_string(), 8));
    }
}
