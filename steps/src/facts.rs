//! Facts: what a candidate's files or a running node say, gathered once and
//! shared by every step that needs them. Static facts come from the candidate
//! alone (`lint`); live facts from the nodes of a running cluster (`run`).
//! Steps read facts; they never shell out per assertion.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{bail, Context};
use base64::Engine;
use pcmk_containers::candidate::Candidate;
use pcmk_model::node::{Service, CIB_XML, COROSYNC_CONF};

pub const NFTABLES_CONF: &str = "/etc/nftables.conf";
use pcmk_containers::cluster::Cluster;
use pcmk_containers::corosync_conf::CorosyncConf;

/// Ownership and mode of a file (what `stat` says, or what the manifest places).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFact {
    pub owner: String,
    pub group: String,
    pub mode: u32,
    pub size: u64,
    pub is_dir: bool,
    /// Content hash, for regular files the gather hashes (keys).
    pub sha256: Option<String>,
}

/// What one node (or, statically, the candidate) says.
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    pub name: String,
    pub corosync_conf: Option<CorosyncConf>,
    pub corosync_text: Option<String>,
    /// Absolute path on the node → its stat; absent paths are not in the map.
    pub files: BTreeMap<String, FileFact>,
    /// Files under /etc/sudoers.d and friends, path → content (static: from the candidate).
    pub texts: BTreeMap<String, String>,
    /// `corosync-cmapctl` keys → values (live only).
    pub cmap: Option<BTreeMap<String, String>>,
    /// Installed package → version (live only).
    pub packages: Option<BTreeMap<String, String>>,
    /// The firewall: `nft list ruleset` (live), or the candidate's
    /// /etc/nftables.conf when it loads it at boot (static).
    pub nft: Option<String>,
}

/// Facts for one scenario's view of the system.
#[derive(Debug, Clone)]
pub struct Facts {
    pub live: bool,
    pub nodes: Vec<NodeFacts>,
    /// The CIB text (candidate's cib.xml, or `cibadmin --query` from a node).
    pub cib: Option<String>,
    /// Where the CIB came from, for messages.
    pub cib_origin: String,
}

/// Paths whose ownership and mode the policy looks at; every gather stats them.
pub const WATCHED_PATHS: &[&str] = &[
    "/etc/corosync",
    COROSYNC_CONF,
    "/etc/corosync/authkey",
    "/etc/pacemaker",
    "/etc/pacemaker/authkey",
    "/var/lib/pacemaker/cib",
    CIB_XML,
    "/var/lib/pcsd",
    "/var/lib/pcsd/known-hosts",
    "/var/lib/pcsd/pcsd.key",
    "/var/lib/pcsd/pcsd.crt",
    "/var/lib/pcsd/pcs_users.conf",
    "/var/lib/pcsd/pcs_settings.conf",
    "/etc/default/pcsd",
    "/etc/sudoers",
    "/etc/sudoers.d",
];

/// Text files the policy reads whole, when present (a `*` matches within one directory).
pub const TEXT_GLOBS: &[&str] = &[
    "/etc/default/pcsd",
    "/etc/sudoers",
    "/etc/sudoers.d/*",
    "/etc/audit/auditd.conf",
    "/etc/audit/rules.d/*.rules",
    "/etc/aide/aide.conf",
    "/etc/rsyslog.conf",
    "/etc/rsyslog.d/*.conf",
];

/// Whether `path` is one of the text files the policy reads.
pub fn is_read_path(path: &str) -> bool {
    TEXT_GLOBS.iter().any(|glob| match glob.split_once('*') {
        None => path == *glob,
        Some((prefix, suffix)) => path.len() >= prefix.len() + suffix.len() && path.starts_with(prefix) && path.ends_with(suffix) && !path[prefix.len()..].contains('/'),
    })
}

/// Packages whose versions the patch policy compares.
pub const PACKAGES: &[&str] = &["pacemaker", "corosync", "pcs", "crmsh", "libknet1", "libknet1t64", "resource-agents"];

impl Facts {
    /// Facts from the candidate's files alone.
    pub fn from_candidate(candidate: &Candidate) -> Facts {
        let mut node = NodeFacts { name: "candidate".into(), ..NodeFacts::default() };
        node.corosync_conf = Some(candidate.corosync_conf().clone());
        node.corosync_text = Some(String::from_utf8_lossy(&candidate.corosync_file().content).into_owned());
        let placed = candidate
            .files
            .iter()
            .map(|f| (&f.placement, f.content.len(), Some(&f.content)))
            .chain(candidate.secrets.iter().map(|s| (&s.placement, s.bytes, None)));
        for (placement, size, content) in placed {
            node.files.insert(
                placement.path.clone(),
                FileFact {
                    owner: placement.owner.clone(),
                    group: placement.group.clone(),
                    mode: placement.mode,
                    size: size as u64,
                    is_dir: false,
                    sha256: None,
                },
            );
            if let (true, Some(content)) = (is_read_path(&placement.path), content) {
                node.texts.insert(placement.path.clone(), String::from_utf8_lossy(content).into_owned());
            }
        }
        if candidate.services.contains(&Service::Nftables) {
            node.nft = candidate.file_at(NFTABLES_CONF).map(|f| String::from_utf8_lossy(&f.content).into_owned());
        }
        let cib = candidate.file_at(CIB_XML);
        Facts {
            live: false,
            nodes: vec![node],
            cib: cib.map(|f| String::from_utf8_lossy(&f.content).into_owned()),
            cib_origin: cib.map(|f| f.source.display().to_string()).unwrap_or_else(|| "the candidate (no cib.xml)".into()),
        }
    }

    /// Facts from every node of a running cluster: one command per node, plus the CIB once.
    pub async fn from_cluster(cluster: &Cluster) -> anyhow::Result<Facts> {
        let names = cluster.node_names();
        let gathers = names.iter().map(|node| gather_node(cluster, node));
        let nodes = futures_util::future::try_join_all(gathers).await?;
        let cib = cluster.exec(names[0], &["cibadmin", "--query"]).await?;
        if !cib.success() {
            bail!("cibadmin --query on {} failed: {}", names[0], cib.stderr.trim());
        }
        Ok(Facts { live: true, nodes, cib: Some(cib.stdout), cib_origin: format!("the running CIB (cibadmin --query on {})", names[0]) })
    }

    pub fn node_names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }
}

/// The gather script: stat, hashes, cmap, package versions and a few files in one exec.
const GATHER: &str = r#"
set -u
echo '### stat'
for p in "$@"; do
  [ -e "$p" ] || continue
  if [ -d "$p" ]; then
    for f in "$p" "$p"/*; do [ -e "$f" ] && stat -c '%n	%U	%G	%a	%s	%F' "$f"; done
  else
    stat -c '%n	%U	%G	%a	%s	%F' "$p"
  fi
done
echo '### sha256'
for p in /etc/corosync/authkey /etc/pacemaker/authkey; do [ -f "$p" ] && sha256sum "$p"; done
echo '### cmap'
corosync-cmapctl 2>/dev/null
corosync-cmapctl -m stats 2>/dev/null | grep '^stats\.knet\.handle\.'
echo '### packages'
dpkg-query -W -f '${Package}	${Version}	${db:Status-Abbrev}\n' __PACKAGES__ 2>/dev/null
echo '### texts'
for p in __READ__; do [ -f "$p" ] && printf '%s\t%s\n' "$p" "$(base64 -w0 "$p")"; done
echo '### nft'
nft list ruleset 2>/dev/null | base64 -w0; echo
echo '### corosync.conf'
base64 -w0 /etc/corosync/corosync.conf 2>/dev/null; echo
"#;

async fn gather_node(cluster: &Cluster, node: &str) -> anyhow::Result<NodeFacts> {
    let script = GATHER.replace("__PACKAGES__", &PACKAGES.join(" ")).replace("__READ__", &TEXT_GLOBS.join(" "));
    let mut cmd: Vec<&str> = vec!["bash", "-c", &script, "gather"];
    cmd.extend_from_slice(WATCHED_PATHS);
    let out = cluster.exec(node, &cmd).await?;
    parse_gather(node, &out.stdout).with_context(|| format!("reading facts from {node}"))
}

fn parse_gather(node: &str, text: &str) -> anyhow::Result<NodeFacts> {
    let mut facts = NodeFacts { name: node.to_string(), ..NodeFacts::default() };
    let mut cmap = BTreeMap::new();
    let mut packages = BTreeMap::new();
    let mut hashes = BTreeMap::new();
    let mut section = "";
    let decode = |b64: &str| -> anyhow::Result<String> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).context("bad base64 from a node")?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("### ") {
            section = match name {
                "stat" => "stat",
                "sha256" => "sha256",
                "cmap" => "cmap",
                "packages" => "packages",
                "texts" => "texts",
                "corosync.conf" => "corosync.conf",
                "nft" => "nft",
                other => bail!("unknown gather section {other}"),
            };
            continue;
        }
        match section {
            "stat" => {
                let f: Vec<&str> = line.split('\t').collect();
                if f.len() == 6 {
                    let mode = u32::from_str_radix(f[3], 8).with_context(|| format!("bad mode in `{line}`"))?;
                    facts.files.insert(
                        f[0].to_string(),
                        FileFact {
                            owner: f[1].into(),
                            group: f[2].into(),
                            mode,
                            size: f[4].parse().unwrap_or(0),
                            is_dir: f[5] == "directory",
                            sha256: None,
                        },
                    );
                }
            }
            "sha256" => {
                if let Some((hash, path)) = line.split_once("  ") {
                    hashes.insert(path.to_string(), hash.to_string());
                }
            }
            "cmap" => {
                // `key (type) = value`
                if let Some((left, value)) = line.split_once(" = ") {
                    let key = left.split(" (").next().unwrap_or(left);
                    cmap.insert(key.to_string(), value.to_string());
                }
            }
            "packages" => {
                let f: Vec<&str> = line.split('\t').collect();
                if f.len() == 3 && f[2].starts_with("ii") {
                    packages.insert(f[0].to_string(), f[1].to_string());
                }
            }
            "texts" => {
                if let Some((path, b64)) = line.split_once('\t') {
                    facts.texts.insert(path.to_string(), decode(b64)?);
                }
            }
            "nft" if !line.trim().is_empty() => facts.nft = Some(decode(line)?),
            "corosync.conf" if !line.trim().is_empty() => {
                let text = decode(line)?;
                let conf = CorosyncConf::parse(&text, std::path::Path::new(&format!("{node}:{COROSYNC_CONF}")))?;
                facts.corosync_conf = Some(conf);
                facts.corosync_text = Some(text);
            }
            _ => {}
        }
    }
    for (path, hash) in hashes {
        if let Some(file) = facts.files.get_mut(&path) {
            file.sha256 = Some(hash);
        }
    }
    facts.cmap = Some(cmap);
    facts.packages = Some(packages);
    Ok(facts)
}

/// A CIB parsed into what the policy asks of it.
#[derive(Debug, Clone, Default)]
pub struct CibFacts {
    /// `cluster_property_set`s of crm_config, in document order; which wins
    /// is Pacemaker's to say (see `cluster_options`).
    pub property_sets: Vec<PropertySet>,
    /// The `validate-with` schema the CIB names.
    pub validate_with: Option<String>,
    pub primitives: Vec<Primitive>,
    /// Every instance attribute of a resource, template or resource default,
    /// at whatever level it is set.
    pub instance_attributes: Vec<InstanceAttribute>,
}

#[derive(Debug, Clone)]
pub struct PropertySet {
    pub id: String,
    pub score: i64,
    /// Holds a `<rule>`: in force only when the rule holds.
    pub has_rule: bool,
    /// (name, value, line)
    pub pairs: Vec<(String, String, usize)>,
}

/// One `nvpair` of an `instance_attributes` block, with what it belongs to.
#[derive(Debug, Clone)]
pub struct InstanceAttribute {
    /// The element holding the block: `primitive`, `group`, `clone`,
    /// `master`, `bundle`, `template` or `rsc_defaults`.
    pub owner_kind: String,
    pub owner_id: String,
    /// `class:provider:type` of a primitive or template (through `template=`).
    pub agent: Option<String>,
    pub name: String,
    pub value: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Primitive {
    pub id: String,
    pub class: String,
    pub provider: Option<String>,
    pub kind: String,
    /// The primitive's own instance_attributes, name → (value, line).
    pub params: Vec<(String, String, usize)>,
    pub line: usize,
    /// The group it belongs to, if any.
    pub group: Option<String>,
    /// The clone, promotable (master) or bundle around it, if any: it runs
    /// on several nodes and does not move as one.
    pub replicated_by: Option<String>,
    /// `target-role=Stopped` on it or a parent, or `is-managed=false`: the
    /// cluster does not run or move it.
    pub held: bool,
}

impl Primitive {
    /// Where the agent lives on a node.
    pub fn agent_path(&self) -> Option<String> {
        match self.class.as_str() {
            "ocf" => Some(format!("/usr/lib/ocf/resource.d/{}/{}", self.provider.as_deref()?, self.kind)),
            "stonith" => Some(format!("/usr/sbin/{}", self.kind)),
            "lsb" => Some(format!("/etc/init.d/{}", self.kind)),
            _ => None,
        }
    }

    pub fn agent(&self) -> String {
        match &self.provider {
            Some(p) => format!("{}:{}:{}", self.class, p, self.kind),
            None => format!("{}:{}", self.class, self.kind),
        }
    }
}

const ATTRIBUTE_OWNERS: &[&str] = &["primitive", "group", "clone", "master", "bundle", "template", "rsc_defaults"];

impl CibFacts {
    pub fn parse(text: &str, origin: &str) -> anyhow::Result<CibFacts> {
        let doc = pcmk_containers::cib::parse(text, std::path::Path::new(origin))?;
        let line = |n: roxmltree::Node| doc.text_pos_at(n.range().start).row as usize;
        let mut facts = CibFacts { validate_with: doc.root_element().attribute("validate-with").map(str::to_string), ..CibFacts::default() };
        let crm_config = doc.descendants().filter(|n| n.has_tag_name("crm_config"));
        for set in crm_config.flat_map(|c| c.children().filter(|n| n.has_tag_name("cluster_property_set"))) {
            facts.property_sets.push(PropertySet {
                id: set.attribute("id").unwrap_or_default().to_string(),
                score: pcmk_model::text::parse_score(set.attribute("score")),
                has_rule: set.children().any(|c| c.has_tag_name("rule")),
                pairs: set
                    .children()
                    .filter(|n| n.has_tag_name("nvpair"))
                    .filter_map(|nv| Some((nv.attribute("name")?.to_string(), nv.attribute("value").unwrap_or_default().to_string(), line(nv))))
                    .collect(),
            });
        }
        let templates: BTreeMap<&str, roxmltree::Node> = doc.descendants().filter(|n| n.has_tag_name("template")).filter_map(|t| Some((t.attribute("id")?, t))).collect();
        // A primitive made from a template takes its agent from it.
        let agent_of = |node: roxmltree::Node| -> (String, Option<String>, String) {
            let source = node.attribute("template").and_then(|t| templates.get(t).copied()).unwrap_or(node);
            let pick = |name: &str| node.attribute(name).or_else(|| source.attribute(name));
            (pick("class").unwrap_or_default().to_string(), pick("provider").map(str::to_string), pick("type").unwrap_or_default().to_string())
        };
        for primitive in doc.descendants().filter(|n| n.has_tag_name("primitive")) {
            let (class, provider, kind) = agent_of(primitive);
            let params = primitive
                .children()
                .filter(|c| c.has_tag_name("instance_attributes"))
                .flat_map(|ia| ia.children().filter(|c| c.has_tag_name("nvpair")))
                .filter_map(|nv| Some((nv.attribute("name")?.to_string(), nv.attribute("value").unwrap_or_default().to_string(), line(nv))))
                .collect();
            let ancestors: Vec<roxmltree::Node> = primitive.ancestors().skip(1).take_while(|a| !a.has_tag_name("resources")).collect();
            let id_of = |tags: &[&str]| ancestors.iter().find(|a| tags.iter().any(|t| a.has_tag_name(*t))).and_then(|a| a.attribute("id")).map(str::to_string);
            let held = std::iter::once(primitive).chain(ancestors.iter().copied()).any(|node| {
                node.children().filter(|c| c.has_tag_name("meta_attributes")).flat_map(|m| m.children().filter(|c| c.has_tag_name("nvpair"))).any(|nv| {
                    let value = nv.attribute("value").unwrap_or_default();
                    match nv.attribute("name") {
                        Some("target-role") => value.eq_ignore_ascii_case("stopped"),
                        Some("is-managed") => pcmk_model::text::parse_bool(value) == Some(false),
                        _ => false,
                    }
                })
            });
            facts.primitives.push(Primitive {
                id: primitive.attribute("id").unwrap_or_default().to_string(),
                class,
                provider,
                kind,
                params,
                line: line(primitive),
                group: id_of(&["group"]),
                replicated_by: id_of(&["clone", "master", "bundle"]),
                held,
            });
        }
        for block in doc.descendants().filter(|n| n.has_tag_name("instance_attributes")) {
            let Some(owner) = block.ancestors().skip(1).find(|a| ATTRIBUTE_OWNERS.iter().any(|o| a.has_tag_name(*o))) else { continue };
            let agent = matches!(owner.tag_name().name(), "primitive" | "template").then(|| {
                let (class, provider, kind) = agent_of(owner);
                match provider {
                    Some(p) => format!("{class}:{p}:{kind}"),
                    None => format!("{class}:{kind}"),
                }
            });
            for nv in block.descendants().filter(|c| c.has_tag_name("nvpair")) {
                let Some(name) = nv.attribute("name") else { continue };
                facts.instance_attributes.push(InstanceAttribute {
                    owner_kind: owner.tag_name().name().to_string(),
                    owner_id: owner.attribute("id").unwrap_or_default().to_string(),
                    agent: agent.clone(),
                    name: name.to_string(),
                    value: nv.attribute("value").unwrap_or_default().to_string(),
                    line: line(nv),
                });
            }
        }
        Ok(facts)
    }

    /// The primitive a resource name stands for: itself, a group's first
    /// member, or the primitive a clone replicates.
    pub fn primitive_for(&self, name: &str) -> Option<&Primitive> {
        self.primitives.iter().find(|p| p.id == name).or_else(|| self.primitives.iter().find(|p| p.group.as_deref() == Some(name) || p.replicated_by.as_deref() == Some(name)))
    }

    /// Resources a failover can move: primitives the cluster runs, outside
    /// clones, promotable sets and bundles, that are not fence devices.
    pub fn movable(&self) -> impl Iterator<Item = &Primitive> {
        self.primitives.iter().filter(|p| p.class != "stonith" && p.replicated_by.is_none() && !p.held)
    }

    /// Whether the schema upgrade renames legacy underscore option names
    /// (`validate-with` older than pacemaker-3.0: xml/upgrade-2.10.xsl).
    pub fn validate_with_before_3_0(&self) -> bool {
        match self.validate_with.as_deref() {
            None => true,
            Some(schema) => match schema.strip_prefix("pacemaker-") {
                Some(version) => version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|major| major < 3),
                // `pacemaker-next`, `none` and the like are not upgraded.
                None => schema.starts_with("transitional"),
            },
        }
    }
}

/// Facts shared by scenarios on the same unchanged cluster.
#[derive(Default)]
pub struct FactCache {
    facts: tokio::sync::Mutex<Option<Arc<Facts>>>,
}

impl FactCache {
    /// The cached facts, or fresh ones with the time gathering took.
    pub async fn get_or_gather(&self, cluster: &Cluster) -> anyhow::Result<(Arc<Facts>, Option<std::time::Duration>)> {
        let mut slot = self.facts.lock().await;
        if let Some(facts) = slot.as_ref() {
            return Ok((facts.clone(), None));
        }
        let started = std::time::Instant::now();
        let facts = Arc::new(Facts::from_cluster(cluster).await?);
        *slot = Some(facts.clone());
        Ok((facts, Some(started.elapsed())))
    }

    /// A step changed the cluster: the next reader gathers afresh.
    pub async fn invalidate(&self) {
        *self.facts.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_output_is_parsed() {
        let conf = base64::engine::general_purpose::STANDARD.encode("totem {\n crypto_cipher: aes256\n}\n");
        let sudo = base64::engine::general_purpose::STANDARD.encode("ops ALL=(root) /usr/sbin/crm_mon\n");
        let text = format!(
            "### stat\n/etc/corosync/authkey\troot\troot\t400\t256\tregular file\n/etc/corosync\troot\troot\t755\t4096\tdirectory\n### sha256\nabc123  /etc/corosync/authkey\n### cmap\ntotem.crypto_cipher (str) = aes256\nstats.knet.handle.tx_crypt_packets (u64) = 12\n### packages\npacemaker\t2.1.5-1+deb12u1\tii \nlibknet1\t1.25-1\tun \n### texts\n/etc/sudoers.d/ops\t{sudo}\n### corosync.conf\n{conf}\n"
        );
        let facts = parse_gather("n1", &text).unwrap();
        let key = &facts.files["/etc/corosync/authkey"];
        assert_eq!((key.owner.as_str(), key.mode, key.size, key.sha256.as_deref()), ("root", 0o400, 256, Some("abc123")));
        assert!(facts.files["/etc/corosync"].is_dir);
        assert_eq!(facts.cmap.as_ref().unwrap()["totem.crypto_cipher"], "aes256");
        assert_eq!(facts.cmap.as_ref().unwrap()["stats.knet.handle.tx_crypt_packets"], "12");
        assert_eq!(facts.packages.as_ref().unwrap().get("pacemaker").map(String::as_str), Some("2.1.5-1+deb12u1"));
        assert!(!facts.packages.as_ref().unwrap().contains_key("libknet1"), "not-installed packages are left out");
        assert!(facts.texts["/etc/sudoers.d/ops"].contains("crm_mon"));
        assert_eq!(facts.corosync_conf.unwrap().root.lookup("totem.crypto_cipher").unwrap().value, "aes256");
    }

    #[test]
    fn cib_facts_carry_options_primitives_and_lines() {
        let cib = "<cib>\n<configuration>\n<crm_config><cluster_property_set id=\"c\">\n<nvpair id=\"a\" name=\"stonith-enabled\" value=\"false\"/>\n</cluster_property_set></crm_config>\n<resources>\n<primitive id=\"f\" class=\"stonith\" type=\"fence_ipmilan\">\n<instance_attributes id=\"i\"><nvpair id=\"p\" name=\"password\" value=\"s3cret\"/></instance_attributes>\n</primitive>\n</resources>\n</configuration>\n</cib>";
        let facts = CibFacts::parse(cib, "cib.xml").unwrap();
        assert_eq!(facts.property_sets[0].pairs[0], ("stonith-enabled".to_string(), "false".to_string(), 4));
        assert_eq!(facts.primitives[0].agent_path().as_deref(), Some("/usr/sbin/fence_ipmilan"));
        assert_eq!(facts.primitives[0].params[0], ("password".to_string(), "s3cret".to_string(), 8));
    }
}
