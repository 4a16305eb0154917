//! `pcmk-comply compare`: the same policy on bookworm and trixie. The verdict
//! tables of both runs and their difference are snapshots, so a change in
//! behaviour between versions shows up in review.

mod common;

use common::*;
use pcmk_containers::candidate::Candidate;
use pcmk_containers::knowledge::{self, judge, Knowledge};
use pcmk_model::node::{Distro, CIB_XML};

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
    assert_eq!(code, 0, "nothing in the hardened candidate breaks on trixie: {said}");
    assert!(said.contains("CHANGES  pcsd.defaults line 4: PCSD_DISABLE_GUI=true: pcs 0.12.0.2's pcsd reads no PCSD_DISABLE_GUI"), "{said}");
    assert!(said.contains("trixie's packages do not include pcs-web-ui: keep pcs-web-ui uninstalled"), "{said}");
    assert!(said.contains("(cached)"), "the second compare asks no container what the versions know: {said}");
    insta::assert_snapshot!("compare_hardened", table(&hardened));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A candidate's words from `compare`'s own judgement, with what each
/// image's software says it knows and trixie's own CIB upgrade of the candidate's CIB.
async fn judged(docker: &pcmk_containers::Docker, old: &Knowledge, new: &Knowledge, candidate: &Candidate) -> Vec<judge::Judgement> {
    let newer = node_image(docker, Distro::Trixie).await;
    let upgrade = match candidate.file_at(CIB_XML) {
        Some(cib) => Some(knowledge::upgrade(docker, &newer, &cib.content).await.unwrap()),
        None => None,
    };
    judge::judge(
        &judge::settings(candidate),
        upgrade.as_ref(),
        judge::Version { name: "bookworm", knows: old },
        judge::Version { name: "trixie", knows: new },
    )
}

fn said<'a>(found: &'a [judge::Judgement], start: &str) -> &'a judge::Judgement {
    found.iter().find(|j| j.message.starts_with(start)).unwrap_or_else(|| panic!("no `{start}…` in {found:#?}"))
}

/// A capture of one node whose packages are `packages`, with the hardened
/// candidate's CIB and pcsd settings.
fn capture_with(name: &str, packages: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pcmk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut stat = String::new();
    for (source, path) in [("cib.xml", CIB_XML), ("pcsd.defaults", "/etc/default/pcsd"), ("corosync.conf", "/etc/corosync/corosync.conf")] {
        let file = dir.join("alpha/files").join(path.trim_start_matches('/'));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::copy(repo_path("candidates/hardened").join(source), &file).unwrap();
        stat.push_str(&format!("{path}\troot\troot\t644\tsha\n"));
    }
    std::fs::write(dir.join("alpha/stat.tsv"), stat).unwrap();
    std::fs::create_dir_all(dir.join("alpha/queries")).unwrap();
    std::fs::write(dir.join("alpha/queries/packages"), packages).unwrap();
    std::fs::write(
        dir.join("capture.toml"),
        "format = \"pcmk-comply capture\"\nversion = 1\n\n[[node]]\nname = \"alpha\"\ncomplete = true\n",
    )
    .unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn each_version_says_what_it_knows_and_the_candidate_gets_the_words() {
    let docker = docker().await;
    let (older, newer) = (node_image(&docker, Distro::Bookworm).await, node_image(&docker, Distro::Trixie).await);
    let (old, _) = knowledge::of_image(&docker, &older).await.unwrap();
    let (new, _) = knowledge::of_image(&docker, &newer).await.unwrap();
    let (again, cached) = knowledge::of_image(&docker, &newer).await.unwrap();
    assert!(cached && again == new, "asked once per image");
    assert_eq!((old.named("pacemaker"), new.named("pacemaker")), ("Pacemaker 2.1.5".to_string(), "Pacemaker 3.0.0".to_string()));
    assert!(old.pcsd_env.contains_key("PCSD_DISABLE_GUI") && !new.pcsd_env.contains_key("PCSD_DISABLE_GUI"));

    // A removed option, and a changed default the candidate leaves unset.
    let removed = hardened_variant("compare-removed", |dir| {
        let cib = std::fs::read_to_string(dir.join("cib.xml")).unwrap().replace(
            "<nvpair id=\"cib-bootstrap-options-enable-acl\" name=\"enable-acl\" value=\"true\"/>",
            "<nvpair id=\"cib-bootstrap-options-enable-acl\" name=\"enable-acl\" value=\"true\"/>\n        <nvpair id=\"o-ras\" name=\"remove-after-stop\" value=\"true\"/>",
        );
        std::fs::write(dir.join("cib.xml"), cib).unwrap();
    });
    let found = judged(&docker, &old, &new, &Candidate::load(&removed).unwrap()).await;
    let option = said(&found, "cluster option remove-after-stop=true: Pacemaker 3.0.0 has no such option");
    assert_eq!(option.place, "cib.xml line 9");
    assert!(!option.breaks);
    assert!(
        option.message.ends_with(
            "its CIB upgrade drops it (\"WARNING: Dropping nvpair o-ras because the remove-after-stop property is unsupported\")"
        ),
        "{option:?}"
    );
    let default =
        said(&found, "cluster option concurrent-fencing is unset: its default is false on Pacemaker 2.1.5 and true on Pacemaker 3.0.0");
    assert!(!default.breaks);
    let gui = said(&found, "PCSD_DISABLE_GUI=true: pcs 0.12.0.2's pcsd reads no PCSD_DISABLE_GUI");
    assert!(
        !gui.breaks
            && gui.message.ends_with(
                "trixie's packages do not include pcs-web-ui: keep pcs-web-ui uninstalled and the web UI stays off (the line can go)"
            )
    );
    assert!(found.iter().all(|j| !j.breaks), "{found:#?}");

    // PCSD_DISABLE_GUI on nodes that have pcs-web-ui: the web UI it turned off is served on pcs 0.12.
    let with_ui = capture_with("compare-webui", "pcs\t0.11.5-1+deb12u1\tii \npcs-web-ui\t0.1.18-1\tii \n");
    let found = judged(&docker, &old, &new, &Candidate::load(&with_ui).unwrap()).await;
    let gui = said(&found, "PCSD_DISABLE_GUI=true: pcs 0.12.0.2's pcsd reads no PCSD_DISABLE_GUI");
    assert!(gui.breaks, "{gui:?}");
    assert!(gui.message.contains(
        "the candidate installs the web UI (pcs-web-ui is installed on alpha), so on trixie pcsd serves the web UI this setting turned off"
    ));
    let without_ui = capture_with("compare-no-webui", "pcs\t0.11.5-1+deb12u1\tii \npcs-web-ui\t0.1.18-1\trc \n");
    let found = judged(&docker, &old, &new, &Candidate::load(&without_ui).unwrap()).await;
    let gui = said(&found, "PCSD_DISABLE_GUI=true");
    assert!(!gui.breaks && gui.message.contains("no captured node has pcs-web-ui"), "removed, its configuration kept: {gui:?}");
    for dir in [removed, with_ui, without_ui] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
