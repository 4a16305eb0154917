//! Commands that read the policy or earlier results, and start nothing:
//! `merge`, `explain`, `policy export`, `steps`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use pcmk_containers::error::InputError;
use pcmk_reports::waivers;
use pcmk_steps::policy::FeatureSource;
use pcmk_steps::runner;

use crate::args::{FeatureArgs, OutputArgs};
use crate::policy_run::finish;

/// Completions and the man page come from the same definitions as `--help`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut command = <crate::args::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "pcmk-comply", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub fn man() -> anyhow::Result<ExitCode> {
    let command = <crate::args::Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}

pub fn merge(inputs: Vec<PathBuf>, outputs: OutputArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let waivers = outputs.load_waivers()?;
    let mut report = pcmk_reports::merge::merge(&inputs)?;
    for verdict in &mut report.verdicts {
        verdict.waived_by = waivers::waiver_for(&waivers, waivers::today(), verdict);
        print!("{}", pcmk_reports::console::verdict_block(verdict));
    }
    finish(report, &waivers, &outputs, &format!("merge of {} file(s)", inputs.len()), started)
}

pub fn explain(query: String, policy: FeatureArgs) -> anyhow::Result<ExitCode> {
    let sources = policy.sources();
    let found = pcmk_steps::explain::explain(&sources, &query)?;
    if found.is_empty() {
        let searched = sources.iter().map(FeatureSource::describe).collect::<Vec<_>>().join(", ");
        return Err(InputError::new(searched, None, format!("no scenario matches `{query}`")).into());
    }
    for e in found {
        println!(
            "{} » {}  ({}:{})  {}",
            e.feature,
            e.scenario,
            e.file.display(),
            e.line,
            e.tags.iter().map(|t| format!("@{t}")).collect::<Vec<_>>().join(" ")
        );
        println!("  why: {}", e.guidance.rationale);
        println!("  fix: {}\n", e.guidance.remediation.as_deref().unwrap_or("(the scenario gives none)"));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn policy_export(dir: PathBuf) -> anyhow::Result<ExitCode> {
    for file in pcmk_steps::policy::export(&dir).map_err(|e| InputError::new(&dir, None, format!("cannot write: {e}")))? {
        println!("{}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn steps() -> anyhow::Result<ExitCode> {
    for step in pcmk_steps::catalogue::STEPS {
        let scope = if step.static_ok { "lint and run" } else { "run only" };
        println!("{}\n    {} ({scope})\n    e.g. {}\n", step.pattern, step.meaning, step.example.replace('\n', "\n         "));
    }
    println!("Parameters of the built-in policy (set them in candidate.toml [policy] or with --param NAME=VALUE):");
    for p in runner::declared_parameters(&[FeatureSource::Builtin]).await {
        println!("  {} = {}  ({}) {}", p.name, p.default, p.feature, p.meaning);
    }
    Ok(ExitCode::SUCCESS)
}
