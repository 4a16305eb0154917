//! Maps the addresses a candidate names onto the throwaway network: each node
//! address to its node's new address, other addresses in a node link's /24 to
//! the same host in the run's /24 (a VIP, a subnet in a firewall rule).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Default)]
pub struct AddressMap {
    exact: BTreeMap<Ipv4Addr, Ipv4Addr>,
    /// Candidate /24 prefix → run /24 prefix (first three octets).
    prefixes: BTreeMap<[u8; 3], [u8; 3]>,
}

impl AddressMap {
    pub fn insert(&mut self, from: Ipv4Addr, to: Ipv4Addr) {
        self.exact.insert(from, to);
        let (f, t) = (from.octets(), to.octets());
        self.prefixes.insert([f[0], f[1], f[2]], [t[0], t[1], t[2]]);
    }

    /// Maps one address only (a VIP), not its /24.
    pub fn insert_exact(&mut self, from: Ipv4Addr, to: Ipv4Addr) {
        self.exact.insert(from, to);
    }

    /// Whether `addr` is mapped, on its own or through its /24.
    pub fn maps(&self, addr: Ipv4Addr) -> bool {
        self.map(addr).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty()
    }

    fn map(&self, addr: Ipv4Addr) -> Option<Ipv4Addr> {
        if let Some(to) = self.exact.get(&addr) {
            return Some(*to);
        }
        let o = addr.octets();
        self.prefixes.get(&[o[0], o[1], o[2]]).map(|p| Ipv4Addr::new(p[0], p[1], p[2], o[3]))
    }

    /// Rewrites every IPv4 address token in `text`; `None` when nothing changed.
    pub fn apply(&self, text: &str) -> Option<String> {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut last = 0;
        let mut i = 0;
        while i < bytes.len() {
            let starts_token = bytes[i].is_ascii_digit() && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.'));
            if !starts_token {
                i += 1;
                continue;
            }
            let end = i + bytes[i..].iter().take_while(|b| b.is_ascii_digit() || **b == b'.').count();
            // A token followed by a letter (e.g. a version like 1.2.3.4a) is not an address.
            let boundary = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
            let token = text[i..end].trim_end_matches('.');
            if let (true, Ok(addr)) = (boundary, token.parse::<Ipv4Addr>()) {
                if let Some(to) = self.map(addr) {
                    out.push_str(&text[last..i]);
                    out.push_str(&to.to_string());
                    last = i + token.len();
                    changed = true;
                }
            }
            i = end.max(i + 1);
        }
        out.push_str(&text[last..]);
        changed.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> AddressMap {
        let mut m = AddressMap::default();
        m.insert("10.0.0.1".parse().unwrap(), "10.213.7.11".parse().unwrap());
        m.insert("10.0.0.2".parse().unwrap(), "10.213.7.12".parse().unwrap());
        m
    }

    #[test]
    fn node_addresses_subnets_and_vips_are_mapped() {
        let text = "ip saddr { 10.0.0.1, 10.0.0.2 } accept\nip saddr 10.0.0.0/24 drop\nvip=10.0.0.100.\n";
        assert_eq!(
            map().apply(text).unwrap(),
            "ip saddr { 10.213.7.11, 10.213.7.12 } accept\nip saddr 10.213.7.0/24 drop\nvip=10.213.7.100.\n"
        );
    }

    #[test]
    fn other_numbers_are_left_alone() {
        for text in ["version 110.0.0.1", "x10.0.0.1", "10.0.0.1a", "192.168.1.1", "10.0.0", "999.0.0.1"] {
            assert_eq!(map().apply(text), None, "{text}");
        }
        assert_eq!(map().apply("PCSD_BIND_ADDR=10.0.0.1,10.0.0.2").unwrap(), "PCSD_BIND_ADDR=10.213.7.11,10.213.7.12");
    }
}
