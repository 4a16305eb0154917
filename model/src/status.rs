//! What `crm_mon --output-as=xml` says about a cluster, as seen from one node.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    pub name: String,
    pub online: bool,
    pub pending: bool,
    pub unclean: bool,
    pub standby: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    pub id: String,
    pub agent: String,
    pub role: String,
    pub active: bool,
    pub failed: bool,
    pub nodes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterStatus {
    pub dc: Option<String>,
    pub quorate: bool,
    pub nodes: Vec<NodeState>,
    pub resources: Vec<ResourceState>,
}

fn flag(node: roxmltree::Node, name: &str) -> bool {
    node.attribute(name) == Some("true")
}

/// What crm_mon said instead of a status: its result code, message and errors.
fn failure(root: roxmltree::Node) -> String {
    let Some(status) = root.children().find(|n| n.has_tag_name("status")) else { return String::new() };
    let errors: Vec<&str> = status.descendants().filter(|n| n.has_tag_name("error")).filter_map(|n| n.text()).map(str::trim).collect();
    let mut said = format!(" (code {}: {}", status.attribute("code").unwrap_or("?"), status.attribute("message").unwrap_or("no message"));
    if !errors.is_empty() {
        said.push_str(&format!("; {}", errors.join("; ")));
    }
    said + ")"
}

impl ClusterStatus {
    pub fn parse(xml: &str) -> Result<ClusterStatus, String> {
        let doc = crate::text::parse_xml(xml).map_err(|e| format!("crm_mon output is not XML: {e}"))?;
        let root = doc.root_element();
        let Some(summary) = root.children().find(|n| n.has_tag_name("summary")) else {
            return Err(format!("crm_mon output has no <summary>{}", failure(root)));
        };
        let dc = summary.children().find(|n| n.has_tag_name("current_dc"));
        let dc_present = dc.is_some_and(|d| flag(d, "present"));
        let nodes = root
            .children()
            .filter(|n| n.has_tag_name("nodes"))
            .flat_map(|n| n.children().filter(|c| c.has_tag_name("node")))
            .map(|n| NodeState {
                name: n.attribute("name").unwrap_or_default().to_string(),
                online: flag(n, "online"),
                pending: flag(n, "pending"),
                unclean: flag(n, "unclean"),
                standby: flag(n, "standby"),
            })
            .collect();
        let resources = root
            .children()
            .filter(|n| n.has_tag_name("resources"))
            .flat_map(|n| n.descendants().filter(|c| c.has_tag_name("resource")))
            .map(|r| ResourceState {
                id: r.attribute("id").unwrap_or_default().to_string(),
                agent: r.attribute("resource_agent").unwrap_or_default().to_string(),
                role: r.attribute("role").unwrap_or_default().to_string(),
                active: flag(r, "active"),
                failed: flag(r, "failed"),
                nodes: r.children().filter(|c| c.has_tag_name("node")).filter_map(|c| c.attribute("name").map(str::to_string)).collect(),
            })
            .collect();
        Ok(ClusterStatus {
            dc: if dc_present { dc.and_then(|d| d.attribute("name")).map(str::to_string) } else { None },
            quorate: dc_present && dc.is_some_and(|d| flag(d, "with_quorum")),
            nodes,
            resources,
        })
    }

    pub fn node(&self, name: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// Names of nodes that are fully in: online, not pending, not unclean.
    pub fn members(&self) -> Vec<&str> {
        self.nodes.iter().filter(|n| n.online && !n.pending && !n.unclean).map(|n| n.name.as_str()).collect()
    }

    /// A DC, quorum, and exactly `expected` as its members.
    pub fn has_members(&self, expected: &[&str]) -> bool {
        let mut members = self.members();
        members.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        self.dc.is_some() && self.quorate && members == expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml">
  <summary>
    <stack type="corosync"/>
    <current_dc present="true" version="2.1.5" name="n2" id="2" with_quorum="true" mixed_version="false"/>
    <nodes_configured number="3"/>
  </summary>
  <nodes>
    <node name="n1" id="1" online="true" standby="false" pending="false" unclean="false" type="member"/>
    <node name="n2" id="2" online="true" standby="false" pending="false" unclean="false" type="member"/>
    <node name="n3" id="3" online="false" standby="false" pending="false" unclean="true" type="member"/>
  </nodes>
  <resources>
    <group id="g" number_resources="1">
      <resource id="vip" resource_agent="ocf:heartbeat:IPaddr2" role="Started" active="true" failed="false" nodes_running_on="1">
        <node name="n1" id="1" cached="true"/>
      </resource>
    </group>
  </resources>
  <status code="0" message="OK"/>
</pacemaker-result>"#;

    #[test]
    fn parses_dc_quorum_members_and_resources() {
        let s = ClusterStatus::parse(SAMPLE).unwrap();
        assert_eq!(s.dc.as_deref(), Some("n2"));
        assert!(s.quorate);
        assert_eq!(s.members(), vec!["n1", "n2"]);
        assert!(s.has_members(&["n2", "n1"]));
        assert!(!s.has_members(&["n1", "n2", "n3"]));
        assert_eq!(s.resources[0].nodes, vec!["n1"]);
        assert_eq!(s.resources[0].agent, "ocf:heartbeat:IPaddr2");
    }

    #[test]
    fn no_dc_means_not_quorate() {
        let s = ClusterStatus::parse(&SAMPLE.replace(r#"present="true""#, r#"present="false""#)).unwrap();
        assert_eq!(s.dc, None);
        assert!(!s.quorate);
        assert!(ClusterStatus::parse("<x/>").is_err());
        let refused = r#"<pacemaker-result api-version="2.25" request="crm_mon --output-as=xml"><status code="102" message="Not connected"><errors><error>crm_mon: Connection to cluster failed: Transport endpoint is not connected</error></errors></status></pacemaker-result>"#;
        assert_eq!(
            ClusterStatus::parse(refused).unwrap_err(),
            "crm_mon output has no <summary> (code 102: Not connected; crm_mon: Connection to cluster failed: Transport endpoint is not connected)"
        );
        assert!(ClusterStatus::parse("not xml").is_err());
    }
}
