//! The cucumber World: one per scenario. It hands steps their facts and, for
//! live scenarios, a cluster: the run's shared one, or for scenarios tagged
//! `@destructive` one of their own. Every harness failure is recorded as an
//! infrastructure error so that it can never pass for a policy verdict.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use pcmk_containers::cluster::ExecOutput;

use crate::facts::{CibFacts, Facts};
use crate::run_context::{LiveCluster, RunContext};
use pcmk_containers::candidate::{Evidence, Reading};

tokio::task_local! {
    /// The run a World belongs to; cucumber builds Worlds without arguments.
    pub static RUN: Arc<RunContext>;
}

#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct PolicyWorld {
    pub ctx: Arc<RunContext>,
    /// Set by the before-hook from the scenario's tags.
    pub destructive: bool,
    /// The scenario's name, set by the before-hook: figures measured in it name it.
    pub scenario: Option<String>,
    /// The scenario as the verdict writer knows it, set by the before-hook:
    /// what a step could not judge is recorded under it.
    pub scenario_key: Option<crate::scenario_key::ScenarioKey>,
    live: Option<Arc<LiveCluster>>,
    /// Held while this scenario runs: a slot on the shared cluster, or for a cluster of its own.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
    /// A `@destructive` scenario's turn to start its cluster, taken with its slot:
    /// clusters then start in the runner's order (longest first), not in the
    /// order first steps happen to ask for them.
    start_turn: Option<tokio::sync::OwnedSemaphorePermit>,
    facts: Option<Arc<Facts>>,
    /// The fault a `When` step injected, for the `Then` steps that judge it.
    pub fault: Option<Fault>,
    /// The backup a `When` step took.
    pub backup: Option<Backup>,
    /// A CIB change a `When` step made as a named user.
    pub audit: Option<AuditedChange>,
    /// Files a `When` step tampered with.
    pub tampered: Vec<String>,
    /// The log collector a `Given` step started.
    pub collector: Option<String>,
    /// What kind of failure ended the scenario, when it is not a policy
    /// failure: set where the failure happens, read by the verdict writer.
    failure_kind: Mutex<Option<pcmk_model::verdict::Outcome>>,
    /// What the failing step found, typed: read by the verdict writer.
    findings: Mutex<Vec<pcmk_model::finding::Finding>>,
}

/// A CIB change made as a user, for the steps that look for its trail.
#[derive(Debug, Clone)]
pub struct AuditedChange {
    pub node: String,
    pub user: String,
    pub option: String,
    /// The value set: unique per run, so old lines cannot match.
    pub marker: String,
}

/// A backup taken in a scenario, with the configuration it should bring back.
#[derive(Debug, Clone)]
pub struct Backup {
    pub procedure: String,
    pub node: String,
    pub file: String,
    pub content: Vec<u8>,
    /// The configuration section at backup time, normalised.
    pub original: String,
}

/// A fault injected into the cluster: where, when, and the resource it was aimed at.
#[derive(Debug, Clone)]
pub struct Fault {
    pub node: String,
    pub at: std::time::Instant,
    pub resource: String,
}

impl std::fmt::Debug for PolicyWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyWorld").field("destructive", &self.destructive).finish_non_exhaustive()
    }
}

impl PolicyWorld {
    fn new() -> Self {
        PolicyWorld {
            ctx: RUN.with(Arc::clone),
            destructive: false,
            scenario: None,
            scenario_key: None,
            live: None,
            slot: None,
            start_turn: None,
            facts: None,
            fault: None,
            backup: None,
            audit: None,
            tampered: Vec::new(),
            collector: None,
            failure_kind: Mutex::new(None),
            findings: Mutex::new(Vec::new()),
        }
    }

    /// Records a harness fault as the scenario's infrastructure error and
    /// turns it into a step failure: the one way a [`crate::engine::Fault`]
    /// leaves a step.
    pub fn infra<T, E: Into<crate::engine::Fault>>(&self, result: Result<T, E>) -> anyhow::Result<T> {
        result.map_err(|e| {
            let message = format!("infrastructure error: {}", e.into());
            self.ctx.record_infra_error(message.clone());
            self.set_failure_kind(pcmk_model::verdict::Outcome::InfraError);
            anyhow!(message)
        })
    }

    /// Fails the step with every finding, one a line, and keeps them typed
    /// for the verdict (subject, file and line); passes when there are none.
    pub fn judge(&self, violations: crate::support::Violations) -> anyhow::Result<()> {
        if violations.is_empty() {
            return Ok(());
        }
        let text = violations.text();
        self.findings.lock().unwrap_or_else(|e| e.into_inner()).extend(violations.0);
        self.set_failure_kind(pcmk_model::verdict::Outcome::Failed);
        Err(anyhow!(text))
    }

    /// A policy failure that a live check saw (no file or line): recorded as
    /// a finding about the cluster (the candidate, in `lint`), and the step's
    /// error. Only this and [`Self::judge`] make a step a policy failure.
    pub fn fails(&self, message: impl Into<String>) -> anyhow::Error {
        let subject = if self.ctx.is_live() { pcmk_model::finding::Subject::Cluster } else { pcmk_model::finding::Subject::Candidate };
        let mut violations = crate::support::Violations::default();
        violations.add(pcmk_model::finding::Finding::new(subject, message));
        self.judge(violations).expect_err("one finding fails the step")
    }

    /// A scenario written so that a step cannot work (a step in a scenario
    /// without the tag it needs, a malformed table or argument): exit 2,
    /// never a verdict about the cluster.
    pub fn authoring(&self, message: impl std::fmt::Display) -> anyhow::Error {
        self.set_failure_kind(pcmk_model::verdict::Outcome::Undefined);
        anyhow!("authoring error: {message}")
    }

    /// What the failing step found, typed.
    pub fn findings(&self) -> Vec<pcmk_model::finding::Finding> {
        self.findings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Ends the scenario as not applicable: the candidate lacks its subject.
    pub fn not_applicable(&self, reason: impl std::fmt::Display) -> anyhow::Error {
        self.set_failure_kind(pcmk_model::verdict::Outcome::NotApplicable);
        anyhow!("not applicable: {reason}")
    }

    fn set_failure_kind(&self, kind: pcmk_model::verdict::Outcome) {
        let mut slot = self.failure_kind.lock().unwrap_or_else(|e| e.into_inner());
        // An infrastructure error stays one, whatever a later step says.
        if *slot != Some(pcmk_model::verdict::Outcome::InfraError) {
            *slot = Some(kind);
        }
    }

    /// How the failing step failed: a policy failure (findings), not
    /// applicable, an authoring or an infrastructure error; None for an
    /// untyped error, which the collector takes for the harness's.
    pub fn failure_kind(&self) -> Option<pcmk_model::verdict::Outcome> {
        *self.failure_kind.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cluster this scenario runs against.
    pub async fn live(&mut self) -> anyhow::Result<Arc<LiveCluster>> {
        if let Some(live) = &self.live {
            return Ok(live.clone());
        }
        if self.ctx.is_live() {
            self.reserve_slot().await?;
        }
        let live =
            if self.destructive { self.ctx.build_cluster(self.start_turn.take(), false).await } else { self.ctx.shared_cluster().await };
        let live = self.infra(live)?;
        self.live = Some(live.clone());
        Ok(live)
    }

    /// The timeline's lane of the cluster this scenario used, if it used one.
    pub fn cluster_lane(&self) -> Option<String> {
        self.live.as_ref().map(|live| live.lane.clone())
    }

    /// Waits for this scenario's slot (the runner's before-hook calls it, so a
    /// scenario's time never includes the wait).
    pub async fn reserve_slot(&mut self) -> anyhow::Result<()> {
        if self.slot.is_none() {
            let slot = self.ctx.scenario_slot(self.destructive).await;
            self.slot = Some(self.infra(slot)?);
            if self.destructive && self.live.is_none() {
                let turn = self.ctx.cluster_start_turn().await;
                self.start_turn = Some(self.infra(turn)?);
            }
        }
        Ok(())
    }

    /// Facts for this scenario: from the candidate in `lint`, from the nodes in `run`.
    pub async fn facts(&mut self) -> anyhow::Result<Arc<Facts>> {
        if let Some(facts) = &self.facts {
            return Ok(facts.clone());
        }
        let facts = if self.ctx.is_live() {
            let live = self.live().await?;
            let (facts, took) = self.infra(live.cluster.facts(&live.facts).await)?;
            if let Some(took) = took {
                self.ctx.record_phase("facts", took);
            }
            facts
        } else {
            Arc::new(Facts::from_candidate(&self.ctx.candidate))
        };
        self.facts = Some(facts.clone());
        Ok(facts)
    }

    /// Fresh facts after a step changed or exercised the cluster.
    pub async fn refresh_facts(&mut self) -> anyhow::Result<Arc<Facts>> {
        self.facts = None;
        if let Some(live) = &self.live {
            live.facts.invalidate().await;
        }
        self.facts().await
    }

    pub async fn cib(&mut self) -> anyhow::Result<CibFacts> {
        // A live cluster always has a CIB: without the candidate's, it is the harness's empty one.
        if self.ctx.candidate.file_at(pcmk_model::node::CIB_XML).is_none() {
            return Err(self.not_applicable("the candidate has no CIB, so there is no cluster configuration to check"));
        }
        let facts = self.facts().await?;
        let text = facts
            .cib
            .as_deref()
            .ok_or_else(|| self.not_applicable("the candidate has no CIB, so there is no cluster configuration to check"))?;
        self.infra(CibFacts::parse(text, &facts.cib_origin))
    }

    /// The candidate's own CIB, as it ships: in a live run the running CIB
    /// also holds what the harness changed to run it (fence agents, stand-ins).
    pub fn candidate_cib(&self) -> anyhow::Result<(CibFacts, String)> {
        let Some(file) = self.ctx.candidate.file_at(pcmk_model::node::CIB_XML) else {
            return Err(self.not_applicable("the candidate has no CIB, so there is no cluster configuration to check"));
        };
        let origin = file.source.display().to_string();
        let facts = self.infra(CibFacts::parse(&String::from_utf8_lossy(&file.content), &origin))?;
        Ok((facts, origin))
    }

    /// Runs a command on a node; a harness failure is an infrastructure error,
    /// a non-zero exit is the caller's to judge.
    pub async fn exec_as(&mut self, node: &str, user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        let live = self.live().await?;
        let out = live.cluster.exec_as(node, user, cmd).await;
        self.infra(out)
    }

    pub async fn exec(&mut self, node: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        self.exec_as(node, "root", cmd).await
    }

    /// A step that changed the cluster: facts gathered before are stale.
    pub async fn changed_cluster(&mut self) {
        self.facts = None;
        if let Some(live) = &self.live {
            live.facts.invalidate().await;
        }
    }

    /// Makes this scenario's own cluster one built from nothing: same nodes,
    /// pacemaker restarted on an empty configuration.
    pub async fn reset_cluster(&mut self) -> anyhow::Result<()> {
        if !self.destructive {
            return Err(self.authoring("resetting the cluster needs a @destructive scenario"));
        }
        let live = self.live().await?;
        let reset = live.cluster.reset_pacemaker(pcmk_containers::cluster::DEFAULT_READY_TIMEOUT).await;
        self.changed_cluster().await;
        self.infra(reset)?;
        Ok(())
    }

    /// Ends this scenario's own cluster, if it had one, and frees its slot.
    pub async fn finish(&mut self) {
        self.start_turn = None;
        self.remove_own_cluster().await;
        self.slot = None;
    }

    async fn remove_own_cluster(&mut self) {
        if self.destructive {
            if let Some(live) = self.live.take() {
                if let Ok(live) = Arc::try_unwrap(live) {
                    if let Err(e) = live.cluster.down().await {
                        self.ctx.record_infra_error(format!("infrastructure error: removing a scenario's cluster: {e:#}"));
                    }
                }
            }
        }
    }

    /// The first node of this scenario's cluster, where one-node commands run.
    pub async fn first_node(&mut self) -> anyhow::Result<String> {
        Ok(self.live().await?.cluster.nodes()[0].name.clone())
    }

    /// Waits until every node sees a DC, quorum and every node online. The
    /// outer error is the harness's; the inner one says how the cluster is not whole.
    pub async fn wait_whole(&mut self, timeout: std::time::Duration) -> anyhow::Result<Result<(), String>> {
        let live = self.live().await?;
        let names = live.cluster.node_names();
        match live.cluster.wait_for_members(&names, &names, timeout).await {
            Ok(_) => Ok(Ok(())),
            Err(e) if e.is::<pcmk_containers::cluster::NotReadyInTime>() || e.is::<pcmk_containers::cluster::NodeStopped>() => {
                Ok(Err(e.judged_by_caller().to_string().lines().next().unwrap_or_default().to_string()))
            }
            // The engine failed (e.g. a container removed from outside): the harness's error.
            Err(e) => self.infra(Err(e)),
        }
    }

    /// The Pacemaker whose semantics count: the running one, else the candidate's distribution's.
    pub fn target_pacemaker(&self) -> crate::cluster_options::Pacemaker {
        use crate::cluster_options::Pacemaker;
        if let Some(version) = self.ctx.versions().get("pacemaker") {
            return Pacemaker::of_version(version);
        }
        match self.ctx.candidate.distro.unwrap_or(pcmk_model::node::Distro::Bookworm) {
            pcmk_model::node::Distro::Bookworm => Pacemaker::V2_1,
            pcmk_model::node::Distro::Trixie => Pacemaker::V3_0,
        }
    }

    /// The resource a scenario acts on. A name is the candidate's own (a
    /// primitive, or the first member of a group or clone of that id);
    /// `auto` is the resource a fault already hit in this scenario, else the
    /// first the candidate runs that can move. A candidate with none has
    /// nothing for the scenario to judge.
    pub async fn subject_resource(&mut self, name: &str) -> anyhow::Result<String> {
        if name == "auto" {
            if let Some(fault) = &self.fault {
                return Ok(fault.resource.clone());
            }
        }
        let cib = self.cib().await?;
        if name != "auto" {
            return match cib.primitive_for(name) {
                Some(primitive) => Ok(primitive.id.clone()),
                None => return Err(self.authoring(format!("the policy names the resource `{name}`, which the candidate's CIB does not define (set failover_resource to one of its resources, or to auto)"))),
            };
        }
        let first = cib.movable().next().map(|p| p.id.clone());
        first.ok_or_else(|| self.not_applicable("the candidate's CIB runs no resource that can fail over (a primitive outside clones and bundles, not stopped, not a fence device)"))
    }

    /// The resource serving the public network, as the policy names it; `none` leaves nothing to judge.
    pub fn public_service(&self, name: &str) -> anyhow::Result<String> {
        if name == "none" {
            return Err(self.not_applicable(
                "the policy names no public service (set the parameter public_service to the resource that serves the public network)",
            ));
        }
        Ok(name.to_string())
    }

    /// Whether the candidate lacks every one of `evidence` (what its kind
    /// cannot carry, a file the harness made, a stock owner and mode). If so
    /// the step is not judged: it records why, and the scenario, unless
    /// another step fails it, ends as not applicable instead of passing.
    /// For `Then` steps, which judge; a step that acts stops with [`Self::require`].
    pub fn lacks(&self, evidence: &[Evidence]) -> bool {
        let Some(reason) = self.absence(evidence) else { return false };
        self.not_judged(reason);
        true
    }

    /// Records that a step found nothing of the candidate's to judge: the
    /// scenario cannot pass on it.
    pub fn not_judged(&self, reason: impl std::fmt::Display) {
        // Fails closed: a step outside the runner's hooks (no key) panics, which fails it, never passes it.
        let key = self.scenario_key.as_ref().expect("the runner's before-hook names the scenario");
        self.ctx.record_unjudged(key.clone(), reason.to_string());
    }

    /// Ends the scenario as not applicable unless the candidate holds one of
    /// `evidence`: for steps that act on it (a `When` that runs AIDE on the
    /// candidate's configuration), which must not act on the lab's instead.
    pub fn require(&self, evidence: &[Evidence]) -> anyhow::Result<()> {
        match self.absence(evidence) {
            Some(reason) => Err(self.not_applicable(reason)),
            None => Ok(()),
        }
    }

    /// Why the candidate holds none of `evidence` (the first one's reason), or `None` when it holds one.
    fn absence(&self, evidence: &[Evidence]) -> Option<String> {
        let reading = if self.ctx.is_live() { Reading::Nodes } else { Reading::Files };
        let reasons: Option<Vec<String>> = evidence.iter().map(|e| self.ctx.candidate.absence(e, reading)).collect();
        reasons?.into_iter().next()
    }

    /// Fails the step unless the run is live (for steps with no static meaning).
    pub fn require_live(&self, what: &str) -> anyhow::Result<()> {
        if self.ctx.is_live() {
            Ok(())
        } else {
            Err(self.authoring(format!("`{what}` needs a running cluster; tag the scenario @live, not @static")))
        }
    }
}
