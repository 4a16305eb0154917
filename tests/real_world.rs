//! The real-world suite: configurations made by pcs 0.11 and crmsh 4.4 (see
//! tests/fixtures/real/README.md), each judged statically with the expected
//! outcome of every scenario kept as a snapshot, and one run live end to end.
//! No verdict may name a resource, user or host only a bundled candidate defines.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::repo_path;
use pcmk_containers::candidate::Candidate;
use pcmk_model::report::Report;
use pcmk_model::verdict::Status;
use pcmk_steps::policy::FeatureSource;
use pcmk_steps::run_context::{Mode, RunContext};
use pcmk_steps::runner::{self, RunOptions};

/// Every candidate of the suite that needs no engine to load.
const SUITE: &[&str] = &[
    "pcs-backup/lab-backup.tar.bz2",
    "crm-report/lab-report-dc.tar.bz2",
    "crm-report/lab-report-alpha.tar.bz2",
    "pcs-cib/cib.xml",
    "crmsh-made/cib.xml",
    "crmsh-legacy/cib.xml",
    "pcs-knet/corosync.conf",
    "pcs-2node/corosync.conf",
    "pcs012-trixie",
    "cibsecret/backup.tar.bz2",
    "sosreport/sosreport-alpha-2026-12-01-ltjpogb.tar.xz",
];

/// Names that only the bundled candidates define.
const BUNDLED_NAMES: &[&str] = &["service", "operator", "auditor", "guest", "loghost", "fence-nodes"];

fn options(static_only: bool) -> RunOptions {
    RunOptions {
        features: vec![FeatureSource::Builtin],
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

/// scenario → status, with the first line of the reason where it did not pass.
fn outcomes(report: &Report) -> String {
    let mut rows: Vec<String> = report
        .verdicts
        .iter()
        .map(|v| {
            let reason = v
                .reason
                .as_deref()
                .and_then(|r| r.lines().next())
                .map(|r| format!(": {}", r.trim_start_matches("not applicable: ")))
                .unwrap_or_default();
            match v.status() {
                Status::Passed => format!("{} » {}: passed", v.feature, v.scenario),
                status => format!("{} » {}: {}{reason}", v.feature, v.scenario, status.word()),
            }
        })
        .collect();
    rows.sort();
    rows.join("\n")
}

fn names_only_what_the_candidate_defines(report: &Report, candidate: &Candidate) {
    let own: String = candidate.files.iter().map(|f| String::from_utf8_lossy(&f.content).into_owned()).collect();
    for verdict in &report.verdicts {
        let reason = verdict.reason.as_deref().unwrap_or_default();
        for name in BUNDLED_NAMES {
            assert!(
                !reason.contains(&format!("`{name}`")) || own.contains(name),
                "{} names `{name}`, which the candidate does not define: {reason}",
                verdict.scenario
            );
        }
    }
}

fn load(fixture: &str) -> Arc<Candidate> {
    Arc::new(Candidate::load(&PathBuf::from(format!("tests/fixtures/real/{fixture}"))).unwrap_or_else(|e| panic!("{fixture}: {e}")))
}

#[tokio::test]
async fn every_real_configuration_gets_the_verdicts_it_earns() {
    std::env::set_current_dir(repo_path("")).unwrap();
    for fixture in SUITE {
        let candidate = load(fixture);
        let report = runner::run(RunContext::new(candidate.clone(), Mode::Static), options(true)).await.unwrap();
        assert!(report.infra_errors.is_empty() && report.policy_errors.is_empty(), "{fixture}: {:?}", report.infra_errors);
        assert!(report.verdicts.iter().all(|v| v.status() != Status::Undefined), "{fixture}");
        names_only_what_the_candidate_defines(&report, &candidate);
        insta::assert_snapshot!(format!("real_world_lint_{}", fixture.replace(['/', '.'], "_")), outcomes(&report));
    }
}

/// The scenarios whose subject a pcs config backup never holds (pcs/config.py
/// backs up the CIB, corosync.conf, the keys, pcs_settings.conf and uidgid.d).
const BEYOND_A_PCS_BACKUP: &[(&str, &str)] = &[
    ("A firewall is loaded on every node", "does not carry /etc/nftables.conf"),
    ("Audit rules watch the cluster's configuration and keys", "does not carry a file in /etc/audit/rules.d/"),
    ("File integrity monitoring covers the cluster's configuration and keys", "does not carry /etc/aide/aide.conf"),
    ("pcsd listens on cluster addresses only and refuses old TLS", "does not carry /etc/default/pcsd"),
    ("Syslog is forwarded to the central log server", "does not carry /etc/rsyslog.conf"),
    ("The hacluster account has no default password", "does not say how the password of `hacluster` is set"),
];

#[tokio::test]
async fn a_pcs_backup_gets_no_verdict_about_what_it_cannot_hold() {
    std::env::set_current_dir(repo_path("")).unwrap();
    let report = runner::run(RunContext::new(load("pcs-backup/lab-backup.tar.bz2"), Mode::Static), options(true)).await.unwrap();
    for (scenario, why) in BEYOND_A_PCS_BACKUP {
        let verdict = report.verdicts.iter().find(|v| v.scenario == *scenario).unwrap_or_else(|| panic!("no `{scenario}`"));
        assert_eq!(verdict.status(), Status::NotApplicable, "{scenario}:\n{}", outcomes(&report));
        let reason = verdict.reason.as_deref().unwrap_or_default();
        assert!(reason.contains(&format!("a pcs config backup {why}")) && reason.contains("candidate"), "{scenario}: {reason}");
    }
    // What it holds is judged, on the owners and modes its members record: the
    // lab's Pacemaker key is root:haclient 0640, which the policy refuses.
    let protected = report.verdicts.iter().find(|v| v.scenario == "Cluster configuration files and keys are protected").unwrap();
    assert_eq!(protected.status(), Status::Failed, "{}", outcomes(&report));
    assert!(
        protected.reason.as_deref().unwrap_or_default().contains("/etc/pacemaker/authkey is owned by root:haclient"),
        "{:?}",
        protected.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pcs_made_cluster_is_proven_live_on_its_own_resources() {
    std::env::set_current_dir(repo_path("")).unwrap();
    let docker = common::docker().await;
    let image = common::node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    let candidate = load("pcs-backup/lab-backup.tar.bz2");
    let cluster = pcmk_containers::cluster::ClusterOptions { origin: "test".into(), ..Default::default() };
    let report =
        runner::run(RunContext::new(candidate.clone(), Mode::Live { docker, image, options: cluster }), options(false)).await.unwrap();
    assert!(report.infra_errors.is_empty(), "{:?}\n{}\n{:?}", report.infra_errors, outcomes(&report), report.harness_notes);
    names_only_what_the_candidate_defines(&report, &candidate);
    let status = |scenario: &str| {
        report.verdicts.iter().find(|v| v.scenario == scenario).map(|v| v.status()).unwrap_or_else(|| panic!("no `{scenario}`"))
    };
    // The faults aim at the candidate's own resources, and the cluster it configured survives them.
    for scenario in [
        "Every configured resource runs",
        "A killed node's resource moves and the node is fenced",
        "A resource that fails its monitor is recovered",
        "A node that loses quorum stops its resources",
        "A read-only role can read the configuration but not change it",
        "Users outside haclient cannot reach the cluster",
        "Cluster traffic is encrypted and authenticated with strong algorithms",
        "A node without the key cannot join",
    ] {
        assert_eq!(status(scenario), Status::Passed, "{scenario}:\n{}", outcomes(&report));
    }
    // What the backup holds is judged; what it cannot hold is never judged on the lab's nodes instead.
    assert_eq!(status("No credentials are hard-coded in the cluster configuration"), Status::Failed);
    for (scenario, _) in BEYOND_A_PCS_BACKUP {
        assert_eq!(status(scenario), Status::NotApplicable, "{scenario}:\n{}", outcomes(&report));
    }
    for scenario in [
        "Operators may run only the cluster commands they need through sudo",
        "Cluster ports answer the cluster's own nodes only",
        "The cluster stack includes the fixes for known CVEs",
        "Every node runs the same cluster software",
        "Resource agents cannot be replaced by unprivileged users",
    ] {
        assert_eq!(status(scenario), Status::NotApplicable, "{scenario}:\n{}", outcomes(&report));
    }
    assert!(report.measurements.iter().any(|m| m.what.contains("failover of vip")), "{:?}", report.measurements);
    assert!(report.harness_notes.iter().any(|n| n.contains("fence agent of fence-alpha")), "{:?}", report.harness_notes);
}
