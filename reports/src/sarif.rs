//! SARIF 2.1.0: one rule per scenario, one result per failing scenario, the
//! level from the scenario's severity tag, the location at the candidate file
//! and line the reason names (else the scenario). Waived failures carry an
//! external suppression with the waiver's justification.

use pcmk_model::guidance::Guidance;
use pcmk_model::report::Report;
use pcmk_model::verdict::{Outcome, Verdict};
use serde_json::{json, Value};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// SARIF level and the `security-severity` GitHub code scanning sorts by.
fn level(v: &Verdict) -> (&'static str, &'static str) {
    match v.severity() {
        Some("critical") => ("error", "9.5"),
        Some("high") => ("error", "8.0"),
        Some("medium") => ("warning", "5.5"),
        Some("low") => ("note", "3.0"),
        _ => ("warning", "5.0"),
    }
}

/// The control catalogues results are evidence for (SARIF 2.1.0 §3.19.3, taxonomies).
const NIST: &str = "NIST SP 800-53";
const CIS: &str = "CIS Controls";

fn taxonomies(report: &Report) -> Value {
    let mut nist: Vec<&str> = report.verdicts.iter().flat_map(|v| v.controls().nist).collect();
    let mut cis: Vec<&str> = report.verdicts.iter().flat_map(|v| v.controls().cis).collect();
    nist.sort();
    nist.dedup();
    cis.sort();
    cis.dedup();
    json!([
        { "name": NIST, "version": "Rev. 5", "organization": "NIST", "taxa": nist.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() },
        { "name": CIS, "version": "8", "organization": "Center for Internet Security", "taxa": cis.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() },
    ])
}

fn rule(v: &Verdict) -> Value {
    let guidance = Guidance::from_description(v.description.as_deref());
    let controls = v.controls();
    let relationships: Vec<Value> = controls
        .nist
        .iter()
        .map(|id| (id, NIST))
        .chain(controls.cis.iter().map(|id| (id, CIS)))
        .map(|(id, catalogue)| json!({ "target": { "id": id, "toolComponent": { "name": catalogue } }, "kinds": ["relevant"] }))
        .collect();
    let (level, severity) = level(v);
    let mut help = guidance.remediation.clone().unwrap_or_else(|| "The scenario gives no remediation.".into());
    help = format!("Remediation: {help}");
    json!({
        "id": crate::scenario_id(v),
        "name": v.scenario,
        "shortDescription": { "text": v.scenario },
        "fullDescription": { "text": if guidance.rationale.is_empty() { v.scenario.clone() } else { guidance.rationale.clone() } },
        "help": { "text": help },
        "defaultConfiguration": { "level": level },
        "relationships": relationships,
        "properties": {
            "tags": v.tags,
            "security-severity": severity,
            "feature": v.feature,
        }
    })
}

fn result(v: &Verdict, index: usize, report: &Report) -> Value {
    let guidance = Guidance::from_description(v.description.as_deref());
    let location = crate::location::of(v, &report.info);
    let mut text = format!("{}: {}", v.failed_step.as_deref().unwrap_or("scenario"), v.reason.as_deref().unwrap_or_default());
    if let (Some(fix), Outcome::Failed) = (&guidance.remediation, v.outcome) {
        text.push_str(&format!(" Remediation: {fix}"));
    }
    let mut result = json!({
        "ruleId": crate::scenario_id(v),
        "ruleIndex": index,
        // SARIF 2.1.0 §3.27.9: a result whose kind is not `fail` has level `none`.
        "level": if v.outcome == Outcome::NotApplicable { "none" } else { level(v).0 },
        "kind": if v.outcome == Outcome::NotApplicable { "notApplicable" } else { "fail" },
        "message": { "text": text },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": location.uri },
                "region": { "startLine": location.line.max(1) }
            }
        }],
        "properties": { "outcome": crate::status_word(v), "pointsAtCandidate": location.in_candidate }
    });
    if let Some(waiver) = &v.waived_by {
        result["suppressions"] = json!([{ "kind": "external", "status": "accepted", "justification": waiver }]);
    }
    result
}

pub fn render(report: &Report) -> anyhow::Result<String> {
    let rules: Vec<Value> = report.verdicts.iter().map(rule).collect();
    let results: Vec<Value> =
        report.verdicts.iter().enumerate().filter(|(_, v)| v.outcome != Outcome::Passed).map(|(i, v)| result(v, i, report)).collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "pcmk-comply",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/pcmk-comply/pcmk-comply",
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.infra_errors.is_empty() && report.policy_errors.is_empty(),
                "toolExecutionNotifications": report.infra_errors.iter().chain(report.expired_waivers.iter()).map(|e| json!({ "level": "error", "message": { "text": e } })).collect::<Vec<_>>(),
            }],
            "properties": {
                "command": report.info.command,
                "candidate": report.info.candidate,
                "candidateFiles": report.info.candidate_inventory,
                "versions": report.info.versions,
            },
            "taxonomies": taxonomies(report),
            "results": results,
        }]
    });
    Ok(serde_json::to_string_pretty(&log)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn a_failure_points_at_the_candidate_line_with_its_severity() {
        let mut report = fixture::report();
        let log: Value = serde_json::from_str(&render(&report).unwrap()).unwrap();
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 2);
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[0]["ruleId"], "secure-communication/corosync-runs-on-the-knet-transport");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "candidates/insecure/corosync.conf");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 4);
        assert!(results[0]["message"]["text"].as_str().unwrap().contains("Remediation: set `x: y`."));
        assert!(results[0].get("suppressions").is_none());
        report.verdicts[0].tags.extend(["SC-8".to_string(), "CIS-3.10".to_string()]);
        let log: Value = serde_json::from_str(&render(&report).unwrap()).unwrap();
        let run = &log["runs"][0];
        assert_eq!(run["taxonomies"][0]["name"], "NIST SP 800-53");
        assert_eq!(run["taxonomies"][0]["taxa"][0]["id"], "SC-8");
        assert_eq!(run["taxonomies"][1]["taxa"][0]["id"], "3.10");
        let relationships = &run["tool"]["driver"]["rules"][0]["relationships"];
        assert_eq!(relationships[0]["target"]["id"], "SC-8");
        assert_eq!(relationships[1]["target"]["toolComponent"]["name"], "CIS Controls");
        report.verdicts[0].waived_by = Some("accepted by ops".into());
        let log: Value = serde_json::from_str(&render(&report).unwrap()).unwrap();
        assert_eq!(log["runs"][0]["results"][0]["suppressions"][0]["justification"], "accepted by ops");
    }
}
