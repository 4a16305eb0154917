//! Practice 1, secure communication: knet with allowed crypto, keys, what
//! crosses the wire, and no credentials in the configuration.

use base64::Engine;
use cucumber::then;

use crate::support::{list, place, Violations};
use crate::world::PolicyWorld;

/// corosync 3's defaults for settings a corosync.conf may leave out.
fn totem_default(key: &str) -> Option<&'static str> {
    match key {
        "transport" => Some("knet"),
        "crypto_cipher" | "crypto_hash" => Some("none"),
        _ => None,
    }
}

async fn totem_value_is_one_of(world: &mut PolicyWorld, key: &str, allowed: &str) -> anyhow::Result<()> {
    let allowed = list(allowed);
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let Some(conf) = &node.corosync_conf else {
            violations.add(format!("{}: no /etc/corosync/corosync.conf", place(node)));
            continue;
        };
        let (value, at) = match conf.root.lookup(&format!("totem.{key}")) {
            Some(pair) => (pair.value.clone(), format!("corosync.conf line {}", pair.line)),
            None => (totem_default(key).unwrap_or("").to_string(), "unset in corosync.conf, corosync's default".into()),
        };
        if !allowed.contains(&value) {
            violations.add(format!("{}: totem.{key} is `{value}` ({at}); allowed: {}", place(node), allowed.join(", ")));
        }
    }
    violations.into_result()
}

#[then(expr = "corosync uses the {string} transport")]
async fn transport(world: &mut PolicyWorld, allowed: String) -> anyhow::Result<()> {
    totem_value_is_one_of(world, "transport", &allowed).await
}

#[then(expr = "the corosync crypto_cipher is one of {string}")]
async fn cipher(world: &mut PolicyWorld, allowed: String) -> anyhow::Result<()> {
    totem_value_is_one_of(world, "crypto_cipher", &allowed).await
}

#[then(expr = "the corosync crypto_hash is one of {string}")]
async fn hash(world: &mut PolicyWorld, allowed: String) -> anyhow::Result<()> {
    totem_value_is_one_of(world, "crypto_hash", &allowed).await
}

#[then(expr = "corosync.conf holds no inline key")]
async fn no_inline_key(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        if let Some(pair) = node.corosync_conf.as_ref().and_then(|c| c.root.lookup("totem.key")) {
            violations.add(format!("{}: corosync.conf line {} sets totem.key inline; use a keyfile (authkey) readable by root only", place(node), pair.line));
        }
    }
    violations.into_result()
}

#[then(expr = "on every node the running crypto_cipher and crypto_hash match corosync.conf")]
async fn running_crypto_matches(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("the running crypto settings")?;
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        let cmap = node.cmap.as_ref().expect("live facts carry cmap");
        for key in ["crypto_cipher", "crypto_hash"] {
            let configured = node
                .corosync_conf
                .as_ref()
                .and_then(|c| c.root.lookup(&format!("totem.{key}")))
                .map(|p| p.value.clone())
                .unwrap_or_else(|| totem_default(key).unwrap_or("").to_string());
            let running = cmap.get(&format!("totem.{key}")).cloned().unwrap_or_else(|| "none".into());
            if running != configured {
                violations.add(format!("{}: corosync runs with {key} `{running}` but corosync.conf says `{configured}` (reload or restart corosync)", node.name));
            }
        }
    }
    violations.into_result()
}

fn crypt_packets(cmap: &std::collections::BTreeMap<String, String>) -> u64 {
    ["stats.knet.handle.tx_crypt_packets", "stats.knet.handle.rx_crypt_packets"]
        .iter()
        .map(|k| cmap.get(*k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
        .sum()
}

#[then(expr = "knet's encrypted packet counters grow on every node within {int} seconds")]
async fn crypt_counters_grow(world: &mut PolicyWorld, seconds: u64) -> anyhow::Result<()> {
    world.require_live("knet's packet counters")?;
    let before = world.facts().await?;
    tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
    let after = world.refresh_facts().await?;
    let mut violations = Violations::default();
    for (b, a) in before.nodes.iter().zip(&after.nodes) {
        let (was, now) = (crypt_packets(b.cmap.as_ref().expect("live")), crypt_packets(a.cmap.as_ref().expect("live")));
        if now <= was {
            violations.add(format!("{}: knet encrypted {} packets before and {} after {seconds}s of cluster traffic: traffic is not encrypted", a.name, was, now));
        }
    }
    violations.into_result()
}

#[then(expr = "the key {string} is identical on every node")]
async fn key_identical(world: &mut PolicyWorld, path: String) -> anyhow::Result<()> {
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    let mut hashes = std::collections::BTreeSet::new();
    for node in &facts.nodes {
        match node.files.get(&path) {
            None => violations.add(format!("{}: {path} does not exist", place(node))),
            Some(file) if facts.live => {
                hashes.insert(file.sha256.clone().unwrap_or_default());
            }
            // The harness generates declared keys once per run, the same for every node.
            Some(_) => {}
        }
    }
    if hashes.len() > 1 {
        violations.add(format!("{path} differs between nodes ({} distinct keys): nodes cannot authenticate each other", hashes.len()));
    }
    violations.into_result()
}

#[then(expr = "the key {string} is between {int} and {int} bytes")]
async fn key_size(world: &mut PolicyWorld, path: String, min: u64, max: u64) -> anyhow::Result<()> {
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for node in &facts.nodes {
        match node.files.get(&path) {
            None => violations.add(format!("{}: {path} does not exist", place(node))),
            Some(file) if !(min..=max).contains(&file.size) => {
                violations.add(format!("{}: {path} is {} bytes, outside {min}..={max}", place(node), file.size))
            }
            Some(_) => {}
        }
    }
    violations.into_result()
}

/// Names of parameters that hold credentials; `password_script` and cibsecret
/// references (`lrm://`) keep them out of the CIB and are fine.
fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !name.ends_with("_script")
        && ["pass", "passwd", "password", "secret", "token", "community", "key", "private"].iter().any(|s| name.contains(s))
}

#[then(expr = "no resource parameter in the CIB holds a plaintext secret")]
async fn no_plaintext_secrets(world: &mut PolicyWorld) -> anyhow::Result<()> {
    let cib = world.cib().await?;
    let origin = world.facts().await?.cib_origin.clone();
    let mut violations = Violations::default();
    for primitive in &cib.primitives {
        for (name, value, line) in &primitive.params {
            if is_secret_name(name) && !value.is_empty() && !value.starts_with("lrm://") {
                // The value itself is never printed: reports must not leak it.
                violations.add(format!(
                    "{origin} line {line}: resource `{}` ({}) has parameter `{name}` in plain text; use `{name}_script`, or `cibsecret set {} {name}`",
                    primitive.id,
                    primitive.agent(),
                    primitive.id
                ));
            }
        }
    }
    violations.into_result()
}

#[then(expr = "no cleartext cluster data crosses the wire while the CIB changes")]
async fn nothing_in_clear_on_the_wire(world: &mut PolicyWorld) -> anyhow::Result<()> {
    world.require_live("capturing cluster traffic")?;
    let facts = world.facts().await?;
    let live = world.live().await?;
    let nodes = live.cluster.node_names().iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let observer = nodes[0].clone();
    let marker = format!("pcmkcomplyprobe{:016x}", rand_u64());
    let capture = format!(
        "timeout 8 tcpdump -U -n -i any -s 0 -w /tmp/pcmk-comply.pcap 'udp and not port 53' 2>/dev/null & \
         sleep 1.5; crm_attribute --type crm_config --name pcmk-comply-probe --update {marker} >/dev/null; sleep 2; \
         crm_attribute --type crm_config --name pcmk-comply-probe --delete >/dev/null; sleep 1; kill %1 2>/dev/null; wait; \
         base64 -w0 /tmp/pcmk-comply.pcap; rm -f /tmp/pcmk-comply.pcap"
    );
    let out = world.exec(&observer, &["bash", "-c", &capture]).await?;
    world.changed_cluster().await;
    let pcap = world.infra(base64::engine::general_purpose::STANDARD.decode(out.stdout.trim()).map_err(anyhow::Error::from))?;
    if pcap.len() < 200 {
        return world.infra(Err(anyhow::anyhow!("the capture on {observer} holds no traffic ({} bytes): {}", pcap.len(), out.stderr.trim())));
    }
    let cluster_name = facts.nodes[0].corosync_conf.as_ref().and_then(|c| c.root.lookup("totem.cluster_name")).map(|p| p.value.clone());
    let mut needles: Vec<(String, &str)> = vec![(marker, "the CIB change")];
    if let Some(name) = cluster_name.filter(|n| n.len() >= 4) {
        needles.push((name, "the cluster name"));
    }
    for node in &nodes {
        if node.len() >= 4 {
            needles.push((node.clone(), "a node name"));
        }
    }
    needles.push(("<cib".to_string(), "a CIB fragment"));
    let found: Vec<String> = needles
        .iter()
        .filter(|(needle, _)| pcap.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(needle, what)| format!("{what} (`{needle}`)"))
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "{observer} captured {} bytes of cluster traffic in which these appear in clear text: {}",
            pcap.len(),
            found.join(", ")
        ))
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    h.finish()
}
