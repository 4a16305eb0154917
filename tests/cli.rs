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
        ("candidate.toml", "[[file]]\nsource = \"../../etc/shadow\"\npath = \"/etc/corosync/corosync.conf\"\n", "leaves the candidate directory"),
        ("corosync.conf", "totem {\n  version: 2\n\nnodelist {\n}\n", "corosync.conf:1: section `totem` is never closed"),
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

/// SIGINT and SIGTERM while nodes start: nothing labelled stays behind.
#[tokio::test(flavor = "multi_thread")]
async fn signals_during_start_up_leave_nothing() {
    let docker = docker().await;
    node_image(&docker, pcmk_containers::image::Distro::Bookworm).await;
    for (signal, code) in [(libc_signal::SIGINT, 130), (libc_signal::SIGTERM, 143)] {
        let run = test_run_id("sig");
        let mut child = binary()
            .args(["cluster", "up", "--run-id", run.as_str(), "--candidate"])
            .arg(repo_path("candidates/hardened"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while leftovers(&docker, &run).await.0 == 0 {
            assert!(Instant::now() < deadline, "no container appeared");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        libc_signal::send(child.id(), signal);
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code));
        assert_eq!(leftovers(&docker, &run).await, (0, 0), "signal {signal} left objects of run {run}");
    }
}

/// `cluster up` leaves a ready cluster behind; `gc` afterwards removes it.
#[tokio::test(flavor = "multi_thread")]
async fn cluster_up_leaves_a_ready_cluster_that_gc_removes() {
    let docker = docker().await;
    let run = test_run_id("up");
    let output = binary()
        .args(["cluster", "up", "--run-id", run.as_str(), "--candidate"])
        .arg(repo_path("candidates/hardened"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", stderr_of(&output));
    for node in ["node1", "node2", "node3"] {
        assert!(stdout.contains(&format!("node {node}")), "{stdout}");
    }
    assert!(stdout.contains("harness set dc-deadtime=2s"), "harness options are listed: {stdout}");
    assert_eq!(leftovers(&docker, &run).await.0, 3);

    let gc = binary().arg("gc").output().unwrap();
    assert!(gc.status.success(), "{}", stderr_of(&gc));
    assert!(String::from_utf8_lossy(&gc.stdout).contains(&format!("removed run {run}")));
    assert_eq!(leftovers(&docker, &run).await, (0, 0));
}

mod libc_signal {
    pub const SIGINT: i32 = 2;
    pub const SIGTERM: i32 = 15;

    pub fn send(pid: u32, signal: i32) {
        let status = std::process::Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().unwrap();
        assert!(status.success());
    }
}
