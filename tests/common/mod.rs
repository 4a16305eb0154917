//! Shared set-up for the integration tests: they run real clusters on the local engine.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use pcmk_containers::candidate::Candidate;
use pcmk_containers::cluster::{Cluster, ClusterOptions};
use pcmk_containers::image::{self, Mirrors, NodeImage};
use pcmk_containers::run::{self, RunId};
use pcmk_containers::Docker;
use pcmk_model::node::Distro;

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn hardened() -> Candidate {
    Candidate::load(&repo_path("candidates/hardened")).expect("the bundled candidate loads")
}

pub async fn docker() -> Docker {
    pcmk_containers::engine::connect().await.expect("the Docker engine is reachable")
}

pub async fn node_image(docker: &Docker, distro: Distro) -> NodeImage {
    image::ensure_node_image(docker, distro, &Mirrors::default(), &|_| {}).await.expect("node image")
}

pub fn test_run_id(prefix: &str) -> RunId {
    RunId::parse(&format!("t-{prefix}-{:06x}", rand::random::<u32>() & 0xff_ffff)).expect("valid run id")
}

pub fn options(prefix: &str, nodes: Option<usize>) -> ClusterOptions {
    ClusterOptions {
        nodes,
        origin: "test".into(),
        run_id: Some(test_run_id(prefix)),
        ready_timeout: Duration::from_secs(90),
        ..Default::default()
    }
}

pub async fn up(docker: &Docker, distro: Distro, prefix: &str, nodes: Option<usize>) -> Cluster {
    let image = node_image(docker, distro).await;
    Cluster::up(docker, &hardened(), &image, &options(prefix, nodes)).await.expect("cluster comes up")
}

/// Containers and networks still labelled with `run`.
pub async fn leftovers(docker: &Docker, run: &RunId) -> (usize, usize, usize) {
    (
        run::list_containers(docker, Some(run)).await.unwrap().len(),
        run::list_networks(docker, Some(run)).await.unwrap().len(),
        run::list_volumes(docker, Some(run)).await.unwrap().len(),
    )
}

/// Containers, networks and volumes labelled as made by process `pid`.
pub async fn made_by(docker: &Docker, pid: u32) -> (usize, usize, usize) {
    let mine = |l: &run::Labelled| l.labels.get(run::LABEL_OWNER_PID).is_some_and(|p| *p == pid.to_string());
    (
        run::list_containers(docker, None).await.unwrap().iter().filter(|l| mine(l)).count(),
        run::list_networks(docker, None).await.unwrap().iter().filter(|l| mine(l)).count(),
        run::list_volumes(docker, None).await.unwrap().iter().filter(|l| mine(l) && l.labels.contains_key(run::LABEL_RUN)).count(),
    )
}

pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"));
    // The tests' runs keep their scenario times apart from the user's.
    command.env("PCMK_COMPLY_CACHE_DIR", test_cache_dir());
    command
}

pub fn test_cache_dir() -> PathBuf {
    std::env::temp_dir().join(format!("pcmk-test-cache-{}", std::process::id()))
}

/// A copy of candidates/hardened in a fresh directory, changed by `edit`.
pub fn hardened_variant(name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcmk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(repo_path("candidates/hardened")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    edit(&dir);
    dir
}

/// A mutual-TLS front to the local engine's socket, as a remote engine in
/// CI would have: Python's TLS server (asyncio keeps each connection full
/// duplex for exec streams and ends it with close_notify).
const TLS_FRONT: &str = r#"
import asyncio, ssl

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile="/tls/ca.pem")
context.load_cert_chain("/tls/server.pem", "/tls/server-key.pem")
context.verify_mode = ssl.CERT_REQUIRED

async def pipe(reader, writer, end):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        end(writer)
    except (OSError, RuntimeError):
        pass

async def serve(client_in, client_out):
    engine_in, engine_out = await asyncio.open_unix_connection("/var/run/docker.sock")
    # The client's end of input is the engine's (a shell's stdin); the engine's ends the connection.
    upstream = asyncio.ensure_future(pipe(client_in, engine_out, lambda w: w.write_eof()))
    await pipe(engine_in, client_out, lambda w: w.close())
    client_out.close()
    engine_out.close()
    upstream.cancel()

async def main():
    server = await asyncio.start_server(serve, "0.0.0.0", 2376, ssl=context)
    print("listening", flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// The TLS front as a helper container of the node image, labelled with
/// `run` (so `gc` removes it after a killed test, and dropping it removes it
/// at once), with `server.pem`, `server-key.pem` and `ca.pem` from `certs`,
/// and its port published on 127.0.0.1 only; returns it and that port.
pub async fn tls_front(image: &NodeImage, certs: &Path, run: &RunId) -> (pcmk_containers::cluster::Helper, u16) {
    use testcontainers::core::{IntoContainerPort, Mount, WaitFor};
    use testcontainers::ImageExt;
    let request = pcmk_containers::cluster::local_image(&image.tag)
        .with_entrypoint("python3")
        .with_exposed_port(2376.tcp())
        .with_wait_for(WaitFor::message_on_stdout("listening"))
        .with_cmd(["-c", TLS_FRONT])
        .with_mount(Mount::bind_mount("/var/run/docker.sock", "/var/run/docker.sock"))
        .with_copy_to("/tls/ca.pem", certs.join("ca.pem"))
        .with_copy_to("/tls/server.pem", certs.join("server.pem"))
        .with_copy_to("/tls/server-key.pem", certs.join("server-key.pem"))
        .with_host_config_modifier(|config| {
            let loopback = bollard::models::PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(String::new()) };
            config.publish_all_ports = Some(false);
            config.port_bindings = Some(std::collections::HashMap::from([("2376/tcp".to_string(), Some(vec![loopback]))]));
        });
    let front =
        pcmk_containers::cluster::Helper::start(request, run::labels(run, "test"), "tls-front").await.expect("the TLS front starts");
    let port = front.container().get_host_port_ipv4(2376).await.expect("the TLS front's port is published");
    (front, port)
}
