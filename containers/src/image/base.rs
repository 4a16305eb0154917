//! An image's base: a local `debian:<suite>-slim`, one bootstrapped before,
//! a pulled one, or a fresh debootstrap from the Debian mirror, imported.

use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context};
use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

use super::{image_id, short_hash, BuildEvent, Distro, Mirrors, BASE_REPO, LABEL_DISTRO, LABEL_RECIPE, PULL_TIMEOUT};

/// Returns the reference and image id of the base for `distro`: a local `debian:<suite>-slim`,
/// a previously bootstrapped base, a pulled one, or a fresh bootstrap.
pub(super) async fn ensure_base(
    docker: &Docker,
    distro: Distro,
    mirrors: &Mirrors,
    on_event: &(dyn Fn(BuildEvent) + Sync),
) -> anyhow::Result<(String, String)> {
    let official = format!("debian:{}-slim", distro.suite());
    if let Some(id) = image_id(docker, &official).await? {
        return Ok((official, id));
    }
    let recipe = short_hash(&["debootstrap --variant=minbase", distro.suite(), &mirrors.debian]);
    let bootstrapped = format!("{BASE_REPO}:{}-{recipe}", distro.suite());
    if let Some(id) = image_id(docker, &bootstrapped).await? {
        return Ok((bootstrapped, id));
    }
    on_event(BuildEvent::Phase(format!("trying to pull {official}")));
    if try_pull(docker, &official).await {
        if let Some(id) = image_id(docker, &official).await? {
            return Ok((official, id));
        }
    }
    on_event(BuildEvent::Phase(format!("bootstrapping {bootstrapped} from {}", mirrors.debian)));
    bootstrap_base(docker, distro, mirrors, &bootstrapped, &recipe, on_event).await?;
    let id = image_id(docker, &bootstrapped)
        .await?
        .with_context(|| format!("importing {bootstrapped} finished but the engine has no such image"))?;
    Ok((bootstrapped, id))
}

async fn try_pull(docker: &Docker, reference: &str) -> bool {
    let options = CreateImageOptionsBuilder::default().from_image(reference).build();
    let pull = async {
        let mut stream = docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            if item.is_err() {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(PULL_TIMEOUT, pull).await.unwrap_or(false)
}

async fn bootstrap_base(
    docker: &Docker,
    distro: Distro,
    mirrors: &Mirrors,
    tag: &str,
    recipe: &str,
    on_event: &(dyn Fn(BuildEvent) + Sync),
) -> anyhow::Result<()> {
    let debootstrap = ["/usr/sbin/debootstrap", "/usr/bin/debootstrap"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("debootstrap is not installed; it builds the base image offline from the Debian mirror (apt-get install debootstrap)")?;
    let work = std::env::temp_dir().join(format!("pcmk-comply-rootfs-{}-{}", distro.suite(), std::process::id()));
    let mut root_fs = BootstrapDir { path: work.clone(), debootstrap: None };
    // Its own process group, so that a cancelled build stops debootstrap and its children together.
    let child = tokio::process::Command::new(debootstrap)
        .args(["--variant=minbase", distro.suite()])
        .arg(&work)
        .arg(&mirrors.debian)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("running debootstrap")?;
    root_fs.debootstrap = child.id();
    let output = child.wait_with_output().await.context("running debootstrap")?;
    root_fs.debootstrap = None;
    if !output.status.success() {
        let log = String::from_utf8_lossy(&output.stdout);
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        bail!(
            "debootstrap {} failed ({}); it needs root and the Debian mirror {}:\n{}\n{}",
            distro.suite(),
            output.status,
            mirrors.debian,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    on_event(BuildEvent::Phase(format!("importing {tag}")));
    let mut tar = tokio::process::Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(&work)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("running tar")?;
    let stdout = tar.stdout.take().context("tar has no stdout")?;
    let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(stdout));
    let (repo, tag_part) = tag.split_once(':').expect("tags have a colon");
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag_part)
        .changes(vec![
            format!("LABEL {LABEL_RECIPE}={recipe}"),
            format!("LABEL {LABEL_DISTRO}={}", distro.suite()),
            "CMD [\"/bin/bash\"]".to_string(),
        ])
        .build();
    let mut stream = docker.create_image(Some(options), Some(body), None);
    while let Some(item) = stream.next().await {
        item.with_context(|| format!("importing {tag}"))?;
    }
    let status = tar.wait().await?;
    if !status.success() {
        bail!("tar of the bootstrapped root file system failed ({status})");
    }
    Ok(())
}

/// debootstrap's root file system, removed when dropped. Dropped while
/// debootstrap still runs (a signal cancelled the build), it first stops
/// debootstrap's process group with SIGTERM, so that debootstrap's exit trap
/// unmounts the /proc and /sys it mounted in the tree; whatever is still
/// mounted there is then detached, and the tree is never removed across a mount.
struct BootstrapDir {
    path: std::path::PathBuf,
    debootstrap: Option<u32>,
}

impl Drop for BootstrapDir {
    fn drop(&mut self) {
        if let Some(pid) = self.debootstrap.take() {
            stop_process_group(pid);
        }
        let mut inside = mounts_under(&self.path);
        inside.sort_by_key(|m| std::cmp::Reverse(m.as_os_str().len()));
        for mount in &inside {
            if let Ok(path) = std::ffi::CString::new(mount.as_os_str().as_encoded_bytes()) {
                // SAFETY: a valid NUL-terminated path; MNT_DETACH cannot block.
                unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) };
            }
        }
        if mounts_under(&self.path).is_empty() {
            let _ = std::fs::remove_dir_all(&self.path);
        } else {
            tracing::warn!("left {} in place: something is still mounted inside it", self.path.display());
        }
    }
}

/// SIGTERM to the group, up to 20 s for it to end, then SIGKILL.
fn stop_process_group(pid: u32) {
    let group = -(pid as libc::pid_t);
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
    };
    // SAFETY: signals a process group this process created.
    unsafe { libc::kill(group, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: as above; the group may be gone already, which is harmless.
    unsafe { libc::kill(group, libc::SIGKILL) };
}

/// Mount points at or below `dir`, from this process's mount table.
fn mounts_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|escaped| std::path::PathBuf::from(escaped.replace("\\040", " ")))
        .filter(|mount| mount.starts_with(dir))
        .collect()
}
