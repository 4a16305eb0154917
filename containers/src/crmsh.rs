//! `crm configure show` text as a candidate: the real crmsh converts it to a
//! CIB in a throwaway node container with no network (`crm configure load
//! replace` against a file CIB, `CIB_file`, as crmsh does offline), and the
//! result is cached by the text's hash, so the next `lint` of the same text
//! needs no engine. Both the current syntax and the older
//! `property $id="…" \` with quoted values are crmsh's own to read.

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use crate::error::InputError;

/// Keywords that open a `crm configure show` statement (crmsh/parse.py).
const STATEMENTS: &[&str] = &[
    "node",
    "primitive",
    "group",
    "clone",
    "ms",
    "master",
    "bundle",
    "template",
    "location",
    "colocation",
    "collocation",
    "order",
    "rsc_ticket",
    "property",
    "rsc_defaults",
    "op_defaults",
    "fencing_topology",
    "role",
    "acl_target",
    "user",
    "tag",
    "alert",
];

/// Whether `text` is crmsh configuration text rather than a corosync.conf.
pub fn is_crm_text(text: &str) -> bool {
    let mut statements = 0;
    for line in text.lines().map(str::trim_start).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let word = line.split_whitespace().next().unwrap_or_default();
        if word == "totem" || word.ends_with('{') || line.contains(" {") {
            return false;
        }
        if STATEMENTS.contains(&word) {
            statements += 1;
        }
    }
    statements > 0
}

fn cached_file(text: &str) -> Option<PathBuf> {
    Some(crate::cache::dir()?.join("crmsh").join(format!("{}.xml", hex::encode(sha2::Sha256::digest(text.as_bytes())))))
}

/// The CIB crmsh made of this text before, if any.
pub fn cached(text: &str) -> Option<String> {
    std::fs::read_to_string(cached_file(text)?).ok()
}

const CONVERT: &str = "export HOME=/tmp XDG_CACHE_HOME=/tmp/.cache XDG_CONFIG_HOME=/tmp/.config && cibadmin --empty > /tmp/cib.xml && CIB_file=/tmp/cib.xml crm -F configure load replace /tmp/candidate.crm 1>&2 && cat /tmp/cib.xml";

/// Converts crmsh text to a CIB with the crmsh of `image`, and caches the result.
pub async fn convert(docker: &crate::Docker, image: &crate::image::NodeImage, text: &str, source: &Path) -> Result<String, anyhow::Error> {
    // As hacluster: crmsh writes its own log (/var/log/crmsh, hacluster's), and the tool container's root has no capabilities.
    let out =
        crate::cluster::run_tool(docker, image, &[("/tmp/candidate.crm", text.as_bytes())], "hacluster", &["sh", "-c", CONVERT]).await?;
    if !out.success() || !out.stdout.contains("<cib") {
        let said: Vec<&str> = out.stderr.lines().filter(|l| !l.trim().is_empty()).take(10).collect();
        return Err(InputError::new(source, None, format!("crmsh could not load this text: {}", said.join("; "))).into());
    }
    if let Some(file) = cached_file(text) {
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A cache that cannot be written only costs a conversion next time.
        let _ = std::fs::write(&file, &out.stdout);
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crm_text_is_told_from_corosync_conf() {
        assert!(is_crm_text(
            "node 1: alpha\nprimitive vip IPaddr2 \\\n\tparams ip=10.0.0.1\nproperty cib-bootstrap-options: \\\n\tstonith-enabled=true\n"
        ));
        assert!(is_crm_text("property $id=\"cib-bootstrap-options\" \\\n\tstonith-enabled=\"false\"\n"));
        assert!(!is_crm_text("totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: a\n }\n}\n"));
        assert!(!is_crm_text("# nothing\n"));
    }
}
