//! The steps' way to a running cluster. Every call that can fail returns a
//! [`Fault`], which is deliberately not an `std::error::Error`: `?` cannot
//! turn it into a step's failure, so a harness fault never becomes a policy
//! verdict through a forgotten wrap — the compiler refuses it. A fault leaves
//! through `PolicyWorld::infra` (the scenario is an infrastructure error) or,
//! where a step judges a failed call itself (a view of a node its fault has
//! killed), through [`Fault::judged_by_caller`], which says so where it is used.
//!
//! ```compile_fail,E0277
//! // A step that forgets the wrap does not compile:
//! async fn step(engine: &pcmk_steps::engine::Engine) -> anyhow::Result<()> {
//!     engine.kill_node("node1").await?;
//!     Ok(())
//! }
//! ```

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use pcmk_containers::cluster::{Cluster, ExecOutput, GuestSpec, Node, ServiceAction, Verb};
use pcmk_containers::fence::FenceAction;
use pcmk_containers::image::NodeImage;
use pcmk_model::node::Service;
use pcmk_model::status::ClusterStatus;

use crate::facts::{FactCache, Facts};

/// The harness, not the policy, failed: an engine call, a container, a
/// command the harness runs for itself.
#[derive(Debug)]
pub struct Fault(anyhow::Error);

impl Fault {
    /// The error itself, for a step that judges the failed call on purpose.
    pub fn judged_by_caller(self) -> anyhow::Error {
        self.0
    }

    /// Whether the engine failed this way (a cluster not ready in time, a node stopped).
    pub fn is<E: std::fmt::Display + std::fmt::Debug + Send + Sync + 'static>(&self) -> bool {
        self.0.is::<E>()
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

/// What the harness itself found wrong (a probe that answered nothing, a
/// command of its own that failed) is a fault too.
impl From<anyhow::Error> for Fault {
    fn from(error: anyhow::Error) -> Fault {
        Fault(error)
    }
}

/// The node image of `distro`, built if the machine lacks it (the rolling upgrade's newer release).
pub async fn node_image(docker: &pcmk_containers::Docker, distro: pcmk_model::node::Distro) -> Result<NodeImage, Fault> {
    pcmk_containers::image::ensure_node_image(docker, distro, &pcmk_containers::image::Mirrors::default(), &|_| {}).await.map_err(Fault)
}

/// A running cluster as the steps see it.
pub struct Engine(Cluster);

/// Delegates each fallible engine call, its error made a [`Fault`].
macro_rules! faulting {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty; )*) => {
        $(
            pub async fn $name(&self $(, $arg: $ty)*) -> Result<$out, Fault> {
                self.0.$name($($arg),*).await.map_err(Fault)
            }
        )*
    };
}

impl Engine {
    pub fn new(cluster: Cluster) -> Engine {
        Engine(cluster)
    }

    /// The nodes' facts, gathered once per cluster (`FactCache`), and how
    /// long the gathering took when this call did it.
    pub async fn facts(&self, cache: &FactCache) -> Result<(Arc<Facts>, Option<Duration>), Fault> {
        cache.get_or_gather(&self.0).await.map_err(Fault)
    }

    /// The link of the public network, when the cluster has one.
    pub fn public_link(&self) -> Option<usize> {
        self.0.public_link
    }

    pub fn nodes(&self) -> &[Node] {
        &self.0.nodes
    }

    pub fn node_names(&self) -> Vec<&str> {
        self.0.node_names()
    }

    pub fn fence_actions(&self) -> Vec<FenceAction> {
        self.0.fence_actions()
    }

    pub fn set_fence_mode(&self, mode: pcmk_containers::fence::FenceMode) -> Result<(), Fault> {
        self.0.set_fence_mode(mode).map_err(Fault)
    }

    pub fn log_collector_address(&self) -> Result<Ipv4Addr, Fault> {
        self.0.log_collector_address().map_err(Fault)
    }

    pub fn guest_address(&self, link: usize, host: u8) -> Result<Ipv4Addr, Fault> {
        self.0.guest_address(link, host).map_err(Fault)
    }

    pub async fn down(self) -> Result<(), Fault> {
        self.0.down().await.map_err(Fault)
    }

    faulting! {
        fn exec(&self, node: &str, cmd: &[&str]) -> ExecOutput;
        fn exec_as(&self, node: &str, user: &str, cmd: &[&str]) -> ExecOutput;
        fn package_versions(&self, node: &str, packages: &[&str]) -> BTreeMap<String, String>;
        fn supervise(&self, node: &str, verb: Verb) -> ExecOutput;
        fn status(&self, node: &str) -> ClusterStatus;
        fn wait_for_members(&self, ask: &[&str], members: &[&str], timeout: Duration) -> Duration;
        fn add_guest(&self, spec: GuestSpec) -> ();
        fn remove_container(&self, name: &str) -> ();
        fn kill_node(&self, node: &str) -> ();
        fn replace_node(&self, node: &str, image: &NodeImage) -> ();
        fn start_node(&self, node: &str) -> ();
        fn disconnect_node(&self, node: &str) -> ();
        fn deafen_node(&self, node: &str) -> ();
        fn running_services(&self, node: &str) -> Vec<Service>;
        fn service(&self, node: &str, action: ServiceAction, service: Service) -> ();
        fn reset_pacemaker(&self, timeout: Duration) -> Duration;
    }
}
