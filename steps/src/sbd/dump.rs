//! The devices' headers, as `sbd -d DEV dump` prints them where a capture
//! ran it: each device's watchdog and msgwait timeouts.

/// One device's header, as `sbd -d DEV dump` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    pub(super) device: String,
    pub(super) watchdog: Option<i64>,
    pub(super) msgwait: Option<i64>,
}

/// The headers of a dump: `==Dumping header on disk DEV`, then `Timeout (watchdog) : N` and
/// `Timeout (msgwait) : N` (crmsh's `get_sbd_device_metadata()` reads the same lines).
pub(super) fn dump_headers(text: &str) -> Vec<Header> {
    let mut headers: Vec<Header> = Vec::new();
    for line in text.lines() {
        if let Some(device) = line.trim().strip_prefix("==Dumping header on disk ") {
            headers.push(Header { device: device.trim().to_string(), watchdog: None, msgwait: None });
            continue;
        }
        let Some(header) = headers.last_mut() else { continue };
        let Some(rest) = line.trim().strip_prefix("Timeout (") else { continue };
        let Some((kind, value)) = rest.split_once(')') else { continue };
        let Ok(value) = value.trim().trim_start_matches(':').trim().parse::<i64>() else { continue };
        match kind {
            "watchdog" => header.watchdog = Some(value),
            "msgwait" => header.msgwait = Some(value),
            _ => {}
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::dump;
    use super::*;

    #[test]
    fn dump_headers_are_read_per_device() {
        let text = format!("{}{}", dump("/dev/a", 5, 10), dump("/dev/b", 15, 30));
        assert_eq!(
            dump_headers(&text),
            vec![
                Header { device: "/dev/a".into(), watchdog: Some(5), msgwait: Some(10) },
                Header { device: "/dev/b".into(), watchdog: Some(15), msgwait: Some(30) }
            ]
        );
    }
}
