//! `compare`: the policy on two versions, the verdicts that changed, and what
//! in the candidate the newer version removed or changed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::ClusterOptions;
use pcmk_containers::engine;
use pcmk_containers::error::InputError;
use pcmk_containers::image::NodeImage;
use pcmk_containers::knowledge;
use pcmk_model::node::Distro;
use pcmk_model::report::Report;
use pcmk_reports::compare::{Behaviour, Finding};
use pcmk_steps::durations;
use pcmk_steps::run_context::{Mode, RunContext};
use pcmk_steps::runner::{self, RunOptions};

use crate::args::FeatureArgs;
use crate::EXIT_ERROR;

pub struct Compare {
    pub candidate: PathBuf,
    pub from: Distro,
    pub to: Distro,
    pub tags: Option<String>,
    pub features: FeatureArgs,
    pub json: Option<PathBuf>,
    pub report: Option<PathBuf>,
}

/// What in the candidate the newer version removed or changed: its settings
/// against what each version's own software lists (cached per image), the
/// newer version's crm_verify and dry CIB upgrade, and what no option table
/// lists (nagios and upstart resources, master resources, pre-3.0 roles),
/// each citing what the newer version does.
async fn findings(
    docker: &pcmk_containers::Docker,
    older: &NodeImage,
    newer: &NodeImage,
    candidate: &Candidate,
    from: Distro,
    to: Distro,
) -> anyhow::Result<Vec<Finding>> {
    let ((old, old_cached), (new, new_cached)) = tokio::try_join!(knowledge::of_image(docker, older), knowledge::of_image(docker, newer))?;
    for (distro, k, cached) in [(from, &old, old_cached), (to, &new, new_cached)] {
        eprintln!(
            "compare: {distro} lists {} cluster options, {} pcsd variables, {} corosync keys ({}){}",
            k.cluster_options.len(),
            k.pcsd_env.len(),
            k.corosync_keys.len(),
            ["pacemaker", "pcs", "corosync"].map(|p| k.named(p)).join(", "),
            if cached { " (cached)" } else { "" }
        );
    }
    let upgrade = match candidate.file_at(pcmk_model::node::CIB_XML) {
        Some(cib) => Some(knowledge::upgrade(docker, newer, &cib.content).await?),
        None => None,
    };
    let settings = knowledge::judge::settings(candidate);
    let (older, newer) = (from.to_string(), to.to_string());
    let judged = knowledge::judge::judge(
        &settings,
        upgrade.as_ref(),
        knowledge::judge::Version { name: &older, knows: &old },
        knowledge::judge::Version { name: &newer, knows: &new },
    );
    let target = new.named("pacemaker");
    let behaviour = Behaviour {
        target: &target,
        said: upgrade.as_ref().map(|u| u.said.as_str()).unwrap_or_default(),
        upgraded: upgrade.as_ref().and_then(|u| u.upgraded.as_deref()),
    };
    let mut findings = pcmk_reports::compare::removed_in_pacemaker3(settings.cib.as_slice(), &behaviour);
    findings.extend(judged.into_iter().map(|j| Finding { place: j.place, message: j.message, breaks: j.breaks }));
    findings.extend(pcmk_reports::compare::tool_findings(&newer, behaviour.said));
    Ok(pcmk_reports::compare::without_quoted(findings))
}

pub async fn compare(Compare { candidate, from, to, tags, features, json, report }: Compare) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let candidate = Arc::new(crate::policy_run::load_converting(&candidate).await?);
    if let Some(tags) = &tags {
        pcmk_steps::selection::parse_tags(tags).map_err(|e| InputError::new("--tags", None, e))?;
    }
    let features = features.sources();
    let docker = engine::connect().await?;
    let mut reports = Vec::new();
    let prepared = crate::images::prepare(&docker, &[from, to]).await?;
    let mut images = Vec::new();
    for distro in [from, to] {
        let image = prepared.image(distro);
        images.push(image.clone());
        eprintln!("compare: running the policy on {distro}");
        let options = ClusterOptions { origin: "compare".into(), ..ClusterOptions::default() };
        let ctx = RunContext::new(candidate.clone(), Mode::Live { docker: docker.clone(), image, options });
        let run = RunOptions {
            features: features.clone(),
            params: Vec::new(),
            strict: false,
            tags: tags.clone(),
            static_only: false,
            concurrency: runner::DEFAULT_CONCURRENCY,
            own_clusters: runner::DEFAULT_OWN_CLUSTERS,
            on_verdict: None,
            shard: None,
            waiver: None,
            durations: durations::default_file(),
        };
        let mut report = runner::run(ctx, run).await?;
        report.info.distro = Some(distro.to_string());
        reports.push(report);
    }
    let (before, after) = (&reports[0], &reports[1]);
    let findings = findings(&docker, &images[0], &images[1], &candidate, from, to).await?;
    let rows = pcmk_reports::compare::rows(before, after);
    let versions = |r: &Report| {
        r.info
            .versions
            .iter()
            .filter(|(p, _)| ["pacemaker", "corosync", "pcs"].contains(&p.as_str()))
            .map(|(p, v)| format!("{p} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("compare {}: {from} ({}) → {to} ({})", candidate.origin.display(), versions(before), versions(after));
    for row in rows.iter().filter(|r| r.change != pcmk_reports::compare::Change::Same) {
        println!("{:<10} {} » {}", row.change.word(), row.feature, row.scenario);
        if let Some(reason) = row.after.and_then(|v| v.reason.as_deref()).filter(|_| row.change != pcmk_reports::compare::Change::Fixed) {
            for line in reason.lines() {
                println!("           {to}: {line}");
            }
        }
    }
    let count = |c: pcmk_reports::compare::Change| rows.iter().filter(|r| r.change == c).count();
    use pcmk_reports::compare::Change;
    println!(
        "{} scenarios: {} regressed, {} new errors, {} fixed, {} missing, {} same",
        rows.len(),
        count(Change::Regressed),
        count(Change::NewError),
        count(Change::Fixed),
        count(Change::Missing),
        count(Change::Same)
    );
    println!("configuration findings for {to}:");
    for f in &findings {
        println!("  {:<8} {}: {}", if f.breaks { "BREAKS" } else { "CHANGES" }, f.place, f.message);
    }
    if findings.is_empty() {
        println!("  none");
    }
    if let Some(path) = &json {
        std::fs::write(path, pcmk_reports::compare::render_json(&from.to_string(), before, &to.to_string(), after, &findings)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &report {
        std::fs::write(path, pcmk_reports::compare::render_html(&from.to_string(), before, &to.to_string(), after, &findings))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    for error in before.infra_errors.iter().chain(&after.infra_errors) {
        eprintln!("pcmk-comply: {error}");
    }
    println!("compare: done in {:.1}s", started.elapsed().as_secs_f64());
    if !before.infra_errors.is_empty() || !before.policy_errors.is_empty() || before.verdicts.is_empty() {
        eprintln!("pcmk-comply: the policy did not run cleanly on {from}, so there is nothing to compare against");
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    let regressed =
        count(Change::Regressed) + count(Change::NewError) > 0 || findings.iter().any(|f| f.breaks) || !after.infra_errors.is_empty();
    Ok(ExitCode::from(if regressed { 1 } else { 0 }))
}
