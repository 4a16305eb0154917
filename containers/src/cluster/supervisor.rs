//! The node supervisor (`containers/image/pcmk-node`, PID 1's helper in every
//! node and guest) and its verbs as typed calls, so no caller spells its
//! command line.

use super::*;

/// Where the supervisor keeps each daemon's pid (`$STATE/SERVICE.pid`).
const STATE: &str = "/run/pcmk-node";

/// What a call does to one daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceAction {
    Start,
    Stop,
    Restart,
    Kill,
    /// SIGSTOP, as `kill -STOP`: the daemon stays, hung, and never resumes
    /// (a scenario's cluster is torn down with it).
    Pause,
    /// A stop that ends in SIGKILL after 20 s, as `pcs cluster destroy`.
    ForceStop,
}

impl ServiceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
            ServiceAction::Kill => "kill",
            ServiceAction::Pause => "pause",
            ServiceAction::ForceStop => "force-stop",
        }
    }
}

/// A supervisor verb with its arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verb {
    Service(ServiceAction, Service),
    /// `corosync running` / `… stopped` per daemon.
    Status,
    /// The last `lines` lines of each daemon's log, under `== FILE` headers.
    Logs {
        lines: usize,
    },
    /// Exit 0 once the controller has joined a DC, 3 if it stays down, else 1 after `seconds`.
    AwaitJoin {
        seconds: f64,
    },
    /// Exit 0 once the boot's services have started, within whole `seconds`.
    AwaitBoot {
        seconds: u64,
    },
    /// Drops `percent` % of the UDP datagrams to ports `first..=last`, on the
    /// way in and on the way out, with an nftables table of the harness's own
    /// (`inet pcmk_loss`, before any table of the candidate's); a second call
    /// replaces the first. Each rule counts the datagrams it sees and those
    /// it drops ([`LossCounts`]). Not a verb of the supervisor: `nft` itself.
    PacketLoss {
        percent: u8,
        first: u16,
        last: u16,
    },
    /// The listing of the table [`Verb::PacketLoss`] made, its counters with
    /// it (`nft list table`): read with [`LossCounts::of_listing`].
    LossListing,
}

/// The harness's own nftables table: the candidate's ruleset is left as it is.
const LOSS_TABLE: &str = "inet pcmk_loss";

/// The ruleset of [`Verb::PacketLoss`]: the table made (so that it can be
/// deleted), deleted and made again with a chain on input and on output.
fn loss_ruleset(percent: u8, first: u16, last: u16) -> String {
    let ports = if first == last { first.to_string() } else { format!("{first}-{last}") };
    let chain = |hook: &str| {
        format!(
            "  chain {hook} {{\n    type filter hook {hook} priority -200; policy accept;\n    udp dport {ports} counter numgen random mod 100 < {percent} counter drop\n  }}\n"
        )
    };
    format!("table {LOSS_TABLE}\ndelete table {LOSS_TABLE}\ntable {LOSS_TABLE} {{\n{}{}}}\n", chain("input"), chain("output"))
}

/// What the loss rules have done so far: the datagrams to corosync's ports
/// they saw, in and out, and those they dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounts {
    pub seen: u64,
    pub dropped: u64,
}

impl LossCounts {
    /// The counters of `nft list table inet pcmk_loss`: on each rule, the first
    /// counter is every datagram it matched, the second the dropped ones.
    /// None when the listing holds no loss rule.
    pub fn of_listing(listing: &str) -> Option<LossCounts> {
        let mut counts: Option<LossCounts> = None;
        for rule in listing.lines().filter(|l| l.contains("numgen random")) {
            let packets: Vec<u64> =
                rule.split("counter packets ").skip(1).filter_map(|rest| rest.split_whitespace().next()?.parse().ok()).collect();
            let [seen, dropped] = packets[..] else { continue };
            let total = counts.get_or_insert_with(LossCounts::default);
            total.seen += seen;
            total.dropped += dropped;
        }
        counts
    }

    /// Since `earlier`.
    pub fn since(self, earlier: LossCounts) -> LossCounts {
        LossCounts { seen: self.seen.saturating_sub(earlier.seen), dropped: self.dropped.saturating_sub(earlier.dropped) }
    }
}

impl Verb {
    pub fn argv(&self) -> Vec<String> {
        let words: Vec<String> = match *self {
            // A signal, not a verb of the supervisor: sent to the pid it recorded for the daemon.
            Verb::Service(ServiceAction::Pause, service) => {
                let pause = format!("read -r pid < {STATE}/\"$1\".pid && kill -STOP \"$pid\"");
                return ["bash", "-c", &pause, "pcmk-node-pause", service.as_str()].map(String::from).to_vec();
            }
            Verb::PacketLoss { percent, first, last } => {
                let ruleset = loss_ruleset(percent, first, last);
                return ["bash", "-c", "nft -f - <<< \"$1\"", "pcmk-node-loss", &ruleset].map(String::from).to_vec();
            }
            Verb::LossListing => return ["nft", "list", "table", "inet", "pcmk_loss"].map(String::from).to_vec(),
            Verb::Service(action, service) => vec![action.as_str().into(), service.as_str().into()],
            Verb::Status => vec!["status".into()],
            Verb::Logs { lines } => vec!["logs".into(), lines.to_string()],
            Verb::AwaitJoin { seconds } => vec!["await-join".into(), seconds.to_string()],
            Verb::AwaitBoot { seconds } => vec!["await-boot".into(), seconds.to_string()],
        };
        std::iter::once("pcmk-node".to_string()).chain(words).collect()
    }
}

impl Cluster {
    /// Runs a supervisor verb in a node or guest.
    pub async fn supervise(&self, node: &str, verb: Verb) -> anyhow::Result<ExecOutput> {
        let argv = verb.argv();
        self.exec(node, &argv.iter().map(String::as_str).collect::<Vec<_>>()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every verb names a command the supervisor script's dispatch knows
    /// (a pause is a signal to the pid it records, below).
    #[test]
    fn every_verb_is_one_the_supervisor_dispatches() {
        let script = SUPERVISOR;
        let dispatch = &script[script.rfind("case \"$cmd\" in").expect("the supervisor dispatches on $cmd")..];
        let known: Vec<&str> =
            dispatch.lines().filter_map(|l| l.trim().split_once(')')).flat_map(|(names, _)| names.split('|')).map(str::trim).collect();
        let actions = [ServiceAction::Start, ServiceAction::Stop, ServiceAction::Restart, ServiceAction::Kill, ServiceAction::ForceStop];
        let verbs = actions.map(|a| Verb::Service(a, Service::Corosync)).into_iter().chain([
            Verb::Status,
            Verb::Logs { lines: 5 },
            Verb::AwaitJoin { seconds: 1.5 },
            Verb::AwaitBoot { seconds: 3 },
        ]);
        for verb in verbs {
            let argv = verb.argv();
            assert_eq!(argv[0], "pcmk-node");
            assert!(known.contains(&argv[1].as_str()), "{verb:?}: `{}` is not among {known:?}", argv[1]);
        }
    }

    /// A pause stops the pid the supervisor recorded for the daemon, where it records it.
    #[test]
    fn a_pause_signals_the_pid_the_supervisor_records() {
        assert!(SUPERVISOR.lines().any(|l| l == format!("STATE={STATE}")), "the supervisor keeps its state in {STATE}");
        assert!(SUPERVISOR.contains(r#"echo $! > "$STATE/$svc.pid""#), "the supervisor records each daemon's pid");
        let argv = Verb::Service(ServiceAction::Pause, Service::Corosync).argv();
        assert_eq!(argv[..2], ["bash", "-c"]);
        assert!(argv[2].contains("/run/pcmk-node/\"$1\".pid") && argv[2].contains("kill -STOP"), "{argv:?}");
        assert_eq!(argv[4], "corosync");
    }

    /// Packet loss is a table of the harness's own that drops a share of
    /// corosync's UDP both ways, and replaces itself when called again.
    #[test]
    fn packet_loss_drops_a_share_of_udp_both_ways() {
        let argv = Verb::PacketLoss { percent: 30, first: 5405, last: 5406 }.argv();
        assert_eq!(argv[..3], ["bash", "-c", "nft -f - <<< \"$1\""]);
        let ruleset = &argv[4];
        assert!(ruleset.starts_with("table inet pcmk_loss\ndelete table inet pcmk_loss\ntable inet pcmk_loss {\n"), "{ruleset}");
        for hook in ["input", "output"] {
            assert!(ruleset.contains(&format!("chain {hook} {{\n    type filter hook {hook} priority -200; policy accept;")), "{ruleset}");
        }
        assert_eq!(ruleset.matches("udp dport 5405-5406 counter numgen random mod 100 < 30 counter drop").count(), 2, "{ruleset}");
        let one = Verb::PacketLoss { percent: 10, first: 5405, last: 5405 }.argv();
        assert!(one[4].contains("udp dport 5405 counter numgen random mod 100 < 10 counter drop"), "{}", one[4]);
    }

    /// As nft 1.0 lists the table (bookworm's and trixie's nft alike).
    #[test]
    fn loss_counts_sum_both_chains() {
        let listing = "table inet pcmk_loss {\n\tchain input {\n\t\ttype filter hook input priority -200; policy accept;\n\t\tudp dport 5405-5406 counter packets 120 bytes 9000 numgen random mod 100 < 30 counter packets 35 bytes 2600 drop\n\t}\n\tchain output {\n\t\ttype filter hook output priority -200; policy accept;\n\t\tudp dport 5405-5406 counter packets 80 bytes 6000 numgen random mod 100 < 30 counter packets 25 bytes 1900 drop\n\t}\n}\n";
        let counts = LossCounts::of_listing(listing).unwrap();
        assert_eq!(counts, LossCounts { seen: 200, dropped: 60 });
        assert_eq!(counts.since(LossCounts { seen: 50, dropped: 10 }), LossCounts { seen: 150, dropped: 50 });
        assert_eq!(LossCounts::of_listing("table inet pcmk_loss {\n}\n"), None);
    }
}
