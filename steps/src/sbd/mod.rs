//! SBD fencing, judged from the files: sbd's environment file
//! (/etc/sysconfig/sbd, /etc/default/sbd on Debian), the devices' headers
//! where a capture read them, and the CIB. SBD fences through every node's
//! watchdog and, with shared disks, through message slots each node's sbd
//! watches; Pacemaker takes a node for dead once SBD must have reset it. When
//! these disagree, a fencing times out before SBD has done its work (and is
//! tried again and again), or a node is taken for dead while it still runs.
//!
//! How each value is read:
//! - the file as sbd reads its environment (ClusterLabs/sbd
//!   src/sbd-inquisitor.c, `get_env_option()`: leading blanks dropped, an
//!   empty value unset); the last assignment wins, as in the shell that
//!   systemd's `EnvironmentFile` mimics;
//! - `SBD_DEVICE`: `;`-separated, blanks around each path dropped, empty
//!   entries skipped (`parse_device_line()`); none is diskless SBD;
//! - `SBD_PACEMAKER`: on unless set to something Pacemaker's `crm_is_true()`
//!   does not call true (default `yes`, src/sbd.sysconfig.in);
//! - `SBD_WATCHDOG_TIMEOUT`: `crm_get_msec(value) / 1000` (sbd-inquisitor.c),
//!   so `10`, `10s` and `10000ms` are 10 s and a value it cannot read is 0;
//!   unset, sbd's compiled-in default, 5 s (15 s on s390: configure.ac);
//! - the header of a device, as `sbd -d DEV dump` prints it and crmsh reads
//!   it (crmsh/sbd.py, `SBDUtils.get_sbd_device_metadata()`: `Timeout
//!   (watchdog)`, `Timeout (msgwait)`);
//! - cluster options as Pacemaker orders the sets (`cluster_options::readings`);
//!   `fencing-timeout` and `fencing-watchdog-timeout` are the newer names of
//!   `stonith-timeout` and `stonith-watchdog-timeout`: where both are set,
//!   each is judged, since a Pacemaker reads one or the other; durations as
//!   `crm_get_msec()` (lib/common/strings.c) reads them.
//!
//! What fails, and why:
//! - **SBD in use but nothing to fence with**: SBD runs (an SBD
//!   configuration, `have-watchdog=true`, an SBD fence device) while the CIB
//!   has no enabled fence device and `stonith-watchdog-timeout` is unset or
//!   0: Pacemaker cannot fence (with `have-watchdog=true` its scheduler even
//!   counts on fencing, lib/pengine/unpack.c, and waits for one that never
//!   comes).
//! - **An SBD fence device and no device to watch**: `fence_sbd` or
//!   `external/sbd` writes a poison pill to a disk slot, but a node whose sbd
//!   names no `SBD_DEVICE` reads none: the fencing fails, or is reported done
//!   on a node that still runs.
//! - **`SBD_PACEMAKER` off**: sbd then watches neither Pacemaker nor corosync
//!   (its `pcmk` and `cluster` servants are off), so a node whose Pacemaker
//!   hangs or that loses quorum is not reset; Trento's check 0B6DB2 expects
//!   `yes`.
//! - **`SBD_WATCHDOG_TIMEOUT` below the step's minimum** (5 s in the
//!   built-in policy): crmsh's `crm sbd configure` refuses a watchdog timeout
//!   below 5 s (`SBDTimeout.get_timeout_minimum_value()`), sbd's own default;
//!   a shorter one resets healthy nodes on a storage or scheduling hiccup. A
//!   long one only slows recovery, and the rules below tie msgwait,
//!   stonith-timeout and stonith-watchdog-timeout to it, so there is no upper
//!   bound. Trento's B089BE wants exactly 15 s (60 s on Azure) on the disk: a
//!   platform's recommendation, not a safety bound.
//! - **Two devices, more than three, or an empty entry in `SBD_DEVICE`**:
//!   sbd(8) «Two devices»: SBD will not fence the other side while only one
//!   device is available; one or three, never two (Trento's 61451E warns
//!   below three and treats an empty entry as critical: sbd skips it, the
//!   fence agent does not; crmsh takes at most three, `SBD_DEVICE_MAX`).
//! - **msgwait below twice the watchdog timeout** on a device's header:
//!   sbd(8) `create -4`: «This should be twice the watchdog timeout»;
//!   Trento's 68626E; crmsh's `_check_sbd_disk_metadata()` (an error).
//! - **A fencing timeout below msgwait + 20 %**: an SBD fencing succeeds only
//!   after msgwait; sbd(8) warns that a stonith-timeout too low for msgwait
//!   makes a fencing loop. crmsh computes stonith-timeout as `max(1.2 ×
//!   msgwait, 60) + token + consensus` (`SBDTimeout.get_fencing_timeout_expected()`,
//!   `get_stonith_timeout_expected()` in 5.0); its sbd-derived part, 1.2 ×
//!   msgwait, is the bound judged here. The timeout of a device's fencing is
//!   its `pcmk_reboot_timeout` (`pcmk_off_timeout` when stonith-action is
//!   off), else stonith-timeout (default 60 s).
//! - **With diskless SBD, a positive stonith-watchdog-timeout below twice
//!   `SBD_WATCHDOG_TIMEOUT`**: Pacemaker takes a node for self-fenced that
//!   long after it lost it; crmsh requires at least 2 × SBD_WATCHDOG_TIMEOUT
//!   (`SBDTimeout.able_to_set_fencing_watchdog_timeout()`, and Pacemaker's own
//!   automatic value is that, `pcmk__auto_stonith_watchdog_timeout()`,
//!   lib/common/watchdog.c); below SBD_WATCHDOG_TIMEOUT itself Pacemaker's
//!   controller refuses to run (`pcmk__valid_stonith_watchdog_timeout()`). A
//!   negative or unreadable value is that automatic one.
//!
//! Notes, never failures: `SBD_STARTMODE=clean` is recommended (Trento's
//! 49591F) so that a fenced node does not rejoin by itself, but sbd's default
//! is `always` and Trento itself expects `always` on Azure: the scenario's
//! remediation says so. Trento's 373DB8 wants stonith-timeout of at least
//! 150 s with SBD (144 s on Azure, more on other clouds): a platform's
//! figure, where the bound judged here follows from msgwait. A
//! stonith-watchdog-timeout set beside disk-based SBD is a warning in crmsh,
//! not an error, and is not judged.
//!
//! What the candidate must hold: a scenario on a cluster that uses no SBD
//! (no SBD configuration, no `fence_sbd` or `external/sbd` device, no
//! `have-watchdog=true`) is not applicable. Where the cluster uses SBD and the
//! candidate holds no SBD configuration, a kind that would carry it (a
//! directory, a capture) means the node has none, so sbd runs with its
//! defaults (diskless, 5 s); any other kind leaves the configuration's rules
//! unjudged, with how to bring the file. msgwait is on the device: without a
//! capture's dump it is taken as twice the watchdog timeout, the least a
//! sound device has (crmsh creates devices so), which can fail a fencing
//! timeout but never pass it: the step is then not judged.
//!
//! Where: `config` reads the file, `dump` the devices' headers, `context`
//! what the steps judge; `fencing` and `timeouts` hold the rules.

mod config;
mod context;
mod dump;
mod fencing;
#[cfg(test)]
mod fixtures;
mod timeouts;

use cucumber::then;

use crate::cluster_options::{values, OptionValue, Pacemaker};
use crate::facts::{CibFacts, Primitive};
use crate::support::Violations;
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Subject};

use config::Config;
use context::context;
use fencing::{can_fence, device_count, watches_pacemaker};
pub(crate) use timeouts::watchdog_fencing_in_every_reading;
use timeouts::{disk_timeouts, diskless_timeouts};

/// Fence agents that fence through SBD's disk slots.
const SBD_AGENTS: &[&str] = &["fence_sbd", "external/sbd"];

/// One node's configuration, with whom findings name.
#[derive(Debug, Clone)]
pub(crate) struct NodeConfig {
    subject: Subject,
    /// The node's name for messages (`the candidate`, `node1`).
    node: String,
    config: Config,
    /// What a capture's `sbd -d DEV dump` printed on the node, if it ran.
    dump: Option<String>,
}

/// Everything the SBD steps judge.
#[derive(Debug, Clone)]
pub(crate) struct Sbd {
    cib: CibFacts,
    origin: String,
    /// Whose CIB it is: the candidate's, or the cluster's.
    cib_subject: Subject,
    versions: Vec<Pacemaker>,
    /// Why the cluster counts as using SBD.
    uses: Vec<String>,
    /// Every node's configuration; None where the candidate cannot show it (the reason is recorded).
    configs: Option<Vec<NodeConfig>>,
}

/// What a rule found: failures, and what it could not judge.
#[derive(Debug, Default)]
struct Judgement {
    findings: Vec<Finding>,
    unjudged: Vec<String>,
}

impl Judgement {
    fn fail(&mut self, finding: Finding) {
        if !self.findings.iter().any(|f| f.message == finding.message) {
            self.findings.push(finding);
        }
    }
}

impl Sbd {
    /// Every value the options take in this CIB (`cluster_options::values`).
    fn option(&self, names: &[&str]) -> Vec<OptionValue> {
        values(&self.cib, &self.origin, names, &self.versions)
    }

    fn fence_devices(&self) -> impl Iterator<Item = &Primitive> {
        self.cib.primitives.iter().filter(|p| p.class == "stonith")
    }

    /// Enabled fence devices that fence through SBD's disk slots.
    fn sbd_fence_devices(&self) -> Vec<&Primitive> {
        self.fence_devices().filter(|p| !p.disabled && SBD_AGENTS.contains(&p.kind.as_str())).collect()
    }

    fn at_cib(&self, line: usize) -> String {
        format!("{} line {line}", self.origin)
    }
}

fn param<'a>(device: &'a Primitive, name: &str) -> Option<(&'a str, usize)> {
    device.params.iter().find(|(n, _, _)| n == name).map(|(_, v, l)| (v.trim(), *l))
}

fn verdict(world: &mut PolicyWorld, judgement: Judgement) -> anyhow::Result<()> {
    for reason in judgement.unjudged {
        world.not_judged(reason);
    }
    let mut violations = Violations::default();
    judgement.findings.into_iter().for_each(|f| violations.add(f));
    world.judge(violations)
}

#[then(expr = "a cluster that uses SBD can fence with it")]
async fn sbd_can_fence(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, can_fence(&sbd))
}

#[then(expr = "SBD watches Pacemaker with a watchdog timeout of at least {int} seconds")]
async fn sbd_watches_pacemaker(world: &mut PolicyWorld, min_watchdog: i64) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, watches_pacemaker(&sbd, min_watchdog))
}

#[then(expr = "SBD names one or three devices")]
async fn sbd_device_count(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, device_count(&sbd))
}

#[then(expr = "with disk-based SBD, msgwait is at least twice the watchdog timeout and the fencing timeout outlasts it by a fifth")]
async fn sbd_disk_timeouts(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, disk_timeouts(&sbd))
}

#[then(expr = "with diskless SBD, stonith-watchdog-timeout is at least twice SBD_WATCHDOG_TIMEOUT")]
async fn sbd_diskless_timeouts(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let sbd = context(world).await?;
    verdict(world, diskless_timeouts(&sbd))
}
