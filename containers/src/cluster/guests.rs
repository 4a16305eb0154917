//! Guests: containers on a run's networks that are not cluster members (the
//! outside probe host, the log collector, the rogue node), and the helper
//! handle they and the tests' own helper containers share. Helpers are made
//! by testcontainers; the nodes are not (docs/architecture.md says why).
//!
//! A helper carries the run's labels and owner stamps like every object of a
//! run, so teardown, the signal handlers and `gc` remove it by label as they
//! remove the nodes; a dropped handle removes its container at once.

use std::collections::HashMap;
use std::sync::Mutex;

use ::testcontainers::core::ContainerAsync;
use ::testcontainers::runners::AsyncRunner;
use ::testcontainers::{ContainerRequest, GenericImage, Image, ImageExt};

use super::*;

/// A container on the run's networks that is not a cluster member.
#[derive(Debug, Clone)]
pub struct GuestSpec {
    /// Unique in the run; `exec` takes it.
    pub name: String,
    pub hostname: String,
    /// Address per link network (index = link); `None` leaves it off that link.
    pub addrs: Vec<Option<Ipv4Addr>>,
    pub files: Vec<(Placement, Vec<u8>)>,
    pub services: Vec<Service>,
}

/// A helper container started through testcontainers. Dropping the handle
/// removes the container, whatever `TESTCONTAINERS_COMMAND` says, in or out
/// of an async context; `keep` leaves it to the run's own removal.
pub struct Helper<I: Image + 'static = GenericImage> {
    container: Option<ContainerAsync<I>>,
}

impl<I: Image + 'static> Helper<I> {
    /// Starts `request` stamped with `labels` (a run's, from `run::labels`)
    /// and `role`. The image is used as the engine has it: testcontainers
    /// pulls only when creating the container finds no such image.
    pub async fn start(request: impl Into<ContainerRequest<I>>, labels: HashMap<String, String>, role: &str) -> anyhow::Result<Self> {
        // bollard, the nodes' client, verifies TLS whenever DOCKER_TLS_VERIFY
        // is set and falls back to ~/.docker for the certificates;
        // testcontainers' client only when it is `1`, and panics without
        // DOCKER_CERT_PATH.
        if let Some(verify) = std::env::var_os("DOCKER_TLS_VERIFY") {
            if verify != "1" || std::env::var_os("DOCKER_CERT_PATH").is_none() {
                anyhow::bail!("helper containers are made by testcontainers, which verifies the engine's TLS only with DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH set");
            }
        }
        let request = request.into().with_labels(labels).with_label(LABEL_NODE, role);
        let container = request.start().await.with_context(|| format!("starting helper container {role}"))?;
        Ok(Helper { container: Some(container) })
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        self.container().id()
    }

    /// The testcontainers handle (mapped ports, logs).
    pub fn container(&self) -> &ContainerAsync<I> {
        self.container.as_ref().expect("a helper's container is present until it goes")
    }

    /// Removes the container now.
    pub async fn remove(mut self) -> anyhow::Result<()> {
        let container = self.container.take().expect("a helper's container is present until it goes");
        container.rm().await.context("removing a helper container")
    }

    /// Leaves the container to the run's removal by label (`cluster up`, `--keep`).
    pub fn keep(mut self) {
        // The handle's drop is all that would remove it; it owns nothing else worth freeing.
        std::mem::forget(self.container.take());
    }
}

impl<I: Image + 'static> Drop for Helper<I> {
    fn drop(&mut self) {
        let Some(container) = self.container.take() else { return };
        // Removed explicitly (`rm`), so that testcontainers' own drop finds
        // nothing to do; it would need a runtime here and obeys
        // TESTCONTAINERS_COMMAND=keep.
        let removal = async move {
            if let Err(e) = container.rm().await {
                tracing::debug!("removing a dropped helper container: {e}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| handle.block_on(removal));
            }
            // A current-thread runtime cannot be blocked on from inside, and
            // there may be none at all: a runtime of its own, on a thread of its own.
            _ => {
                let removal = std::thread::spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime.block_on(removal),
                    Err(e) => eprintln!("pcmk-comply: could not remove a helper container: {e}; `pcmk-comply gc` will"),
                });
                let _ = removal.join();
            }
        }
    }
}

/// The guests of one cluster, by name.
#[derive(Default)]
pub(super) struct Guests(Mutex<HashMap<String, Helper>>);

impl Guests {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Helper>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, name: &str) -> Option<Helper> {
        self.lock().remove(name)
    }

    /// Removes every guest (the cluster's teardown).
    pub(super) async fn remove_all(&self) {
        let all: Vec<Helper> = self.lock().drain().map(|(_, helper)| helper).collect();
        let removals = all.into_iter().map(|helper| async move {
            if let Err(e) = helper.remove().await {
                tracing::debug!("{e:#}");
            }
        });
        future::join_all(removals).await;
    }

    /// Leaves every guest to the run's removal by label.
    pub(super) fn keep(&self) {
        self.lock().drain().for_each(|(_, helper)| helper.keep());
    }
}

/// An image the engine has, by reference (`repository:tag`), as testcontainers takes it.
pub fn local_image(reference: &str) -> GenericImage {
    let (repository, tag) = image_parts(reference);
    GenericImage::new(repository, tag)
}

/// The repository and the tag after its last colon.
fn image_parts(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, tag),
        _ => (reference, "latest"),
    }
}

impl Cluster {
    /// Adds a container that is not a cluster member (a rogue host, a collector)
    /// to the run's networks; it goes with the run. Exec into it by `spec.name`.
    ///
    /// testcontainers creates and starts it with the nodes' host settings but
    /// on no network (it cannot give an address on the first), then the engine
    /// client moves it onto the run's networks at its fixed addresses before
    /// its files arrive and its boot goes on: no address the engine picks is
    /// ever held, so it can never take a node's.
    pub async fn add_guest(&self, spec: GuestSpec) -> anyhow::Result<()> {
        let archive = guest_archive(&spec)?;
        let container = self.container_of(&spec.name);
        let mut attachments = self.attachments(&spec.addrs).peekable();
        anyhow::ensure!(attachments.peek().is_some(), "a container needs at least one network");
        let host_config = self.host_config(&self.system_dirs, &archive, "none")?;
        let request = local_image(&self.image)
            .with_container_name(&container)
            .with_hostname(&spec.hostname)
            .with_startup_timeout(EXEC_TIMEOUT)
            // The whole of it, as a node's: testcontainers' defaults (all ports published) do not apply.
            .with_host_config_modifier(move |config| *config = host_config.clone());
        let helper =
            Helper::start(request, self.labels.clone(), &spec.name).await.with_context(|| format!("creating {}", spec.hostname))?;
        // From here a failure drops `helper`, which removes the container.
        let off_none = bollard::models::NetworkDisconnectRequest { container: container.clone(), force: Some(true) };
        self.docker
            .disconnect_network("none", off_none)
            .await
            .with_context(|| format!("taking {} off the engine's `none` network", spec.hostname))?;
        self.attach(&container, &spec.hostname, attachments).await?;
        self.deliver(&container, &spec.hostname, &archive).await?;
        self.guests.lock().insert(spec.name, helper);
        Ok(())
    }

    /// Removes a node's or guest's container outright (its addresses become free).
    pub async fn remove_container(&self, name: &str) -> anyhow::Result<()> {
        let container = self.container_of(name);
        self.shells.lock().unwrap_or_else(|e| e.into_inner()).remove(&container);
        if let Some(guest) = self.guests.take(name) {
            return guest.remove().await.with_context(|| format!("removing {name}"));
        }
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        self.docker.remove_container(&container, Some(options)).await.with_context(|| format!("removing {name}"))
    }
}

/// What a guest receives: its files, a plan that places them and starts its
/// services, and the supervisor.
fn guest_archive(spec: &GuestSpec) -> anyhow::Result<Vec<u8>> {
    let mut plan = String::new();
    let mut archive = tar::Builder::new(Vec::new());
    for (placement, content) in &spec.files {
        append(&mut archive, &placement.path, placement.mode, content)?;
        plan.push_str(&format!("file\t{}\t{}\t{}\t{:o}\n", placement.path, placement.owner, placement.group, placement.mode));
    }
    for service in &spec.services {
        plan.push_str(&format!("autostart\t{}\n", service.as_str()));
    }
    append(&mut archive, "/etc/pcmk-comply/plan", 0o600, plan.as_bytes())?;
    append(&mut archive, "/usr/local/sbin/pcmk-node", 0o755, SUPERVISOR.as_bytes())?;
    Ok(archive.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::deployment::archive_paths;

    #[test]
    fn an_image_reference_splits_at_its_tag() {
        assert_eq!(image_parts("pcmk-comply/node:bookworm-887e5a0b4a15"), ("pcmk-comply/node", "bookworm-887e5a0b4a15"));
        assert_eq!(image_parts("localhost:5000/node:trixie-1"), ("localhost:5000/node", "trixie-1"));
        assert_eq!(image_parts("localhost:5000/node"), ("localhost:5000/node", "latest"));
    }

    #[test]
    fn a_guest_receives_its_files_a_plan_and_the_supervisor() {
        let conf = Placement { path: "/etc/rsyslog.conf".into(), owner: "root".into(), group: "root".into(), mode: 0o644 };
        let spec = GuestSpec {
            name: "loghost".into(),
            hostname: "loghost".into(),
            addrs: vec![],
            files: vec![(conf, b"x".to_vec())],
            services: vec![Service::Rsyslog],
        };
        let archive = guest_archive(&spec).unwrap();
        assert_eq!(archive_paths(&archive).unwrap(), ["/etc/rsyslog.conf", "/etc/pcmk-comply/plan", "/usr/local/sbin/pcmk-node"]);
        let mut entries = tar::Archive::new(archive.as_slice());
        let mut plan = String::new();
        for entry in entries.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.path().unwrap().ends_with("plan") {
                std::io::Read::read_to_string(&mut entry, &mut plan).unwrap();
            }
        }
        assert_eq!(plan, "file\t/etc/rsyslog.conf\troot\troot\t644\nautostart\trsyslog\n");
    }
}
