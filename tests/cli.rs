//! The binary as a user runs it: exit codes, messages, signals, `cluster up`, `gc`.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn unreachable_engine_is_one_clear_line_and_exit_2() {
    let output = binary()
        .args(["cluster", "up", "--candidate"])
        .arg(repo_path("candidates/hardened"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach the Docker engine (unix:///nonexistent/docker.sock)"), "{stderr}");
    assert!(stderr.contains("DOCKER_HOST"), "says how to fix it: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn bad_candidates_name_file_and_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("pcmk-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        ("candidate.toml", "nodes = 3\nnodes = 4\n", "candidate.toml:2:"),
        (
            "candidate.toml",
            "[[file]]\nsource = \"../../etc/shadow\"\npath = \"/etc/corosync/corosync.conf\"\n",
            "leaves the candidate directory",
        ),
        ("corosync.conf", "totem {\n  version: 2\n\nnodelist {\n}\n", "corosync.conf:1: corosync would refuse this: Missing closing brace"),
    ];
    for (file, content, expected) in cases {
        let _ = std::fs::remove_file(dir.join("candidate.toml"));
        std::fs::write(dir.join(file), content).unwrap();
        let output = binary().args(["cluster", "up", "--candidate"]).arg(&dir).output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(expected), "{file}: expected `{expected}` in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `cluster up` in the background, returned once `containers` of its nodes exist.
async fn cluster_up_until(docker: &pcmk_containers::Docker, run: &pcmk_containers::run::RunId, containers: usize) -> std::process::Child {
    let child = binary()
        .args(["cluster", "up", "--run-id", run.as_str(), "--candidate"])
        .arg(repo_path("candidates/hardened"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while leftovers(docker, run).await.0 < containers {
        assert!(Instant::now() < deadline, "{containers} node container(s) never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child
}

/// SIGINT and SIGTERM while nodes start: nothing labelled stays behind.
#[tokio::test(flavor = "multi_thread")]
async fn signals_during_start_up_leave_nothing() {
    let docker = docker().await;
    node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    for (signal, code) in [(libc_signal::SIGINT, 130), (libc_signal::SIGTERM, 143)] {
        let run = test_run_id("sig");
        let mut child = cluster_up_until(&docker, &run, 1).await;
        libc_signal::send(child.id(), signal);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code));
        assert_eq!(leftovers(&docker, &run).await, (0, 0, 0), "signal {signal} left objects of run {run}");
    }
}

/// SIGINT and SIGTERM in a policy run: while scenarios run on several clusters,
/// and as the first scenarios end (their clusters being removed, others starting).
#[tokio::test(flavor = "multi_thread")]
async fn signals_during_a_policy_run_leave_nothing() {
    use std::io::BufRead as _;
    let docker = docker().await;
    node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    for (signal, code, moment) in [(libc_signal::SIGINT, 130, "ready in"), (libc_signal::SIGTERM, 143, " » ")] {
        let mut child = binary()
            .args(["run", "--tags", "@failover", "--candidate"])
            .arg(repo_path("candidates/hardened"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Progress lines go to stderr, scenario lines to stdout: read both.
        let (lines, seen) = std::sync::mpsc::channel();
        for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, Box::new(child.stderr.take().unwrap())] {
            let lines = lines.clone();
            std::thread::spawn(move || std::io::BufReader::new(stream).lines().map_while(Result::ok).for_each(|l| drop(lines.send(l))));
        }
        let deadline = Instant::now() + Duration::from_secs(240);
        let mut log = Vec::new();
        while !log.iter().any(|l: &String| l.contains(moment)) {
            assert!(Instant::now() < deadline, "never saw `{moment}`:\n{}", log.join("\n"));
            if let Ok(line) = seen.recv_timeout(Duration::from_secs(1)) {
                log.push(line);
            }
        }
        let (containers, _, _) = made_by(&docker, pid).await;
        assert!(containers >= 3, "a cluster is up when `{moment}` shows ({containers} containers)");
        libc_signal::send(pid, signal);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{}", log.join("\n"));
        assert_eq!(made_by(&docker, pid).await, (0, 0, 0), "signal {signal} at `{moment}` left objects behind");
    }
}

/// Mount points below `dir` in this machine's mount table.
fn mounts_under(dir: &std::path::Path) -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| std::path::Path::new(m).starts_with(dir))
        .count()
}

/// Processes whose command line names `dir` (debootstrap and its children).
fn processes_naming(dir: &std::path::Path) -> usize {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).contains(&needle))
        .count()
}

/// SIGINT and SIGTERM during a cold image build: debootstrap and its children
/// stop, nothing stays mounted in its root file system (debootstrap mounts /proc
/// and /sys there late in the build), and the tree is gone.
#[test]
fn signals_during_an_image_build_stop_debootstrap_and_leave_nothing() {
    for (signal, code, mounted) in [(libc_signal::SIGINT, 130, false), (libc_signal::SIGTERM, 143, true)] {
        // A spelling of the mirror no cached image was built from: the build starts with debootstrap.
        let mut child = binary()
            .args(["image", "build", "--distro", "bookworm"])
            .env("PCMK_COMPLY_MIRROR", "http://deb.debian.org/./debian")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let root_fs = std::env::temp_dir().join(format!("pcmk-comply-rootfs-bookworm-{}", child.id()));
        let deadline = Instant::now() + Duration::from_secs(300);
        while !root_fs.exists() || (mounted && mounts_under(&root_fs) == 0) {
            assert!(child.try_wait().unwrap().is_none(), "the build ended before the signal");
            assert!(
                Instant::now() < deadline,
                "debootstrap never reached {}",
                if mounted { "its second stage" } else { "its first stage" }
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        libc_signal::send(child.id(), signal);
        assert_eq!(child.wait().unwrap().code(), Some(code));
        assert_eq!(processes_naming(&root_fs), 0, "debootstrap still runs after signal {signal}");
        assert_eq!(mounts_under(&root_fs), 0, "something stays mounted in {} after signal {signal}", root_fs.display());
        assert!(!root_fs.exists(), "{} is left after signal {signal}", root_fs.display());
    }
}

/// `image build --distro all` prepares both images at once, each with its own
/// progress lines (the elapsed time in brackets) in a log: both debootstraps
/// are under way together before the run is stopped.
#[test]
fn both_images_are_prepared_at_once_each_with_its_progress_lines() {
    let mut child = binary()
        .args(["image", "build", "--distro", "all"])
        .env("PCMK_COMPLY_MIRROR", "http://deb.debian.org/./debian")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader =
        std::thread::spawn(move || std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok).collect::<Vec<String>>());
    let pid = child.id();
    let root_fs = |suite: &str| std::env::temp_dir().join(format!("pcmk-comply-rootfs-{suite}-{pid}"));
    let deadline = Instant::now() + Duration::from_secs(300);
    while !(root_fs("bookworm").exists() && root_fs("trixie").exists()) {
        assert!(child.try_wait().unwrap().is_none(), "the build ended before both bootstraps were under way");
        assert!(Instant::now() < deadline, "the two bootstraps were never under way together");
        std::thread::sleep(Duration::from_millis(200));
    }
    libc_signal::send(child.id(), libc_signal::SIGINT);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    let lines = reader.join().unwrap();
    for suite in ["bookworm", "trixie"] {
        let said = |step: &str| lines.iter().any(|l| l.starts_with(&format!("image {suite}: [")) && l.contains(step));
        assert!(said("bootstrapping"), "no bootstrap line for {suite}:\n{}", lines.join("\n"));
        assert!(!root_fs(suite).exists(), "{} is left after the signal", root_fs(suite).display());
    }
}

/// `cluster up` leaves a ready cluster behind; `gc` afterwards removes it.
#[tokio::test(flavor = "multi_thread")]
async fn cluster_up_leaves_a_ready_cluster_that_gc_removes() {
    let docker = docker().await;
    let run = test_run_id("up");
    let output =
        binary().args(["cluster", "up", "--run-id", run.as_str(), "--candidate"]).arg(repo_path("candidates/hardened")).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr_of(&output));
    for node in ["node1", "node2", "node3"] {
        assert!(stdout.contains(&format!("node {node}")), "{stdout}");
    }
    assert!(stdout.contains("harness set dc-deadtime=2s"), "harness options are listed: {stdout}");
    assert_eq!(leftovers(&docker, &run).await.0, 3);
    gc_removes(&docker, &run).await;
}

/// `gc` removes the run, whose owner is gone, and says so.
async fn gc_removes(docker: &pcmk_containers::Docker, run: &pcmk_containers::run::RunId) {
    let gc = binary().arg("gc").output().unwrap();
    assert!(gc.status.success(), "{}", stderr_of(&gc));
    assert!(String::from_utf8_lossy(&gc.stdout).contains(&format!("removed run {run}")));
    assert_eq!(leftovers(docker, run).await, (0, 0, 0));
}

/// A harness killed with SIGKILL cannot clean up; what it leaves is labelled,
/// and `gc` (which sees its owner is dead) removes all of it.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_harness_leaves_only_what_gc_removes() {
    let docker = docker().await;
    node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    let run = test_run_id("kill");
    let mut child = cluster_up_until(&docker, &run, 3).await;
    libc_signal::send(child.id(), libc_signal::SIGKILL);
    assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
    let (containers, networks, volumes) = leftovers(&docker, &run).await;
    assert!(
        containers == 3 && networks >= 1 && volumes == 6,
        "SIGKILL leaves the run behind ({containers} containers, {networks} networks, {volumes} volumes)"
    );
    gc_removes(&docker, &run).await;
}

/// Helper containers are labelled and stamped as the nodes are: a harness
/// killed with SIGKILL while a scenario's log collector (a testcontainers
/// container) runs leaves it behind, and `gc` removes it with its run.
#[tokio::test(flavor = "multi_thread")]
async fn helper_containers_are_removed_after_sigkill_plus_gc() {
    use pcmk_containers::run::{self, RunId};
    let docker = docker().await;
    node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    // Logs forwarded to an address no collector holds never arrive: the scenario waits, its collector up, until killed.
    let candidate = hardened_variant("helper-kill", |dir| {
        let conf = dir.join("rsyslog-central.conf");
        let text = std::fs::read_to_string(&conf).unwrap();
        assert!(text.contains("target=\"loghost\""), "{text}");
        std::fs::write(&conf, text.replace("target=\"loghost\"", "target=\"198.51.100.7\"")).unwrap();
    });
    let feature = candidate.with_extension("feature");
    std::fs::write(
        &feature,
        "Feature: A helper outlives a killed harness\n\n  @live @destructive\n  Scenario: The collector waits for logs sent elsewhere\n    \
         Given a central log collector on the cluster network\n    Then every node's corosync and pacemaker logs arrive at the collector within 600 seconds\n",
    )
    .unwrap();
    let mut child =
        binary().arg("run").arg("--candidate").arg(&candidate).arg(&feature).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let pid = child.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(180);
    let collector = loop {
        let containers = run::list_containers(&docker, None).await.unwrap();
        let label = |c: &run::Labelled, key: &str| c.labels.get(key).cloned().unwrap_or_default();
        if let Some(c) = containers
            .into_iter()
            .find(|c| label(c, run::LABEL_OWNER_PID) == pid && label(c, run::LABEL_NODE) == pcmk_containers::cluster::LOG_COLLECTOR)
        {
            break c;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before its log collector was made");
        assert!(Instant::now() < deadline, "no log collector was made");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    libc_signal::send(child.id(), libc_signal::SIGKILL);
    assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
    assert_eq!(collector.labels.get("org.testcontainers.managed-by").map(String::as_str), Some("testcontainers"), "{:?}", collector.labels);
    for stamp in [run::LABEL_OWNER_HOST, run::LABEL_OWNER_START] {
        assert!(collector.labels.get(stamp).is_some_and(|v| !v.is_empty()), "{stamp} on {:?}", collector.labels);
    }
    let run = RunId::parse(&collector.labels[run::LABEL_RUN]).expect("the collector carries its run");
    let left = run::list_containers(&docker, Some(&run)).await.unwrap();
    assert!(left.iter().any(|c| c.id == collector.id), "SIGKILL leaves the collector behind: {left:?}");
    gc_removes(&docker, &run).await;
    assert_eq!(made_by(&docker, child.id()).await, (0, 0, 0), "gc leaves nothing the killed harness made");
    let _ = std::fs::remove_dir_all(&candidate);
    let _ = std::fs::remove_file(&feature);
}

/// `DOCKER_HOST` with TLS: the harness drives an engine it reaches only
/// through a mutual-TLS front (a helper container with a test CA), as a
/// remote engine in CI would.
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_engine_over_tls_runs_clusters() {
    let docker = docker().await;
    let image = node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    let dir = std::env::temp_dir().join(format!("pcmk-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sh = |script: &str| {
        let out = std::process::Command::new("sh").arg("-ec").arg(script).current_dir(&dir).output().unwrap();
        assert!(out.status.success(), "{script}: {}", stderr_of(&out));
    };
    let ca = |name: &str| {
        format!("openssl req -x509 -newkey rsa:2048 -nodes -keyout {name}-key.pem -out {name}.pem -days 2 -subj /CN={name} 2>/dev/null")
    };
    let issue = |name: &str, ca: &str, ext: &str| {
        format!(
            "openssl req -newkey rsa:2048 -nodes -keyout {name}-key.pem -out {name}.csr -subj /CN={name} 2>/dev/null && printf '{ext}' > {name}.ext && \
             openssl x509 -req -in {name}.csr -CA {ca}.pem -CAkey {ca}-key.pem -CAcreateserial -out {name}.pem -days 2 -extfile {name}.ext 2>/dev/null"
        )
    };
    sh(&ca("ca"));
    sh(&ca("other-ca"));
    sh(&issue("server", "ca", "subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n"));
    sh(&issue("client", "ca", "extendedKeyUsage=clientAuth\\n"));
    sh(&issue("stranger", "other-ca", "extendedKeyUsage=clientAuth\\n"));
    // DOCKER_CERT_PATH directories: ca.pem to trust, cert.pem and key.pem to present.
    for (certs, trust, client) in [("good", "ca", "client"), ("wrong-server", "other-ca", "client"), ("wrong-client", "ca", "stranger")] {
        sh(&format!(
            "mkdir {certs} && cp {trust}.pem {certs}/ca.pem && cp {client}.pem {certs}/cert.pem && cp {client}-key.pem {certs}/key.pem"
        ));
    }
    // A run of its own: `cluster down` over the front must not remove the front.
    let front_run = test_run_id("tls-front");
    let (front, port) = tls_front(&image, &dir, &front_run).await;
    let remote = |certs: &str, args: &[&str]| {
        binary()
            .args(args)
            .env("DOCKER_HOST", format!("tcp://127.0.0.1:{port}"))
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", dir.join(certs))
            .output()
            .unwrap()
    };
    for certs in ["wrong-server", "wrong-client"] {
        let refused = remote(certs, &["image", "list"]);
        assert_eq!(refused.status.code(), Some(2), "{certs} is refused: {}", stderr_of(&refused));
        assert!(
            stderr_of(&refused).contains(&format!("cannot reach the Docker engine (tcp://127.0.0.1:{port})")),
            "{}",
            stderr_of(&refused)
        );
    }
    let run = test_run_id("tls");
    let up =
        remote("good", &["cluster", "up", "--run-id", run.as_str(), "--candidate", repo_path("candidates/hardened").to_str().unwrap()]);
    let down = remote("good", &["cluster", "down", "--run", run.as_str()]);
    let front_id = front.id().to_string();
    assert_eq!(leftovers(&docker, &front_run).await.0, 1, "the front carries its run's label");
    drop(front);
    assert!(up.status.success(), "cluster up over TLS: {}", stderr_of(&up));
    assert!(String::from_utf8_lossy(&up.stdout).contains("node node3"));
    assert!(down.status.success(), "cluster down over TLS: {}", stderr_of(&down));
    assert_eq!(leftovers(&docker, &run).await, (0, 0, 0));
    let gone = docker.inspect_container(&front_id, None::<bollard::query_parameters::InspectContainerOptions>).await;
    assert!(
        matches!(gone, Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. })),
        "a dropped helper removes its container: {gone:?}"
    );
    assert_eq!(leftovers(&docker, &front_run).await, (0, 0, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

mod libc_signal {
    pub const SIGKILL: i32 = 9;
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;

    pub fn send(pid: u32, signal: i32) {
        let status = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
        assert!(status.success());
    }
}
