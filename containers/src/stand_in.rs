//! Application resources the node image cannot run (systemd units, web
//! servers, file systems, databases, DRBD, SAP…) get a stand-in with the same
//! id, operations and meta attributes: `ocf:pacemaker:Dummy`, or
//! `ocf:pacemaker:Stateful` where the resource is promotable. Constraints,
//! groups, clones, fencing and failover are then still proven on the
//! candidate's own configuration; every stand-in is reported.

/// Agents that run in the lab as they would on a real node.
const RUNNABLE: &[&str] = &[
    "ocf:pacemaker:Dummy",
    "ocf:pacemaker:Stateful",
    "ocf:pacemaker:attribute",
    "ocf:pacemaker:ping",
    "ocf:pacemaker:HealthCPU",
    "ocf:heartbeat:Dummy",
    "ocf:heartbeat:Delay",
    "ocf:heartbeat:anything",
    "ocf:heartbeat:IPaddr2",
    "ocf:heartbeat:IPaddr",
    "ocf:heartbeat:IPsrcaddr",
    "ocf:heartbeat:symlink",
];

/// Classes whose resources get a stand-in when the lab cannot run them.
const STANDS_IN_FOR: &[&str] = &["ocf", "systemd", "lsb", "service"];

/// Where the agent of `class:provider:type` lives, for those a candidate may place itself.
fn agent_path(class: &str, provider: Option<&str>, kind: &str) -> Option<String> {
    match class {
        "ocf" => Some(format!("/usr/lib/ocf/resource.d/{}/{kind}", provider?)),
        "lsb" => Some(format!("/etc/init.d/{kind}")),
        _ => None,
    }
}

/// A resource given a stand-in: its id, the agent it names, the stand-in's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StandIn {
    pub id: String,
    pub agent: String,
    pub stand_in: String,
}

/// Text replacements (byte range, new text) that put stand-ins in the CIB,
/// and each stand-in.
pub fn stand_ins(doc: &roxmltree::Document, placed: &[String]) -> (Vec<(std::ops::Range<usize>, String)>, Vec<StandIn>) {
    let mut replacements = Vec::new();
    let mut settings = Vec::new();
    let resources = doc.descendants().filter(|n| n.has_tag_name("resources"));
    for element in resources.flat_map(|r| r.descendants()).filter(|n| n.has_tag_name("primitive") || n.has_tag_name("template")) {
        let (Some(class), Some(kind)) = (element.attribute_node("class"), element.attribute_node("type")) else { continue };
        // Only where the application is what the lab lacks: a class the Pacemaker
        // under test dropped (nagios and upstart in 3.0) must fail as it would.
        if !STANDS_IN_FOR.contains(&class.value()) {
            continue;
        }
        let provider = element.attribute_node("provider");
        let agent = match provider {
            Some(p) => format!("{}:{}:{}", class.value(), p.value(), kind.value()),
            None => format!("{}:{}", class.value(), kind.value()),
        };
        let placed_by_candidate = agent_path(class.value(), provider.map(|p| p.value()), kind.value()).is_some_and(|p| placed.contains(&p));
        if RUNNABLE.contains(&agent.as_str()) || placed_by_candidate {
            continue;
        }
        let stand_in = if promotable(element) { "Stateful" } else { "Dummy" };
        match provider {
            Some(p) => {
                replacements.push((class.range_value(), "ocf".to_string()));
                replacements.push((p.range_value(), "pacemaker".to_string()));
            }
            // Attributes' order does not matter in XML: the provider follows the class.
            None => replacements.push((class.range_value(), "ocf\" provider=\"pacemaker".to_string())),
        }
        replacements.push((kind.range_value(), stand_in.to_string()));
        settings.push(StandIn {
            id: element.attribute("id").unwrap_or("?").to_string(),
            agent,
            stand_in: format!("ocf:pacemaker:{stand_in}"),
        });
    }
    (replacements, settings)
}

/// Inside a `master`, or a `clone` whose meta attributes make it promotable.
fn promotable(element: roxmltree::Node) -> bool {
    element.ancestors().any(|a| {
        a.has_tag_name("master")
            || (a.has_tag_name("clone")
                && a.children().filter(|c| c.has_tag_name("meta_attributes")).flat_map(|m| m.children()).any(|nv| {
                    nv.attribute("name") == Some("promotable")
                        && nv.attribute("value").is_some_and(|v| ["true", "yes", "on", "1", "y"].contains(&v.to_ascii_lowercase().as_str()))
                }))
    })
}

/// The addresses IPaddr2-like resources bring up: (resource id, address).
pub fn virtual_ips(doc: &roxmltree::Document) -> Vec<(String, std::net::Ipv4Addr)> {
    doc.descendants()
        .filter(|n| n.has_tag_name("primitive") && matches!(n.attribute("type"), Some("IPaddr2" | "IPaddr")))
        .filter_map(|p| {
            let ip = p
                .descendants()
                .filter(|n| n.has_tag_name("nvpair"))
                .find(|n| n.attribute("name") == Some("ip"))?
                .attribute("value")?
                .parse()
                .ok()?;
            Some((p.attribute("id")?.to_string(), ip))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(cib: &str, placed: &[String]) -> (String, Vec<StandIn>) {
        let doc = roxmltree::Document::parse(cib).unwrap();
        let (mut replacements, settings) = stand_ins(&doc, placed);
        replacements.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
        let mut out = cib.to_string();
        for (range, text) in replacements {
            out.replace_range(range, &text);
        }
        (out, settings)
    }

    #[test]
    fn unrunnable_agents_get_stand_ins_with_the_same_id() {
        let cib = r#"<cib><configuration><resources>
<primitive id="web" class="systemd" type="nginx"><operations><op id="o" name="monitor" interval="10s"/></operations></primitive>
<primitive id="fs" class="ocf" provider="heartbeat" type="Filesystem"/>
<primitive id="vip" class="ocf" provider="heartbeat" type="IPaddr2"/>
<primitive id="mine" class="ocf" provider="acme" type="app"/>
<master id="ms"><primitive id="db" class="ocf" provider="heartbeat" type="pgsql"/></master>
<primitive id="f" class="stonith" type="fence_ipmilan"/>
<primitive id="health" class="nagios" type="check_web"/>
</resources></configuration></cib>"#;
        let (out, settings) = apply(cib, &["/usr/lib/ocf/resource.d/acme/app".to_string()]);
        assert!(out.contains(r#"<primitive id="web" class="ocf" provider="pacemaker" type="Dummy"><operations>"#), "{out}");
        assert!(out.contains(r#"<primitive id="fs" class="ocf" provider="pacemaker" type="Dummy"/>"#), "{out}");
        assert!(out.contains(r#"<primitive id="db" class="ocf" provider="pacemaker" type="Stateful"/>"#), "{out}");
        assert!(out.contains(r#"type="IPaddr2""#) && out.contains(r#"provider="acme" type="app""#) && out.contains("fence_ipmilan"));
        assert!(out.contains(r#"class="nagios" type="check_web""#), "a class Pacemaker 3 dropped stays, to fail as it would: {out}");
        assert_eq!(settings.len(), 3);
        assert_eq!(settings[0].agent, "systemd:nginx");
        roxmltree::Document::parse(&out).unwrap();
    }
}
