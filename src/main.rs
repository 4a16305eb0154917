//! pcmk-comply: prove a Pacemaker/Corosync configuration against policy on
//! throwaway clusters. The command line is in `args`; each command lives in a
//! module of its own.

mod args;
mod capture;
mod compare;
mod engine_commands;
mod images;
mod info;
mod policy_run;
mod progress;

use std::process::ExitCode;
use std::time::Duration;

use std::io::IsTerminal;

use clap::{CommandFactory, FromArgMatches};
use pcmk_containers::error::InputError;
use pcmk_containers::{engine, run};
use pcmk_reports::console::{self, ColorChoice};

use crate::args::{Cli, ClusterCommand, Command, ImageCommand, PolicyCommand};
use crate::policy_run::How;

/// Exit codes: 0 success, 1 policy failure, 2 bad input or infrastructure error.
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let color = args::color_given(std::env::args_os());
    let clap_color = match color {
        ColorChoice::Auto => clap::ColorChoice::Auto,
        ColorChoice::Always => clap::ColorChoice::Always,
        ColorChoice::Never => clap::ColorChoice::Never,
    };
    let cli = match Cli::command().color(clap_color).try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let colored = console::wanted(cli.color, std::env::var_os("NO_COLOR").as_deref(), std::io::stdout().is_terminal());
    console::set_color(colored);
    if prints_only(&cli.command) {
        // A closed pipe (`pcmk-comply steps | head`) ends the process quietly with
        // SIGPIPE's status, as for any Unix filter. Commands that drive the engine
        // keep Rust's default (the signal ignored), so a broken engine connection is
        // an error they clean up after, never a silent death.
        // SAFETY: resetting a signal's disposition at start-up, before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let mut filter = tracing_subscriber::EnvFilter::from_env("PCMK_COMPLY_LOG")
        .add_directive(format!("{}=info", pcmk_steps::run_context::PROGRESS_LOG).parse().expect("a valid directive"));
    if cli.verbose {
        filter = filter.add_directive(pcmk_containers::cluster::EXEC_LOG_DIRECTIVE.parse().expect("a valid directive"));
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time()
        .with_level(false)
        .with_writer(std::io::stderr)
        .with_ansi(colored)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("pcmk-comply: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let code = runtime.block_on(run_until_signal(cli));
    runtime.shutdown_timeout(Duration::from_secs(5));
    code
}

/// Runs the command; SIGINT or SIGTERM cancels it and removes every run it started.
async fn run_until_signal(cli: Cli) -> ExitCode {
    use tokio::signal::unix::{signal, SignalKind};
    let (mut interrupt, mut terminate) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(i), Ok(t)) => (i, t),
        _ => {
            eprintln!("pcmk-comply: cannot install signal handlers");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let signal_code = tokio::select! {
        result = dispatch(cli) => return report(result),
        _ = interrupt.recv() => 130,
        _ = terminate.recv() => 143,
    };
    // The command future is dropped by now; its guards removed what they owned.
    // Whatever a cancelled step had not yet handed to a guard goes by label.
    eprintln!("pcmk-comply: interrupted; removing this run's containers and networks");
    if let Ok(docker) = engine::connect().await {
        for run in run::active_runs() {
            if let Err(e) = run::remove_run(&docker, &run).await {
                eprintln!("pcmk-comply: could not remove run {run}: {e:#}; `pcmk-comply gc` will");
            }
        }
    }
    ExitCode::from(signal_code)
}

fn report(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<InputError>() {
                Some(input) => eprintln!("pcmk-comply: error: {input}"),
                None => eprintln!("pcmk-comply: error: {e:#}"),
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Commands that only read and print: no engine, nothing to clean up.
fn prints_only(command: &Command) -> bool {
    matches!(
        command,
        Command::Steps
            | Command::Explain { .. }
            | Command::Policy { .. }
            | Command::Completions { .. }
            | Command::Man
            | Command::Merge { .. }
            | Command::Capture { .. }
    )
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { policy, distro, nodes, concurrency, own_clusters } => {
            policy_run::prove(policy, How::Run { distro, nodes, concurrency, own_clusters }).await
        }
        Command::Lint { policy } => policy_run::prove(policy, How::Lint).await,
        Command::Compare { candidate, from, to, tags, features, json, report } => {
            compare::compare(compare::Compare { candidate, from, to, tags, features, json, report }).await
        }
        Command::Merge { inputs, outputs } => info::merge(inputs, outputs),
        Command::Explain { query, policy } => info::explain(query, policy),
        Command::Policy { command: PolicyCommand::Export { dir } } => info::policy_export(dir),
        Command::Steps => info::steps().await,
        Command::Capture { nodes, out, ssh_config, ssh_options, sudo, allow_partial } => {
            capture::capture(capture::Capture { nodes, out, ssh_config, ssh_options, sudo, allow_partial }).await
        }
        Command::Image { command: ImageCommand::Build { distro } } => engine_commands::image_build(distro).await,
        Command::Image { command: ImageCommand::List } => engine_commands::image_list().await,
        Command::Cluster { command: ClusterCommand::Up { candidate, nodes, distro, ready_timeout, keep, run_id } } => {
            engine_commands::cluster_up(engine_commands::ClusterUp { candidate, nodes, distro, ready_timeout, keep, run_id }).await
        }
        Command::Cluster { command: ClusterCommand::Down { run } } => engine_commands::cluster_down(run).await,
        Command::Gc { all } => engine_commands::gc(all).await,
        Command::Completions { shell } => info::completions(shell),
        Command::Man => info::man(),
    }
}
