//! Real configurations in: the artifacts users hand over, made by the real
//! tools (tests/fixtures/real, see its README), each recognised, laid out and
//! judged for what it holds; and the policy found wherever the binary runs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::repo_path;

fn pcmk(args: &[&str], dir: &Path) -> (i32, String, String) {
    let output: Output = std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"))
        .args(args)
        .current_dir(dir)
        .env("PCMK_COMPLY_CACHE_DIR", cache_dir())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("pcmk-inputs-cache-{}", std::process::id()))
}

fn fixture(name: &str) -> String {
    repo_path(&format!("tests/fixtures/real/{name}")).display().to_string()
}

/// The verdict line of a scenario in lint's output: `PASS`, `FAIL`, `N/A`…
fn mark<'a>(stdout: &'a str, scenario: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.ends_with(scenario))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no verdict for `{scenario}` in:\n{stdout}"))
}

#[test]
fn a_pcs_config_backup_is_linted_as_pcs_restores_it() {
    let (code, stdout, stderr) = pcmk(&["lint", "--candidate", &fixture("pcs-backup/lab-backup.tar.bz2")], &std::env::temp_dir());
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("is a pcs config backup"), "{stdout}");
    // Owners and modes as pcs recorded them (`tarball.add` of the node's files).
    assert!(
        stdout.contains("corosync_authkey at /etc/corosync/authkey (root:root 0400; owner and mode as the archive records them)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pacemaker_authkey at /etc/pacemaker/authkey (root:haclient 0640; owner and mode as the archive records them)"),
        "{stdout}"
    );
    assert!(stdout.contains("version.txt: the pcs backup's format version"), "nothing is dropped silently: {stdout}");
    // One node's backup cannot show that the other nodes hold the same key.
    assert_eq!(mark(&stdout, "Every node holds the same strong corosync key, readable by root only"), "N/A");
    assert!(stdout.contains("a pcs config backup holds one node's /etc/corosync/authkey"), "{stdout}");
    assert_eq!(mark(&stdout, "Cluster traffic is encrypted and authenticated with strong algorithms"), "PASS");
    assert_eq!(mark(&stdout, "Fencing is enabled"), "PASS");
    assert_eq!(mark(&stdout, "No credentials are hard-coded in the cluster configuration"), "FAIL");
    // fence_mpath's key is a reservation key; the fence_ipmilan passwords are credentials.
    assert!(stdout.contains("`fence-alpha` (stonith:fence_ipmilan) has parameter `password`"), "{stdout}");
    assert!(!stdout.contains("`fence-scsi`"), "a fence_mpath key is not a credential: {stdout}");
    assert!(!stdout.contains("Lab-Passw0rd"), "a password is never printed");
}

#[test]
fn a_crm_report_uses_the_dc_and_says_what_it_left() {
    let (_, stdout, stderr) = pcmk(&["lint", "--candidate", &fixture("crm-report/lab-report-dc.tar.bz2")], &std::env::temp_dir());
    assert!(stdout.contains("is a crm report"), "{stdout}{stderr}");
    assert!(stdout.contains("used the CIB and corosync.conf of gamma, the node that was DC"), "{stdout}");
    assert!(stdout.contains("gamma/pengine/pe-input-0.bz2: report output, not configuration"), "{stdout}");
    assert!(stdout.contains("masked as `******` in this copy, so the CIB itself holds it in plain text"), "{stdout}");
    let (_, stdout, _) = pcmk(&["lint", "--candidate", &fixture("crm-report/lab-report-alpha.tar.bz2")], &std::env::temp_dir());
    assert!(stdout.contains("no node is marked DC in this report; used the CIB and corosync.conf of alpha"), "{stdout}");
}

#[test]
fn a_bare_cib_runs_with_a_corosync_conf_made_for_its_nodes() {
    let (_, stdout, stderr) = pcmk(&["lint", "--candidate", &fixture("pcs-cib/cib.xml")], &std::env::temp_dir());
    assert!(stdout.contains("is a CIB without a corosync.conf"), "{stdout}{stderr}");
    assert!(stdout.contains("the harness made a knet one for the CIB's 3 nodes"), "{stdout}");
    // What the harness made is not the candidate's to be judged on.
    assert_eq!(mark(&stdout, "Cluster traffic is encrypted and authenticated with strong algorithms"), "N/A");
    assert_eq!(mark(&stdout, "Corosync runs on the knet transport"), "N/A");
    assert_eq!(mark(&stdout, "No credentials are hard-coded in the cluster configuration"), "FAIL");
}

#[test]
fn directories_without_a_manifest_are_laid_out_by_their_names() {
    let dir = std::env::temp_dir().join(format!("pcmk-inputs-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, from) in [("etc/corosync/corosync.conf", "pcs-knet/corosync.conf"), ("var/lib/pacemaker/cib/cib.xml", "crmsh-made/cib.xml")]
    {
        std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
        std::fs::copy(fixture(from), dir.join(path)).unwrap();
    }
    std::fs::write(dir.join("etc/motd"), "hello\n").unwrap();
    let (_, stdout, _) = pcmk(&["lint", "--candidate", dir.to_str().unwrap()], &std::env::temp_dir());
    assert!(stdout.contains("is a copy of a node's files"), "{stdout}");
    assert!(stdout.contains("etc/motd: not a file the policy or the cluster reads"), "{stdout}");
    // crmsh-made sets stonith-enabled=false.
    assert_eq!(mark(&stdout, "Fencing is enabled"), "FAIL", "{stdout}");
    let flat = dir.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    std::fs::copy(fixture("pcs-2node/corosync.conf"), flat.join("corosync.conf")).unwrap();
    std::fs::copy(fixture("crmsh-made/cib.xml"), flat.join("cib.xml")).unwrap();
    let (_, stdout, _) = pcmk(&["lint", "--candidate", flat.to_str().unwrap()], &std::env::temp_dir());
    assert!(stdout.contains("is files under their well-known names"), "{stdout}");
    assert_eq!(mark(&stdout, "A cluster that loses quorum stops its resources"), "N/A", "a 2-node cluster: {stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corosync_3_refusals_stop_the_load_in_its_words() {
    let dir = std::env::temp_dir().join(format!("pcmk-inputs-refusal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = std::fs::read_to_string(fixture("pcs-knet/corosync.conf")).unwrap();
    for (edit, said) in [
        (conf.replace("transport: knet", "transport: udpu"), "crypto_cipher & crypto_hash are only valid for the Knet transport."),
        (conf.replace("    crypto_hash: sha256\n", ""), "crypto_cipher requires crypto_hash with value other than none"),
    ] {
        std::fs::write(dir.join("corosync.conf"), edit).unwrap();
        let (code, _, stderr) = pcmk(&["lint", "--candidate", dir.join("corosync.conf").to_str().unwrap()], &dir);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(said), "{stderr}");
        assert!(stderr.contains("corosync.conf:"), "names the file and line: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_policy_travels_with_the_binary() {
    let elsewhere = std::env::temp_dir();
    let (code, stdout, stderr) = pcmk(&["lint", "--candidate", &repo_path("candidates/hardened").display().to_string()], &elsewhere);
    assert_eq!(code, 0, "lint works from another directory: {stdout}{stderr}");
    let out = elsewhere.join(format!("pcmk-policy-{}", std::process::id()));
    let (code, stdout, _) = pcmk(&["policy", "export", out.to_str().unwrap()], &elsewhere);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), std::fs::read_dir(repo_path("features")).unwrap().count());
    // Only the user's own scenarios, or the user's beside the built-in ones.
    std::fs::write(out.join("mine.feature.extra"), "").unwrap();
    let mine = out.join("own");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(
        mine.join("own.feature"),
        "Feature: Own\n\n  @static\n  Scenario: Mine\n    Then corosync uses the \"knet\" transport\n",
    )
    .unwrap();
    let hardened = repo_path("candidates/hardened").display().to_string();
    let (_, stdout, _) = pcmk(&["lint", "--candidate", &hardened, "--no-builtin", "--features", mine.to_str().unwrap()], &elsewhere);
    assert!(stdout.contains("lint: 1 scenarios: 1 passed"), "{stdout}");
    let (_, stdout, _) = pcmk(&["lint", "--candidate", &hardened, "--features", mine.to_str().unwrap()], &elsewhere);
    assert!(stdout.contains("lint: 21 scenarios: 16 passed, 0 failed, 0 waived, 5 not applicable"), "{stdout}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn policy_parameters_are_checked_where_they_are_given() {
    let elsewhere = std::env::temp_dir();
    let hardened = repo_path("candidates/hardened").display().to_string();
    let (code, _, stderr) = pcmk(&["lint", "--candidate", &hardened, "--param", "failover_secs=3"], &elsewhere);
    assert_eq!(code, 2);
    assert!(stderr.contains("--param: no feature declares the parameter `failover_secs`"), "{stderr}");
    let (code, _, stderr) = pcmk(&["lint", "--candidate", &hardened, "--param", "failover_seconds=soon"], &elsewhere);
    assert_eq!(code, 2);
    assert!(stderr.contains("takes a whole number"), "{stderr}");
    let dir = elsewhere.join(format!("pcmk-inputs-params-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("pcs-knet/corosync.conf"), dir.join("corosync.conf")).unwrap();
    std::fs::write(dir.join("candidate.toml"), "[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\n\n[policy]\nlog_host = \"logs.example.com\"\nfailover_secnds = 30\n").unwrap();
    let (code, _, stderr) = pcmk(&["lint", "--candidate", dir.to_str().unwrap()], &elsewhere);
    assert_eq!(code, 2);
    assert!(stderr.contains("candidate.toml:7: no feature declares the parameter `failover_secnds`"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
    let (_, stdout, _) = pcmk(&["steps"], &elsewhere);
    assert!(stdout.contains("failover_resource = auto"), "{stdout}");
}

#[test]
fn strict_fails_a_run_with_nothing_to_judge() {
    let cib = fixture("pcs-cib/cib.xml");
    // The one static @high scenario of the practice judges corosync.conf, which a bare CIB lacks.
    let (code, stdout, _) = pcmk(&["lint", "--candidate", &cib, "--tags", "@communication and @high"], &std::env::temp_dir());
    assert!(stdout.contains("lint: 1 scenarios: 0 passed, 0 failed, 0 waived, 1 not applicable"), "{stdout}");
    assert_eq!(code, 0, "not applicable is not a failure");
    let (code, _, _) = pcmk(&["lint", "--candidate", &cib, "--tags", "@communication and @high", "--strict"], &std::env::temp_dir());
    assert_eq!(code, 1, "--strict: every practice must be exercised");
}

/// Needs the engine: crmsh runs in a node container, once; the result is cached.
#[test]
fn crm_configure_show_text_is_converted_by_crmsh_and_cached() {
    let _ = std::fs::remove_dir_all(cache_dir());
    for (text, password_param) in [("crmsh/configure-show.txt", "password"), ("crmsh-legacy/configure-show.txt", "passwd")] {
        let (code, stdout, stderr) = pcmk(&["lint", "--candidate", &fixture(text)], &std::env::temp_dir());
        assert!(stdout.contains("is crm configure show text, converted to a CIB by crmsh"), "{text}: {stdout}{stderr}");
        assert_ne!(code, 2, "{stderr}");
        assert!(stdout.contains(&format!("has parameter `{password_param}`")), "{text}: {stdout}");
    }
    // The legacy text's `property $id="cib-bootstrap-options"` block is read by crmsh itself:
    // stonith-enabled holds; what fails is the one fence device, which reaches beta only.
    let (_, stdout, _) = pcmk(&["lint", "--candidate", &fixture("crmsh-legacy/configure-show.txt")], &std::env::temp_dir());
    assert_eq!(mark(&stdout, "Fencing is enabled"), "FAIL", "{stdout}");
    assert!(stdout.contains("step: And every node is the target of an enabled fence device"), "{stdout}");
    assert!(
        stdout.contains("node alpha is the target of no enabled fence device") && !stdout.contains("stonith-enabled is `false`"),
        "{stdout}"
    );
    // Lines of the CIB crmsh made are in no file the user has: no report points at them.
    let sarif = std::env::temp_dir().join(format!("pcmk-crm-{}.sarif", std::process::id()));
    pcmk(&["lint", "--candidate", &fixture("crmsh/configure-show.txt"), "--sarif", sarif.to_str().unwrap()], &std::env::temp_dir());
    let sarif: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    let uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(!uris.is_empty() && uris.iter().all(|u| u.ends_with(".feature")), "{uris:?}");
    // With no engine reachable: the same lint of the same text.
    let lint_without_engine = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"))
            .args(["lint", "--candidate", &fixture("crmsh/configure-show.txt")])
            .env("PCMK_COMPLY_CACHE_DIR", cache_dir())
            .env("DOCKER_HOST", "unix:///nonexistent.sock")
            .output()
            .unwrap()
    };
    // Cached: a second lint needs no engine.
    let output = lint_without_engine();
    assert_ne!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let _ = std::fs::remove_dir_all(cache_dir());
    let output = lint_without_engine();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "no engine and no cache: says so, never guesses: {stderr}");
    assert!(stderr.contains("crm configure show text needs crmsh"), "{stderr}");
}

#[test]
fn many_candidates_make_one_report_with_a_section_each() {
    let dir = std::env::temp_dir().join(format!("pcmk-inputs-many-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("clusters/prod")).unwrap();
    std::fs::create_dir_all(dir.join("clusters/lab")).unwrap();
    std::fs::copy(fixture("pcs-knet/corosync.conf"), dir.join("clusters/prod/corosync.conf")).unwrap();
    std::fs::copy(fixture("pcs-cib/cib.xml"), dir.join("clusters/prod/cib.xml")).unwrap();
    std::fs::copy(fixture("pcs-2node/corosync.conf"), dir.join("clusters/lab/corosync.conf")).unwrap();
    let hardened = repo_path("candidates/hardened").display().to_string();
    // Repeated --candidate: every candidate's verdicts, one exit code for all.
    let junit = dir.join("r.xml");
    let (code, stdout, _) = pcmk(
        &["lint", "--candidate", &hardened, "--candidate", &fixture("pcs-backup/lab-backup.tar.bz2"), "--junit", junit.to_str().unwrap()],
        &dir,
    );
    assert_eq!(code, 1, "the backup's failures fail the whole run: {stdout}");
    assert!(stdout.contains("lint: 40 scenarios: 22 passed, 2 failed, 0 waived, 16 not applicable"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(&format!("name=\"{hardened} » Secure communication\"")), "{xml}");
    assert!(xml.contains("lab-backup.tar.bz2 » Secure communication"), "{xml}");
    // A directory of candidate directories stands for each of them.
    let (_, stdout, _) = pcmk(&["lint", "--candidate", "clusters"], &dir);
    assert!(
        stdout.contains("clusters/lab is files under their well-known names")
            && stdout.contains("clusters/prod is files under their well-known names"),
        "{stdout}"
    );
    assert!(stdout.contains("lint: 40 scenarios"), "{stdout}");
    // Shards spread candidates × scenarios: two disjoint halves, merged back into the whole.
    let mut merged_from = Vec::new();
    for shard in ["1/2", "2/2"] {
        let json = dir.join(format!("shard-{}.json", &shard[..1]));
        pcmk(&["lint", "--candidate", "clusters", "--shard", shard, "--json", json.to_str().unwrap()], &dir);
        merged_from.push(json);
    }
    let args: Vec<&str> = std::iter::once("merge").chain(merged_from.iter().map(|p| p.to_str().unwrap())).collect();
    let (_, stdout, stderr) = pcmk(&args, &dir);
    assert!(stdout.contains("40 scenarios"), "{stdout}{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_one_node_cluster_is_a_clear_error_not_a_panic() {
    let hardened = repo_path("candidates/hardened").display().to_string();
    let (code, _, stderr) = pcmk(&["run", "--candidate", &hardened, "--nodes", "1"], &std::env::temp_dir());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("a 1-node cluster: `run` proves failover, fencing and membership, which need 2 or more nodes"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_manifest_overrides_what_the_files_cannot_say() {
    let dir = std::env::temp_dir().join(format!("pcmk-inputs-override-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("pcs-knet/corosync.conf"), dir.join("corosync.conf")).unwrap();
    std::fs::copy(fixture("pcs-cib/cib.xml"), dir.join("cib.xml")).unwrap();
    std::fs::write(dir.join("nftables.conf"), "table inet filter {\n}\n").unwrap();
    // Only what the files cannot say: a mode that differs, a user, a parameter. No [[secret]].
    std::fs::write(dir.join("candidate.toml"), "[[file]]\nsource = \"cib.xml\"\npath = \"/var/lib/pacemaker/cib/cib.xml\"\nowner = \"hacluster\"\ngroup = \"haclient\"\nmode = \"0640\"\n\n[[user]]\nname = \"ops\"\n\n[policy]\nfailover_seconds = 45\n").unwrap();
    let (code, stdout, stderr) = pcmk(&["lint", "--candidate", dir.to_str().unwrap()], &dir);
    assert_ne!(code, 2, "{stdout}{stderr}");
    assert!(stdout.contains("cib.xml at /var/lib/pacemaker/cib/cib.xml (hacluster:haclient 0640, as candidate.toml spells out: wider than a stock node's 0600)"), "{stdout}");
    assert!(
        stdout.contains("corosync.conf at /etc/corosync/corosync.conf (root:root 0644)"),
        "the files the manifest leaves out are laid out: {stdout}"
    );
    assert!(
        stdout.contains("no /etc/corosync/authkey: the harness generates one"),
        "a key the manifest lacks is made, not missing: {stdout}"
    );
    assert!(stdout.contains("services: nftables, corosync, pacemaker"), "services follow from the files: {stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}
