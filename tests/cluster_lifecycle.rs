//! Real clusters on the local Docker engine: membership, node loss, rejoin,
//! concurrency and clean-up.

mod common;

use std::time::Duration;

use common::*;
use pcmk_containers::image::Distro;

async fn sizes_reach_quorum(distro: Distro) {
    let docker = docker().await;
    for nodes in 1..=3 {
        let cluster = up(&docker, distro, &format!("size{nodes}"), Some(nodes)).await;
        let names = cluster.node_names();
        assert_eq!(names.len(), nodes);
        for node in &names {
            let status = cluster.status(node).await.unwrap();
            assert!(status.has_members(&names), "{distro} {nodes} nodes, seen from {node}: {status:?}");
            let cipher = cluster.exec(node, &["corosync-cmapctl", "-g", "totem.crypto_cipher"]).await.unwrap();
            assert!(cipher.stdout.contains("= aes256"), "knet runs encrypted: {cipher:?}");
        }
        let quorum = cluster.exec(names[0], &["corosync-quorumtool", "-s"]).await.unwrap();
        assert!(quorum.stdout.contains(&format!("Total votes:      {nodes}")), "{}", quorum.stdout);
        let run = cluster.run.clone();
        cluster.down().await.unwrap();
        assert_eq!(leftovers(&docker, &run).await, (0, 0));
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
    cluster.kill_node("node3").await.unwrap();
    cluster
        .wait_for_members(&["node1", "node2"], &["node1", "node2"], Duration::from_secs(60))
        .await
        .expect("the two survivors stay quorate without node3");
    let status = cluster.status("node1").await.unwrap();
    assert!(!status.node("node3").unwrap().online);

    cluster.start_node("node3").await.unwrap();
    cluster.wait_ready(Duration::from_secs(90)).await.expect("node3 rejoins");
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
async fn a_dropped_cluster_is_removed() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    let run = {
        let cluster = pcmk_containers::cluster::Cluster::start(&docker, &hardened(), &image, &options("drop", Some(1))).await.unwrap();
        assert_eq!(leftovers(&docker, &cluster.run).await, (1, 1));
        cluster.run.clone()
    };
    assert_eq!(leftovers(&docker, &run).await, (0, 0), "dropping a cluster (as a panic does) removes it");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_never_gets_ready_fails_with_each_nodes_logs_and_is_removed() {
    let docker = docker().await;
    let image = node_image(&docker, Distro::Bookworm).await;
    // Encryption on, but no authkey placed: corosync refuses to start.
    let dir = std::env::temp_dir().join(format!("pcmk-nokey-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo_path("candidates/hardened/corosync.conf"), dir.join("corosync.conf")).unwrap();
    std::fs::write(dir.join("candidate.toml"), "[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\n").unwrap();
    let candidate = pcmk_containers::candidate::Candidate::load(&dir).unwrap();
    let mut opts = options("nokey", Some(2));
    opts.ready_timeout = Duration::from_secs(8);
    let run = opts.run_id.clone().unwrap();
    let error = pcmk_containers::cluster::Cluster::up(&docker, &candidate, &image, &opts).await.unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("did not reach quorum"), "{text}");
    assert!(text.contains("--- node1 logs ---") && text.contains("--- node2 logs ---"), "{text}");
    assert!(text.contains("authkey"), "corosync's own complaint is shown: {text}");
    assert_eq!(leftovers(&docker, &run).await, (0, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}
