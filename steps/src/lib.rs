//! The policy side of pcmk-comply: the cucumber World, step definitions (one
//! module per practice), the facts they read and the verdicts they produce.

pub mod catalogue;
pub mod cluster_options;
pub mod collector;
pub mod durations;
pub mod engine;
pub mod explain;
pub mod facts;
mod named_paths;
pub mod parameters;
pub mod policy;
pub mod run_context;
pub mod runner;
pub mod scenario_key;
pub mod selection;
pub mod world;

mod access_control;
mod auditing;
mod backup;
mod communication;
mod configuration;
mod failover;
mod fence_reach;
mod intrusion;
mod isolation;
mod logging;
mod patching;
mod probes;
mod sbd;
mod secrets;
mod subjects;
mod support;
mod upgrade;
