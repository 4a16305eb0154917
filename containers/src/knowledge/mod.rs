//! What one version of the cluster stack knows, asked of its own software in
//! its node image: Pacemaker's cluster and fencing options (name, type,
//! default, allowed values, deprecated, advanced, generated), crm_mon's
//! options, the environment variables pcsd reads, where pcsd looks for the
//! web UI and whether it is there, and the keys corosync.conf(5) and
//! votequorum(5) document. `compare` judges a candidate's settings against
//! two of these tables (`judge`).
//!
//! One throwaway container per image prints every inventory at once
//! (`inventory.sh`); [`Knowledge::parse`] reads that output (pure, tested on
//! the real outputs of both images in `fixtures/`); [`of_image`] caches the
//! table per image id, so a second `compare` needs no container for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod judge;

/// The script the tool container runs.
pub const INVENTORY: &str = include_str!("inventory.sh");

/// Bumped when the table's shape or its parsing changes, so older cache files are not read.
const FORMAT: u32 = 1;

/// One Pacemaker option as the version's own metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcmkOption {
    /// The content type: boolean, duration, select, …
    pub kind: String,
    /// The default the metadata states (none where it states none).
    pub default: Option<String>,
    /// A select's allowed values.
    pub values: Vec<String>,
    pub deprecated: bool,
    pub advanced: bool,
    /// Set by the cluster itself (dc-version, …), never by a user.
    pub generated: bool,
    /// The command that listed it.
    pub source: String,
}

/// One corosync.conf key as the version's manual documents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorosyncKey {
    /// The first word of the default the manual states.
    pub default: Option<String>,
    /// The manual that documents it.
    pub source: String,
}

/// What one version knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knowledge {
    format: u32,
    /// Installed package → its Debian version (pacemaker, corosync, pcs, pcs-web-ui).
    pub packages: BTreeMap<String, String>,
    pub cluster_options: BTreeMap<String, PcmkOption>,
    pub fencing_options: BTreeMap<String, PcmkOption>,
    /// crm_mon's long options → deprecated.
    pub crm_mon_options: BTreeMap<String, bool>,
    /// Environment variable pcsd reads → the file that reads it.
    pub pcsd_env: BTreeMap<String, String>,
    /// Where pcsd serves the web UI from, and whether that is there in the image.
    pub webui: Option<(String, bool)>,
    /// `section.key` (`totem.token`, `totem.interface.linknumber`,
    /// `nodelist.node.ringX_addr`, `quorum.two_node`) → what the manual says.
    pub corosync_keys: BTreeMap<String, CorosyncKey>,
}

/// What went wrong reading an inventory.
#[derive(Debug, thiserror::Error)]
#[error("the inventory {0}")]
pub struct ParseError(String);

impl Knowledge {
    /// Reads the output of [`INVENTORY`].
    pub fn parse(output: &str) -> Result<Knowledge, ParseError> {
        let mut k = Knowledge {
            format: FORMAT,
            packages: BTreeMap::new(),
            cluster_options: BTreeMap::new(),
            fencing_options: BTreeMap::new(),
            crm_mon_options: BTreeMap::new(),
            pcsd_env: BTreeMap::new(),
            webui: None,
            corosync_keys: BTreeMap::new(),
        };
        for (what, source, body) in sections(output) {
            match what {
                "packages" => {
                    for line in body.lines() {
                        if let [name, version, status] = line.split('\t').collect::<Vec<_>>()[..] {
                            if status.starts_with("ii") {
                                k.packages.insert(name.to_string(), version.to_string());
                            }
                        }
                    }
                }
                "cluster options" => pacemaker_options(body, source, &mut k.cluster_options)?,
                "fencing options" => pacemaker_options(body, source, &mut k.fencing_options)?,
                "crm_mon options" => k.crm_mon_options = crm_mon_options(body),
                "pcsd environment" => {
                    k.pcsd_env =
                        body.lines().filter_map(|l| l.split_once('\t')).map(|(var, file)| (var.to_string(), file.to_string())).collect()
                }
                "pcs web ui" => {
                    k.webui = body.lines().find_map(|l| l.split_once('\t')).map(|(dir, there)| (dir.to_string(), there == "present"))
                }
                "corosync keys" => corosync_keys(body, "corosync.conf(5)", &mut k.corosync_keys),
                "quorum keys" => quorum_keys(body, "votequorum(5)", &mut k.corosync_keys),
                _ => {}
            }
        }
        for (what, empty) in [
            ("pacemaker's package", !k.packages.contains_key("pacemaker")),
            ("cluster options", k.cluster_options.is_empty()),
            ("pcsd's environment", k.pcsd_env.is_empty()),
            ("corosync's keys", k.corosync_keys.is_empty()),
        ] {
            if empty {
                return Err(ParseError(format!("lists no {what}")));
            }
        }
        Ok(k)
    }

    /// A package's upstream version (`2.1.5` of `2.1.5-1+deb12u1`).
    pub fn version(&self, package: &str) -> Option<&str> {
        let full = self.packages.get(package)?;
        let upstream = full.split_once(':').map(|(_, v)| v).unwrap_or(full);
        Some(upstream.rsplit_once('-').map(|(v, _)| v).unwrap_or(upstream))
    }

    /// `Pacemaker 3.0.0`, `pcs 0.12.0.2`, `corosync 3.1.9`: the package as its version says it.
    pub fn named(&self, package: &str) -> String {
        let name = if package == "pacemaker" { "Pacemaker" } else { package };
        match self.version(package) {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        }
    }
}

/// `### what: source` sections of an inventory.
fn sections(output: &str) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    let mut rest = output;
    while let Some(start) = rest.find("### ") {
        let after = &rest[start + 4..];
        let (header, body) = after.split_once('\n').unwrap_or((after, ""));
        let end = body.find("\n### ").map(|i| i + 1).unwrap_or(body.len());
        let (what, source) = header.split_once(": ").unwrap_or((header, ""));
        out.push((what.trim(), source.trim(), &body[..end]));
        rest = &body[end..];
    }
    out
}

/// Pacemaker 2.1's daemon metadata (`*** Deprecated ***`, `*** Advanced Use Only ***`
/// in the short description) or 3.0's option list (`<deprecated/>`, `advanced="1"`,
/// `generated="1"`). The first description of an option wins.
fn pacemaker_options(xml: &str, source: &str, into: &mut BTreeMap<String, PcmkOption>) -> Result<(), ParseError> {
    let start = xml.find('<').ok_or_else(|| ParseError(format!("has no XML from `{source}`")))?;
    let doc =
        roxmltree::Document::parse(&xml[start..]).map_err(|e| ParseError(format!("has XML from `{source}` that does not parse: {e}")))?;
    for p in doc.descendants().filter(|n| n.has_tag_name("parameter")) {
        let Some(name) = p.attribute("name") else { continue };
        let short = p.children().find(|c| c.has_tag_name("shortdesc")).and_then(|c| c.text()).unwrap_or_default();
        let content = p.children().find(|c| c.has_tag_name("content"));
        let option = PcmkOption {
            kind: content.and_then(|c| c.attribute("type")).unwrap_or("string").to_string(),
            default: content.and_then(|c| c.attribute("default")).filter(|d| !d.is_empty()).map(str::to_string),
            values: content
                .map(|c| {
                    c.children().filter(|o| o.has_tag_name("option")).filter_map(|o| o.attribute("value")).map(str::to_string).collect()
                })
                .unwrap_or_default(),
            deprecated: p.children().any(|c| c.has_tag_name("deprecated")) || short.contains("*** Deprecated ***"),
            advanced: p.attribute("advanced") == Some("1") || short.contains("*** Advanced Use Only ***"),
            generated: p.attribute("generated") == Some("1"),
            source: source.to_string(),
        };
        into.entry(name.to_string()).or_insert(option);
    }
    Ok(())
}

/// Long options of `crm_mon --help-all`, those under "Deprecated Options:" marked.
fn crm_mon_options(help: &str) -> BTreeMap<String, bool> {
    let mut options = BTreeMap::new();
    let mut deprecated = false;
    for line in help.lines() {
        if !line.starts_with(' ') && line.trim_end().ends_with(':') {
            deprecated = line.contains("Deprecated");
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().take(2).collect();
        let Some(long) = words.iter().find(|w| w.starts_with("--")) else { continue };
        if !line.trim_start().starts_with('-') {
            continue;
        }
        let name = long.trim_end_matches(',').split('=').next().unwrap_or_default();
        if name.len() > 2 {
            options.insert(name.to_string(), deprecated);
        }
    }
    options
}

/// The first word of the default a manual's text states: `(default 2)`,
/// `The default is 3000 milliseconds.`, `Defaults to no`, `default: 30`,
/// `The default value is yes.`; "by default corosync uses" states none.
fn stated_default(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    for (at, _) in lower.match_indices("default") {
        let after = &text[at + "default".len()..];
        let opened = lower[..at].ends_with('(');
        let rest = ["s to ", " value is ", " is: ", " is ", ": "].iter().find_map(|filler| after.strip_prefix(filler)).or_else(|| {
            if opened {
                after.strip_prefix(' ')
            } else {
                None
            }
        });
        let Some(rest) = rest else { continue };
        let word: String =
            rest.trim_start_matches(['"', '\'']).chars().take_while(|c| c.is_ascii_alphanumeric() || "._/%-".contains(*c)).collect();
        let word = word.trim_end_matches('.');
        if !word.is_empty() {
            return Some(word.to_string());
        }
    }
    None
}

/// corosync.conf(5): each `.TP` item is a key; "Within the .B name directive"
/// says which section the following items are in. The items before the first
/// such sentence are the `interface` sub-directive's.
fn corosync_keys(roff: &str, source: &str, into: &mut BTreeMap<String, CorosyncKey>) {
    let lines: Vec<&str> = roff.lines().collect();
    let mut section = "totem.interface".to_string();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.starts_with("Within the") {
            if let Some(name) = lines.get(i + 1).and_then(|l| l.strip_prefix(".B ")) {
                let name = name.trim();
                section = match name {
                    "logger_subsys" => "logging.logger_subsys".to_string(),
                    "totem" | "logging" | "quorum" | "nodelist" | "system" | "resources" | "nozzle" => name.to_string(),
                    other => other.to_string(),
                };
                if name == "nodelist" {
                    section = "nodelist.node".into();
                }
            }
        }
        if line == ".TP" {
            // The item's name is its first line that is not blank.
            let mut j = i + 1;
            while lines.get(j).is_some_and(|l| l.trim().is_empty()) {
                j += 1;
            }
            // A key is one word, perhaps with a qualifier: `bindnetaddr (UDP only)`; `totem { }` is a section.
            let item: Vec<&str> = lines.get(j).map(|l| l.split_whitespace().collect()).unwrap_or_default();
            let name = item.first().copied().unwrap_or_default();
            let one_word = item.get(1).is_none_or(|w| w.starts_with('('));
            if one_word && !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == 'X') {
                let mut text = String::new();
                let mut k = j + 1;
                while let Some(l) = lines.get(k).filter(|l| !l.starts_with(".TP") && !l.starts_with(".SH") && !l.starts_with("Within the"))
                {
                    text.push_str(l);
                    text.push(' ');
                    k += 1;
                }
                into.entry(format!("{section}.{name}")).or_insert(CorosyncKey { default: stated_default(&text), source: source.into() });
            }
        }
        i += 1;
    }
}

/// votequorum(5): its keys appear as `.B key: value` and in `quorum { }` examples.
fn quorum_keys(roff: &str, source: &str, into: &mut BTreeMap<String, CorosyncKey>) {
    let mut in_quorum = false;
    for line in roff.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("quorum {") {
            in_quorum = true;
            continue;
        }
        if trimmed.starts_with('}') {
            in_quorum = false;
        }
        let key = match trimmed.strip_prefix(".B ") {
            Some(b) => b.split_once(':').map(|(k, _)| k.trim()),
            None if in_quorum => trimmed.split_once(':').map(|(k, _)| k.trim()),
            None => None,
        };
        if let Some(key) = key.filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')) {
            into.entry(format!("quorum.{key}")).or_insert(CorosyncKey { default: None, source: source.into() });
        }
    }
}

fn cache_file(image_id: &str) -> Option<std::path::PathBuf> {
    let id: String = image_id.trim_start_matches("sha256:").chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    Some(crate::cache::dir()?.join("knowledge").join(format!("{id}.json")))
}

/// The table cached for this image id, if any and of this format.
pub fn cached(image_id: &str) -> Option<Knowledge> {
    let k: Knowledge = serde_json::from_str(&std::fs::read_to_string(cache_file(image_id)?).ok()?).ok()?;
    (k.format == FORMAT).then_some(k)
}

/// What `image`'s own software knows: from the cache by the image's id, else
/// from one tool container (no network, as hacluster, no capabilities),
/// then cached. The flag says whether it came from the cache.
pub async fn of_image(docker: &crate::Docker, image: &crate::image::NodeImage) -> anyhow::Result<(Knowledge, bool)> {
    use anyhow::Context as _;
    let id = docker.inspect_image(&image.tag).await.with_context(|| format!("inspecting {}", image.tag))?.id.unwrap_or_default();
    if let Some(k) = cached(&id) {
        return Ok((k, true));
    }
    let out =
        crate::cluster::run_tool(docker, image, &[("/tmp/inventory.sh", INVENTORY.as_bytes())], "hacluster", &["sh", "/tmp/inventory.sh"])
            .await?;
    let k = Knowledge::parse(&out.stdout)
        .with_context(|| format!("asking {} what it knows: {}", image.tag, out.stderr.lines().take(5).collect::<Vec<_>>().join("; ")))?;
    if let Some(file) = cache_file(&id) {
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A cache that cannot be written only costs a container next time.
        let _ = std::fs::write(&file, serde_json::to_string(&k)?);
    }
    Ok((k, false))
}

/// What the target's own tools make of the candidate's CIB.
#[derive(Debug, Clone, Default)]
pub struct Upgrade {
    /// `### verify` (crm_verify) and `### upgrade` (cibadmin --upgrade) sections, as they said it.
    pub said: String,
    /// The CIB after the dry upgrade, where it succeeded.
    pub upgraded: Option<String>,
}

const UPGRADE: &str = "echo '### verify'; crm_verify --xml-file /tmp/candidate-cib.xml 2>&1; echo '### upgrade'; \
    cp /tmp/candidate-cib.xml /tmp/upgraded.xml && CIB_file=/tmp/upgraded.xml cibadmin --upgrade --force 2>&1 \
    && echo '### upgraded' && cat /tmp/upgraded.xml";

/// `crm_verify` and a dry `cibadmin --upgrade` of the candidate's CIB, in a
/// throwaway container of `image` with no network.
pub async fn upgrade(docker: &crate::Docker, image: &crate::image::NodeImage, cib: &[u8]) -> anyhow::Result<Upgrade> {
    let out = crate::cluster::run_tool(docker, image, &[("/tmp/candidate-cib.xml", cib)], "hacluster", &["sh", "-c", UPGRADE]).await?;
    Ok(split_upgrade(&out.stdout))
}

fn split_upgrade(stdout: &str) -> Upgrade {
    match stdout.split_once("### upgraded\n") {
        Some((said, cib)) => Upgrade { said: said.to_string(), upgraded: Some(cib.to_string()) },
        None => Upgrade { said: stdout.to_string(), upgraded: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn bookworm() -> Knowledge {
        Knowledge::parse(include_str!("fixtures/bookworm.txt")).unwrap()
    }

    pub(crate) fn trixie() -> Knowledge {
        Knowledge::parse(include_str!("fixtures/trixie.txt")).unwrap()
    }

    #[test]
    fn pacemaker_2_1_daemon_metadata_and_3_0_option_lists_read_alike() {
        let (b, t) = (bookworm(), trixie());
        assert_eq!((b.named("pacemaker"), t.named("pacemaker")), ("Pacemaker 2.1.5".to_string(), "Pacemaker 3.0.0".to_string()));
        assert_eq!((b.version("pcs"), t.version("pcs")), (Some("0.11.5"), Some("0.12.0.2")));
        let cf = |k: &Knowledge| k.cluster_options["concurrent-fencing"].clone();
        assert_eq!((cf(&b).default.as_deref(), cf(&b).deprecated), (Some("false"), false));
        assert_eq!((cf(&t).default.as_deref(), cf(&t).deprecated), (Some("true"), true));
        assert!(b.cluster_options["remove-after-stop"].deprecated);
        assert!(!t.cluster_options.contains_key("remove-after-stop"));
        assert_eq!(b.cluster_options["stonith-action"].values, ["reboot", "off", "poweroff"]);
        assert_eq!(t.cluster_options["stonith-action"].values, ["reboot", "off"]);
        assert!(!b.cluster_options["stonith-action"].deprecated, "a deprecated value is not a deprecated option");
        assert!(b.cluster_options["stonith-enabled"].advanced && t.cluster_options["stonith-enabled"].advanced);
        assert!(t.cluster_options["dc-version"].generated);
        assert!(t.cluster_options.contains_key("node-pending-timeout") && !b.cluster_options.contains_key("node-pending-timeout"));
        // controld and based options are cluster options too on 2.1.
        assert!(b.cluster_options.contains_key("enable-acl") && b.cluster_options.contains_key("dc-deadtime"));
        assert!(b.fencing_options.contains_key("pcmk_host_list") && t.fencing_options.contains_key("pcmk_host_list"));
        assert!(!b.cluster_options.contains_key("pcmk_host_list"));
    }

    #[test]
    fn crm_mon_options_come_with_their_deprecation() {
        let (b, t) = (bookworm(), trixie());
        assert_eq!(b.crm_mon_options.get("--as-html"), Some(&true), "2.1.5 lists it under Deprecated Options");
        assert_eq!(t.crm_mon_options.get("--as-html"), None);
        assert_eq!(t.crm_mon_options.get("--as-xml"), Some(&true), "3.0.0 keeps --as-xml, deprecated");
        assert_eq!(t.crm_mon_options.get("--output-as"), Some(&false));
        assert!(!t.crm_mon_options.contains_key("--web-cgi"));
    }

    #[test]
    fn pcsd_reads_disable_gui_on_0_11_only() {
        let (b, t) = (bookworm(), trixie());
        assert_eq!(b.pcsd_env.get("PCSD_DISABLE_GUI").map(String::as_str), Some("pcs/daemon/env.py"));
        assert!(!t.pcsd_env.contains_key("PCSD_DISABLE_GUI"));
        for var in ["PCSD_BIND_ADDR", "PCSD_SSL_OPTIONS", "PCSD_SSL_CIPHERS", "PCSD_PORT"] {
            assert!(b.pcsd_env.contains_key(var) && t.pcsd_env.contains_key(var), "{var}");
        }
        assert!(t.pcsd_env.contains_key("PCSD_RESTART_AFTER_REQUESTS"), "read by pcsd's Ruby side");
        assert!(t.pcsd_env.contains_key("PCSD_SSL_CERT_SYNC_ENABLED"), "read by the pcs library from the file");
        assert!(!t.pcsd_env.contains_key("WEBUI_DIR"), "a field of Env, not a variable");
        assert_eq!(t.webui, Some(("/usr/share/pcsd/public/ui".to_string(), false)));
        assert!(!t.packages.contains_key("pcs-web-ui"));
    }

    #[test]
    fn corosync_keys_come_from_its_manuals_with_their_sections() {
        let (b, t) = (bookworm(), trixie());
        for key in [
            "totem.crypto_cipher",
            "totem.token",
            "totem.interface.linknumber",
            "logging.to_syslog",
            "nodelist.node.ringX_addr",
            "nodelist.node.nodeid",
            "quorum.provider",
            "quorum.two_node",
            "quorum.wait_for_all",
            "system.state_dir",
        ] {
            assert!(b.corosync_keys.contains_key(key) && t.corosync_keys.contains_key(key), "{key}");
        }
        assert_eq!(t.corosync_keys["totem.token"].default.as_deref(), Some("3000"));
        assert_eq!(b.corosync_keys["totem.transport"].default.as_deref(), Some("knet"));
        assert_eq!(t.corosync_keys["totem.transport"].default.as_deref(), Some("knet"));
        assert_eq!(t.corosync_keys["totem.secauth"].default.as_deref(), Some("off"));
        assert!(!t.corosync_keys.contains_key("totem.rrp_mode"), "corosync 3 documents no rrp_mode");
        assert_eq!(t.corosync_keys["totem.clear_node_high_bit"].default, None, "\"by default corosync uses\" states none");
        assert_eq!(t.corosync_keys["system.allow_knet_handle_fallback"].default.as_deref(), Some("no"));
        assert_eq!(t.corosync_keys["totem.interface.knet_pong_count"].default.as_deref(), Some("2"));
        let changed: Vec<&String> = b
            .corosync_keys
            .iter()
            .filter(|(k, v)| t.corosync_keys.get(*k).is_some_and(|w| v.default.is_some() && w.default.is_some() && w.default != v.default))
            .map(|(k, _)| k)
            .collect();
        assert!(changed.is_empty(), "3.1.7 and 3.1.9 state the same defaults: {changed:?}");
    }

    #[test]
    fn a_table_is_refused_when_a_tool_said_nothing() {
        assert!(Knowledge::parse("### packages: dpkg-query -W\npacemaker\t2.1.5-1\tii \n").is_err());
        let said = "### verify\n### upgrade\n### upgraded\n<cib/>\n";
        let u = split_upgrade(said);
        assert_eq!((u.said.as_str(), u.upgraded.as_deref()), ("### verify\n### upgrade\n", Some("<cib/>\n")));
    }
}
