//! A faithful parser for corosync.conf: sections, `key: value` pairs and line
//! numbers, so both the cluster builder (address mapping) and the policy
//! (crypto, transport, logging) read the same structure.

use std::path::Path;

use crate::error::InputError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub key: String,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub name: String,
    /// Line of the opening brace; 0 for the implicit top level.
    pub line: usize,
    pub end_line: usize,
    pub pairs: Vec<Pair>,
    pub sections: Vec<Section>,
}

impl Section {
    /// The last value of `key` in this section (corosync lets later lines win).
    pub fn get(&self, key: &str) -> Option<&Pair> {
        self.pairs.iter().rev().find(|p| p.key == key)
    }

    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.name == name)
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Looks up a dotted path such as `totem.crypto_cipher`.
    pub fn lookup(&self, path: &str) -> Option<&Pair> {
        let mut parts: Vec<&str> = path.split('.').collect();
        let key = parts.pop()?;
        let mut section = self;
        for part in parts {
            section = section.section(part)?;
        }
        section.get(key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorosyncConf {
    pub root: Section,
}

/// One `node { }` entry of the nodelist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    pub name: Option<String>,
    pub nodeid: Option<u32>,
    /// `(link number, address)` from `ringN_addr`, in link order.
    pub addrs: Vec<(u8, String)>,
    pub line: usize,
}

const MAX_DEPTH: usize = 16;

impl CorosyncConf {
    /// Parses as corosync 3's `parse_section()` (exec/coroparse.c) does, with
    /// its error messages: a line holding `{` opens a section (text before it,
    /// less a trailing `:`, is the name), else a line holding `:` is a key and
    /// value split at the first `:`, else `}` closes; `#` starts a comment only
    /// as a line's first non-blank character, so `secauth: on # x` has the
    /// value `on # x`. Whitespace is space, tab and (from 3.1.8) U+00A0.
    pub fn parse(text: &str, file: &Path) -> Result<Self, InputError> {
        let err = |line: usize, msg: &str| InputError::new(file, Some(line), format!("corosync would refuse this: {msg}"));
        let blank = |c: char| c == ' ' || c == '\t' || c == '\u{a0}';
        let mut stack: Vec<Section> = vec![Section::default()];
        let mut last_line = 0;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            last_line = line_no;
            // corosync reads lines into a 512-byte buffer.
            if raw.len() >= 511 {
                return Err(err(line_no, "Line too long"));
            }
            let line = raw.trim_end_matches('\r').trim_matches(blank);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((before, after)) = line.split_once('{') {
                if !after.trim_matches(blank).is_empty() {
                    return Err(err(line_no, "Extra characters after opening bracket '{'"));
                }
                let name = before.trim_matches(blank).trim_end_matches(':').trim_matches(blank);
                if name.is_empty() {
                    return Err(err(line_no, "Missing section name before opening bracket '{'"));
                }
                if stack.len() > MAX_DEPTH {
                    return Err(InputError::new(file, Some(line_no), format!("sections nested deeper than {MAX_DEPTH}")));
                }
                stack.push(Section { name: name.to_string(), line: line_no, ..Section::default() });
            } else if let Some((key, value)) = line.split_once(':') {
                let key = key.trim_matches(blank);
                if key.is_empty() {
                    return Err(err(line_no, "Line is not opening or closing section or key value"));
                }
                if stack.len() == 1 {
                    return Err(InputError::new(file, Some(line_no), format!("`{key}` is outside any section")));
                }
                stack.last_mut().expect("root stays").pairs.push(Pair {
                    key: key.to_string(),
                    value: value.trim_matches(blank).to_string(),
                    line: line_no,
                });
            } else if line.contains('}') {
                if line != "}" {
                    return Err(err(line_no, "Extra characters before or after closing bracket '}'"));
                }
                if stack.len() == 1 {
                    return Err(err(line_no, "Unexpected closing brace"));
                }
                let mut done = stack.pop().expect("checked above");
                done.end_line = line_no;
                stack.last_mut().expect("root stays").sections.push(done);
            } else {
                return Err(InputError::new(
                    file,
                    Some(line_no),
                    format!("corosync would refuse this: Line is not opening or closing section or key value (`{}`)", truncate(line)),
                ));
            }
        }
        if stack.len() > 1 {
            let open = stack.last().expect("non-empty");
            return Err(InputError::new(
                file,
                Some(open.line),
                format!(
                    "corosync would refuse this: Missing closing brace (section `{}` is never closed; the file ends at line {last_line})",
                    open.name
                ),
            ));
        }
        let mut root = stack.pop().expect("root");
        root.end_line = last_line;
        Ok(CorosyncConf { root })
    }

    pub fn totem(&self) -> Option<&Section> {
        self.root.section("totem")
    }

    pub fn nodelist(&self) -> Option<&Section> {
        self.root.section("nodelist")
    }

    pub fn nodes(&self) -> Vec<NodeEntry> {
        let Some(list) = self.nodelist() else { return Vec::new() };
        list.sections_named("node")
            .map(|node| {
                let mut addrs: Vec<(u8, String)> = node
                    .pairs
                    .iter()
                    .filter_map(|p| {
                        let link = p.key.strip_prefix("ring")?.strip_suffix("_addr")?.parse().ok()?;
                        Some((link, p.value.clone()))
                    })
                    .collect();
                addrs.sort();
                NodeEntry {
                    name: node.get("name").map(|p| p.value.clone()),
                    nodeid: node.get("nodeid").and_then(|p| p.value.parse().ok()),
                    addrs,
                    line: node.line,
                }
            })
            .collect()
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

/// A node as the throwaway cluster places it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedNode {
    pub name: String,
    pub nodeid: u32,
    /// Address per link, link 0 first.
    pub addrs: Vec<String>,
}

/// Rewrites `text` so its nodelist names exactly `nodes` on their throwaway
/// addresses. Everything outside the nodelist is kept byte for byte; inside it,
/// each node keeps its other keys, and only `ringN_addr`, `name` and `nodeid`
/// are written by the harness.
pub fn with_nodelist(text: &str, conf: &CorosyncConf, nodes: &[PlacedNode]) -> String {
    let originals = conf.nodelist().map(|l| l.sections_named("node").cloned().collect::<Vec<_>>()).unwrap_or_default();
    let mut block = String::from("nodelist {\n");
    for (index, node) in nodes.iter().enumerate() {
        block.push_str("    node {\n");
        for (link, addr) in node.addrs.iter().enumerate() {
            block.push_str(&format!("        ring{link}_addr: {addr}\n"));
        }
        block.push_str(&format!("        name: {}\n        nodeid: {}\n", node.name, node.nodeid));
        if let Some(original) = originals.get(index) {
            for pair in &original.pairs {
                let harness_owned =
                    pair.key == "name" || pair.key == "nodeid" || (pair.key.starts_with("ring") && pair.key.ends_with("_addr"));
                if !harness_owned {
                    block.push_str(&format!("        {}: {}\n", pair.key, pair.value));
                }
            }
        }
        block.push_str("    }\n");
    }
    block.push_str("}\n");

    let lines: Vec<&str> = text.lines().collect();
    match conf.nodelist() {
        Some(list) => {
            let mut out = String::new();
            for line in &lines[..list.line - 1] {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str(&block);
            for line in &lines[list.end_line..] {
                out.push_str(line);
                out.push('\n');
            }
            out
        }
        None => {
            let mut out = text.to_string();
            if !out.ends_with('\n') && !out.is_empty() {
                out.push('\n');
            }
            out.push('\n');
            out.push_str(&block);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PCS_CONF: &str = "totem {\n    version: 2\n    cluster_name: prod\n    transport: knet\n    crypto_cipher: aes256\n    crypto_hash: sha256\n}\n\nnodelist {\n    node {\n        ring0_addr: 10.0.0.1\n        name: alpha\n        nodeid: 1\n    }\n    node {\n        ring0_addr: 10.0.0.2\n        name: beta\n        nodeid: 2\n    }\n}\n\nquorum {\n    provider: corosync_votequorum\n}\n";

    fn parse(text: &str) -> Result<CorosyncConf, InputError> {
        CorosyncConf::parse(text, Path::new("corosync.conf"))
    }

    #[test]
    fn reads_sections_pairs_and_nodes() {
        let conf = parse(PCS_CONF).unwrap();
        assert_eq!(conf.root.lookup("totem.crypto_cipher").unwrap().value, "aes256");
        assert_eq!(conf.root.lookup("totem.crypto_cipher").unwrap().line, 5);
        assert_eq!(conf.root.lookup("quorum.provider").unwrap().value, "corosync_votequorum");
        let nodes = conf.nodes();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].name.as_deref(), Some("beta"));
        assert_eq!(nodes[1].nodeid, Some(2));
        assert_eq!(nodes[1].addrs, vec![(0, "10.0.0.2".to_string())]);
    }

    #[test]
    fn unbalanced_braces_name_the_line() {
        let e = parse("totem {\n  version: 2\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("Missing closing brace"), "{e}");
        let e = parse("totem {\n}\n}\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("Unexpected closing brace"), "{e}");
        let e = parse("totem {\n  garbage here\n}\n").unwrap_err();
        assert_eq!(e.line, Some(2));
        assert_eq!(
            e.to_string(),
            "corosync.conf:2: corosync would refuse this: Line is not opening or closing section or key value (`garbage here`)"
        );
    }

    #[test]
    fn what_corosync_accepts_is_accepted() {
        let conf = parse("totem: {\n\tsecauth:on # not a comment\n  crypto_hash : sha1\n    # a comment\n}\n").unwrap();
        assert_eq!(conf.root.lookup("totem.secauth").unwrap().value, "on # not a comment");
        assert_eq!(conf.root.lookup("totem.crypto_hash").unwrap().value, "sha1");
        let e = parse("totem { version: 2\n}\n").unwrap_err();
        assert!(e.message.contains("Extra characters after opening bracket"), "{e}");
        let e = parse("totem {\n}x\n").unwrap_err();
        assert!(e.message.contains("Extra characters before or after closing bracket"), "{e}");
    }

    #[test]
    fn nodelist_is_rewritten_and_the_rest_kept() {
        let conf = parse(PCS_CONF).unwrap();
        let placed = vec![
            PlacedNode { name: "alpha".into(), nodeid: 1, addrs: vec!["10.213.4.11".into()] },
            PlacedNode { name: "beta".into(), nodeid: 2, addrs: vec!["10.213.4.12".into()] },
            PlacedNode { name: "node3".into(), nodeid: 3, addrs: vec!["10.213.4.13".into()] },
        ];
        let out = with_nodelist(PCS_CONF, &conf, &placed);
        let reparsed = parse(&out).unwrap();
        assert_eq!(reparsed.totem(), conf.totem().map(|t| Section { line: t.line, end_line: t.end_line, ..t.clone() }).as_ref());
        assert!(out.starts_with("totem {\n    version: 2\n"));
        assert!(out.ends_with("quorum {\n    provider: corosync_votequorum\n}\n"));
        let nodes = reparsed.nodes();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2].addrs, vec![(0, "10.213.4.13".to_string())]);
        assert!(!out.contains("10.0.0.1"));
    }
}
