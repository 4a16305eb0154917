//! `capture` on a running lab cluster, over real OpenSSH: the nodes run sshd
//! (started here, as a test asks for it), the harness's ssh reaches them
//! through a `ProxyCommand` (`docker exec … nc`), as a user's jump host would.
//! Nothing on the nodes changes; lint of the capture judges every node.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use pcmk_containers::cluster::Cluster;
use pcmk_model::node::Distro;

/// A private directory with a key pair, the nodes' host keys and an ssh config.
struct Access {
    dir: PathBuf,
}

impl Access {
    async fn new(cluster: &Cluster, name: &str) -> Access {
        let dir = std::env::temp_dir().join(format!("pcmk-capture-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let made =
            std::process::Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(dir.join("id")).status().unwrap();
        assert!(made.success());
        let public = std::fs::read_to_string(dir.join("id.pub")).unwrap();
        let mut known_hosts = String::new();
        let mut config = String::new();
        for node in cluster.node_names() {
            let setup = format!(
                "mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh && printf '%s' '{public}' > /root/.ssh/authorized_keys && /usr/sbin/sshd"
            );
            let out = cluster.exec(node, &["bash", "-c", &setup]).await.unwrap();
            assert!(out.success(), "{node}: {out:?}");
            let host_key = cluster.exec(node, &["cat", "/etc/ssh/ssh_host_ed25519_key.pub"]).await.unwrap().stdout;
            let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
            known_hosts.push_str(&format!("{node} {}\n", host_key.join(" ")));
            config.push_str(&host_entry(node, &cluster.container_of(node), &dir));
        }
        // A node no container stands behind: unreachable.
        config.push_str(&host_entry("ghost", "pcmk-comply-no-such-container", &dir));
        std::fs::write(dir.join("known_hosts"), known_hosts).unwrap();
        std::fs::write(dir.join("empty_known_hosts"), "").unwrap();
        std::fs::write(dir.join("ssh_config"), config).unwrap();
        Access { dir }
    }

    fn config(&self) -> String {
        self.dir.join("ssh_config").display().to_string()
    }

    fn out(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Access {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn host_entry(node: &str, container: &str, dir: &Path) -> String {
    format!(
        "Host {node}\n  User root\n  ProxyCommand docker exec -i {container} nc 127.0.0.1 22\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  ConnectTimeout 10\n",
        dir.join("id").display(),
        dir.join("known_hosts").display()
    )
}

fn pcmk(args: &[&str]) -> (i32, String, String) {
    let output = binary().args(args).current_dir(repo_path("")).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What must not change on a node while it is captured: the CIB's epoch, the
/// files' hashes, the cluster daemons (same pids).
async fn state(cluster: &Cluster, node: &str) -> String {
    let script = "cibadmin --query | grep -o '<cib [^>]*' | grep -o ' epoch=\"[0-9]*\"'; \
                  sha256sum /etc/corosync/corosync.conf /etc/corosync/authkey /etc/pacemaker/authkey /var/lib/pacemaker/cib/cib.xml /etc/nftables.conf; \
                  ps -eo pid,comm --no-headers | grep -E 'corosync|pacemaker'";
    cluster.exec(node, &["bash", "-c", script]).await.unwrap().stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_cluster_is_captured_read_only_and_linted_node_by_node() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    let options = pcmk_containers::cluster::ClusterOptions { ssh_server: true, ..options("capture", Some(3)) };
    let cluster = Cluster::up(&docker, &hardened(), &image, &options).await.expect("cluster comes up");
    let access = Access::new(&cluster, "live").await;
    let names: Vec<String> = cluster.node_names().iter().map(|n| n.to_string()).collect();
    // The same pcsd key on every node, as `pcs cluster sync` leaves it.
    for node in &names {
        let write =
            "mkdir -p /var/lib/pcsd && printf 'pcsd-key-of-this-cluster' > /var/lib/pcsd/pcsd.key && chmod 600 /var/lib/pcsd/pcsd.key";
        cluster.exec(node, &["bash", "-c", write]).await.unwrap();
    }
    let mut before = Vec::new();
    for node in &names {
        before.push(state(&cluster, node).await);
    }

    // One node named: the others come from its corosync.conf.
    let out = access.out("capture");
    let (code, stdout, stderr) = pcmk(&["capture", "--node", &names[0], "--ssh-config", &access.config(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("captured 3 of 3 nodes"), "{stdout}{stderr}");
    for node in &names {
        assert!(stderr.contains(&format!("capture: {node}: ")), "a progress line per node: {stderr}");
    }
    for (node, was) in names.iter().zip(&before) {
        assert_eq!(&state(&cluster, node).await, was, "{node} changed while it was captured");
    }
    // Keys are kept for the user only, and never printed.
    let key = out.join(&names[1]).join("files/etc/corosync/authkey");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    let key_bytes = std::fs::read(&key).unwrap();
    let hex: String = key_bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
    assert!(!stdout.contains(&hex) && !stderr.contains(&hex));

    // Lint judges every node, as the lab has it.
    let (code, stdout, stderr) = pcmk(&["lint", "--candidate", out.to_str().unwrap()]);
    assert!(stdout.contains("is a capture of 3 nodes"), "{stdout}{stderr}");
    assert_eq!(code, 0, "the hardened lab cluster, captured, passes what it holds: {stdout}{stderr}");
    assert!(stdout.contains("PASS      Secure communication » Every node holds the same strong corosync key"), "{stdout}");
    assert!(stdout.contains("PASS      Secure communication » A firewall is loaded on every node"), "{stdout}");
    assert!(stdout.contains("PASS      Secure cluster configuration » The hacluster account has no default password"), "{stdout}");
    assert!(stdout.contains("PASS      Secure cluster configuration » Every node holds the same keys and configuration"), "{stdout}");
    assert!(stdout.contains("PASS      Regular updates and patching » Every node runs the same cluster software"), "{stdout}");
    // A scenario naming a file outside the policy's own list judges that file.
    let pcsd_key = repo_path("tests/features/pcsd-key-identical.feature");
    let (code, stdout, _) = pcmk(&["lint", "--candidate", out.to_str().unwrap(), pcsd_key.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("PASS      pcsd's key » Every node holds the same pcsd key"), "{stdout}");

    // A key changed on one node is caught, with that node named.
    let odd = &names[2];
    cluster
        .exec(
            odd,
            &[
                "bash",
                "-c",
                "head -c 256 /dev/urandom > /etc/corosync/authkey.new && cat /etc/corosync/authkey.new > /etc/corosync/authkey && printf 'another' > /var/lib/pcsd/pcsd.key",
            ],
        )
        .await
        .unwrap();
    let drifted = access.out("drifted");
    let (code, stdout, stderr) =
        pcmk(&["capture", "--node", &names[0], "--ssh-config", &access.config(), "--out", drifted.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = pcmk(&["lint", "--candidate", drifted.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(&format!("{odd}: /etc/corosync/authkey differs from the one")), "{stdout}");
    assert!(stdout.contains(&format!("{odd}: /etc/corosync/authkey differs from what")), "the drift scenario names the node: {stdout}");
    let (code, stdout, _) = pcmk(&["lint", "--candidate", drifted.to_str().unwrap(), pcsd_key.to_str().unwrap()]);
    assert_eq!(code, 1, "a pcsd key that differs on one node fails: {stdout}");
    assert!(stdout.contains(&format!("{odd}: /var/lib/pcsd/pcsd.key")), "{stdout}");

    // Faults: each a clear exit 2 naming the node, and nothing left looking complete.
    let refused = |args: &[&str], out: &Path, expected: &str| {
        let mut all: Vec<&str> = vec!["capture", "--ssh-config"];
        let config = access.config();
        all.push(&config);
        all.extend_from_slice(args);
        let out_text = out.display().to_string();
        all.extend(["--out", &out_text]);
        let (code, stdout, stderr) = pcmk(&all);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{args:?} should say `{expected}`: {stderr}");
        assert!(!out.exists(), "{args:?}: nothing is written");
    };
    let all_nodes: Vec<String> = names.iter().flat_map(|n| ["--node".to_string(), n.clone()]).collect();
    let mut with_ghost: Vec<&str> = all_nodes.iter().map(String::as_str).collect();
    with_ghost.extend(["--node", "ghost"]);
    refused(&with_ghost, &access.out("unreachable"), "ghost: ssh: ");
    let unknown_key = format!("UserKnownHostsFile={}", access.dir.join("empty_known_hosts").display());
    refused(&["--node", &names[0], "--ssh-option", &unknown_key], &access.out("unknown"), "Host key verification failed");
    // An account the nodes do not let in (the command line's User wins over the config's).
    refused(&["--node", &names[0], "--ssh-option", "User=nobody"], &access.out("denied"), "Permission denied");
    // A sudo user: without --sudo the keys are not readable (exit 2, naming the node and the
    // file); with --sudo (`sudo -n`) the capture is whole.
    let public = std::fs::read_to_string(access.dir.join("id.pub")).unwrap();
    for node in &names {
        let setup = format!(
            "useradd --create-home --shell /bin/bash ops && install -d -m 700 -o ops -g ops ~ops/.ssh && printf '%s' '{public}' > ~ops/.ssh/authorized_keys \
             && chown ops: ~ops/.ssh/authorized_keys && echo 'ops ALL=(root) NOPASSWD: ALL' > /etc/sudoers.d/ops && chmod 0440 /etc/sudoers.d/ops"
        );
        let out = cluster.exec(node, &["bash", "-c", &setup]).await.unwrap();
        assert!(out.success(), "{node}: {out:?}");
    }
    refused(&["--node", &names[0], "--ssh-option", "User=ops"], &access.out("unprivileged"), "/etc/corosync/authkey is not readable");
    let as_ops = access.out("sudo");
    let (code, stdout, stderr) = pcmk(&[
        "capture",
        "--node",
        &names[0],
        "--ssh-config",
        &access.config(),
        "--ssh-option",
        "User=ops",
        "--sudo",
        "--out",
        as_ops.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("captured 3 of 3 nodes"), "{stdout}{stderr}");
    // --allow-partial keeps the nodes that answered and says which did not.
    let partial = access.out("partial");
    let mut args: Vec<&str> = vec!["capture", "--ssh-config"];
    let config = access.config();
    args.push(&config);
    args.extend(with_ghost.iter());
    args.extend(["--allow-partial", "--out", partial.to_str().unwrap()]);
    let (code, stdout, stderr) = pcmk(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("captured 3 of 4 nodes") && stdout.contains("ghost: ssh: "), "{stdout}");
    let (_, stdout, _) = pcmk(&["lint", "--candidate", partial.to_str().unwrap()]);
    assert!(stdout.contains("not captured: ghost"), "{stdout}");
    cluster.down().await.unwrap();
}
