//! What the SBD tests build their cases from: a CIB, a node's file, a device's dump.

use pcmk_model::finding::Subject;

use super::config::{Config, DEFAULTS};
use super::context::uses_sbd;
use super::{Judgement, NodeConfig, Sbd};
use crate::cluster_options::Pacemaker;
use crate::facts::CibFacts;

pub(super) fn cib(resources: &str, options: &str) -> CibFacts {
    let text = format!(
        "<cib validate-with=\"pacemaker-3.9\"><configuration><crm_config><cluster_property_set id=\"cib-bootstrap-options\">{options}</cluster_property_set></crm_config><nodes/><resources>{resources}</resources><constraints/></configuration></cib>"
    );
    CibFacts::parse(&text, "cib.xml").unwrap()
}

pub(super) fn nv(name: &str, value: &str) -> String {
    format!("<nvpair id=\"o-{name}\" name=\"{name}\" value=\"{value}\"/>")
}

pub(super) fn device(id: &str, agent: &str, params: &str) -> String {
    format!("<primitive id=\"{id}\" class=\"stonith\" type=\"{agent}\"><instance_attributes id=\"{id}-ia\">{params}</instance_attributes></primitive>")
}

pub(super) fn node(text: &str, dump: Option<&str>) -> NodeConfig {
    NodeConfig {
        subject: Subject::Candidate,
        node: "the candidate".into(),
        config: Config::parse(DEFAULTS, text),
        dump: dump.map(str::to_string),
    }
}

/// The steps' view of a CIB and the nodes' files (None: the candidate cannot show them).
pub(super) fn sbd(cib: CibFacts, nodes: Option<Vec<NodeConfig>>) -> Sbd {
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

pub(super) fn said(judgement: &Judgement) -> String {
    judgement.findings.iter().map(|f| f.message.as_str()).collect::<Vec<_>>().join("\n")
}

pub(super) fn dump(device: &str, watchdog: i64, msgwait: i64) -> String {
    format!(
        "==Dumping header on disk {device}\nHeader version     : 2.1\nUUID               : 1d6b3e0f\nNumber of slots    : 255\nSector size        : 512\n\
         Timeout (watchdog) : {watchdog}\nTimeout (allocate) : 2\nTimeout (loop)     : 1\nTimeout (msgwait)  : {msgwait}\n==Header on disk {device} is dumped\n"
    )
}

pub(super) const DISK: &str = "SBD_DEVICE=\"/dev/disk/by-id/sbd1\"\nSBD_WATCHDOG_TIMEOUT=5\n";
