//! What every node receives: the node plan (names, ids, links), the
//! candidate's files with the harness's changes (seeded CIB, stand-ins,
//! mapped addresses, keys), as one archive, and the networks.

use super::*;
use std::collections::BTreeMap;

/// What one node receives: files, and the plan `pcmk-node` applies at first boot.
pub(super) struct Deployment {
    /// Files whose owner and mode the plan sets, and whether they are
    /// configuration text whose addresses are mapped (secrets are not).
    pub(super) files: Vec<(Placement, Vec<u8>, bool)>,
    /// A captured cluster's nodes, in order: each node's own copy of a placed
    /// file (a pcsd bound to its own address, a key that drifted), by path.
    pub(super) per_node: Vec<BTreeMap<String, (Placement, Vec<u8>)>>,
    /// Files the plan consumes and deletes (passwords).
    pub(super) transient: Vec<(String, Vec<u8>)>,
    pub(super) plan: String,
    pub(super) corosync_conf: Placement,
    /// Generated keys, passwords and CIB credentials: never printed.
    pub(super) redactor: Redactor,
}

pub(super) use crate::tree::append;

/// Where an archive made by `append` places its files.
pub(super) fn archive_paths(archive: &[u8]) -> std::io::Result<Vec<String>> {
    let mut paths = Vec::new();
    for entry in tar::Archive::new(archive).entries()? {
        paths.push(format!("/{}", entry?.path()?.display()));
    }
    Ok(paths)
}

/// Node names, ids and link count, from the candidate's nodelist and the requested size.
pub(super) struct Layout {
    pub(super) nodes: Vec<PlacedNode>,
    pub(super) links: usize,
}

impl Layout {
    pub(super) fn plan(candidate: &Candidate, requested: Option<usize>) -> Result<Layout, InputError> {
        let entries = candidate.corosync_conf().nodes();
        let file = &candidate.corosync_file().source;
        let count = candidate.planned_nodes(requested);
        if !(1..=crate::candidate::MAX_NODES).contains(&count) {
            return Err(InputError::new(
                &candidate.origin,
                None,
                format!("{count} nodes asked for; a throwaway cluster has 1 to {}", crate::candidate::MAX_NODES),
            ));
        }
        let mut nodes: Vec<PlacedNode> = Vec::new();
        let mut next_id = entries.iter().filter_map(|e| e.nodeid).max().unwrap_or(0) + 1;
        for index in 0..count {
            let entry = entries.get(index);
            let nodeid = match entry.and_then(|e| e.nodeid) {
                Some(id) => id,
                None => {
                    next_id += 1;
                    next_id - 1
                }
            };
            let name = entry.and_then(|e| e.name.clone()).unwrap_or_else(|| format!("node{nodeid}"));
            if !valid_hostname(&name) {
                return Err(InputError::new(file, entry.map(|e| e.line), format!("node name `{name}` is not a valid host name")));
            }
            if nodes.iter().any(|n| n.name == name || n.nodeid == nodeid) {
                return Err(InputError::new(file, entry.map(|e| e.line), format!("node `{name}` (nodeid {nodeid}) appears twice")));
            }
            nodes.push(PlacedNode { name, nodeid, addrs: Vec::new() });
        }
        let links = entries.iter().map(|e| e.addrs.iter().map(|(l, _)| *l as usize + 1).max().unwrap_or(1)).max().unwrap_or(1);
        if links > 8 {
            return Err(InputError::new(file, None, format!("{links} links; knet supports at most 8")));
        }
        Ok(Layout { nodes, links })
    }
}

pub(super) fn valid_hostname(name: &str) -> bool {
    !name.is_empty() && name.len() <= 63 && !name.starts_with('-') && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

pub(super) fn host_address(subnet: &str, index: usize) -> Ipv4Addr {
    let base: Ipv4Addr = subnet.split('/').next().and_then(|s| s.parse().ok()).expect("subnets are ours");
    let [a, b, c, _] = base.octets();
    Ipv4Addr::new(a, b, c, 11 + index as u8)
}

/// A /24 of its own per network, so concurrent runs never share addresses.
pub(super) async fn create_network(docker: &Docker, run: &RunId, role: &str, labels: &HashMap<String, String>) -> anyhow::Result<Network> {
    let name = format!("pcmk-{run}-{role}");
    let mut last_error = None;
    for _ in 0..32 {
        let third = rand::thread_rng().gen_range(0..=255u8);
        let subnet = format!("10.213.{third}.0/24");
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            labels: Some(labels.clone()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.clone()),
                    gateway: Some(format!("10.213.{third}.1")),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        match docker.create_network(request).await {
            Ok(_) => return Ok(Network { name, subnet }),
            Err(bollard::errors::Error::DockerResponseServerError { message, .. }) if message.contains("overlap") => {
                last_error = Some(message)
            }
            Err(e) => return Err(e).with_context(|| format!("creating network {name}")),
        }
    }
    bail!("no free /24 in 10.213.0.0/16 for {name}: {}", last_error.unwrap_or_default())
}

pub(super) fn deployment(candidate: &Candidate) -> Result<(Deployment, Vec<HarnessSetting>), InputError> {
    let mut files: Vec<(Placement, Vec<u8>, bool)> = Vec::new();
    let mut transient: Vec<(String, Vec<u8>)> = Vec::new();
    let mut plan = String::new();
    let mut groups: Vec<&str> = Vec::new();
    for user in &candidate.users {
        for group in &user.groups {
            if !groups.contains(&group.as_str()) {
                groups.push(group);
                plan.push_str(&format!("group\t{group}\n"));
            }
        }
        plan.push_str(&format!("user\t{}\t{}\n", user.name, user.groups.join(",")));
        if let Some(password) = &user.password {
            let path = format!("/etc/pcmk-comply/password-{}", user.name);
            transient.push((path.clone(), password.0.as_bytes().to_vec()));
            plan.push_str(&format!("password\t{}\t{path}\n", user.name));
        }
    }
    let cib_file = candidate.file_at(CIB_XML);
    let cib_text = match cib_file {
        Some(f) => Some(std::str::from_utf8(&f.content).map_err(|_| InputError::new(&f.source, None, "not UTF-8"))?),
        None => None,
    };
    let placed: Vec<String> = candidate.files.iter().map(|f| f.placement.path.clone()).collect();
    let (cib, settings) = cib::seed(cib_text.zip(cib_file.map(|f| f.source.as_path())), &placed)?;
    for file in &candidate.files {
        if file.placement.path != CIB_XML && file.placement.path != COROSYNC_CONF {
            // Keys are bytes: no address mapping may touch them.
            files.push((file.placement.clone(), file.content.clone(), !file.secret));
        }
    }
    let cib_placement = cib_file.map(|f| f.placement.clone()).unwrap_or(Placement {
        path: CIB_XML.into(),
        owner: "hacluster".into(),
        group: "haclient".into(),
        mode: 0o600,
    });
    files.push((cib_placement, cib.into_bytes(), true));
    let mut rng = rand::thread_rng();
    for secret in &candidate.secrets {
        let mut bytes = vec![0u8; secret.bytes];
        rng.fill_bytes(&mut bytes);
        files.push((secret.placement.clone(), bytes, false));
    }
    for service in &candidate.services {
        plan.push_str(&format!("autostart\t{}\n", service.as_str()));
    }
    let corosync_conf = candidate.corosync_file().placement.clone();
    let mut redactor = Redactor::default();
    for (_, content) in &transient {
        redactor.add(content);
    }
    for (placement, content, _) in &files {
        let generated = candidate.secrets.iter().any(|s| s.placement.path == placement.path);
        let brought = candidate.files.iter().any(|f| f.secret && f.placement.path == placement.path);
        if !placement.path.ends_with("cib.xml") && (generated || brought) {
            redactor.add(content);
        }
    }
    for value in cib_text.map(crate::redact::cib_secret_values).unwrap_or_default() {
        redactor.add(value.as_bytes());
    }
    let per_node = candidate.captured.iter().map(|node| own_copies(node, &files)).collect::<Vec<_>>();
    for copies in &per_node {
        for (placement, content) in copies.values() {
            if candidate.files.iter().any(|f| f.secret && f.placement.path == placement.path) {
                redactor.add(content);
            }
        }
    }
    Ok((Deployment { files, per_node, transient, plan, corosync_conf, redactor }, settings))
}

/// A captured node's own copies of the placed files that differ from the
/// first node's (the CIB and corosync.conf stay the cluster's one).
fn own_copies(node: &crate::candidate::CapturedNode, files: &[(Placement, Vec<u8>, bool)]) -> BTreeMap<String, (Placement, Vec<u8>)> {
    let mut copies = BTreeMap::new();
    for (placement, content, _) in files {
        if placement.path == CIB_XML {
            continue;
        }
        let Some(recorded) = node.files.get(&placement.path) else { continue };
        let Some(own) = &recorded.content else { continue };
        if own != content || recorded.mode != placement.mode || recorded.owner != placement.owner || recorded.group != placement.group {
            let placement = Placement {
                path: placement.path.clone(),
                owner: recorded.owner.clone(),
                group: recorded.group.clone(),
                mode: recorded.mode,
            };
            copies.insert(placement.path.clone(), (placement, own.clone()));
        }
    }
    copies
}

impl Deployment {
    /// A VIP outside every node link's /24 could not come up in the lab: it
    /// moves to the first link's network (host 100 and up), and is reported.
    pub(super) fn move_virtual_ips(&self, addresses: &mut AddressMap, subnet: &str) -> Vec<HarnessSetting> {
        let Some(cib) = self.files.iter().find(|(p, _, _)| p.path == CIB_XML).and_then(|(_, c, _)| std::str::from_utf8(c).ok()) else {
            return Vec::new();
        };
        let Ok(doc) = pcmk_model::text::parse_xml(cib) else { return Vec::new() };
        let [a, b, c, _] = host_address(subnet, 0).octets();
        let mut settings = Vec::new();
        for (index, (id, vip)) in crate::stand_in::virtual_ips(&doc).into_iter().enumerate() {
            if addresses.maps(vip) || index >= 50 {
                continue;
            }
            let to = Ipv4Addr::new(a, b, c, 100 + index as u8);
            addresses.insert_exact(vip, to);
            settings.push(HarnessSetting {
                name: format!("address of {id}"),
                value: to.to_string(),
                why: format!("the VIP {vip} is outside the lab's networks"),
            });
        }
        settings
    }

    /// The tar uploaded to `/` of the node at `index`, and the files whose addresses were mapped.
    pub(super) fn archive(&self, corosync_conf: &str, addresses: &AddressMap, index: usize) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
        let mut plan = self.plan.clone();
        let mut mapped = Vec::new();
        let mut archive = tar::Builder::new(Vec::new());
        let own = self.per_node.get(index);
        let files = self.files.iter().map(|(p, c, text)| match own.and_then(|o| o.get(&p.path)) {
            Some((placement, content)) => (placement, content.as_slice(), *text),
            None => (p, c.as_slice(), *text),
        });
        let placed = files.chain(std::iter::once((&self.corosync_conf, corosync_conf.as_bytes(), false)));
        for (placement, content, text) in placed {
            let rewritten = std::str::from_utf8(content).ok().filter(|_| text).and_then(|t| addresses.apply(t));
            if rewritten.is_some() {
                mapped.push(placement.path.clone());
            }
            let content = rewritten.as_deref().map(str::as_bytes).unwrap_or(content);
            append(&mut archive, &placement.path, placement.mode, content)?;
            plan.push_str(&format!("file\t{}\t{}\t{}\t{:o}\n", placement.path, placement.owner, placement.group, placement.mode));
        }
        for (path, content) in &self.transient {
            append(&mut archive, path, 0o600, content)?;
        }
        append(&mut archive, "/etc/pcmk-comply/plan", 0o600, plan.as_bytes())?;
        append(&mut archive, "/usr/local/sbin/pcmk-node", 0o755, SUPERVISOR.as_bytes())?;
        append(&mut archive, fence::AGENT_PATH, 0o755, fence::AGENT.as_bytes())?;
        Ok((archive.into_inner()?, mapped))
    }
}
