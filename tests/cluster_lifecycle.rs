//! Real clusters on the local Docker engine: membership, node loss, rejoin,
//! concurrency and clean-up.

mod common;

use std::time::Duration;

use common::*;
use pcmk_containers::cluster::ServiceAction;
use pcmk_containers::system_dirs::{self, LABEL_IMAGE};
use pcmk_model::node::Distro;
use pcmk_model::node::Service;

async fn sizes_reach_quorum(distro: Distro) {
    let docker = docker().await;
    for nodes in 1..=3 {
        let cluster = up(&docker, distro, &format!("size{nodes}"), Some(nodes)).await;
        let names = cluster.node_names();
        assert_eq!(names.len(), nodes);
        for node in &names {
            let status = cluster.status(node).await.unwrap();
            assert!(status.has_members(&names), "{distro} {nodes} nodes, seen from {node}: {status:?}");
            // Waits follow this line of the node's log instead of asking crm_mon while no view can agree.
            let joined = cluster.supervise(node, pcmk_containers::cluster::Verb::AwaitJoin { seconds: 10.0 }).await.unwrap();
            assert_eq!(joined.code, 0, "{distro}: {node}'s log does not show it joined a DC: {joined:?}");
            let cipher = cluster.exec(node, &["corosync-cmapctl", "-g", "totem.crypto_cipher"]).await.unwrap();
            assert!(cipher.stdout.contains("= aes256"), "knet runs encrypted: {cipher:?}");
        }
        let quorum = cluster.exec(names[0], &["corosync-quorumtool", "-s"]).await.unwrap();
        assert!(quorum.stdout.contains(&format!("Total votes:      {nodes}")), "{}", quorum.stdout);
        let run = cluster.run.clone();
        cluster.down().await.unwrap();
        assert_eq!(leftovers(&docker, &run).await, (0, 0, 0));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_two_and_three_nodes_reach_quorum_on_bookworm() {
    sizes_reach_quorum(Distro::Bookworm).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_two_and_three_nodes_reach_quorum_on_trixie() {
    sizes_reach_quorum(Distro::Trixie).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_node_leaves_the_membership_and_rejoins_after_restart() {
    let docker = docker().await;
    let cluster = up(&docker, Distro::Bookworm, "kill", None).await;
    assert!(cluster.status("node3").await.is_ok(), "node3 answers through its open shell");
    // Root commands run in open shells: words stay whole, exit code and stderr come back...
    let script = "printf '%s|' \"$@\"; echo oops >&2; exit 3";
    let out = cluster.exec("node3", &["sh", "-c", script, "sh", "it's", "two\nlines", "$HOME"]).await.unwrap();
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (3, "it's|two\nlines|$HOME|", "oops\n"));
    // ...and a command that waits does not hold up the next one on the same node.
    let waiter = cluster.exec("node3", &["sh", "-c", "until [ -e /tmp/go ]; do sleep 0.1; done; echo went"]);
    let starter = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cluster.exec("node3", &["touch", "/tmp/go"]).await
    };
    let (waited, started) = tokio::time::timeout(Duration::from_secs(30), futures_util::future::join(waiter, starter))
        .await
        .expect("the waiting command held up the one it waited for");
    assert_eq!((waited.unwrap().stdout.as_str(), started.unwrap().code), ("went\n", 0));
    // What a node writes to its logs and its CIB directory outlives a reboot, as on a disk.
    let cib_before = cluster.exec("node3", &["cat", "/var/lib/pacemaker/cib/cib.xml"]).await.unwrap().stdout;
    assert!(cluster.exec("node3", &["sh", "-c", "echo before-the-crash > /var/log/marker"]).await.unwrap().success());
    cluster.kill_node("node3").await.unwrap();
    let stale = cluster.status("node3").await;
    assert!(stale.is_err(), "a killed node gives no status, not its open shell's last answer: {stale:?}");
    cluster
        .wait_for_members(&["node1", "node2"], &["node1", "node2"], Duration::from_secs(60))
        .await
        .expect("the two survivors stay quorate without node3");
    let status = cluster.status("node1").await.unwrap();
    assert!(!status.node("node3").unwrap().online);
    // Waiting in vain for all three ends in the typed miss, with corosync's own view of links and quorum.
    let miss = cluster.wait_for_members(&["node1"], &["node1", "node2", "node3"], Duration::from_secs(2)).await.unwrap_err();
    let text = format!("{miss:#}");
    assert!(miss.is::<pcmk_containers::cluster::NotReadyInTime>(), "{text}");
    assert!(
        text.contains("--- node1 corosync view ---") && text.contains("Local node ID") && text.contains("Quorum information"),
        "{text}"
    );

    cluster.start_node("node3").await.unwrap();
    cluster.wait_ready(Duration::from_secs(90)).await.expect("node3 rejoins");
    let names = cluster.node_names();
    assert!(cluster.status("node3").await.unwrap().has_members(&names), "the restarted node3 answers through a new shell");
    assert_eq!(cluster.exec("node3", &["cat", "/var/log/marker"]).await.unwrap().stdout, "before-the-crash\n");
    assert!(cib_before.contains("<cib"), "{cib_before}");

    // A daemon that ends unasked and is not restarted (corosync's unit does not
    // restart it) ends a wait for the whole cluster at once, naming it, not at the timeout.
    // Fencing off, or the survivors would reboot node3 and it would come back.
    let unfenced =
        cluster.exec("node1", &["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled", "--update", "false"]).await.unwrap();
    assert!(unfenced.success(), "{unfenced:?}");
    cluster.service("node3", ServiceAction::Kill, Service::Corosync).await.unwrap();
    cluster
        .wait_for_members(&["node1", "node2"], &["node1", "node2"], Duration::from_secs(60))
        .await
        .expect("the survivors see node3 leave");
    let started = std::time::Instant::now();
    let miss = cluster.wait_for_members(&names, &names, Duration::from_secs(90)).await.unwrap_err();
    let text = format!("{miss:#}");
    assert!(miss.is::<pcmk_containers::cluster::NotReadyInTime>(), "{text}");
    assert!(text.contains("node3 stays down (corosync exited with 137"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(30), "the wait ended {:?} after it began", started.elapsed());
    cluster.down().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_clusters_started_at_once_both_come_up_apart() {
    let docker = docker().await;
    let (a, b) = futures_util::join!(up(&docker, Distro::Bookworm, "twin-a", None), up(&docker, Distro::Bookworm, "twin-b", None));
    assert_ne!(a.networks[0].subnet, b.networks[0].subnet);
    for cluster in [&a, &b] {
        let names = cluster.node_names();
        assert!(cluster.status("node1").await.unwrap().has_members(&names));
    }
    a.down().await.unwrap();
    b.down().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_cluster_keeps_its_nodes_and_files_and_starts_on_an_empty_configuration() {
    let docker = docker().await;
    let cluster = up(&docker, Distro::Bookworm, "reset", None).await;
    let names = cluster.node_names();
    let resources = |node: &'static str| {
        let cluster = &cluster;
        async move { cluster.exec(node, &["cibadmin", "--query", "--scope", "resources"]).await.unwrap().stdout }
    };
    assert!(resources("node1").await.contains("<primitive"), "the candidate's configuration runs first");
    // The files arrive through a shell after start, with the candidate's owners and modes.
    let files = ["/etc/corosync/authkey", "/etc/pacemaker/authkey", "/etc/corosync/corosync.conf"];
    let stat = |node: &'static str| {
        let cluster = &cluster;
        async move {
            let mut cmd = vec!["stat", "-c", "%U:%G %a %n"];
            cmd.extend(files);
            cluster.exec(node, &cmd).await.unwrap().stdout
        }
    };
    let before = stat("node2").await;
    assert_eq!(
        before,
        "root:root 400 /etc/corosync/authkey\nhacluster:haclient 440 /etc/pacemaker/authkey\nroot:root 640 /etc/corosync/corosync.conf\n"
    );
    // The image's libraries come read-only from a volume; the fence agent the run places in /usr/sbin is there.
    let mounts = cluster.exec("node2", &["cat", "/proc/mounts"]).await.unwrap().stdout;
    let libs =
        mounts.lines().find(|l| l.split(' ').nth(1) == Some("/usr/lib/x86_64-linux-gnu")).expect("the libraries are a mount of their own");
    assert!(libs.split(' ').nth(3).is_some_and(|o| o.split(',').any(|o| o == "ro")), "{libs}");
    assert!(!mounts.lines().any(|l| l.split(' ').nth(1) == Some("/usr/sbin")), "/usr/sbin stays in the node's own layer");
    let agent = cluster.exec("node2", &["test", "-x", "/usr/sbin/fence_pcmk_comply"]).await.unwrap();
    assert!(agent.success(), "{agent:?}");
    // Logs and the CIB directory are volumes of the node's own, writable.
    for state in ["/var/log", "/var/lib/pacemaker"] {
        let mount = mounts.lines().find(|l| l.split(' ').nth(1) == Some(state)).unwrap_or_else(|| panic!("{state} is a mount of its own"));
        assert!(mount.split(' ').nth(3).is_some_and(|o| o.split(',').any(|o| o == "rw")), "{mount}");
    }

    // A pacemakerd that ignores SIGTERM (stopped) on one node: the reset ends it with SIGKILL.
    let frozen = cluster
        .exec("node2", &["bash", "-c", "p=$(cat /run/pcmk-node/pacemaker.pid) && kill -STOP $p && echo $p $(ps -o pid= --ppid $p)"])
        .await
        .unwrap();
    assert!(frozen.success(), "{frozen:?}");
    // The IPC rings between pacemaker's daemons, named qb-SERVER-CLIENT-FD-ID.
    let old_tree = frozen.stdout.split_whitespace().collect::<Vec<_>>().join("|");
    let ipc_of_old = format!("ls /dev/shm | grep -E '^qb-([0-9]+-)?({old_tree})-' || true");
    assert!(!cluster.exec("node2", &["bash", "-c", &ipc_of_old]).await.unwrap().stdout.is_empty(), "pacemaker's IPC lives in /dev/shm");
    cluster.reset_pacemaker(Duration::from_secs(90)).await.expect("the reset cluster gets ready");
    let supervisor = cluster.exec("node2", &["cat", "/var/log/cluster/pacemaker.out"]).await.unwrap().stdout;
    assert!(supervisor.contains("pacemaker did not stop within 20 s; killing it"), "{supervisor}");
    // Left behind, the killed daemons' IPC rings filled /dev/shm and the new daemons could not connect.
    assert_eq!(cluster.exec("node2", &["bash", "-c", &ipc_of_old]).await.unwrap().stdout, "", "the IPC of the killed daemons is removed");
    for node in &names {
        let status = match cluster.status(node).await {
            Ok(status) => status,
            Err(e) => {
                panic!("{node} after the reset: {e:#}\nfencing: {:?}\n{}", cluster.fence_actions(), cluster.recent_logs(&names).await)
            }
        };
        assert!(status.has_members(&names), "{node} sees every node after the reset");
    }
    let after = resources("node3").await;
    assert!(!after.contains("<primitive"), "nothing of the old configuration is left: {after}");
    let options = cluster.exec("node1", &["cibadmin", "--query", "--scope", "crm_config"]).await.unwrap().stdout;
    assert!(options.contains("name=\"dc-deadtime\" value=\"2s\""), "the harness's start-up option is back: {options}");
    assert_eq!(stat("node2").await, before, "the nodes keep their files and keys");
    cluster.down().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_cluster_is_removed() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    let run = {
        let cluster = pcmk_containers::cluster::Cluster::start(&docker, &hardened(), &image, &options("drop", Some(1))).await.unwrap();
        // One node on the cluster network and the public one.
        assert_eq!(leftovers(&docker, &cluster.run).await, (1, 2, 2));
        cluster.run.clone()
    };
    assert_eq!(leftovers(&docker, &run).await, (0, 0, 0), "dropping a cluster (as a panic does) removes it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_never_gets_ready_fails_with_each_nodes_logs_and_is_removed() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    // Encryption on, with a key file no node has (what the files say cannot
    // show that, so the load accepts it): corosync refuses to start.
    let dir = std::env::temp_dir().join(format!("pcmk-nokey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = std::fs::read_to_string(repo_path("candidates/hardened/corosync.conf")).unwrap();
    let conf = conf.replacen("totem {\n", "totem {\n    keyfile: /etc/corosync/elsewhere.key\n", 1);
    assert!(conf.contains("keyfile:"), "the bundled corosync.conf opens a totem section");
    std::fs::write(dir.join("corosync.conf"), conf).unwrap();
    std::fs::write(dir.join("candidate.toml"), "[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\n").unwrap();
    let candidate = pcmk_containers::candidate::Candidate::load(&dir).unwrap();
    let mut opts = options("nokey", Some(2));
    opts.ready_timeout = Duration::from_secs(8);
    let run = opts.run_id.clone().unwrap();
    let error = pcmk_containers::cluster::Cluster::up(&docker, &candidate, &image, &opts).await.unwrap_err();
    let text = format!("{error:#}");
    // Found at once (the timeout is 8 s), with the logs of each node that failed.
    assert!(text.contains("the cluster cannot become ready") && text.contains("corosync failed to start"), "{text}");
    assert!(
        text.contains("--- node1 logs, the lines around the failure (full logs: ")
            || text.contains("--- node2 logs, the lines around the failure (full logs: "),
        "{text}"
    );
    assert!(text.contains("elsewhere.key"), "corosync's own complaint is shown: {text}");
    assert_eq!(leftovers(&docker, &run).await, (0, 0, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `--verbose` prints of commands run in nodes, captured.
static EXEC_LOG: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        EXEC_LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `--verbose` shows each command and its output, but never the run's keys
/// or the candidate's passwords, in any printable form.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_command_log_never_shows_keys_or_passwords() {
    let filter = tracing_subscriber::EnvFilter::new(pcmk_containers::cluster::EXEC_LOG_DIRECTIVE);
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| Capture).try_init().expect("the only subscriber of this test binary");
    let dir = hardened_variant("verbose", |_| {});
    let password = "Canary-Passw0rd-4711";
    std::fs::write(dir.join("ops-password"), format!("{password}\n")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("candidate.toml")).unwrap();
    std::fs::write(
        dir.join("candidate.toml"),
        format!("{manifest}\n[[user]]\nname = \"ops\"\ngroups = [\"haclient\"]\npassword_file = \"ops-password\"\n"),
    )
    .unwrap();
    let candidate = pcmk_containers::candidate::Candidate::load(&dir).unwrap();

    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    let cluster = pcmk_containers::cluster::Cluster::start(&docker, &candidate, &image, &options("verbose", Some(1))).await.unwrap();
    let key_b64 = cluster.exec("node1", &["sh", "-c", "base64 -w0 /etc/corosync/authkey"]).await.unwrap().stdout;
    let key_hex = cluster.exec("node1", &["sh", "-c", "od -An -tx1 -v /etc/corosync/authkey | tr -d ' \\n'"]).await.unwrap().stdout;
    let echoed = cluster.exec("node1", &["echo", password]).await.unwrap().stdout;
    cluster.down().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    assert!(key_b64.len() > 300 && key_hex.len() == 512, "the key was read: {} {}", key_b64.len(), key_hex.len());
    assert_eq!(echoed.trim(), password, "commands themselves see the real data");
    let log = String::from_utf8(EXEC_LOG.lock().unwrap().clone()).unwrap();
    assert!(log.contains("node1 (root)$ od -An") || log.contains("node1 (root)$ sh -c od -An"), "the command log was captured: {log}");
    for (what, secret) in
        [("the authkey in base64", key_b64.as_str()), ("the authkey in hex", key_hex.as_str()), ("the password", password)]
    {
        assert!(!log.contains(secret), "{what} is in the verbose log");
    }
    assert!(log.matches("<redacted>").count() >= 4, "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pcsd_listens_once_the_cluster_is_ready_and_a_pcsd_that_cannot_is_an_error() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    let with_pcsd = |name: &str, keep_bind_addr: bool| {
        hardened_variant(name, |dir| {
            let manifest = std::fs::read_to_string(dir.join("candidate.toml")).unwrap();
            std::fs::write(dir.join("candidate.toml"), manifest.replace("\"pacemaker\"]", "\"pacemaker\", \"pcsd\"]")).unwrap();
            if !keep_bind_addr {
                let defaults = std::fs::read_to_string(dir.join("pcsd.defaults")).unwrap();
                let kept: Vec<&str> = defaults.lines().filter(|l| !l.starts_with("PCSD_BIND_ADDR")).collect();
                std::fs::write(dir.join("pcsd.defaults"), kept.join("\n")).unwrap();
            }
        })
    };

    // Checks run as soon as the cluster is ready: pcsd (ruby) must already listen by then.
    let dir = with_pcsd("pcsd-up", false);
    let candidate = pcmk_containers::candidate::Candidate::load(&dir).unwrap();
    let cluster =
        pcmk_containers::cluster::Cluster::up(&docker, &candidate, &image, &options("pcsd", Some(2))).await.expect("cluster comes up");
    for node in cluster.node_names() {
        let listening = cluster.exec(node, &["ss", "-Hltn", "sport = :2224"]).await.unwrap();
        assert!(!listening.stdout.trim().is_empty(), "{node}: pcsd does not listen yet on a ready cluster");
    }
    let run = cluster.run.clone();
    cluster.down().await.unwrap();
    assert_eq!(leftovers(&docker, &run).await, (0, 0, 0));
    std::fs::remove_dir_all(&dir).unwrap();

    // The hardened file names every node's address; a node owns one of them.
    let dir = with_pcsd("pcsd-bind", true);
    let candidate = pcmk_containers::candidate::Candidate::load(&dir).unwrap();
    let opts = options("pcsd-bind", Some(2));
    let run = opts.run_id.clone().unwrap();
    let error = pcmk_containers::cluster::Cluster::up(&docker, &candidate, &image, &opts).await.unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("pcsd failed to start"), "{text}");
    assert!(text.contains("Cannot assign requested address"), "pcsd's own complaint is shown: {text}");
    assert_eq!(leftovers(&docker, &run).await, (0, 0, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Volumes holding copies of `image_id`'s directories, by name.
async fn copies_of(docker: &pcmk_containers::Docker, image_id: &str) -> Vec<String> {
    let filters = std::collections::HashMap::from([("label".to_string(), vec![format!("{LABEL_IMAGE}={image_id}")])]);
    let options = bollard::query_parameters::ListVolumesOptionsBuilder::default().filters(&filters).build();
    let mut names: Vec<String> =
        docker.list_volumes(Some(options)).await.unwrap().volumes.unwrap_or_default().into_iter().map(|v| v.name).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn an_images_directories_are_copied_once_even_by_runs_at_once_and_gc_removes_copies_of_removed_images() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    // The base image stands in for a new one: no run has copied it.
    let base = docker.inspect_image(&image.base).await.unwrap().id.unwrap();
    for volume in copies_of(&docker, &base).await {
        docker.remove_volume(&volume, None::<bollard::query_parameters::RemoveVolumeOptions>).await.unwrap();
    }
    let (first, second) =
        tokio::join!(system_dirs::ensure(&docker, &base, Distro::Bookworm), system_dirs::ensure(&docker, &base, Distro::Bookworm));
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first, second, "both runs use the same copies");
    assert_eq!(
        copies_of(&docker, &base).await.len(),
        2 * first.len(),
        "a copy and its index per directory: the other run's copies are gone"
    );
    assert_eq!(system_dirs::ensure(&docker, &base, Distro::Bookworm).await.unwrap(), first, "a later run finds them");
    let run_volumes = pcmk_containers::run::list_volumes(&docker, None).await.unwrap();
    assert!(
        !run_volumes.iter().any(|v| v.labels.get(LABEL_IMAGE) == Some(&base)),
        "a copy outlives its run: no run label, so no run's removal takes it"
    );

    // A copy removed from outside is made again.
    let bin = first.iter().find(|d| d.target == "/usr/bin").unwrap();
    docker.remove_volume(&bin.volume, None::<bollard::query_parameters::RemoveVolumeOptions>).await.unwrap();
    let again = system_dirs::ensure(&docker, &base, Distro::Bookworm).await.unwrap();
    let new_bin = again.iter().find(|d| d.target == "/usr/bin").unwrap();
    assert_ne!(new_bin.volume, bin.volume);

    // gc removes the copies of an image the engine no longer has, and leaves the node image's.
    let gone = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let labels = std::collections::HashMap::from([(LABEL_IMAGE.to_string(), gone.to_string())]);
    let orphan =
        bollard::models::VolumeCreateRequest { name: Some("pcmk-comply-test-orphan".into()), labels: Some(labels), ..Default::default() };
    docker.create_volume(orphan).await.unwrap();
    let removed = system_dirs::remove_stale(&docker).await.unwrap();
    assert!(removed >= 1);
    assert!(copies_of(&docker, gone).await.is_empty());
    let node_image_id = docker.inspect_image(&image.tag).await.unwrap().id.unwrap();
    assert_eq!(copies_of(&docker, &node_image_id).await.len(), 2 * image.system_dirs.len(), "copies of a present image stay");
    for volume in copies_of(&docker, &base).await {
        docker.remove_volume(&volume, None::<bollard::query_parameters::RemoveVolumeOptions>).await.unwrap();
    }
}
