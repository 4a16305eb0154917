//! corosync as the arbiter: `corosync -t` decides what it refuses, and a real
//! start (its own log of the transport and crypto it set up) what it reads.

use std::collections::{BTreeMap, BTreeSet};

use pcmk_containers::corosync_check::Placement;
use std::path::Path;

use pcmk_containers::corosync_semantics as semantics;
use pcmk_model::corosync_conf::CorosyncConf;

use super::corosync_cases::CorosyncCase;

/// What corosync does with a case, or what lint says it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Refused(String),
    Starts,
    /// Started: transport, cipher, hash.
    Runs(String, String, String),
}

/// Lint's reading: refused (with its words), else the transport and crypto.
pub fn lint(case: &CorosyncCase) -> Reading {
    let conf = match CorosyncConf::parse(&case.conf, Path::new("corosync.conf")) {
        Ok(conf) => conf,
        Err(e) => return Reading::Refused(e.to_string()),
    };
    if let Some((_, message)) = semantics::refusal(&conf) {
        return Reading::Refused(message);
    }
    if let Some(message) = semantics::key_refusal(&conf, case.key.as_ref().map(Vec::len)) {
        return Reading::Refused(message);
    }
    let transport = semantics::transport(&conf).value;
    Reading::Runs(transport, semantics::crypto(&conf, "crypto_cipher").value, semantics::crypto(&conf, "crypto_hash").value)
}

/// The lines of the totem section that decide crypto and transport, as text:
/// one real start per distinct set of them is enough.
fn crypto_lines(conf: &str) -> String {
    conf.lines()
        .map(str::trim)
        .filter(|l| ["transport", "secauth", "crypto_cipher", "crypto_hash", "version"].iter().any(|k| l.starts_with(k)))
        .collect::<Vec<_>>()
        .join("|")
}

const SCRIPT: &str = r#"set -u
mkdir -p /var/lib/corosync /var/log/corosync /run/corosync
for d in /oracle/c/*/; do
  id=$(basename "$d")
  rm -f /etc/corosync/authkey
  if [ -f "$d/authkey" ]; then cp "$d/authkey" /etc/corosync/authkey; chmod 400 /etc/corosync/authkey; fi
  out=$(timeout 10 corosync -t -c "$d/corosync.conf" 2>&1 </dev/null); rc=$?
  printf 'T\t%s\t%s\t%s\n' "$id" "$rc" "$(printf '%s' "$out" | tr '\n\t' '  ')"
  if [ "$rc" = 0 ] && [ -f "$d/start" ]; then
    cat "$d/corosync.conf" /oracle/logging > /tmp/run.conf
    : > /tmp/run.log
    corosync -f -c /tmp/run.conf > /tmp/run.log 2>&1 </dev/null &
    pid=$!
    for i in $(seq 1 100); do
      if grep -q "Initializing transport" /tmp/run.log; then
        if ! grep -q Kronosnet /tmp/run.log || grep -q "Configuring crypto" /tmp/run.log; then break; fi
      fi
      kill -0 $pid 2>/dev/null || break
      sleep 0.05
    done
    kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    transport=$(sed -n 's/.*Initializing transport (\(.*\))\..*/\1/p' /tmp/run.log | head -1)
    crypto=$(sed -n 's/.*Configuring crypto \([^ ]*\).*/\1/p' /tmp/run.log | head -1)
    printf 'R\t%s\t%s\t%s\t%s\t%s\n' "$id" "$transport" "$crypto" "$(tail -3 /tmp/run.log | tr '\n\t' '  ')" "$i"
    rm -rf /dev/shm/qb-* /run/corosync.pid /var/run/corosync.pid
  fi
done
"#;

const LOGGING: &str = "\nlogging {\n    to_stderr: yes\n    to_logfile: no\n    to_syslog: no\n    debug: on\n    timestamp: off\n}\n";

/// The files for the batch: each case in its own directory, the addresses
/// and names that make its first node this host.
pub fn files(cases: &[CorosyncCase]) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut placement = Placement::default();
    let mut started = BTreeSet::new();
    for (n, case) in cases.iter().enumerate() {
        let dir = format!("/oracle/c/{n:05}");
        files.push((format!("{dir}/corosync.conf"), case.conf.clone().into_bytes()));
        if let Some(key) = &case.key {
            files.push((format!("{dir}/authkey"), key.clone()));
        }
        if started.insert(crypto_lines(&case.conf)) {
            files.push((format!("{dir}/start"), Vec::new()));
        }
        if let Ok(conf) = CorosyncConf::parse(&case.conf, Path::new("c")) {
            placement.add(&conf);
        }
    }
    files.push(("/oracle/hosts".into(), placement.hosts().into_bytes()));
    files.push(("/oracle/local".into(), placement.local().into_bytes()));
    files.push(("/oracle/logging".into(), LOGGING.as_bytes().to_vec()));
    files
}

/// The batch's shell: the placement of every case's first node (the engine's
/// own, as `run`'s pre-flight places the candidate), then each case.
pub fn script() -> String {
    format!("{}{SCRIPT}", Placement::script("/oracle"))
}
/// corosync's reading of case `n` from the batch's answers ([`super::batch::tab_lines`]).
pub fn corosync(answers: &BTreeMap<(String, String), Vec<String>>, n: usize) -> Option<Reading> {
    let id = format!("{n:05}");
    let tested = answers.get(&("T".into(), id.clone()))?;
    if tested[0] != "0" {
        return Some(Reading::Refused(format!("exit {}: {}", tested[0], tested.get(1).map(|s| s.trim()).unwrap_or(""))));
    }
    let Some(run) = answers.get(&("R".into(), id)) else { return Some(Reading::Starts) };
    let transport = match run[0].as_str() {
        "Kronosnet" => "knet",
        "UDP/IP Unicast" => "udpu",
        "UDP/IP Multicast" => "udp",
        other => return Some(Reading::Refused(format!("did not start: {other} {}", run.get(2).map(String::as_str).unwrap_or("")))),
    };
    let (cipher, hash) = match run[1].split('/').collect::<Vec<_>>()[..] {
        [_, cipher, hash] => (cipher.to_string(), hash.to_string()),
        _ => ("none".to_string(), "none".to_string()),
    };
    Some(Reading::Runs(transport.into(), cipher, hash))
}

/// Whether lint and corosync agree: both refuse, or both accept (and, where
/// corosync was started, read the same transport and crypto).
pub fn agree(lint: &Reading, corosync: &Reading) -> bool {
    match (lint, corosync) {
        (Reading::Refused(_), Reading::Refused(_)) => true,
        (Reading::Runs(..), Reading::Starts) => true,
        (a, b) => a == b,
    }
}
