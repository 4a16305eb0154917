//! Node images: one per Debian suite, built locally through the engine and
//! tagged by a hash of their build inputs, so an unchanged image is reused.
//! No registry is assumed: without a local `debian:<suite>-slim` the base is
//! bootstrapped from the Debian mirror (debootstrap, then import).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};
use bollard::query_parameters::{BuildImageOptionsBuilder, ListImagesOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::system_dirs::{self, SystemDir};

mod base;
use base::ensure_base;
use pcmk_model::node::Distro;

const DOCKERFILE: &str = include_str!("../../image/Dockerfile.in");
const PACKAGES: &[&str] = &[
    "pacemaker",
    "pacemaker-cli-utils",
    "corosync",
    "corosync-qdevice",
    "crmsh",
    "pcs",
    "resource-agents",
    "nftables",
    "tcpdump",
    "iproute2",
    "iputils-ping",
    "procps",
    "sudo",
    "tini",
    "netcat-openbsd",
    "openssl",
    "aide",
    "rsyslog",
    "libxml2-utils",
    "less",
    // For `capture` tests: a node reached over SSH (sshd runs only where a test starts it).
    "openssh-server",
];

/// The fence agents: trixie splits them per agent, and its `fence-agents`
/// pulls every cloud SDK (1.5 GB); fence_dummy is the one the tests need.
fn fence_packages(distro: Distro) -> &'static [&'static str] {
    match distro {
        Distro::Bookworm => &["fence-agents"],
        Distro::Trixie => &["fence-agents-common", "fence-agents-dummy"],
    }
}
pub const NODE_REPO: &str = "pcmk-comply/node";
pub const BASE_REPO: &str = "pcmk-comply/base";
const LABEL_RECIPE: &str = "io.pcmk-comply.recipe";
const LABEL_DISTRO: &str = "io.pcmk-comply.distro";
const PULL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where packages come from; part of every recipe hash.
#[derive(Debug, Clone)]
pub struct Mirrors {
    pub debian: String,
    pub security: String,
}

impl Default for Mirrors {
    fn default() -> Self {
        Mirrors {
            debian: std::env::var("PCMK_COMPLY_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into()),
            security: std::env::var("PCMK_COMPLY_SECURITY_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian-security".into()),
        }
    }
}

/// Progress of a build, for the CLI to render.
#[derive(Debug, Clone)]
pub enum BuildEvent {
    Phase(String),
    Output(String),
}

#[derive(Debug, Clone)]
pub struct NodeImage {
    pub distro: Distro,
    pub tag: String,
    /// The base it was built from.
    pub base: String,
    /// Whether this call built it (false: found and reused).
    pub built: bool,
    /// Its system directories on volumes, mounted read-only into its nodes.
    pub system_dirs: Vec<SystemDir>,
}

#[derive(Debug, Clone)]
pub struct ImageInfo {
    pub tag: String,
    pub distro: String,
    pub size_bytes: i64,
    pub created: i64,
}

fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..6])
}

fn render_dockerfile(base: &str, distro: Distro, mirrors: &Mirrors) -> String {
    DOCKERFILE
        .replace("@BASE@", base)
        .replace("@MIRROR@", &mirrors.debian)
        .replace("@SECURITY_MIRROR@", &mirrors.security)
        .replace("@SUITE@", distro.suite())
        .replace("@PACKAGES@", &[PACKAGES, fence_packages(distro)].concat().join(" "))
}

async fn image_id(docker: &Docker, reference: &str) -> anyhow::Result<Option<String>> {
    match docker.inspect_image(reference).await {
        Ok(image) => Ok(image.id),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("inspecting image {reference}")),
    }
}

/// Finds the node image for `distro`, building what is missing.
pub async fn ensure_node_image(
    docker: &Docker,
    distro: Distro,
    mirrors: &Mirrors,
    on_event: &(dyn Fn(BuildEvent) + Sync),
) -> anyhow::Result<NodeImage> {
    // One build per distro at a time in this process; a second caller waits and reuses it.
    let _building = build_lock(distro).lock().await;
    let (base, base_id) = ensure_base(docker, distro, mirrors, on_event).await?;
    let dockerfile = render_dockerfile(&base, distro, mirrors);
    let tag = format!("{NODE_REPO}:{}-{}", distro.suite(), short_hash(&[&dockerfile, &base_id]));
    if let Some(id) = image_id(docker, &tag).await? {
        let system_dirs = system_dirs::ensure(docker, &id, distro).await?;
        return Ok(NodeImage { distro, tag, base, built: false, system_dirs });
    }
    on_event(BuildEvent::Phase(format!("building {tag}")));
    let context = build_context(&dockerfile)?;
    let labels = HashMap::from([(LABEL_DISTRO.to_string(), distro.suite().to_string()), (LABEL_RECIPE.to_string(), tag.clone())]);
    let options = BuildImageOptionsBuilder::default().dockerfile("Dockerfile").t(&tag).rm(true).forcerm(true).labels(&labels).build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = item.with_context(|| format!("building {tag}"))?;
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            bail!("building {tag} failed: {error}\n{}", tail.join("\n"));
        }
        if let Some(line) = info.stream {
            for line in line.lines().filter(|l| !l.trim().is_empty()) {
                tail.push(line.to_string());
                if tail.len() > 30 {
                    tail.remove(0);
                }
                on_event(BuildEvent::Output(line.to_string()));
            }
        }
    }
    let Some(id) = image_id(docker, &tag).await? else {
        bail!("building {tag} finished but the engine has no such image\n{}", tail.join("\n"));
    };
    on_event(BuildEvent::Phase(format!("copying {tag}'s system directories onto volumes")));
    let system_dirs = system_dirs::ensure(docker, &id, distro).await?;
    Ok(NodeImage { distro, tag, base, built: true, system_dirs })
}

fn build_lock(distro: Distro) -> &'static tokio::sync::Mutex<()> {
    static LOCKS: [tokio::sync::Mutex<()>; 2] = [tokio::sync::Mutex::const_new(()), tokio::sync::Mutex::const_new(())];
    &LOCKS[Distro::ALL.iter().position(|d| *d == distro).expect("every distro is in ALL")]
}

fn build_context(dockerfile: &str) -> anyhow::Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    crate::tree::append(&mut archive, "Dockerfile", 0o644, dockerfile.as_bytes())?;
    Ok(archive.into_inner()?)
}

/// Removes an image by reference (a missing one is not an error).
pub async fn remove(docker: &Docker, reference: &str) -> anyhow::Result<()> {
    let options = bollard::query_parameters::RemoveImageOptionsBuilder::default().force(true).build();
    match docker.remove_image(reference, Some(options), None).await {
        Ok(_) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing image {reference}")),
    }
}

/// Node and base images the harness has built.
pub async fn list_images(docker: &Docker) -> anyhow::Result<Vec<ImageInfo>> {
    let filters = HashMap::from([("label".to_string(), vec![LABEL_DISTRO.to_string()])]);
    let options = ListImagesOptionsBuilder::default().filters(&filters).build();
    let mut images: Vec<ImageInfo> = docker
        .list_images(Some(options))
        .await?
        .into_iter()
        .flat_map(|image| {
            let distro = image.labels.get(LABEL_DISTRO).cloned().unwrap_or_default();
            image.repo_tags.into_iter().map(move |tag| ImageInfo {
                tag,
                distro: distro.clone(),
                size_bytes: image.size,
                created: image.created,
            })
        })
        .collect();
    images.sort_by(|a, b| a.tag.cmp(&b.tag));
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipe_hash_follows_every_input() {
        let m = Mirrors { debian: "http://a/debian".into(), security: "http://a/sec".into() };
        let a = render_dockerfile("base:1", Distro::Bookworm, &m);
        let c = render_dockerfile("base:1", Distro::Trixie, &m);
        assert_ne!(short_hash(&[&a, "sha256:1"]), short_hash(&[&a, "sha256:2"]));
        assert_ne!(short_hash(&[&a, "sha256:1"]), short_hash(&[&c, "sha256:1"]));
        assert_eq!(short_hash(&[&a, "sha256:1"]), short_hash(&[&a, "sha256:1"]));
        assert!(a.contains("FROM base:1") && a.contains("bookworm-security") && a.contains("pacemaker"));
        assert!(!a.contains('@'), "every placeholder is filled: {a}");
    }

    #[test]
    fn distro_names_round_trip() {
        for d in Distro::ALL {
            assert_eq!(d.suite().parse::<Distro>().unwrap(), d);
        }
        assert!("jessie".parse::<Distro>().unwrap_err().contains("known: bookworm, trixie"));
    }
}
