//! How the runner, the World, the run's records and the verdict writer all
//! name a scenario. A leaf: it uses no other module of the crate.

/// A scenario as the runner and the verdict writer both name it: feature, line, scenario.
pub type ScenarioKey = (String, usize, String);
