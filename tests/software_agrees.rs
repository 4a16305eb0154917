//! The cases where a careful reading of the source was wrong, each as the
//! real software decided it (issue «Verdicts the real software agrees
//! with»; the oracle suite, tests/oracle, checks the same readings on many
//! generated cases). lint decides these from the files; the last test asks
//! the engine, as `run` asks the node image's corosync before any cluster.

mod common;

use std::path::Path;

use common::{binary, hardened_variant};

fn lint(candidate: &Path) -> (i32, String, String) {
    let out = binary().args(["lint", "--candidate"]).arg(candidate).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn verdict<'a>(stdout: &'a str, scenario: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.ends_with(scenario))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no `{scenario}` in:\n{stdout}"))
}

/// The candidate no longer declares its distribution: its Pacemaker is the CIB's own.
fn undeclare_distro(dir: &Path) {
    let manifest = dir.join("candidate.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace("distro = \"bookworm\"\n", "");
    std::fs::write(manifest, text).unwrap();
}

fn set_crm_config(dir: &Path, validate_with: &str, crm_config: &str) {
    let path = dir.join("cib.xml");
    let cib = std::fs::read_to_string(&path).unwrap();
    let start = cib.find("<crm_config>").unwrap();
    let end = cib.find("</crm_config>").unwrap() + "</crm_config>".len();
    let cib = format!("{}<crm_config>\n{crm_config}\n    </crm_config>{}", &cib[..start], &cib[end..]);
    let cib = cib.replacen("validate-with=\"pacemaker-3.9\"", &format!("validate-with=\"{validate_with}\""), 1);
    std::fs::write(path, cib).unwrap();
}

/// Pacemaker 3.0.2 wrote this CIB (`dc-version`): it reads `fencing-enabled`,
/// which wins over a stale `stonith-enabled`. Judged as 3.0.2 reads it,
/// fencing is on; the finding of a CIB it does not pass says which version.
#[test]
fn a_cib_is_judged_for_the_pacemaker_that_wrote_it() {
    let dir = hardened_variant("written-by-3.0.2", |d| {
        undeclare_distro(d);
        set_crm_config(
            d,
            "pacemaker-4.0",
            r#"      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o-1" name="fencing-enabled" value="true"/>
        <nvpair id="o-2" name="stonith-enabled" value="false"/>
        <nvpair id="o-3" name="no-quorum-policy" value="stop"/>
        <nvpair id="o-4" name="enable-acl" value="true"/>
        <nvpair id="o-5" name="dc-version" value="3.0.2-1"/>
      </cluster_property_set>"#,
        )
    });
    let (_, stdout, stderr) = lint(&dir);
    assert_eq!(verdict(&stdout, "Fencing is enabled"), "PASS", "{stdout}{stderr}");

    // The same CIB without `fencing-enabled` fails, and says which Pacemaker wrote it.
    let dir = hardened_variant("written-by-3.0.2-off", |d| {
        undeclare_distro(d);
        set_crm_config(
            d,
            "pacemaker-4.0",
            r#"      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="o-2" name="stonith-enabled" value="false"/>
        <nvpair id="o-5" name="dc-version" value="3.0.2-1"/>
      </cluster_property_set>"#,
        )
    });
    let (_, stdout, _) = lint(&dir);
    assert_eq!(verdict(&stdout, "Fencing is enabled"), "FAIL", "{stdout}");
    assert!(stdout.contains("this Pacemaker wrote the CIB") && stdout.contains("dc-version 3.0.2-1"), "{stdout}");
    assert!(!stdout.contains("Pacemaker 2.1:"), "a 3.0.2 CIB with no declared distribution is not judged as 2.1 reads it: {stdout}");
}

/// Two sets of equal score, `off` then `on`: Pacemaker 2.1.5 and 3.0.0
/// (`crm_simulate`) both say fencing is on: the later set wins the tie.
#[test]
fn of_two_sets_with_equal_scores_the_later_wins() {
    let dir = hardened_variant("equal-scores", |d| {
        set_crm_config(
            d,
            "pacemaker-3.9",
            r#"      <cluster_property_set id="site-a" score="10">
        <nvpair id="a-1" name="stonith-enabled" value="off"/>
        <nvpair id="a-2" name="no-quorum-policy" value="stop"/>
        <nvpair id="a-3" name="enable-acl" value="true"/>
      </cluster_property_set>
      <cluster_property_set id="site-b" score="10">
        <nvpair id="b-1" name="stonith-enabled" value="on"/>
      </cluster_property_set>"#,
        )
    });
    let (_, stdout, stderr) = lint(&dir);
    assert_eq!(verdict(&stdout, "Fencing is enabled"), "PASS", "{stdout}{stderr}");
}

/// corosync 3.1.9 refuses four nodes that all have `nodeid: 1`
/// (`corosync -t` exits 8): so does lint, in its words, with the line.
#[test]
fn duplicate_node_ids_are_refused_as_corosync_refuses_them() {
    let dir = hardened_variant("duplicate-nodeid", |d| {
        let path = d.join("corosync.conf");
        let conf = std::fs::read_to_string(&path).unwrap();
        let mut n = 0;
        let conf: String = conf
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("nodeid:") {
                    n += 1;
                    l.split(':').next().unwrap().to_string() + ": 1\n"
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        assert!(n >= 2, "the bundled candidate numbers its nodes");
        std::fs::write(path, conf).unwrap();
    });
    let (code, _, stderr) = lint(&dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("Nodeid 1 appears twice in corosync.conf"), "{stderr}");
    assert!(stderr.contains("corosync.conf:"), "names the file and line: {stderr}");
}

/// A 64-byte key: corosync says «Could only read 512 bits of minimum 1024
/// bits». lint and run both stop with it, before any engine is asked
/// (run here points at an engine that does not exist).
#[test]
fn a_short_corosync_key_is_refused_before_any_cluster_starts() {
    let dir = hardened_variant("short-key", |d| {
        std::fs::write(d.join("authkey"), [7u8; 64]).unwrap();
        let manifest = d.join("candidate.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let text = text.replace(
            "[[secret]]\npath = \"/etc/corosync/authkey\"\nbytes = 256",
            "[[file]]\nsource = \"authkey\"\npath = \"/etc/corosync/authkey\"",
        );
        assert!(text.contains("source = \"authkey\""), "the bundled candidate's key entry is where the test expects it");
        std::fs::write(manifest, text).unwrap();
    });
    let (code, _, stderr) = lint(&dir);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("Could only read 512 bits of minimum 1024 bits"), "{stderr}");
    let out = binary().args(["run", "--candidate"]).arg(&dir).env("DOCKER_HOST", "unix:///nonexistent/docker.sock").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Could only read 512 bits of minimum 1024 bits"), "{stderr}");
}

/// What lint's reading does not know (here an unknown `link_mode`), `run`
/// asks the node image's corosync about (`corosync -t`) before it builds a
/// cluster: refused in its words, exit 2, nothing left behind.
#[test]
fn run_asks_corosync_itself_before_any_cluster_starts() {
    let dir = hardened_variant("link-mode", |d| {
        let path = d.join("corosync.conf");
        let conf = std::fs::read_to_string(&path).unwrap().replacen("totem {\n", "totem {\n    link_mode: bogus\n", 1);
        std::fs::write(path, conf).unwrap();
    });
    let (code, _, _) = lint(&dir);
    assert_ne!(code, 2, "lint's reading does not know link_mode's values");
    let out = binary().args(["run", "--candidate"]).arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("node image's corosync refuses this corosync.conf (`corosync -t`, exit 8)"), "{stderr}");
    assert!(stderr.contains("The Knet link mode \"bogus\" specified is invalid"), "{stderr}");
    assert!(!stderr.contains("cluster: starting nodes"), "{stderr}");
}
