//! What rsyslog's configuration says about forwarding: read by the logging
//! steps, and by the run so that the nodes can resolve the candidate's log
//! hosts to the run's log collector.

/// Where rsyslog forwards to: `action(type="omfwd" target="X" …)` or the
/// legacy `*.* @@X:514`, each host with the line that names it.
pub fn forward_targets(text: &str) -> Vec<(String, usize)> {
    let mut targets = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default();
        if line.contains("omfwd") {
            if let Some(rest) = line.split("target=\"").nth(1) {
                targets.push((rest.split('"').next().unwrap_or_default().to_string(), index + 1));
            }
        } else if let Some(at) = line.split_whitespace().nth(1).filter(|w| w.starts_with('@')) {
            // `@@(o)host:port`: an optional framing option in parentheses, then the host.
            let rest = at.trim_start_matches('@');
            let rest = if rest.starts_with('(') { rest.split_once(')').map(|(_, r)| r).unwrap_or_default() } else { rest };
            let host = rest.split(':').next().unwrap_or_default();
            targets.push((host.to_string(), index + 1));
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_targets_are_read() {
        let conf = "# central\naction(type=\"omfwd\" target=\"loghost\" port=\"514\" protocol=\"tcp\")\n*.* @@(o)logs.example.com:6514\nauth.* @10.0.0.9\n#*.* @@old\n";
        assert_eq!(forward_targets(conf), vec![("loghost".into(), 2), ("logs.example.com".into(), 3), ("10.0.0.9".into(), 4)]);
    }
}
