//! The command line: every subcommand and option, as clap reads them.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use pcmk_containers::error::InputError;
use pcmk_containers::run::RunId;
use pcmk_model::node::Distro;
use pcmk_reports::console::ColorChoice;
use pcmk_reports::{waivers, Outputs};
use pcmk_steps::policy::FeatureSource;
use pcmk_steps::runner;
use pcmk_steps::selection::Shard;

#[derive(Parser)]
#[command(name = "pcmk-comply", version, about = "Compliance-as-code for Pacemaker/Corosync clusters")]
pub struct Cli {
    /// Show every command run in a node and its output (secrets redacted).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Colour the console: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto", value_parser = color_parser())]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Prove the policy on throwaway clusters built from a candidate.
    Run {
        #[command(flatten)]
        policy: PolicyArgs,
        /// bookworm or trixie; defaults to the candidate's, else bookworm.
        #[arg(long, value_parser = parse_distro)]
        distro: Option<Distro>,
        /// Number of nodes (1 to 16); defaults to the candidate's.
        #[arg(long)]
        nodes: Option<usize>,
        /// Scenarios on the shared cluster at once.
        #[arg(long, default_value_t = runner::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// `@destructive` scenarios (each on a cluster of its own) at once; their clusters start 3 at a time.
        #[arg(long = "clusters", default_value_t = runner::DEFAULT_OWN_CLUSTERS)]
        own_clusters: usize,
    },
    /// Check the `@static` scenarios against the candidate's files alone (no Docker).
    Lint {
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Make a candidate of a running cluster's nodes, read over SSH, never changed.
    Capture {
        /// A node as ssh reaches it (HOST or USER@HOST). One is enough: the others come from its corosync.conf.
        #[arg(long = "node", required = true, value_name = "HOST")]
        nodes: Vec<String>,
        /// The candidate directory to write; it must not exist.
        #[arg(long, value_name = "DIR")]
        out: std::path::PathBuf,
        /// An ssh config file (ssh -F); by default the user's own.
        #[arg(long, value_name = "FILE")]
        ssh_config: Option<std::path::PathBuf>,
        /// An ssh option (ssh -o), e.g. `--ssh-option User=admin`; repeatable.
        #[arg(long = "ssh-option", value_name = "OPTION=VALUE")]
        ssh_options: Vec<String>,
        /// Read through `sudo -n` as a sudo user, rather than as root.
        #[arg(long)]
        sudo: bool,
        /// Keep the nodes that answered when others do not (the capture says which are missing).
        #[arg(long)]
        allow_partial: bool,
    },
    /// List every step a policy author can use, with its meaning and an example.
    Steps,
    /// Why a scenario matters and how to fix it: by name (substring) or by @tag.
    Explain {
        query: String,
        #[command(flatten)]
        policy: FeatureArgs,
    },
    /// The built-in policy: `policy export DIR` writes its feature files out for editing.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Build or list node images.
    Image {
        #[command(subcommand)]
        command: ImageCommand,
    },
    /// Start or remove a throwaway cluster built from a candidate.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
    },
    /// Before an upgrade: the policy on two versions, the verdicts that changed,
    /// and what in the candidate the newer version removed or changed.
    Compare {
        #[arg(long, default_value = "candidates/hardened")]
        candidate: PathBuf,
        #[arg(long, value_parser = parse_distro, default_value = "bookworm")]
        from: Distro,
        #[arg(long, value_parser = parse_distro, default_value = "trixie")]
        to: Distro,
        /// Cucumber tag expression, e.g. "not @destructive".
        #[arg(long)]
        tags: Option<String>,
        #[command(flatten)]
        features: FeatureArgs,
        /// Write both runs and their difference as JSON.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write both runs side by side as a self-contained HTML page.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
    },
    /// Combine the results of sharded runs into one report.
    Merge {
        /// Each slice's `--report-json FILE` (keeps the timeline) or `--json FILE` (Cucumber JSON), from `run --shard I/N`.
        #[arg(required = true, value_name = "JSON_FILES")]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        outputs: OutputArgs,
    },
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `pcmk-comply man > pcmk-comply.1`.
    Man,
    /// Remove containers and networks that dead runs left behind.
    Gc {
        /// Also remove runs whose owning process is still alive.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Build the node image (reused when its inputs are unchanged).
    Build {
        /// bookworm, trixie or all.
        #[arg(long, default_value = "bookworm")]
        distro: String,
    },
    /// List the images the harness has built.
    List,
}

#[derive(Subcommand)]
pub enum ClusterCommand {
    /// Build a cluster from a candidate, wait until it is ready, and leave it running.
    Up {
        #[arg(long, default_value = "candidates/hardened")]
        candidate: PathBuf,
        /// Number of nodes (1 to 16); defaults to the candidate's.
        #[arg(long)]
        nodes: Option<usize>,
        /// bookworm or trixie; defaults to the candidate's, else bookworm.
        #[arg(long, value_parser = parse_distro)]
        distro: Option<Distro>,
        /// Seconds to wait for quorum, a DC and every node online.
        #[arg(long, default_value_t = 120)]
        ready_timeout: u64,
        /// Keep the containers when start-up fails, for debugging.
        #[arg(long)]
        keep: bool,
        /// Use this run id instead of a random one.
        #[arg(long, value_parser = parse_run_id)]
        run_id: Option<RunId>,
    },
    /// Remove clusters made by `cluster up` (or one run, with --run).
    Down {
        #[arg(long, value_parser = parse_run_id)]
        run: Option<RunId>,
    },
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Write the built-in feature files into DIR.
    Export { dir: PathBuf },
}

/// Which scenarios: the built-in policy, the user's own, or both.
#[derive(clap::Args)]
pub struct FeatureArgs {
    /// Feature files or directories to run instead of the built-in policy.
    #[arg(value_name = "FEATURE_PATHS")]
    pub only: Vec<PathBuf>,
    /// Feature files or directories to run as well as the built-in policy.
    #[arg(long = "features", value_name = "PATH")]
    pub extra: Vec<PathBuf>,
    /// Leave the built-in policy out (with --features).
    #[arg(long)]
    pub no_builtin: bool,
}

impl FeatureArgs {
    pub fn sources(&self) -> Vec<FeatureSource> {
        let builtin = self.only.is_empty() && !self.no_builtin;
        let paths = self.only.iter().chain(&self.extra).cloned().map(FeatureSource::Path);
        builtin.then_some(FeatureSource::Builtin).into_iter().chain(paths).collect()
    }
}

#[derive(clap::Args)]
pub struct PolicyArgs {
    /// The candidate: a directory, a pcs config backup, a crm report, a
    /// sosreport, a CIB, `crm configure show` text or a corosync.conf. Repeat
    /// it, or name a directory of candidate directories, to judge several:
    /// one report with a section per candidate, one exit code.
    #[arg(long = "candidate", default_value = "candidates/hardened")]
    pub candidates: Vec<PathBuf>,
    /// Cucumber tag expression, e.g. "@communication and @critical".
    #[arg(long)]
    pub tags: Option<String>,
    #[command(flatten)]
    pub features: FeatureArgs,
    /// Fail the run when a scenario has nothing to judge in the candidate.
    #[arg(long)]
    pub strict: bool,
    /// A policy parameter, NAME=VALUE (overrides the candidate's [policy]); see `pcmk-comply steps`.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = pcmk_steps::parameters::parse_cli)]
    pub params: Vec<pcmk_steps::parameters::Given>,
    /// Run only slice I of N (e.g. 2/4), for a CI matrix; `merge` joins the slices.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub outputs: OutputArgs,
}

#[derive(clap::Args)]
pub struct OutputArgs {
    /// Write JUnit XML (GitLab, Jenkins).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write Cucumber JSON (`merge` reads it too).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write SARIF 2.1.0 (code scanning).
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Write a self-contained HTML compliance report.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write the whole report as pcmk-comply's own JSON: verdicts with their findings, measurements, phases, exit code.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Accepted failures: scenario or tag, justification, owner, expiry date.
    #[arg(long, value_name = "waivers.toml")]
    pub waivers: Option<PathBuf>,
}

impl OutputArgs {
    pub fn outputs(&self) -> Outputs {
        Outputs {
            junit: self.junit.clone(),
            json: self.json.clone(),
            sarif: self.sarif.clone(),
            html: self.report.clone(),
            report_json: self.report_json.clone(),
        }
    }

    pub fn waiver_lookup(&self, waivers: &[waivers::Waiver]) -> Option<pcmk_steps::collector::WaiverLookup> {
        let waivers = waivers.to_vec();
        let today = waivers::today();
        (!waivers.is_empty()).then(|| {
            Arc::new(move |v: &pcmk_model::verdict::Verdict| waivers::waiver_for(&waivers, today, v)) as pcmk_steps::collector::WaiverLookup
        })
    }

    /// Waivers are read before anything runs, so a mistake in them costs no cluster.
    pub fn load_waivers(&self) -> Result<Vec<waivers::Waiver>, InputError> {
        self.waivers.as_deref().map(waivers::load).transpose().map(Option::unwrap_or_default)
    }
}

impl PolicyArgs {
    pub fn features(&self) -> Vec<FeatureSource> {
        self.features.sources()
    }
}

pub fn parse_distro(s: &str) -> Result<Distro, String> {
    s.parse()
}

pub fn parse_shard(s: &str) -> Result<Shard, String> {
    s.parse()
}

pub fn parse_run_id(s: &str) -> Result<RunId, String> {
    RunId::parse(s).ok_or_else(|| "a run id is 1 to 24 characters of a-z, 0-9 and -".to_string())
}

/// Its values listed for help and completions.
fn color_parser() -> impl clap::builder::TypedValueParser<Value = ColorChoice> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(["auto", "always", "never"]).map(|v| v.parse().expect("one of the possible values"))
}

/// `--color`'s value as given, read before clap parses, so clap's own help
/// and errors follow it too.
pub fn color_given(args: impl Iterator<Item = std::ffi::OsString>) -> ColorChoice {
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    let mut choice = ColorChoice::Auto;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--color") {
            Some("") => args.next(),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => continue,
        };
        choice = value.and_then(|v| v.parse().ok()).unwrap_or(choice);
    }
    choice
}
