//! Images and throwaway Pacemaker/Corosync clusters for pcmk-comply.
//! This crate knows how to build and run clusters; it knows nothing of policy.

pub mod addresses;
pub mod cache;
pub mod candidate;
pub mod capture;
pub mod cib;
pub mod cluster;
pub mod corosync_check;
pub mod corosync_semantics;
pub mod crmsh;
pub mod crmsh_engine;
pub mod engine;
pub mod error;
pub mod fence;
pub mod image;
pub mod knowledge;
pub mod layout;
pub mod redact;
pub mod run;
mod session;
pub mod stand_in;
pub mod system_dirs;
pub mod tree;

pub use bollard::Docker;
