//! The shell experiments the policy runs in nodes and guests, each a named
//! function that builds its command line or reads its output, so a step says
//! what it does and each experiment is tested on its own.

use std::net::Ipv4Addr;

/// A packet capture on every interface of a node (DNS left out) around a CIB
/// change that writes `marker`; prints the capture as base64.
pub fn capture_around_cib_change(marker: &str) -> String {
    assert!(marker.chars().all(|c| c.is_ascii_alphanumeric()), "the marker is spliced into a shell line");
    format!(
        "timeout 8 tcpdump -U -n -i any -s 0 -w /tmp/pcmk-comply.pcap 'udp and not port 53' 2>/dev/null & \
         sleep 1.5; crm_attribute --type crm_config --name pcmk-comply-probe --update {marker} >/dev/null; sleep 2; \
         crm_attribute --type crm_config --name pcmk-comply-probe --delete >/dev/null; sleep 1; kill %1 2>/dev/null; wait; \
         base64 -w0 /tmp/pcmk-comply.pcap; rm -f /tmp/pcmk-comply.pcap"
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

/// A listener on each of `ports` that nothing listens on yet, so that only
/// the firewall can keep an outsider out; `STOP_CANARIES` ends them.
pub fn start_canaries(protocol: Protocol, ports: &[u16]) -> String {
    let (ss, nc) = match protocol {
        Protocol::Udp => ("-Hlun", "nc -lku"),
        Protocol::Tcp => ("-Hltn", "nc -lk"),
    };
    let ports = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(" ");
    format!("for p in {ports}; do ss {ss} \"sport = :$p\" | grep -q . || setsid {nc} $p </dev/null >/dev/null 2>&1 & done; sleep 0.3")
}

/// Ends the listeners `start_canaries` started (either protocol).
pub const STOP_CANARIES: [&str; 3] = ["pkill", "-f", "^nc -lk"];

/// One TCP connection attempt per (node, address, port), all at once; a line
/// `NODE PORT open|closed` each (see `open_ports`).
pub fn tcp_connect_probe(targets: &[(String, Ipv4Addr, u16)]) -> String {
    let targets: Vec<String> = targets.iter().map(|(node, addr, port)| format!("{node},{addr},{port}")).collect();
    format!(
        "for t in {}; do set -- $(echo $t | tr , ' '); (nc -z -w 2 $2 $3 && echo \"$1 $3 open\" || echo \"$1 $3 closed\") & done; wait",
        targets.join(" ")
    )
}

/// The (node, port) pairs `tcp_connect_probe` found open, and how many answers it gave.
pub fn open_ports(stdout: &str) -> (Vec<(String, String)>, usize) {
    let open = stdout
        .lines()
        .filter(|l| l.ends_with(" open"))
        .map(|l| {
            let mut words = l.split_whitespace();
            (words.next().unwrap_or("?").to_string(), words.next().unwrap_or("?").to_string())
        })
        .collect();
    (open, stdout.lines().count())
}

/// `count` datagrams to `port` of each address, sent at once through bash's /dev/udp.
pub fn udp_burst(addrs: &[Ipv4Addr], port: u16, count: u64) -> String {
    let bursts: Vec<String> = addrs
        .iter()
        .map(|a| format!("(for i in $(seq {count}); do echo pcmk-comply-probe > /dev/udp/{a}/{port}; done 2>/dev/null) &"))
        .collect();
    format!("{} wait; sleep 0.5", bursts.join(" "))
}

/// UDP datagrams the kernel delivered to sockets, or dropped at a full one,
/// from `/proc/net/snmp`'s `Udp:` header and value lines.
pub fn udp_delivered(snmp: &str) -> Option<u64> {
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (names, values) = (lines.next()?, lines.next()?);
    let field = |name: &str| -> u64 {
        let index = names.split_whitespace().position(|n| n == name);
        index.and_then(|i| values.split_whitespace().nth(i)).and_then(|v| v.parse().ok()).unwrap_or(0)
    };
    Some(field("InDatagrams") + field("RcvbufErrors"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses_as_bash(script: &str) {
        let out = std::process::Command::new("bash").args(["-n", "-c", script]).output().expect("bash");
        assert!(out.status.success(), "{script}\n{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn every_probe_is_valid_bash() {
        parses_as_bash(&capture_around_cib_change("pcmkcomplyprobe0123456789abcdef"));
        parses_as_bash(&start_canaries(Protocol::Tcp, &[2224, 3121]));
        parses_as_bash(&start_canaries(Protocol::Udp, &[5405]));
        parses_as_bash(&tcp_connect_probe(&[
            ("node1".into(), Ipv4Addr::new(10, 0, 0, 11), 2224),
            ("node2".into(), Ipv4Addr::new(10, 0, 0, 12), 2224),
        ]));
        parses_as_bash(&udp_burst(&[Ipv4Addr::new(10, 0, 0, 11)], 5405, 10));
    }

    #[test]
    #[should_panic(expected = "spliced into a shell line")]
    fn a_marker_cannot_carry_shell() {
        capture_around_cib_change("x; rm -rf /");
    }

    #[test]
    fn a_burst_delivers_its_datagrams() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(2))).unwrap();
        let port = socket.local_addr().unwrap().port();
        let out = std::process::Command::new("bash").args(["-c", &udp_burst(&[Ipv4Addr::LOCALHOST], port, 25)]).output().unwrap();
        assert!(out.status.success());
        let mut received = 0;
        let mut buf = [0u8; 64];
        while let Ok(n) = socket.recv(&mut buf) {
            assert_eq!(&buf[..n], b"pcmk-comply-probe\n");
            received += 1;
        }
        assert_eq!(received, 25);
    }

    #[test]
    fn open_ports_are_read_from_the_probe_lines() {
        let (open, answers) = open_ports("node1 2224 closed\nnode2 2224 open\nnode1 3121 open\n");
        assert_eq!(open, vec![("node2".to_string(), "2224".to_string()), ("node1".to_string(), "3121".to_string())]);
        assert_eq!(answers, 3);
    }

    #[test]
    fn udp_counters_add_delivered_and_dropped() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 120 4 0 99 5\nUdpLite: InDatagrams\nUdpLite: 0\n";
        assert_eq!(udp_delivered(snmp), Some(125));
        assert_eq!(udp_delivered("Ip: 1\n"), None);
    }
}
