//! What corosync 3 (the version every node image runs: 3.1.7 on bookworm,
//! 3.1.9 on trixie) makes of a corosync.conf: the crypto it really uses, what
//! it refuses to start with, in its own words, and what it silently ignores
//! of corosync 2's syntax. Sources, corosync/corosync at v3.1.7 and v3.1.9:
//! exec/totemconfig.c `totem_get_crypto()` and `totem_config_validate()`,
//! exec/coroparse.c `main_config_parser_cb()`; v2.4.5 for the contrasts.

use pcmk_model::corosync_conf::CorosyncConf;

pub const CIPHERS: &[&str] = &["none", "aes256", "aes192", "aes128"];
pub const HASHES: &[&str] = &["none", "md5", "sha1", "sha256", "sha384", "sha512"];
pub const TRANSPORTS: &[&str] = &["udpu", "udp", "knet"];

/// One crypto setting as corosync 3 resolves it, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub value: String,
    pub how: String,
    /// The corosync.conf line it came from; None for a default.
    pub line: Option<usize>,
}

/// corosync 3's crypto: `secauth: on` (exactly) means aes256 + sha256 unless
/// `crypto_cipher`/`crypto_hash` are set, which win field by field; any other
/// secauth value is off; the default is none/none. (corosync 2 read secauth
/// the other way round: on unless exactly `off`, meaning aes256 + sha1.)
pub fn crypto(conf: &CorosyncConf, key: &str) -> Resolved {
    if let Some(pair) = conf.root.lookup(&format!("totem.{key}")) {
        return Resolved { value: pair.value.clone(), how: format!("corosync.conf line {}", pair.line), line: Some(pair.line) };
    }
    match conf.root.lookup("totem.secauth") {
        Some(secauth) if secauth.value == "on" => {
            let value = if key == "crypto_cipher" { "aes256" } else { "sha256" };
            Resolved {
                value: value.into(),
                how: format!("implied by `secauth: on` at corosync.conf line {}, which corosync 3 reads as aes256 + sha256", secauth.line),
                line: Some(secauth.line),
            }
        }
        Some(secauth) => Resolved {
            value: "none".into(),
            how: format!(
                "corosync.conf line {} sets secauth `{}`, which corosync 3 reads as off (only the exact value `on` turns it on)",
                secauth.line, secauth.value
            ),
            line: Some(secauth.line),
        },
        None => Resolved { value: "none".into(), how: "unset in corosync.conf; corosync 3's default".into(), line: None },
    }
}

pub fn transport(conf: &CorosyncConf) -> Resolved {
    match conf.root.lookup("totem.transport") {
        Some(pair) => Resolved { value: pair.value.clone(), how: format!("corosync.conf line {}", pair.line), line: Some(pair.line) },
        None => Resolved { value: "knet".into(), how: "unset in corosync.conf; corosync 3's default".into(), line: None },
    }
}

/// The first thing corosync 3 refuses to start with: (line, its message).
pub fn refusal(conf: &CorosyncConf) -> Option<(usize, String)> {
    let totem = conf.totem()?;
    let line_of = |key: &str| totem.get(key).map(|p| p.line).unwrap_or(totem.line);
    match totem.get("version").map(|p| p.value.as_str()) {
        Some("2") => {}
        _ => return Some((line_of("version"), "This totem parser can only parse version 2 configurations.".into())),
    }
    let transport = transport(conf);
    if !TRANSPORTS.contains(&transport.value.as_str()) {
        return Some((line_of("transport"), "Invalid transport type. Should be udpu, udp or knet".into()));
    }
    if let Some(pair) = totem.get("crypto_cipher").filter(|p| !CIPHERS.contains(&p.value.as_str())) {
        return Some((pair.line, "Invalid cipher type. Should be none, aes256, aes192 or aes128".into()));
    }
    if let Some(pair) = totem.get("crypto_hash").filter(|p| !HASHES.contains(&p.value.as_str())) {
        return Some((pair.line, "Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512".into()));
    }
    let (cipher, hash) = (crypto(conf, "crypto_cipher"), crypto(conf, "crypto_hash"));
    if cipher.value != "none" && hash.value == "none" {
        return Some((line_of("crypto_cipher"), "crypto_cipher requires crypto_hash with value other than none".into()));
    }
    if transport.value != "knet" && (cipher.value != "none" || hash.value != "none") {
        let line = totem.get("crypto_cipher").or(totem.get("crypto_hash")).or(totem.get("secauth")).map(|p| p.line).unwrap_or(totem.line);
        return Some((line, "parse error in config: crypto_cipher & crypto_hash are only valid for the Knet transport.".into()));
    }
    if let Some(refused) = nodelist_refusal(conf, &transport.value) {
        return Some(refused);
    }
    if conf.nodelist().is_none() {
        let line = totem.section("interface").map(|s| s.line).unwrap_or(totem.line);
        let why = if totem.section("interface").is_some() { "No valid name found for local host" } else { "No interfaces defined" };
        return Some((line, format!("parse error in config: {why} (corosync 3 needs a nodelist; `interface {{ bindnetaddr mcastaddr }}` alone is corosync 2 syntax)")));
    }
    None
}

/// The smallest key corosync reads (`TOTEM_PRIVATE_KEY_LEN_MIN`, 1024 bits).
pub const KEY_MIN_BYTES: usize = 128;

/// Where corosync reads its key: `totem.keyfile`, else the default.
pub fn key_path(conf: &CorosyncConf) -> String {
    conf.root.lookup("totem.keyfile").map(|p| p.value.clone()).unwrap_or_else(|| "/etc/corosync/authkey".into())
}

/// What corosync says of its key (`totem_config_keyread()`, `read_keyfile()`):
/// no key is read while both cipher and hash are `none`; otherwise a missing
/// key, or one shorter than 1024 bits, stops it. `key_len`: the length of the
/// key at [`key_path`], None when there is none.
pub fn key_refusal(conf: &CorosyncConf, key_len: Option<usize>) -> Option<String> {
    if crypto(conf, "crypto_cipher").value == "none" && crypto(conf, "crypto_hash").value == "none" {
        return None;
    }
    let path = key_path(conf);
    match key_len {
        None => Some(format!("Could not open {path}: No such file or directory")),
        Some(len) if len < KEY_MIN_BYTES => {
            Some(format!("Could only read {} bits of minimum {} bits from {path}.", len * 8, KEY_MIN_BYTES * 8))
        }
        Some(_) => None,
    }
}

/// knet's node id limit (`KNET_MAX_HOST`).
const KNET_MAX_HOST: u64 = 65536;

/// What corosync refuses in the nodelist (`put_nodelist_members_to_config()`,
/// `check_for_duplicate_nodeids()`): a node id that is not a number; on knet,
/// a node without an id (or id 0) or an id of 65536 or more; two nodes with
/// the same id, where udp and udpu make a missing id from the IPv4 address.
fn nodelist_refusal(conf: &CorosyncConf, transport: &str) -> Option<(usize, String)> {
    let list = conf.nodelist()?;
    let mut ids: Vec<(u64, String)> = Vec::new();
    for node in list.sections_named("node") {
        let ring0 = node.get("ring0_addr").map(|p| p.value.as_str());
        let line = node.get("nodeid").map(|p| p.line).unwrap_or(node.line);
        let id = match node.get("nodeid") {
            Some(pair) => match pair.value.parse::<u64>() {
                Ok(id) if id <= u64::from(u32::MAX) => Some(id),
                _ => {
                    return Some((
                        pair.line,
                        format!("parse error in config: Value of key \"nodeid\" must be integer, but \"{}\" was given", pair.value),
                    ))
                }
            },
            None => None,
        };
        let Some(addr) = ring0 else { continue };
        let (id, generated) = match id.filter(|id| *id != 0) {
            Some(id) => (id, false),
            None if transport == "knet" => {
                return Some((line, format!("Knet requires an explicit nodeid to be specified for address '{addr}'.")));
            }
            None => match addr.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => (u64::from(u32::from(ip)), true),
                Err(_) if addr.parse::<std::net::Ipv6Addr>().is_ok() => {
                    return Some((line, format!("An IPV6 network requires that a node ID be specified for address '{addr}'.")));
                }
                // A name: corosync resolves it on the node; its id is not known here.
                Err(_) => continue,
            },
        };
        if transport == "knet" && id >= KNET_MAX_HOST {
            return Some((line, format!("Knet requires nodeid to be less than {KNET_MAX_HOST} for address '{addr}'.")));
        }
        if ids.iter().any(|(seen, _)| *seen == id) {
            let how = if generated { format!("(autogenerated from {addr})") } else { String::new() };
            return Some((line, format!("Nodeid {id}{how} appears twice in corosync.conf")));
        }
        ids.push((id, addr.to_string()));
    }
    None
}

/// What corosync 3 silently makes of corosync 2 syntax it still parses.
pub fn corosync2_notes(conf: &CorosyncConf) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(totem) = conf.totem() else { return notes };
    for key in ["rrp_mode"] {
        if let Some(pair) = totem.get(key) {
            notes.push(format!("corosync.conf line {}: corosync 3 ignores `{key}` (its replacement is `link_mode`)", pair.line));
        }
    }
    let rings: Vec<usize> = totem.sections_named("interface").filter(|i| i.get("ringnumber").is_some()).map(|i| i.line).collect();
    if rings.len() > 1 {
        notes.push(format!("corosync.conf lines {rings:?}: corosync 3 reads `linknumber`, not `ringnumber`: these interface sections all become link 0 and the last one wins"));
    }
    for name in ["aisexec", "service"] {
        if let Some(section) = conf.root.section(name) {
            notes.push(format!(
                "corosync.conf line {}: corosync 3 ignores the `{name}` section (a corosync 1 plugin setting)",
                section.line
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(totem: &str) -> CorosyncConf {
        let text = format!("totem {{\n version: 2\n{totem}\n}}\nnodelist {{\n node {{\n  ring0_addr: 10.0.0.1\n  nodeid: 1\n }}\n}}\n");
        CorosyncConf::parse(&text, std::path::Path::new("corosync.conf")).unwrap()
    }

    #[test]
    fn secauth_on_is_aes256_and_sha256_on_corosync_3() {
        let c = conf(" secauth: on");
        assert_eq!((crypto(&c, "crypto_cipher").value.as_str(), crypto(&c, "crypto_hash").value.as_str()), ("aes256", "sha256"));
        let c = conf(" secauth: on\n crypto_hash: sha1");
        assert_eq!(crypto(&c, "crypto_hash").value, "sha1");
        for off in ["yes", "true", "on # comment", "off"] {
            let c = conf(&format!(" secauth: {off}"));
            assert_eq!(crypto(&c, "crypto_cipher").value, "none", "{off}");
        }
        assert_eq!(crypto(&conf(""), "crypto_cipher").value, "none");
        assert_eq!(refusal(&conf(" secauth: on")), None);
    }

    fn with_nodes(transport: &str, nodes: &str) -> CorosyncConf {
        let text = format!("totem {{\n version: 2\n transport: {transport}\n}}\nnodelist {{\n{nodes}}}\n");
        CorosyncConf::parse(&text, std::path::Path::new("corosync.conf")).unwrap()
    }

    #[test]
    fn corosync_refuses_nodelists_it_cannot_number() {
        let node = |addr: &str, id: Option<&str>| match id {
            Some(id) => format!(" node {{\n  ring0_addr: {addr}\n  nodeid: {id}\n }}\n"),
            None => format!(" node {{\n  ring0_addr: {addr}\n }}\n"),
        };
        let said = |c: CorosyncConf| refusal(&c).map(|(_, m)| m).unwrap_or_default();
        let twice = with_nodes("knet", &[node("10.0.0.1", Some("1")), node("10.0.0.2", Some("1"))].concat());
        assert_eq!(said(twice), "Nodeid 1 appears twice in corosync.conf");
        let missing = with_nodes("knet", &[node("10.0.0.1", Some("1")), node("10.0.0.2", None)].concat());
        assert!(said(missing).contains("Knet requires an explicit nodeid"));
        let large = with_nodes("knet", &node("10.0.0.1", Some("65536")));
        assert!(said(large).contains("less than 65536"));
        assert_eq!(refusal(&with_nodes("udpu", &node("10.0.0.1", Some("65536")))), None, "only knet limits ids");
        // udpu makes a missing id from the IPv4 address: 10.0.0.1 is 167772161.
        let generated = with_nodes("udpu", &[node("10.0.0.1", None), node("10.0.0.2", Some("167772161"))].concat());
        assert!(said(generated).contains("appears twice"));
    }

    #[test]
    fn a_key_shorter_than_1024_bits_is_refused_only_when_crypto_is_on() {
        let on = conf(" crypto_cipher: aes256\n crypto_hash: sha256");
        assert_eq!(
            key_refusal(&on, Some(64)).as_deref(),
            Some("Could only read 512 bits of minimum 1024 bits from /etc/corosync/authkey.")
        );
        assert_eq!(key_refusal(&on, Some(128)), None);
        assert!(key_refusal(&on, None).unwrap().contains("Could not open"));
        assert_eq!(key_refusal(&conf(""), Some(1)), None, "no crypto, no key read");
        assert!(key_refusal(&conf(" crypto_hash: sha1"), Some(16)).is_some(), "a hash alone needs the key");
    }

    #[test]
    fn corosync_3_refusals_are_said_in_its_words() {
        let said = |totem: &str| refusal(&conf(totem)).map(|(_, m)| m).unwrap_or_default();
        assert!(said(" transport: udpu\n crypto_cipher: aes256\n crypto_hash: sha256").contains("only valid for the Knet transport"));
        assert!(said(" transport: udpu\n secauth: on").contains("only valid for the Knet transport"));
        assert!(said(" crypto_cipher: aes256").contains("crypto_cipher requires crypto_hash"));
        assert!(said(" crypto_cipher: 3des\n crypto_hash: sha1").contains("Invalid cipher type"));
        assert!(said(" transport: iba").contains("Invalid transport type"));
        assert_eq!(refusal(&conf(" transport: udpu")), None, "udpu without crypto starts");
        assert_eq!(refusal(&conf(" crypto_hash: sha256")), None, "a hash without a cipher is allowed");
        let no_nodelist = CorosyncConf::parse(
            "totem {\n version: 2\n interface {\n  bindnetaddr: 10.0.0.0\n  mcastaddr: 239.255.1.1\n }\n}\n",
            std::path::Path::new("c"),
        )
        .unwrap();
        assert!(refusal(&no_nodelist).unwrap().1.contains("No valid name found for local host"));
    }
}
