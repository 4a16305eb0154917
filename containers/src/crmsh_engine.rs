//! The engine's part of turning `crm configure show` text into a CIB: the
//! real crmsh run in a throwaway tool container of a node image. What it
//! runs, how crmsh's words are read and where the CIB is kept are `crmsh`'s,
//! which loading uses without the engine.

use std::path::Path;

use crate::crmsh::Conversion;

/// Converts crmsh text to a CIB with the crmsh of `image`, and caches the result.
pub async fn convert(docker: &crate::Docker, image: &crate::image::NodeImage, text: &str, source: &Path) -> Result<String, anyhow::Error> {
    let conversion = Conversion::of(text);
    let files = conversion.files();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(name, content)| (name.as_str(), *content)).collect();
    // As hacluster: crmsh writes its own log (/var/log/crmsh, hacluster's), and the tool container's root has no capabilities.
    let out = crate::cluster::run_tool(docker, image, &files, "hacluster", &["sh", "-c", &conversion.script()]).await?;
    Ok(conversion.outcome(text, source, out)?)
}
