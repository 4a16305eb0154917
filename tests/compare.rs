//! `pcmk-comply compare`: the same policy on bookworm and trixie. The verdict
//! tables of both runs and their difference are snapshots, so a change in
//! behaviour between versions shows up in review.

mod common;

use common::*;

/// The non-destructive part of the policy: one shared cluster per version.
const TAGS: &str = "not @destructive";

fn compare(candidate: &str, dir: &std::path::Path) -> (i32, String, serde_json::Value) {
    let json = dir.join(format!("{}.json", candidate.replace('/', "-")));
    let html = dir.join(format!("{}.html", candidate.replace('/', "-")));
    let output = binary()
        .current_dir(repo_path(""))
        .args(["compare", "--candidate", candidate, "--from", "bookworm", "--to", "trixie", "--tags", TAGS, "--json"])
        .arg(&json)
        .arg("--report")
        .arg(&html)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    let value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("no JSON written: {said}"))).unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<table id=\"compare\">") && page.contains("<th>bookworm</th><th>trixie</th>"), "both versions side by side");
    (output.status.code().unwrap_or(-1), said, value)
}

/// One line per scenario: verdict on each version and the change.
fn table(value: &serde_json::Value) -> String {
    let mut lines: Vec<String> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} » {}: {} → {} ({})",
                c["feature"].as_str().unwrap(),
                c["scenario"].as_str().unwrap(),
                c["from"].as_str().unwrap(),
                c["to"].as_str().unwrap(),
                c["change"].as_str().unwrap()
            )
        })
        .collect();
    lines.sort();
    let mut findings: Vec<String> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}: {}",
                if f["breaks"] == true { "BREAKS" } else { "CHANGES" },
                f["place"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    findings.sort();
    format!("{}\n--- findings\n{}\n", lines.join("\n"), findings.join("\n"))
}

#[test]
fn compare_shows_what_the_upgrade_trap_loses_on_trixie_and_keeps_the_tables() {
    let dir = std::env::temp_dir().join(format!("pcmk-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (code, said, trap) = compare("candidates/upgrade-trap", &dir);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("REGRESSED  Failover and fencing » Every configured resource runs"), "{said}");
    assert!(said.contains("`web-health` is not in the running configuration"), "{said}");
    assert!(said.contains("BREAKS   cib.xml line"), "{said}");
    assert!(said.contains("Dropping resource web-health because nagios resources are no longer supported"), "{said}");
    assert_eq!(trap["from"]["versions"]["pacemaker"].as_str().map(|v| v.starts_with("2.1.5")), Some(true));
    assert_eq!(trap["to"]["versions"]["pacemaker"].as_str().map(|v| v.starts_with("3.0")), Some(true));
    insta::assert_snapshot!("compare_upgrade_trap", table(&trap));

    let (code, said, hardened) = compare("candidates/hardened", &dir);
    assert!(matches!(code, 0 | 1), "{said}");
    insta::assert_snapshot!("compare_hardened", table(&hardened));
    let _ = std::fs::remove_dir_all(&dir);
}
