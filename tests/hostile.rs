//! Hostile candidates and faults from outside: each ends in a clear error
//! (exit 2) or a contained failure, in bounded time, with nothing left behind.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn replace_in(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", file.display());
    std::fs::write(file, text.replace(from, to)).unwrap();
}

/// Runs the CLI to its end: its output, how long it took, and its pid (its containers' owner).
fn comply(args: &[&str], candidate: &Path) -> (Output, Duration, String) {
    let started = Instant::now();
    let child = binary()
        .current_dir(repo_path(""))
        .args(args)
        .arg("--candidate")
        .arg(candidate)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    (child.wait_with_output().unwrap(), started.elapsed(), pid)
}

/// A change to a copy of the hardened candidate.
type Edit = Box<dyn FnOnce(&Path)>;

#[test]
fn hostile_candidates_end_in_clear_errors_or_verdicts_at_once() {
    let cases: Vec<(&str, Edit, i32, &str)> = vec![
        (
            "random-bytes",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("corosync.conf"),
                    (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<u8>>(),
                )
                .unwrap()
            }),
            2,
            "corosync.conf",
        ),
        (
            "32mb",
            Box::new(|d: &Path| std::fs::write(d.join("cib.xml"), vec![b' '; 32 * 1024 * 1024]).unwrap()),
            2,
            "larger than the 4194304 byte limit",
        ),
        (
            "entity-bomb",
            Box::new(|d: &Path| {
                let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE cib [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">]>\n<cib>&d;&d;&d;&d;&d;&d;&d;&d;</cib>\n";
                std::fs::write(d.join("cib.xml"), bomb).unwrap()
            }),
            2,
            "cib.xml",
        ),
        (
            "truncated-cib",
            Box::new(|d: &Path| {
                let cib = std::fs::read_to_string(d.join("cib.xml")).unwrap();
                std::fs::write(d.join("cib.xml"), &cib[..cib.len() / 2]).unwrap()
            }),
            2,
            "cib.xml:",
        ),
        (
            "crypto-on-udpu",
            Box::new(|d: &Path| replace_in(&d.join("corosync.conf"), "transport: knet", "transport: udpu")),
            2,
            "corosync 3 would refuse to start: parse error in config: crypto_cipher & crypto_hash are only valid for the Knet transport.",
        ),
        (
            "cipher-without-hash",
            Box::new(|d: &Path| replace_in(&d.join("corosync.conf"), "crypto_hash: sha256", "crypto_hash: none")),
            2,
            "corosync 3 would refuse to start: crypto_cipher requires crypto_hash with value other than none",
        ),
        (
            "escape",
            Box::new(|d: &Path| replace_in(&d.join("candidate.toml"), "source = \"corosync.conf\"", "source = \"../../../etc/passwd\"")),
            2,
            "leaves the candidate directory",
        ),
    ];
    for (name, edit, expected, says) in cases {
        let dir = hardened_variant(&format!("hostile-{name}"), edit);
        let (output, took, _) = comply(&["lint"], &dir);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(expected), "{name}: {said}");
        assert!(said.contains(says), "{name}: expected `{says}` in {said}");
        assert!(!said.contains("panicked") && !said.contains("root:x:0:0"), "{name}: {said}");
        assert!(took < Duration::from_secs(10), "{name} took {took:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

type EditFn = fn(&Path);

/// Corosync refuses crypto without knet and a cipher without a hash: `run`
/// refuses them at load, in corosync's words, before any cluster starts.
#[test]
fn configurations_corosync_refuses_stop_the_run_in_its_words() {
    let cases: [(&str, EditFn, &str); 2] = [
        (
            "udpu-crypto",
            |d| replace_in(&d.join("corosync.conf"), "transport: knet", "transport: udpu"),
            "crypto_cipher & crypto_hash are only valid for the Knet transport.",
        ),
        (
            "no-hash",
            |d| replace_in(&d.join("corosync.conf"), "crypto_hash: sha256", "crypto_hash: none"),
            "crypto_cipher requires crypto_hash with value other than none",
        ),
    ];
    for (name, edit, says) in cases {
        let dir = hardened_variant(&format!("hostile-run-{name}"), edit);
        let (output, took, _) = comply(&["run", "--tags", "@patching"], &dir);
        let said = text(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {said}");
        assert!(said.contains(says) && said.contains("corosync.conf:"), "{name}: the error quotes corosync and names the line: {said}");
        assert!(
            !said.contains("PASS ") && !said.contains("FAIL ") && !said.contains("cluster: starting"),
            "{name}: no cluster, no verdict: {said}"
        );
        assert!(took < Duration::from_secs(10), "{name} took {took:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A node removed from outside while scenarios run is an infrastructure error.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_removed_mid_run_is_an_infrastructure_error() {
    let docker = docker().await;
    node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    let child = binary()
        .current_dir(repo_path(""))
        .args(["run", "--tags", "@isolation or @auditing and @live"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    // The first node container of this process's run, once the cluster is up.
    let deadline = Instant::now() + Duration::from_secs(90);
    let victim = loop {
        assert!(Instant::now() < deadline, "the run's cluster never appeared");
        let containers = pcmk_containers::run::list_containers(&docker, None).await.unwrap();
        let ours = containers.iter().find(|c| {
            c.labels.get("io.pcmk-comply.owner-pid") == Some(&pid) && c.labels.get("io.pcmk-comply.node").is_some_and(|n| n == "node2")
        });
        if let Some(c) = ours {
            // Past start-up (about 6 s), into the scenarios.
            tokio::time::sleep(Duration::from_secs(10)).await;
            break c.name.clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default().force(true).build();
    docker.remove_container(&victim, Some(options)).await.unwrap();
    let output = child.wait_with_output().unwrap();
    let said = text(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("infrastructure error"), "{said}");
    let left = pcmk_containers::run::list_containers(&docker, None).await.unwrap();
    assert!(left.iter().all(|c| c.labels.get("io.pcmk-comply.owner-pid") != Some(&pid)), "the run left containers behind");
}

/// A resource agent that forks endlessly and fills memory stays inside its
/// node's pids and memory limits; the run ends and the host is unharmed.
#[tokio::test(flavor = "multi_thread")]
async fn a_fork_and_memory_bomb_in_a_candidate_is_contained() {
    let docker = docker().await;
    node_image(&docker, pcmk_model::node::Distro::Bookworm).await;
    let dir = hardened_variant("hostile-bomb", |d| {
        std::fs::write(
            d.join("bomb-agent"),
            "#!/bin/sh\n# Starts a fork bomb and a memory hog, then claims success.\ncase \"$1\" in\n  start) (python3 -c 'a=[]\nwhile True: a.append(bytearray(50*1024*1024))' &) ; (b() { b | b & }; b) >/dev/null 2>&1 & exit 0 ;;\n  stop) exit 0 ;;\n  monitor) exit 0 ;;\n  meta-data) echo '<resource-agent name=\"bomb\"><actions><action name=\"start\" timeout=\"20s\"/><action name=\"stop\" timeout=\"20s\"/><action name=\"monitor\" timeout=\"20s\" interval=\"10s\"/><action name=\"meta-data\" timeout=\"5s\"/></actions></resource-agent>'; exit 0 ;;\n  *) exit 3 ;;\nesac\n",
        )
        .unwrap();
        let manifest = std::fs::read_to_string(d.join("candidate.toml")).unwrap();
        std::fs::write(d.join("candidate.toml"), format!("{manifest}\n[[file]]\nsource = \"bomb-agent\"\npath = \"/usr/lib/ocf/resource.d/custom/bomb\"\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\n")).unwrap();
        replace_in(
            &d.join("cib.xml"),
            "    </resources>",
            "      <primitive id=\"bomb\" class=\"ocf\" provider=\"custom\" type=\"bomb\"/>\n    </resources>",
        );
    });
    let host_pids = || {
        std::fs::read_dir("/proc")
            .unwrap()
            .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit())))
            .count()
    };
    let before = host_pids();
    let (output, took, _) = comply(&["run", "--tags", "@patching"], &dir);
    let said = text(&output);
    assert!(matches!(output.status.code(), Some(0..=2)), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    assert!(took < Duration::from_secs(300), "the run took {took:?}");
    // Each node holds at most its 1,024 pids; nothing is left once the run is over.
    let after = host_pids();
    assert!(after < before + 200, "host processes grew from {before} to {after}");
    let _ = std::fs::remove_dir_all(&dir);
}
