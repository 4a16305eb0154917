//! A node image's system directories, copied once onto engine volumes and
//! mounted read-only into the nodes made from it. Under the fuse-overlayfs
//! storage driver every library, program and Python module a node opens from
//! its image is served by a FUSE daemon in user space; a volume is a plain
//! directory on the engine's own filesystem.

use std::collections::HashMap;

use anyhow::Context;
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, MountVolumeOptions, VolumeCreateRequest};
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use bollard::Docker;

use crate::run::RunGuard;
use crate::run::{self, RunId};
use pcmk_model::node::Distro;

/// The image id a volume copies from; on every volume of this module.
pub const LABEL_IMAGE: &str = "io.pcmk-comply.image";
const LABEL_DIR: &str = "io.pcmk-comply.dir";
/// On a directory's index volume: the volume that holds the copy.
const LABEL_COPY: &str = "io.pcmk-comply.copy";

/// A directory a node mounts read-only from `volume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemDir {
    pub target: String,
    pub volume: String,
}

/// The directories nodes read most: shared libraries, Python, programs and
/// their data. `/usr/sbin` stays in the image: each run places its fence agent there.
fn dirs(distro: Distro) -> Vec<String> {
    let arch_libs = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    [
        arch_libs.as_str(),
        "/usr/lib/python3",
        distro.python_stdlib(),
        "/usr/lib/locale",
        "/usr/lib/ocf",
        "/usr/bin",
        "/usr/libexec",
        "/usr/share",
    ]
    .map(String::from)
    .to_vec()
}

/// The mounts for a container whose own files land at `placed`: a directory
/// that receives one of them stays in the container's writable layer.
pub fn mounts(dirs: &[SystemDir], placed: &[String]) -> Vec<Mount> {
    dirs.iter()
        .filter(|dir| !placed.iter().any(|path| path == &dir.target || path.starts_with(&format!("{}/", dir.target))))
        .map(|dir| Mount {
            target: Some(dir.target.clone()),
            source: Some(dir.volume.clone()),
            typ: Some(MountType::VOLUME),
            read_only: Some(true),
            volume_options: Some(MountVolumeOptions { no_copy: Some(true), ..Default::default() }),
            ..Default::default()
        })
        .collect()
}

/// Finds, or makes, the copies of `image_id`'s system directories.
pub async fn ensure(docker: &Docker, image_id: &str, distro: Distro) -> anyhow::Result<Vec<SystemDir>> {
    let key: String = image_id.trim_start_matches("sha256:").chars().take(12).collect();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for target in dirs(distro) {
        let index = format!("pcmk-comply-{key}{}", target.replace('/', "-"));
        match copy_named_by(docker, &index).await? {
            Some(volume) => found.push(SystemDir { target, volume }),
            None => missing.push((target, index)),
        }
    }
    if !missing.is_empty() {
        found.extend(copy(docker, image_id, &missing).await?);
    }
    Ok(found)
}

async fn copy_named_by(docker: &Docker, index: &str) -> anyhow::Result<Option<String>> {
    let Some(labels) = volume_labels(docker, index).await? else { return Ok(None) };
    let copy = labels.get(LABEL_COPY).cloned().unwrap_or_default();
    if volume_labels(docker, &copy).await?.is_some() {
        return Ok(Some(copy));
    }
    // Its copy was removed from outside: make a new one.
    remove_volume(docker, index).await?;
    Ok(None)
}

async fn volume_labels(docker: &Docker, name: &str) -> anyhow::Result<Option<HashMap<String, String>>> {
    match docker.inspect_volume(name).await {
        Ok(volume) => Ok(Some(volume.labels)),
        Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("inspecting volume {name}")),
    }
}

async fn remove_volume(docker: &Docker, name: &str) -> anyhow::Result<()> {
    run::ignore_missing(docker.remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>).await)
        .with_context(|| format!("removing volume {name}"))
}

/// The engine fills an empty volume from the image when a container that
/// mounts it is created. Each copy gets a fresh name and is published by
/// creating its index volume, which the engine does once per name: of two
/// runs copying at once, both use the copy whose index came first.
async fn copy(docker: &Docker, image_id: &str, missing: &[(String, String)]) -> anyhow::Result<Vec<SystemDir>> {
    let run = RunId::generate();
    run::register(&run);
    let mut guard = RunGuard { run: run.clone(), armed: true };
    let run_labels = run::labels(&run, "copy");
    // The owner's labels tell `gc` a copy whose run was killed before publishing
    // it; not the run's, as a copy outlives the run that made it.
    let owner: HashMap<String, String> =
        run_labels.iter().filter(|(k, _)| k.starts_with(run::OWNER_LABELS)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let copy_of =
        |target: &str| HashMap::from([(LABEL_IMAGE.to_string(), image_id.to_string()), (LABEL_DIR.to_string(), target.to_string())]);
    let mut copies = Vec::new();
    for (target, index) in missing {
        let name = format!("{index}-{run}");
        let mut labels = owner.clone();
        labels.extend(copy_of(target));
        let request = VolumeCreateRequest { name: Some(name.clone()), labels: Some(labels), ..Default::default() };
        docker.create_volume(request).await.with_context(|| format!("creating volume {name}"))?;
        copies.push((target, index, name));
    }
    let container = format!("pcmk-{run}-copy");
    let body = ContainerCreateBody {
        image: Some(image_id.to_string()),
        labels: Some(run_labels),
        cmd: Some(vec!["true".into()]),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            mounts: Some(
                copies
                    .iter()
                    .map(|(target, _, name)| Mount {
                        target: Some(target.to_string()),
                        source: Some(name.clone()),
                        typ: Some(MountType::VOLUME),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&container).build();
    let created = docker.create_container(Some(options), body).await.with_context(|| format!("copying {image_id}'s system directories"));
    let removal = RemoveContainerOptionsBuilder::default().force(true).v(false).build();
    let removed = docker.remove_container(&container, Some(removal)).await;
    created?;
    removed.with_context(|| format!("removing {container}"))?;
    guard.armed = false;
    let mut dirs = Vec::new();
    for (target, index, name) in copies {
        let mut labels = copy_of(target);
        labels.insert(LABEL_COPY.to_string(), name.clone());
        let request = VolumeCreateRequest { name: Some(index.clone()), labels: Some(labels), ..Default::default() };
        let published = docker.create_volume(request).await.with_context(|| format!("creating volume {index}"))?;
        let volume = published.labels.get(LABEL_COPY).cloned().unwrap_or_default();
        if volume != name {
            remove_volume(docker, &name).await?;
        }
        dirs.push(SystemDir { target: target.clone(), volume });
    }
    Ok(dirs)
}

/// Removes the copies of images the engine no longer has, and copies no index
/// names whose run has ended (killed while copying); a volume still in use
/// stays. Returns how many were removed.
pub async fn remove_stale(docker: &Docker) -> anyhow::Result<usize> {
    let volumes = run::volumes_labelled(docker, LABEL_IMAGE).await.context("listing volumes")?;
    let named: Vec<&str> = volumes.iter().filter_map(|v| v.labels.get(LABEL_COPY).map(String::as_str)).collect();
    let mut images: HashMap<String, bool> = HashMap::new();
    let mut removed = 0;
    for volume in &volumes {
        let image = volume.labels.get(LABEL_IMAGE).cloned().unwrap_or_default();
        let image_exists = match images.get(&image) {
            Some(exists) => *exists,
            None => {
                let exists = docker.inspect_image(&image).await.is_ok();
                images.insert(image, exists);
                exists
            }
        };
        let is_index = volume.labels.contains_key(LABEL_COPY);
        let abandoned =
            !is_index && !named.contains(&volume.name.as_str()) && !run::made_here(&volume.labels) && !run::owner_alive(&volume.labels);
        if (!image_exists || abandoned)
            && docker.remove_volume(&volume.name, None::<bollard::query_parameters::RemoveVolumeOptions>).await.is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(target: &str) -> SystemDir {
        SystemDir { target: target.into(), volume: format!("v{target}") }
    }

    #[test]
    fn a_directory_that_receives_a_file_is_not_mounted() {
        let dirs = [dir("/usr/lib/ocf"), dir("/usr/bin"), dir("/usr/share")];
        let placed = ["/usr/lib/ocf/resource.d/custom/app".to_string(), "/usr/sharedfile".to_string(), "/usr/bin".to_string()];
        let targets: Vec<String> = mounts(&dirs, &placed).into_iter().filter_map(|m| m.target).collect();
        assert_eq!(targets, ["/usr/share"]);
    }

    #[test]
    fn mounts_are_read_only_and_never_filled_from_the_node() {
        let mount = &mounts(&[dir("/usr/bin")], &[])[0];
        assert_eq!(mount.read_only, Some(true));
        assert_eq!(mount.volume_options.as_ref().and_then(|o| o.no_copy), Some(true));
    }
}
