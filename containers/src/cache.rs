//! Where pcmk-comply keeps what outlives a run: crmsh conversions, scenario
//! times, and the full node logs an error message names.

use std::path::PathBuf;

/// The cache directory of pcmk-comply (`$PCMK_COMPLY_CACHE_DIR`, else the XDG cache).
pub fn dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("PCMK_COMPLY_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("pcmk-comply")))
        .or_else(|| var("HOME").map(|d| d.join(".cache/pcmk-comply")))
}

/// Where a run's full node logs go when an error quotes a part of them.
pub fn node_logs(run: &str) -> Option<PathBuf> {
    Some(dir()?.join("logs").join(run))
}
