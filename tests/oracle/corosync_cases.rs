//! corosync.conf cases: every real-tool fixture, then generated files that
//! vary what decides whether corosync starts and which crypto it uses.

use super::rng::Rng;

/// One corosync.conf with the key corosync would read beside it.
pub struct CorosyncCase {
    pub name: String,
    pub conf: String,
    /// The authkey's bytes; `None`: no key file at all.
    pub key: Option<Vec<u8>>,
}

/// A key of `len` bytes (corosync only counts them).
pub fn key(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

const TRANSPORTS: &[Option<&str>] = &[None, Some("knet"), Some("udpu"), Some("udp"), Some("iba"), Some("knet # the default"), Some("KNET")];
const SECAUTH: &[Option<&str>] = &[None, Some("on"), Some("off"), Some("yes"), Some("on # crypto"), Some("ON"), Some("")];
const CIPHERS: &[Option<&str>] =
    &[None, Some("none"), Some("aes256"), Some("aes192"), Some("aes128"), Some("3des"), Some("aes256 # strong"), Some("AES256"), Some("")];
const HASHES: &[Option<&str>] = &[
    None,
    Some("none"),
    Some("md5"),
    Some("sha1"),
    Some("sha256"),
    Some("sha384"),
    Some("sha512"),
    Some("sha2"),
    Some("sha256 # x"),
    Some(""),
];
const KEY_LENGTHS: &[Option<usize>] = &[Some(128), Some(128), Some(128), Some(256), Some(4096), Some(127), Some(64), Some(0), None];

#[derive(Clone, Copy)]
enum NodeIds {
    Sequential,
    Missing,
    FirstMissing,
    Duplicate,
    Large(u32),
}

#[derive(Clone, Copy)]
enum Layout {
    /// `nodelist` only.
    Nodelist,
    /// corosync 2: `interface { bindnetaddr mcastaddr ringnumber }`, no nodelist.
    InterfaceOnly,
    /// A knet `interface { linknumber knet_transport }` beside the nodelist.
    InterfaceAndNodelist,
}

struct Shape {
    version: Option<&'static str>,
    transport: Option<&'static str>,
    secauth: Option<&'static str>,
    cipher: Option<&'static str>,
    hash: Option<&'static str>,
    nodes: usize,
    ids: NodeIds,
    names_as_addresses: bool,
    layout: Layout,
    indent: &'static str,
    comments: bool,
    no_space_after_colon: bool,
    key: Option<usize>,
}

fn render(shape: &Shape) -> String {
    let i = shape.indent;
    let mut out = String::new();
    if shape.comments {
        out.push_str("# Please read the corosync.conf.5 manual page\n");
    }
    out.push_str("totem {\n");
    let colon = if shape.no_space_after_colon { ":" } else { ": " };
    let line = |out: &mut String, key: &str, value: Option<&str>| {
        if let Some(value) = value {
            out.push_str(&format!("{i}{key}{colon}{value}\n"));
        }
    };
    line(&mut out, "version", shape.version);
    line(&mut out, "cluster_name", Some("oracle"));
    if shape.comments {
        out.push_str(&format!("{i}# crypto follows\n"));
    }
    line(&mut out, "transport", shape.transport);
    line(&mut out, "secauth", shape.secauth);
    line(&mut out, "crypto_cipher", shape.cipher);
    line(&mut out, "crypto_hash", shape.hash);
    match shape.layout {
        Layout::Nodelist => {}
        Layout::InterfaceOnly => {
            out.push_str(&format!("{i}interface {{\n{i}{i}ringnumber{colon}0\n{i}{i}bindnetaddr{colon}10.31.0.0\n{i}{i}mcastaddr{colon}239.255.1.1\n{i}{i}mcastport{colon}5405\n{i}}}\n"));
        }
        Layout::InterfaceAndNodelist => {
            out.push_str(&format!("{i}interface {{\n{i}{i}linknumber{colon}0\n{i}{i}knet_transport{colon}udp\n{i}}}\n"));
        }
    }
    out.push_str("}\n\n");
    if !matches!(shape.layout, Layout::InterfaceOnly) {
        out.push_str("nodelist {\n");
        for n in 1..=shape.nodes {
            let addr = if shape.names_as_addresses { format!("oracle-node{n}") } else { format!("10.31.0.{n}") };
            out.push_str(&format!("{i}node {{\n{i}{i}ring0_addr{colon}{addr}\n{i}{i}name{colon}node{n}\n"));
            let id = match shape.ids {
                NodeIds::Sequential => Some(n as u32),
                NodeIds::Missing => None,
                NodeIds::FirstMissing => (n > 1).then_some(n as u32),
                NodeIds::Duplicate => Some(if n == shape.nodes { 1 } else { n as u32 }),
                NodeIds::Large(base) => Some(base + n as u32 - 1),
            };
            if let Some(id) = id {
                out.push_str(&format!("{i}{i}nodeid{colon}{id}\n"));
            }
            out.push_str(&format!("{i}}}\n"));
        }
        out.push_str("}\n\n");
    }
    out.push_str("quorum {\n");
    out.push_str(&format!("{i}provider{colon}corosync_votequorum\n"));
    if shape.nodes == 2 {
        out.push_str(&format!("{i}two_node{colon}1\n"));
    }
    out.push_str("}\n\nlogging {\n");
    out.push_str(&format!("{i}to_syslog{colon}no\n{i}to_logfile{colon}no\n}}\n"));
    out
}

fn pick<T: Copy>(rng: &mut Rng, from: &[T]) -> T {
    from[rng.below(from.len())]
}

/// `count` generated cases, the same for the same seed.
pub fn generated(count: usize, seed: u64) -> Vec<CorosyncCase> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::with_capacity(count);
    for n in 0..count {
        // Most cases vary the crypto on a sound skeleton; the rest vary the skeleton too.
        let odd_skeleton = rng.below(4) == 0;
        // Half the odd skeletons get sound crypto, so nothing else hides what the skeleton does.
        let sound_crypto = odd_skeleton && rng.below(2) == 0;
        let mut shape = Shape {
            version: if odd_skeleton && rng.below(8) == 0 { pick(&mut rng, &[None, Some("1"), Some("3")]) } else { Some("2") },
            transport: pick(&mut rng, TRANSPORTS),
            secauth: pick(&mut rng, SECAUTH),
            cipher: pick(&mut rng, CIPHERS),
            hash: pick(&mut rng, HASHES),
            nodes: 2 + rng.below(3),
            ids: if odd_skeleton {
                pick(
                    &mut rng,
                    &[
                        NodeIds::Missing,
                        NodeIds::FirstMissing,
                        NodeIds::Duplicate,
                        NodeIds::Large(65535),
                        NodeIds::Large(65536),
                        NodeIds::Large(70000),
                        NodeIds::Large(4294967290),
                    ],
                )
            } else {
                NodeIds::Sequential
            },
            names_as_addresses: rng.below(3) == 0,
            layout: if odd_skeleton {
                pick(&mut rng, &[Layout::Nodelist, Layout::InterfaceOnly, Layout::InterfaceAndNodelist])
            } else {
                Layout::Nodelist
            },
            indent: pick(&mut rng, &["    ", "\t", "  ", " \t"]),
            comments: rng.below(2) == 0,
            no_space_after_colon: rng.below(6) == 0,
            key: pick(&mut rng, KEY_LENGTHS),
        };
        if sound_crypto {
            shape.transport = pick(&mut rng, &[None, Some("knet"), Some("udpu")]);
            shape.secauth = None;
            (shape.cipher, shape.hash) = if shape.transport == Some("udpu") { (None, None) } else { (Some("aes256"), Some("sha256")) };
            shape.key = Some(128);
        }
        cases.push(CorosyncCase { name: format!("generated-{n:04}"), conf: render(&shape), key: shape.key.map(key) });
    }
    cases
}

/// The real-tool fixtures, each with a sound key, a short key and no key.
pub fn real(root: &std::path::Path) -> Vec<CorosyncCase> {
    let mut cases = Vec::new();
    for path in [
        "tests/fixtures/real/pcs-2node/corosync.conf",
        "tests/fixtures/real/pcs-knet/corosync.conf",
        "tests/fixtures/real/pcs012-trixie/corosync.conf",
        "tests/fixtures/pcs-corosync.conf",
        "candidates/hardened/corosync.conf",
        "candidates/insecure/corosync.conf",
        "candidates/upgrade-trap/corosync.conf",
    ] {
        let conf = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        for (suffix, key_len) in [("", Some(128)), (" with a 64-byte key", Some(64)), (" without a key", None)] {
            cases.push(CorosyncCase { name: format!("{path}{suffix}"), conf: conf.clone(), key: key_len.map(key) });
        }
    }
    cases
}
