//! The policy on the bundled candidates: which scenarios pass and fail, and why,
//! from files (`lint`) and on live clusters (`run`); bad input in both.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::ClusterOptions;
use pcmk_model::node::Distro;
use pcmk_model::report::Report;
use pcmk_model::verdict::Outcome;
use pcmk_steps::policy::FeatureSource;
use pcmk_steps::run_context::{Mode, RunContext};
use pcmk_steps::runner::{self, RunOptions};

fn options(features: &[&str], static_only: bool) -> RunOptions {
    let features =
        features.iter().map(|f| if *f == "features" { FeatureSource::Builtin } else { FeatureSource::Path(repo_path(f)) }).collect();
    RunOptions {
        features,
        params: Vec::new(),
        strict: false,
        tags: None,
        static_only,
        concurrency: runner::DEFAULT_CONCURRENCY,
        own_clusters: runner::DEFAULT_OWN_CLUSTERS,
        on_verdict: None,
        shard: None,
        waiver: None,
        durations: None,
    }
}

async fn lint(candidate: &str) -> Report {
    let candidate = Arc::new(Candidate::load(&repo_path(candidate)).unwrap());
    runner::run(RunContext::new(candidate, Mode::Static), options(&["features"], true)).await.unwrap()
}

/// Live runs one at a time: on two cores, overlapping clusters turn timing
/// checks (failover within its SLO) into a measure of the machine's load.
static LIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run_live(candidate: PathBuf, features: &[&str]) -> Report {
    let _one_at_a_time = LIVE.lock().await;
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    let candidate = Arc::new(Candidate::load(&candidate).unwrap());
    let cluster = ClusterOptions { origin: "test".into(), ..ClusterOptions::default() };
    let options = RunOptions { durations: Some(test_cache_dir().join("durations.json")), ..options(features, false) };
    runner::run(RunContext::new(candidate, Mode::Live { docker, image, options: cluster }), options).await.unwrap()
}

/// scenario → outcome and failing step: the table kept as a snapshot.
fn verdict_table(report: &Report) -> String {
    let mut rows: Vec<String> = report
        .verdicts
        .iter()
        .map(|v| {
            let outcome = match v.outcome {
                Outcome::Passed => "pass".to_string(),
                Outcome::Failed => format!("FAIL at `{}`", v.failed_step.as_deref().unwrap_or("a hook")),
                Outcome::Undefined => format!("UNDEFINED `{}`", v.failed_step.as_deref().unwrap_or("")),
                // A scenario whose steps lacked evidence names no one step: its reason says what was not judged.
                Outcome::NotApplicable => match &v.failed_step {
                    Some(step) => format!("N/A at `{step}`"),
                    None => format!("N/A: {}", v.reason.as_deref().unwrap_or_default().trim_start_matches("not applicable: ")),
                },
                Outcome::InfraError => format!("ERROR at `{}`", v.failed_step.as_deref().unwrap_or("a hook")),
            };
            format!("{} » {}: {outcome}", v.feature, v.scenario)
        })
        .collect();
    rows.sort();
    rows.join("\n")
}

/// Failing scenarios with their reasons, for assertion messages. Also written
/// to stderr: cucumber's panic hook can swallow the panic message itself.
fn failures(report: &Report) -> String {
    let text = failure_lines(report);
    if !text.is_empty() {
        eprintln!("{text}");
    }
    text
}

fn failure_lines(report: &Report) -> String {
    report
        .verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Passed)
        .map(|v| format!("{} » {}: {}", v.feature, v.scenario, v.reason.as_deref().unwrap_or("")))
        .chain(report.infra_errors.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn reason<'a>(report: &'a Report, scenario: &str) -> &'a str {
    let verdict = report.verdicts.iter().find(|v| v.scenario == scenario).unwrap_or_else(|| panic!("no scenario `{scenario}`"));
    verdict.reason.as_deref().unwrap_or("")
}

/// The scenario's reason says `expected`; a failure shows what it said instead.
#[track_caller]
fn assert_reason(report: &Report, scenario: &str, expected: &str) {
    let said = reason(report, scenario);
    assert!(said.contains(expected), "`{scenario}` should say `{expected}`; it said: {said:?}\n{}", verdict_table(report));
}

#[tokio::test]
async fn lint_passes_the_hardened_candidate() {
    let report = lint("candidates/hardened").await;
    assert_eq!(report.exit_code(), 0, "{}", verdict_table(&report));
    assert!(report.verdicts.iter().all(|v| v.tags.iter().any(|t| t == "static")));
    insta::assert_snapshot!("lint_hardened", verdict_table(&report));
}

#[tokio::test]
async fn lint_fails_the_insecure_candidate_for_the_reasons_it_names() {
    let report = lint("candidates/insecure").await;
    assert_eq!(report.exit_code(), 1);
    // Every scenario fails, but those that need a capture (packages, and drift
    // between nodes) and SBD's, which it does not use.
    let about_packages = |v: &&pcmk_model::verdict::Verdict| {
        v.feature == "Regular updates and patching"
            || v.scenario == "Every node holds the same keys and configuration"
            || v.feature == "SBD fencing"
    };
    assert!(report.verdicts.iter().filter(|v| !about_packages(v)).all(|v| v.outcome == Outcome::Failed), "{}", verdict_table(&report));
    assert!(report.verdicts.iter().filter(about_packages).all(|v| v.outcome == Outcome::NotApplicable), "{}", verdict_table(&report));
    assert_reason(&report, "Corosync runs on the knet transport", "totem.transport is `udpu` (corosync.conf line 5)");
    let fencing = reason(&report, "Fencing is enabled");
    assert!(fencing.contains("stonith-enabled is `false`") && fencing.contains("insecure/cib.xml line 6"), "{fencing}");
    let secrets = reason(&report, "No credentials are hard-coded in the cluster configuration");
    assert!(secrets.contains("`fence-ipmi`") && secrets.contains("`password`"), "{secrets}");
    assert!(!secrets.contains("Sup3rS3cretIPMI"), "a report never carries the secret itself");
    assert!(!format!("{:?}", report.verdicts).contains("Sup3rS3cretIPMI"));
    insta::assert_snapshot!("lint_insecure", verdict_table(&report));
}

/// Fencing enabled, but the only device names node1 and node2: a failure of
/// node3 is never fenced, and lint says so before any cluster is built.
#[tokio::test]
async fn lint_fails_a_cluster_with_a_node_no_fence_device_reaches() {
    let dir = common::hardened_variant("unfenced-node3", |d| {
        let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        let narrowed = cib.replace("value=\"node1 node2 node3\"", "value=\"node1 node2\"");
        assert_ne!(cib, narrowed, "the bundled candidate's device names its three nodes");
        std::fs::write(d.join("cib.xml"), narrowed).unwrap();
    });
    let candidate = Arc::new(Candidate::load(&dir).unwrap());
    let report = runner::run(RunContext::new(candidate, Mode::Static), options(&["features"], true)).await.unwrap();
    let fencing = report.verdicts.iter().find(|v| v.scenario == "Fencing is enabled").unwrap();
    assert_eq!(fencing.outcome, Outcome::Failed, "{}", verdict_table(&report));
    assert_reason(&report, "Fencing is enabled", "node node3 is the target of no enabled fence device");
}

const SBD: &str = "SBD can fence, with timeouts that let a fencing finish";

/// What an SBD variant of candidates/hardened changes.
struct SbdSetup<'a> {
    /// Its `sbd` file (placed at /etc/default/sbd); none: no file.
    sbd: Option<&'a str>,
    /// The agent of an SBD fence device beside its own; none: no SBD device.
    agent: Option<&'a str>,
    /// nvpairs added to its property set.
    options: String,
    /// Whether it keeps its fence_dummy devices (and their topology).
    fence_dummy: bool,
}

fn sbd_variant(name: &str, setup: &SbdSetup) -> PathBuf {
    common::hardened_variant(&format!("sbd-{name}"), |d| {
        let mut cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        cib = cib.replacen("</cluster_property_set>", &format!("{}</cluster_property_set>", setup.options), 1);
        if !setup.fence_dummy {
            // Both fence_dummy devices go, and the topology that names them.
            for (open, close) in [
                ("<primitive id=\"fence-nodes\"", "</primitive>"),
                ("<primitive id=\"fence-backup\"", "</primitive>"),
                ("<fencing-topology>", "</fencing-topology>"),
            ] {
                let start = cib.find(open).unwrap();
                let end = start + cib[start..].find(close).unwrap() + close.len();
                cib.replace_range(start..end, "");
            }
        }
        if let Some(agent) = setup.agent {
            let device = format!("<primitive id=\"fence-sbd\" class=\"stonith\" type=\"{agent}\"/>\n      <primitive id=\"service\"");
            cib = cib.replacen("<primitive id=\"service\"", &device, 1);
        }
        std::fs::write(d.join("cib.xml"), cib).unwrap();
        if let Some(text) = setup.sbd {
            std::fs::write(d.join("sbd"), text).unwrap();
        }
    })
}

fn nvpair(name: &str, value: &str) -> String {
    format!("<nvpair id=\"cib-bootstrap-options-{name}\" name=\"{name}\" value=\"{value}\"/>")
}

async fn lint_candidate(path: &std::path::Path) -> Report {
    let candidate = Arc::new(Candidate::load(path).unwrap());
    runner::run(RunContext::new(candidate, Mode::Static), options(&["features"], true)).await.unwrap()
}

fn verdict<'a>(report: &'a Report, scenario: &str) -> &'a pcmk_model::verdict::Verdict {
    report.verdicts.iter().find(|v| v.scenario == scenario).unwrap_or_else(|| panic!("no scenario `{scenario}`"))
}

const DISKLESS: &str = "SBD_PACEMAKER=yes\nSBD_STARTMODE=clean\nSBD_WATCHDOG_TIMEOUT=5\n";
const ONE_DISK: &str = "SBD_DEVICE=\"/dev/disk/by-id/sbd1\"\nSBD_WATCHDOG_TIMEOUT=5\n";

/// SBD judged from /etc/sysconfig/sbd and the CIB: diskless SBD with its
/// timeouts right passes; each wrong setting fails with its reason.
#[tokio::test]
async fn lint_judges_sbd_from_its_file_and_the_cib() {
    let watchdog = [nvpair("have-watchdog", "true"), nvpair("stonith-watchdog-timeout", "10s")].concat();
    let setup = |sbd, agent, options: &str, fence_dummy| SbdSetup { sbd, agent, options: options.to_string(), fence_dummy };
    let sound = lint_candidate(&sbd_variant("sound", &setup(Some(DISKLESS), None, &watchdog, true))).await;
    assert_eq!(verdict(&sound, SBD).outcome, Outcome::Passed, "{}", verdict_table(&sound));
    assert_eq!(sound.exit_code(), 0, "{}", verdict_table(&sound));

    let short_watchdog_fencing = [nvpair("have-watchdog", "true"), nvpair("stonith-watchdog-timeout", "8s")].concat();
    let cases = [
        (
            "no-fencing",
            setup(Some(DISKLESS), None, &nvpair("have-watchdog", "true"), false),
            "no enabled fence device and stonith-watchdog-timeout is unset",
        ),
        ("no-disk", setup(Some(DISKLESS), Some("fence_sbd"), "", true), "watches no disk"),
        ("no-file", setup(None, Some("external/sbd"), "", true), "the node has no /etc/sysconfig/sbd or /etc/default/sbd"),
        ("no-pacemaker", setup(Some("SBD_PACEMAKER=no\n"), None, &watchdog, true), "SBD_PACEMAKER=`no`"),
        ("short-watchdog", setup(Some("SBD_WATCHDOG_TIMEOUT=3\n"), None, &watchdog, true), "SBD_WATCHDOG_TIMEOUT is 3 s"),
        (
            "two-devices",
            setup(Some("SBD_DEVICE=\"/dev/a;/dev/b\"\n"), Some("external/sbd"), &nvpair("stonith-timeout", "60s"), true),
            "names 2 devices",
        ),
        ("short-fencing", setup(Some(ONE_DISK), Some("external/sbd"), &nvpair("stonith-timeout", "10s"), true), "waits 10 s for a fencing"),
        ("short-watchdog-fencing", setup(Some(DISKLESS), None, &short_watchdog_fencing, true), "less than twice SBD_WATCHDOG_TIMEOUT"),
    ];
    for (name, setup, expected) in cases {
        let report = lint_candidate(&sbd_variant(name, &setup)).await;
        assert_eq!(verdict(&report, SBD).outcome, Outcome::Failed, "{name}: {}", verdict_table(&report));
        assert_reason(&report, SBD, expected);
    }
}

/// What the candidate cannot show leaves SBD not applicable, with how to bring it.
#[tokio::test]
async fn lint_leaves_sbd_not_applicable_without_evidence() {
    let hardened = lint("candidates/hardened").await;
    assert_eq!(verdict(&hardened, SBD).outcome, Outcome::NotApplicable);
    assert_reason(&hardened, SBD, "the cluster does not use SBD");
    // A CIB alone with an SBD device: the file that says how sbd runs is not in it.
    let sbd_device = SbdSetup { sbd: None, agent: Some("fence_sbd"), options: nvpair("stonith-timeout", "60s"), fence_dummy: true };
    let report = lint_candidate(&sbd_variant("bare-cib", &sbd_device).join("cib.xml")).await;
    assert_eq!(verdict(&report, SBD).outcome, Outcome::NotApplicable, "{}", verdict_table(&report));
    assert_reason(&report, SBD, "a CIB alone does not carry /etc/sysconfig/sbd: put it beside the CIB");
    // Disk-based SBD without a dump of the device: msgwait is on the disk.
    let report = lint_candidate(&sbd_variant("no-dump", &SbdSetup { sbd: Some(ONE_DISK), ..sbd_device })).await;
    assert_eq!(verdict(&report, SBD).outcome, Outcome::NotApplicable, "{}", verdict_table(&report));
    assert_reason(&report, SBD, "only `sbd -d DEV dump` shows: capture the nodes");
}

#[tokio::test]
async fn lint_reads_a_plain_pcs_corosync_conf() {
    let candidate = Arc::new(Candidate::load(&repo_path("tests/fixtures/pcs-corosync.conf")).unwrap());
    let report = runner::run(RunContext::new(candidate, Mode::Static), options(&["features/communication.feature"], true)).await.unwrap();
    let knet = report.verdicts.iter().find(|v| v.scenario == "Corosync runs on the knet transport").unwrap();
    assert_eq!(knet.outcome, Outcome::Passed);
    // No CIB: the CIB checks have nothing to judge, and never pass.
    let secrets = report.verdicts.iter().find(|v| v.scenario == "No credentials are hard-coded in the cluster configuration").unwrap();
    assert_eq!(secrets.outcome, Outcome::NotApplicable);
    assert_reason(&report, "No credentials are hard-coded in the cluster configuration", "the candidate has no CIB");
    // No authkey: the harness made the one the cluster uses, which says nothing of the candidate.
    assert_reason(
        &report,
        "Every node holds the same strong corosync key, readable by root only",
        "the candidate brings no /etc/corosync/authkey",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_passes_the_hardened_candidate_on_a_live_cluster() {
    let report = run_live(repo_path("candidates/hardened"), &["features"]).await;
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert!(report.harness_notes.iter().any(|n| n.contains("dc-deadtime=2s")));
    assert!(report.harness_notes.iter().any(|n| n.contains("fence agent of fence-nodes=fence_pcmk_comply")));
    assert!(report.measurements.iter().any(|m| m.what.starts_with("failover of service from")), "{:?}", report.measurements);
    assert!(report.measurements.iter().any(|m| m.what.starts_with("fencing of")), "{:?}", report.measurements);
    let hung = |kind| report.measurements.iter().any(|m| m.kind == kind && m.scenario.as_deref() == Some(HUNG_COROSYNC));
    assert!(hung(pcmk_model::measurement::Kind::Failover) && hung(pcmk_model::measurement::Kind::Fencing), "{:?}", report.measurements);
    // Typed for the HTML report's chart and timeline: bounds beside the time, each scenario on its cluster's lane.
    let failover = report.measurements.iter().find(|m| m.kind == pcmk_model::measurement::Kind::Failover).expect("a failover measured");
    assert!(failover.took.is_some() && failover.floor.is_some() && failover.slo.is_some() && failover.scenario.is_some(), "{failover:?}");
    let killed = report
        .verdicts
        .iter()
        .find(|v| v.scenario == "A killed node's resource moves and the node is fenced")
        .expect("the failover scenario ran");
    assert!(killed.started.is_some() && killed.cluster.as_deref().is_some_and(|c| c.starts_with("own cluster")), "{killed:?}");
    assert!(report.info.cluster_starts.iter().any(|c| Some(&c.lane) == killed.cluster.as_ref()), "{:?}", report.info.cluster_starts);
    insta::assert_snapshot!("run_hardened", verdict_table(&report));
    // The next run starts the longest scenarios first.
    let durations = pcmk_steps::durations::Durations::load_from(Some(test_cache_dir().join("durations.json")));
    let upgrade = durations
        .expected("Rolling upgrade", "A rolling upgrade to the next release keeps the service running")
        .expect("a passed scenario's time is kept");
    let timestamps =
        durations.expected("Auditing", "Cluster logs carry timestamps on every node").expect("a passed scenario's time is kept");
    assert!(upgrade > timestamps, "{upgrade:?} {timestamps:?}");
    // What a cibadmin backup carries, restored on a fresh cluster: a change shows up in review.
    insta::assert_snapshot!("restored_configuration_cibadmin", report.artifacts["restored configuration (cibadmin --query)"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn run_fails_the_insecure_candidate_on_a_live_cluster() {
    let report = run_live(repo_path("candidates/insecure"), &["features"]).await;
    assert!(report.infra_errors.is_empty(), "{:?}", report.infra_errors);
    assert_eq!(report.exit_code(), 1);
    let wire = reason(&report, "Nothing about the cluster crosses the wire in clear text");
    assert!(wire.contains("the CIB change") && wire.contains("a node name"), "{wire}");
    assert_reason(&report, "knet really encrypts the traffic it sends", "not encrypted");
    assert_reason(&report, "A read-only role can read the configuration but not change it", "`auditor` changed the CIB");
    assert_reason(&report, "Operators may run only the cluster commands they need through sudo", "run `ALL`");
    assert_reason(&report, "Resource agents cannot be replaced by unprivileged users", "/usr/lib/ocf/resource.d/custom/app");
    assert_reason(&report, "Cluster ports answer the cluster's own nodes only", "TCP port 3121 answers a host outside the cluster");
    assert_reason(&report, "A node without the key cannot join", "joined as node3");
    assert_reason(&report, "A node cut off from the others never runs the resource beside them", "split brain");
    assert_reason(&report, "A killed node's resource moves and the node is fenced", "was not fenced");
    assert_reason(&report, HUNG_COROSYNC, "was not fenced");
    assert_reason(&report, "A cibadmin backup is private and restores the whole configuration", "mode 0644");
    assert_reason(&report, "A node that loses quorum stops its resources", "still runs on");
    assert_reason(&report, "The hacluster account has no default password", "well-known default password");
    assert_reason(&report, "Audit rules watch the cluster's configuration and keys", "/etc/corosync is not watched");
    assert_reason(&report, "A change to the CIB can be traced to the user who made it", "no syslog line (auth.log) names `operator`");
    assert_reason(
        &report,
        "Tampering with the configuration and the key is detected",
        "did not report /etc/corosync/corosync.conf, /etc/corosync/authkey",
    );
    assert_reason(&report, "The cluster's ports do not answer on the public network", "answers a host on the public network");
    assert_reason(&report, "Cluster daemons listen on the cluster network only", "pcsd listens on [::]:2224");
    assert_reason(&report, "Every node's cluster logs reach the central log server", "no node's rsyslog forwards anywhere");
    assert_reason(&report, "A failover raises an alert at the central log server", "no alert tagged `pcmk-alert`");
    assert_reason(&report, "Corosync crashing on a node does not take the service down", "corosync is not running on");
    assert_reason(&report, "Pacemakerd crashing on a node does not take the service down", "pacemaker is not running on");
    // The nodes' corosync.conf has its nodelist written for the run; findings keep the candidate's lines.
    assert_reason(&report, "Corosync logs to a file and to syslog with timestamps", "logging.to_logfile is `no` (corosync.conf line 34)");
    let logging = report.verdicts.iter().find(|v| v.scenario == "Corosync logs to a file and to syslog with timestamps").unwrap();
    let lines: Vec<usize> = logging.findings.iter().filter_map(|f| f.place.as_ref()).map(|p| p.line).collect();
    assert!(lines.contains(&34) && lines.iter().all(|l| (34..=36).contains(l)), "{lines:?}");
    let password = reason(&report, "The hacluster account has no default password");
    assert!(!password.contains("linux"), "which default the password is stays unsaid: {password}");
    insta::assert_snapshot!("run_insecure", verdict_table(&report));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_patch_check_fails_when_the_stack_is_older_than_required() {
    let report = run_live(repo_path("candidates/hardened"), &["tests/features/newer-than-installed.feature"]).await;
    assert_eq!(report.exit_code(), 1);
    assert_reason(&report, "Pacemaker from the future is required", "is older than 99.0 (a fix from later)");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_udp_probe_sees_datagrams_that_no_firewall_stops() {
    let report = run_live(repo_path("candidates/insecure"), &["tests/features/udp-outsider.feature"]).await;
    assert_eq!(report.exit_code(), 1, "{}", failures(&report));
    let why = reason(&report, "Corosync's ports take no datagrams from outside");
    assert!(why.contains("UDP port 5405 took") && why.contains("UDP port 5406 took"), "{why}");
}

/// The hung-corosync scenario alone: corosync stopped with SIGSTOP on the node running the resource.
const HUNG_COROSYNC_FEATURE: &str = "tests/features/hung-corosync.feature";
const HUNG_COROSYNC: &str = "A node whose corosync hangs is fenced and its resource moves";

/// With fencing, the hung node is powered off and its resource moves within
/// the service level, each figure timed from the pause beside corosync's floor.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_corosync_is_fenced_and_its_resource_moves() {
    let report = run_live(repo_path("candidates/hardened"), &[HUNG_COROSYNC_FEATURE]).await;
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert_eq!(report.verdicts.len(), 1, "{}", verdict_table(&report));
    assert_eq!(report.verdicts[0].outcome, Outcome::Passed, "{}", verdict_table(&report));
    let timed = |kind| {
        report
            .measurements
            .iter()
            .find(|m| m.kind == kind && m.scenario.as_deref() == Some(HUNG_COROSYNC))
            .unwrap_or_else(|| panic!("no {kind:?} measured: {:?}", report.measurements))
    };
    let failover = timed(pcmk_model::measurement::Kind::Failover);
    let fencing = timed(pcmk_model::measurement::Kind::Fencing);
    let (took, floor) = (failover.took.unwrap(), failover.floor.unwrap());
    assert!(floor <= took && failover.within_slo() == Some(true), "{failover:?}");
    // Pacemaker starts the resource elsewhere only once the hung node is fenced.
    let fenced = fencing.took.expect("the fencing is timed from the pause");
    assert!(floor <= fenced && fenced <= took, "fenced after {fenced:?}, moved after {took:?}: {fencing:?}");
    eprintln!("measured: {failover}\nmeasured: {fencing} ({:.2}s after the pause)", fenced.as_secs_f64());
}

/// Without fencing, the others start the resource while the hung node still
/// runs it: the scenario fails on the fencing, not on the move.
#[tokio::test(flavor = "multi_thread")]
async fn a_hung_corosync_without_fencing_fails_for_want_of_fencing() {
    let dir = common::hardened_variant("hung-unfenced", |d| {
        let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        let unfenced = cib.replace("name=\"stonith-enabled\" value=\"true\"", "name=\"stonith-enabled\" value=\"false\"");
        assert_ne!(cib, unfenced, "the bundled candidate enables fencing");
        std::fs::write(d.join("cib.xml"), unfenced).unwrap();
    });
    let report = run_live(dir.clone(), &[HUNG_COROSYNC_FEATURE]).await;
    assert_eq!(report.exit_code(), 1, "{}", failures(&report));
    assert!(report.infra_errors.is_empty(), "{:?}", report.infra_errors);
    assert_eq!(report.verdicts[0].outcome, Outcome::Failed, "{}", verdict_table(&report));
    assert!(
        report.verdicts[0].failed_step.as_deref().is_some_and(|s| s.contains("the faulted node was fenced")),
        "{}",
        verdict_table(&report)
    );
    assert_reason(&report, HUNG_COROSYNC, "was not fenced");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A candidate made wrong for a scenario: the run fails, that scenario for
/// `why`, and the harness had no error of its own.
fn assert_fails_for(report: &Report, scenario: &str, why: &str) {
    assert_eq!(report.exit_code(), 1, "{}", failures(report));
    assert!(report.infra_errors.is_empty(), "{:?}", report.infra_errors);
    let verdict = report.verdicts.iter().find(|v| v.scenario == scenario);
    assert_eq!(verdict.map(|v| v.outcome), Some(Outcome::Failed), "{scenario}: {}", verdict_table(report));
    assert_reason(report, scenario, why);
}

/// The packet-loss scenarios alone: 10 % and 30 % of corosync's UDP dropped on the node running the resource.
const PACKET_LOSS_FEATURE: &str = "tests/features/packet-loss.feature";
const PACKET_LOSS_10: &str = "A cluster rides out 10 % packet loss on corosync's links without fencing or failover";
const PACKET_LOSS_30: &str = "A cluster rides out 30 % packet loss on corosync's links without fencing or failover";

fn loss_windows(report: &Report) -> Vec<&pcmk_model::measurement::Measurement> {
    let windows: Vec<_> = report.measurements.iter().filter(|m| m.kind == pcmk_model::measurement::Kind::PacketLoss).collect();
    for window in &windows {
        eprintln!("measured: {window}");
    }
    windows
}

/// With knet pinging every 150 ms and waiting 3 s for a pong, and the token
/// retransmitted 10 times, the cluster rides out 10 % and 30 % loss: nobody
/// fenced, nothing moved, everyone a member; each window is charted with the
/// datagrams the rules dropped and corosync's retransmits.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_rides_out_packet_loss_on_corosyncs_port() {
    let report = run_live(repo_path("candidates/hardened"), &[PACKET_LOSS_FEATURE]).await;
    let windows = loss_windows(&report);
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert!(report.verdicts.iter().all(|v| v.outcome == Outcome::Passed), "{}", verdict_table(&report));
    assert_eq!(windows.len(), 2, "{:?}", report.measurements);
    for window in windows {
        assert!(window.what.contains("ridden out") && window.what.contains("corosync retransmitted"), "{window}");
        assert!(window.what.contains("datagrams to and from corosync's ports dropped"), "{window}");
        // A window ridden out is as long as asked; no corosync floor applies to it.
        assert!(window.within_slo() == Some(true) && window.floor.is_none(), "{window:?}");
    }
}

/// With pcs's defaults (knet pings every token/4 and calls the only link
/// down after token/2 without a pong; the token retransmitted 4 times) 30 %
/// loss takes the node out of the membership, and the scenario says so. (At
/// 10 % it does so only at times: that verdict is not asserted.)
#[tokio::test(flavor = "multi_thread")]
async fn packet_loss_takes_a_node_out_with_pcs_default_heartbeat() {
    let dir = common::hardened_variant("loss-pcs-defaults", |d| {
        let conf = std::fs::read_to_string(d.join("corosync.conf")).unwrap();
        let start = conf.find("    token_retransmits_before_loss_const").expect("the bundled candidate tunes the token");
        let end = conf[start..].find("    }\n").expect("and its link") + start + "    }\n".len();
        std::fs::write(d.join("corosync.conf"), format!("{}{}", &conf[..start], &conf[end..])).unwrap();
    });
    let report = run_live(dir.clone(), &[PACKET_LOSS_FEATURE]).await;
    let windows = loss_windows(&report);
    assert_fails_for(&report, PACKET_LOSS_30, "into the packet loss on");
    assert!(
        windows.iter().any(|w| w.scenario.as_deref() == Some(PACKET_LOSS_30) && !w.what.contains("ridden out")),
        "{:?}",
        report.measurements
    );
    assert!(report.verdicts.iter().any(|v| v.scenario == PACKET_LOSS_10), "{}", verdict_table(&report));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The one-way partition alone: the node running the resource drops what the others send.
const ONE_WAY_FEATURE: &str = "tests/features/one-way-partition.feature";
const ONE_WAY: &str = "A node that hears none of the others never runs the resource beside them";

/// With fencing and no-quorum-policy=stop the majority fences the deaf node
/// and takes the resource over: it never runs on both sides.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_way_partition_is_settled_without_split_brain() {
    let report = run_live(repo_path("candidates/hardened"), &[ONE_WAY_FEATURE]).await;
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert_eq!(report.verdicts.len(), 1, "{}", verdict_table(&report));
    assert_eq!(report.verdicts[0].outcome, Outcome::Passed, "{}", verdict_table(&report));
}

/// Without fencing and with no-quorum-policy=ignore the deaf node keeps the
/// resource while the majority starts it: split brain, and the scenario says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_one_way_partition_without_fencing_runs_the_resource_twice() {
    let dir = common::hardened_variant("one-way-unfenced", |d| {
        let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        let unfenced = cib
            .replace("name=\"stonith-enabled\" value=\"true\"", "name=\"stonith-enabled\" value=\"false\"")
            .replace("name=\"no-quorum-policy\" value=\"stop\"", "name=\"no-quorum-policy\" value=\"ignore\"");
        assert!(
            unfenced.contains("name=\"stonith-enabled\" value=\"false\"")
                && unfenced.contains("name=\"no-quorum-policy\" value=\"ignore\""),
            "the bundled candidate fences and stops without quorum"
        );
        std::fs::write(d.join("cib.xml"), unfenced).unwrap();
    });
    let report = run_live(dir.clone(), &[ONE_WAY_FEATURE]).await;
    assert_fails_for(&report, ONE_WAY, "split brain");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The failed-fencing scenario alone: every fencing request fails, then corosync hangs on the node running the resource.
const FAILED_FENCING_FEATURE: &str = "tests/features/failed-fencing.feature";
const FAILED_FENCING: &str = "A lost node whose fencing fails never has its resource started elsewhere";

/// With fencing enabled, Pacemaker never starts the hung node's resource
/// elsewhere while every fencing fails, and its fencer history reports the failures.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_whose_fencing_fails_keeps_its_resource_alone() {
    let report = run_live(repo_path("candidates/hardened"), &[FAILED_FENCING_FEATURE]).await;
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert_eq!(report.verdicts[0].outcome, Outcome::Passed, "{}", verdict_table(&report));
    let window =
        report.measurements.iter().find(|m| m.kind == pcmk_model::measurement::Kind::FailedFencing).expect("the window is charted");
    eprintln!("measured: {window}");
    assert!(
        window.what.contains("ran nowhere else") && window.what.contains("all failed") && window.what.contains(" failed: "),
        "{window}"
    );
}

/// Without fencing the others start the hung node's resource at once: the
/// scenario fails on the resource running elsewhere unfenced.
#[tokio::test(flavor = "multi_thread")]
async fn without_fencing_a_lost_node_s_resource_starts_elsewhere() {
    let dir = common::hardened_variant("failed-fencing-unfenced", |d| {
        let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        let unfenced = cib.replace("name=\"stonith-enabled\" value=\"true\"", "name=\"stonith-enabled\" value=\"false\"");
        assert_ne!(cib, unfenced, "the bundled candidate enables fencing");
        std::fs::write(d.join("cib.xml"), unfenced).unwrap();
    });
    let report = run_live(dir.clone(), &[FAILED_FENCING_FEATURE]).await;
    assert_fails_for(&report, FAILED_FENCING, "never asked to be fenced");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The slow-fencing scenario alone: the fence device takes 10 s, then corosync hangs on the node running the resource.
const SLOW_FENCING_FEATURE: &str = "tests/features/slow-fencing.feature";
const SLOW_FENCING: &str = "A slow fence device still fences, and the resource moves only after it";

/// With Pacemaker's default fencing timeout (60 s) the cluster waits for the
/// device and moves the resource after the node is off.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_fence_device_is_waited_for() {
    let report = run_live(repo_path("candidates/hardened"), &[SLOW_FENCING_FEATURE]).await;
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert_eq!(report.verdicts[0].outcome, Outcome::Passed, "{}", verdict_table(&report));
    let failover = report.measurements.iter().find(|m| m.kind == pcmk_model::measurement::Kind::Failover).expect("the failover is charted");
    eprintln!("measured: {failover}");
    let (took, floor) = (failover.took.unwrap(), failover.floor.unwrap());
    // Behind a 10 s device: at least the corosync floor and the delay.
    assert!(took >= floor + std::time::Duration::from_secs(10) && failover.what.contains("after the fencing"), "{failover:?}");
}

/// A stonith-timeout of 5 s gives up on a device that takes 10 s: the node is
/// never counted fenced, the resource never moves, and the fencer says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_fencing_timeout_shorter_than_the_device_never_fences() {
    let dir = common::hardened_variant("slow-fencing-short-timeout", |d| {
        let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        let enabled = "<nvpair id=\"cib-bootstrap-options-stonith-enabled\" name=\"stonith-enabled\" value=\"true\"/>";
        let short = cib.replace(
            enabled,
            &format!("{enabled}<nvpair id=\"cib-bootstrap-options-stonith-timeout\" name=\"stonith-timeout\" value=\"5s\"/>"),
        );
        assert_ne!(cib, short, "the bundled candidate enables fencing");
        std::fs::write(d.join("cib.xml"), short).unwrap();
    });
    let report = run_live(dir.clone(), &[SLOW_FENCING_FEATURE]).await;
    assert_fails_for(&report, SLOW_FENCING, "did not complete within 5s");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The fencing-topology scenario alone: every node's first level fails, then corosync hangs on the node running the resource.
const TOPOLOGY_FEATURE: &str = "tests/features/fencing-topology.feature";
const TOPOLOGY: &str = "When a node's first fencing level fails, its next level fences it";

/// Each node's second level (fence-backup) fences it once its first
/// (fence-nodes) failed, and the resource moves.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_fencing_level_fences_when_the_first_fails() {
    let report = run_live(repo_path("candidates/hardened"), &[TOPOLOGY_FEATURE]).await;
    assert_eq!(report.exit_code(), 0, "{}", failures(&report));
    assert_eq!(report.verdicts[0].outcome, Outcome::Passed, "{}", verdict_table(&report));
    let fencing = report.measurements.iter().find(|m| m.kind == pcmk_model::measurement::Kind::Fencing).expect("the fencing is charted");
    eprintln!("measured: {fencing}");
    assert!(fencing.what.contains("by fence-backup") && fencing.what.contains("of its first level (fence-nodes)"), "{fencing}");
}

/// With the second level's device disabled nothing fences the node once the
/// first level fails: its resource never moves, and the scenario says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_second_level_leaves_the_node_unfenced() {
    let dir = common::hardened_variant("topology-disabled-backup", |d| {
        let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
        let ops = "          <op id=\"fence-backup-monitor-interval-60s\" name=\"monitor\" interval=\"60s\"/>\n        </operations>";
        let stopped = cib.replace(
            ops,
            &format!("{ops}\n        <meta_attributes id=\"fence-backup-meta\"><nvpair id=\"fence-backup-role\" name=\"target-role\" value=\"Stopped\"/></meta_attributes>"),
        );
        assert_ne!(cib, stopped, "the bundled candidate has a second fencing level");
        std::fs::write(d.join("cib.xml"), stopped).unwrap();
    });
    let report = run_live(dir.clone(), &[TOPOLOGY_FEATURE]).await;
    assert_fails_for(&report, TOPOLOGY, "not fenced");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn run_works_from_a_plain_pcs_corosync_conf() {
    let report = run_live(repo_path("tests/fixtures/pcs-corosync.conf"), &["features/communication.feature"]).await;
    assert!(report.infra_errors.is_empty(), "{:?}", report.infra_errors);
    // pcs writes knet with crypto; a bare corosync.conf brings no firewall, no CIB and no key,
    // and the lab nodes' own firewall is never judged as the candidate's.
    let firewall = ["A firewall is loaded on every node", "Cluster ports answer the cluster's own nodes only"];
    let nothing_to_judge = [
        "No credentials are hard-coded in the cluster configuration",
        "Every node holds the same strong corosync key, readable by root only",
    ];
    for verdict in &report.verdicts {
        let scenario = verdict.scenario.as_str();
        let expected =
            if firewall.contains(&scenario) || nothing_to_judge.contains(&scenario) { Outcome::NotApplicable } else { Outcome::Passed };
        assert_eq!(verdict.outcome, expected, "{}", verdict_table(&report));
    }
    for scenario in firewall {
        let reason = report.verdicts.iter().find(|v| v.scenario == scenario).and_then(|v| v.reason.clone()).unwrap_or_default();
        assert!(reason.contains("a corosync.conf alone does not carry /etc/nftables.conf"), "{scenario}: {reason}");
    }
}

fn pcmk(args: &[&str]) -> (i32, String, String) {
    let output = binary().args(args).current_dir(repo_path("")).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn lint_exit_codes_follow_the_verdicts() {
    assert_eq!(pcmk(&["lint"]).0, 0);
    let (code, stdout, _) = pcmk(&["lint", "--candidate", "candidates/insecure"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("20 scenarios: 0 passed, 16 failed, 0 waived, 4 not applicable"), "{stdout}");
    let (code, stdout, _) = pcmk(&["lint", "--tags", "@communication and @critical"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("lint: 5 scenarios: 5 passed"), "{stdout}");
}

#[test]
fn authoring_mistakes_are_errors_not_verdicts() {
    let (code, stdout, stderr) = pcmk(&["lint", "tests/features/live-step-tagged-static.feature"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.contains("authoring error: `knet's packet counters` needs a running cluster"), "{stdout}");
    let (code, stdout, _) = pcmk(&["lint", "tests/features/undefined-step.feature"]);
    assert_eq!(code, 2);
    assert!(stdout.contains("UNDEFINED"), "{stdout}");
    let (code, _, stderr) = pcmk(&["lint", "--tags", "@a and and", "features"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad tag expression"), "{stderr}");
    let (code, _, stderr) = pcmk(&["lint", "no/such/features"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/features"), "{stderr}");
    // A step's argument that cannot mean anything is the scenario's mistake, not the candidate's.
    let (code, stdout, stderr) = pcmk(&["lint", "tests/features/bad-owner-argument.feature"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.contains("authoring error: owner `root` must be user:group"), "{stdout}");
}

/// A step that breaks the cluster, in a scenario not tagged @destructive,
/// is the author's mistake: exit 2, never a verdict about the cluster.
#[tokio::test(flavor = "multi_thread")]
async fn a_destructive_step_in_an_untagged_scenario_is_an_authoring_error() {
    let report = run_live(repo_path("candidates/hardened"), &["tests/features/destructive-step-untagged.feature"]).await;
    assert_eq!(report.exit_code(), 2, "{}", verdict_table(&report));
    let verdict = &report.verdicts[0];
    assert_eq!(verdict.outcome, Outcome::Undefined, "{}", verdict_table(&report));
    assert!(reason(&report, &verdict.scenario).contains("authoring error: this step breaks the cluster: tag the scenario @destructive"));
    assert!(verdict.findings.is_empty(), "an authoring error finds nothing about the cluster");
}

#[test]
fn malformed_gherkin_names_the_file() {
    let dir = std::env::temp_dir().join(format!("pcmk-gherkin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.feature");
    std::fs::copy(repo_path("tests/features/broken.feature.txt"), &file).unwrap();
    let (code, _, stderr) = pcmk(&["lint", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broken.feature") && stderr.contains("Error at 1:1"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_candidates_are_exit_2_in_run_and_lint_alike() {
    let dir = std::env::temp_dir().join(format!("pcmk-badcib-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo_path("candidates/hardened/corosync.conf"), dir.join("corosync.conf")).unwrap();
    std::fs::write(dir.join("cib.xml"), "<cib>\n<configuration>\n</cib>\n").unwrap();
    std::fs::write(dir.join("candidate.toml"), "[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\n[[file]]\nsource = \"cib.xml\"\npath = \"/var/lib/pacemaker/cib/cib.xml\"\n").unwrap();
    for command in ["lint", "run"] {
        let (code, _, stderr) = pcmk(&[command, "--candidate", dir.to_str().unwrap()]);
        assert_eq!(code, 2, "{command}: {stderr}");
        assert!(stderr.contains("cib.xml:3:"), "{command}: {stderr}");
    }
    std::fs::copy(repo_path("candidates/hardened/cib.xml"), dir.join("cib.xml")).unwrap();
    std::fs::write(dir.join("corosync.conf"), "totem {\n  version 2\n}\n").unwrap();
    for command in ["lint", "run"] {
        let (code, _, stderr) = pcmk(&[command, "--candidate", dir.to_str().unwrap()]);
        assert_eq!(code, 2, "{command}: {stderr}");
        assert!(stderr.contains("corosync.conf:2:"), "{command}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_at_once_each_see_the_open_port() {
    // Before probes took turns, one probe's end stopped the listeners of the
    // others, and three of these four passed.
    let report = run_live(repo_path("candidates/insecure"), &["tests/features/probes-at-once.feature"]).await;
    assert!(report.infra_errors.is_empty(), "{:?}", report.infra_errors);
    assert_eq!(report.verdicts.len(), 4);
    for verdict in &report.verdicts {
        assert_reason(&report, &verdict.scenario, "TCP port 3121 answers a host");
    }
}
