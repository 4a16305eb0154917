//! `candidate.toml`: where each file goes, the keys to generate, the users
//! to create and policy values, every entry checked with its line.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{inferred, read_confined, Candidate, CandidateFile, Secret, SecretSpec, UserSpec, MANIFEST, MAX_NODES};
use crate::error::{line_of, InputError};
use pcmk_model::node::{Distro, Placement, Service};
use pcmk_model::text::parse_mode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    distro: Option<Distro>,
    nodes: Option<Spanned<usize>>,
    services: Option<Vec<Service>>,
    #[serde(default)]
    public_network: bool,
    #[serde(default, rename = "file")]
    files: Vec<FileEntry>,
    #[serde(default, rename = "secret")]
    secrets: Vec<SecretEntry>,
    #[serde(default, rename = "user")]
    users: Vec<UserEntry>,
    /// Policy parameter values for this candidate (see `pcmk-comply steps`).
    #[serde(default)]
    policy: std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    source: Spanned<String>,
    path: Spanned<String>,
    #[serde(default = "root")]
    owner: Spanned<String>,
    #[serde(default = "root")]
    group: Spanned<String>,
    #[serde(default = "mode_0644")]
    mode: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    path: Spanned<String>,
    bytes: Spanned<usize>,
    #[serde(default = "root")]
    owner: Spanned<String>,
    #[serde(default = "root")]
    group: Spanned<String>,
    #[serde(default = "mode_0400")]
    mode: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: Spanned<String>,
    #[serde(default)]
    groups: Vec<Spanned<String>>,
    /// Source file (inside the candidate) holding this user's password.
    password_file: Option<String>,
}

fn unspanned(value: &str) -> Spanned<String> {
    Spanned::new(0..0, value.to_string())
}
fn root() -> Spanned<String> {
    unspanned("root")
}
fn mode_0644() -> Spanned<String> {
    unspanned("0644")
}
fn mode_0400() -> Spanned<String> {
    unspanned("0400")
}

impl Candidate {
    /// A candidate directory with its manifest: the manifest places and declares,
    /// the directory's other files are laid out as without it, missing keys are made.
    pub(super) fn from_manifest(dir: &Path, manifest_path: &Path) -> Result<Candidate, InputError> {
        let text = read_confined(dir, MANIFEST)?;
        let text = String::from_utf8(text).map_err(|_| InputError::new(manifest_path, None, "not UTF-8"))?;
        let text = text.as_str();
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            InputError::new(manifest_path, line, e.message().to_string())
        })?;
        let bad = |span: std::ops::Range<usize>, msg: String| InputError::new(manifest_path, Some(line_of(text, span.start)), msg);
        let Declared { mut files, mut secrets, users } = declared(dir, &manifest, &bad)?;
        if let Some(n) = &manifest.nodes {
            if !(1..=MAX_NODES).contains(n.get_ref()) {
                return Err(bad(n.span(), format!("nodes = {} is outside 1..={MAX_NODES}", n.get_ref())));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        let destinations = manifest.files.iter().map(|f| &f.path).chain(manifest.secrets.iter().map(|s| &s.path));
        for path in destinations {
            if !seen.insert(path.get_ref().clone()) {
                return Err(bad(path.span(), format!("{} is placed twice", path.get_ref())));
            }
        }
        // The manifest overrides what the files say; the directory's other files
        // are laid out as they would be without it, and keys it lacks are made.
        let passwords: Vec<PathBuf> = manifest.users.iter().filter_map(|u| u.password_file.as_ref()).map(|f| dir.join(f)).collect();
        let mut inventory = vec![format!("{} is a candidate directory with {MANIFEST}", dir.display())];
        for file in &files {
            let p = &file.placement;
            inventory.push(format!(
                "placed {} at {} ({}:{} {:04o}) as {MANIFEST} says",
                file.source.display(),
                p.path,
                p.owner,
                p.group,
                p.mode
            ));
        }
        for secret in &secrets {
            let p = &secret.placement;
            inventory.push(format!(
                "generated {} ({} bytes, {}:{} {:04o}) as {MANIFEST} declares",
                p.path, secret.bytes, p.owner, p.group, p.mode
            ));
        }
        let used: Vec<PathBuf> = files.iter().map(|f| f.source.clone()).chain(passwords).chain([dir.join(MANIFEST)]).collect();
        let tree = crate::tree::read_dir_but(dir, &|path| used.contains(&dir.join(path)))?;
        let declared: Vec<String> =
            files.iter().map(|f| f.placement.path.clone()).chain(secrets.iter().map(|s| s.placement.path.clone())).collect();
        let (found, found_inventory) = inferred::placed_from(&tree, &declared)?;
        files.extend(found);
        inventory.extend(found_inventory);
        let placed: Vec<String> =
            files.iter().map(|f| f.placement.path.clone()).chain(secrets.iter().map(|s| s.placement.path.clone())).collect();
        let (keys, generated, said) = inferred::missing_keys(&placed);
        secrets.extend(keys);
        inventory.extend(said);
        let services = manifest.services.unwrap_or_else(|| crate::layout::services_for(placed.iter().map(String::as_str)));
        inventory.push(format!("services: {}", services.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")));
        let mut candidate = Candidate {
            origin: dir.to_path_buf(),
            distro: manifest.distro,
            nodes: manifest.nodes.map(|n| *n.get_ref()),
            services,
            files,
            secrets,
            users,
            public_network: manifest.public_network,
            corosync: None,
            inventory,
            generated,
            policy: policy_values(manifest_path, text, &manifest.policy)?,
        };
        candidate.parse_configuration()?;
        Ok(candidate)
    }
}

/// What the manifest places, generates and creates, each checked.
struct Declared {
    files: Vec<CandidateFile>,
    secrets: Vec<SecretSpec>,
    users: Vec<UserSpec>,
}

type Bad<'a> = dyn Fn(std::ops::Range<usize>, String) -> InputError + 'a;

fn declared(dir: &Path, manifest: &Manifest, bad: &Bad) -> Result<Declared, InputError> {
    let place = |path: &Spanned<String>,
                 owner: &Spanned<String>,
                 group: &Spanned<String>,
                 mode: &Spanned<String>|
     -> Result<Placement, InputError> {
        check_destination(path.get_ref()).map_err(|m| bad(path.span(), m))?;
        for name in [owner, group] {
            if !valid_account_name(name.get_ref()) {
                return Err(bad(name.span(), format!("`{}` is not a valid user or group name", name.get_ref())));
            }
        }
        let mode_value = parse_mode(mode.get_ref()).map_err(|m| bad(mode.span(), m))?;
        Ok(Placement { path: path.get_ref().clone(), owner: owner.get_ref().clone(), group: group.get_ref().clone(), mode: mode_value })
    };

    let mut files = Vec::new();
    for entry in &manifest.files {
        let placement = place(&entry.path, &entry.owner, &entry.group, &entry.mode)?;
        let content = read_confined(dir, entry.source.get_ref())?;
        files.push(CandidateFile { source: dir.join(entry.source.get_ref()), placement, content, secret: false, converted: false });
    }
    let mut secrets = Vec::new();
    for entry in &manifest.secrets {
        let placement = place(&entry.path, &entry.owner, &entry.group, &entry.mode)?;
        if !(1..=65536).contains(entry.bytes.get_ref()) {
            return Err(bad(entry.bytes.span(), format!("secret size {} is outside 1..=65536 bytes", entry.bytes.get_ref())));
        }
        secrets.push(SecretSpec { placement, bytes: *entry.bytes.get_ref() });
    }
    let mut users = Vec::new();
    for entry in &manifest.users {
        for name in std::iter::once(&entry.name).chain(&entry.groups) {
            if !valid_account_name(name.get_ref()) {
                return Err(bad(name.span(), format!("`{}` is not a valid user or group name", name.get_ref())));
            }
        }
        let password = match &entry.password_file {
            Some(source) => {
                let raw = read_confined(dir, source)?;
                let text = String::from_utf8(raw).map_err(|_| InputError::new(dir.join(source), None, "password file is not UTF-8"))?;
                Some(Secret(text.trim_end_matches(['\n', '\r']).to_string()))
            }
            None => None,
        };
        users.push(UserSpec {
            name: entry.name.get_ref().clone(),
            groups: entry.groups.iter().map(|g| g.get_ref().clone()).collect(),
            password,
        });
    }
    Ok(Declared { files, secrets, users })
}

fn policy_values(
    manifest_path: &Path,
    text: &str,
    table: &std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>,
) -> Result<Vec<(String, String, String)>, InputError> {
    let mut out = Vec::new();
    for (name, value) in table {
        let line = line_of(text, name.span().start);
        let as_text = |v: &toml::Value| match v {
            toml::Value::String(s) => Some(s.clone()),
            toml::Value::Integer(i) => Some(i.to_string()),
            toml::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        let rendered = match value.get_ref() {
            toml::Value::Array(items) => items.iter().map(as_text).collect::<Option<Vec<_>>>().map(|v| v.join(", ")),
            other => as_text(other),
        };
        let rendered = rendered.ok_or_else(|| {
            InputError::new(
                manifest_path,
                Some(line),
                format!("policy parameter `{}` must be a string, a number, a boolean or a list of them", name.get_ref()),
            )
        })?;
        out.push((name.get_ref().clone(), rendered, format!("{}:{line}", manifest_path.display())));
    }
    Ok(out)
}

/// Node paths the harness itself owns; a candidate may not overwrite them.
const RESERVED: &[&str] = &["/proc", "/sys", "/dev", "/usr/local/sbin/pcmk-node", "/etc/pcmk-comply", "/run/pcmk-node"];

pub(crate) fn check_destination(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    if !p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) || path.ends_with('/') {
        return Err(format!("destination `{path}` must be an absolute file path without `.` or `..`"));
    }
    if path.chars().any(|c| c.is_control()) {
        return Err(format!("destination `{}` contains control characters", path.escape_debug()));
    }
    if let Some(reserved) = RESERVED.iter().find(|r| p.starts_with(r)) {
        return Err(format!("destination `{path}` is under {reserved}, which the harness owns"));
    }
    if SYSTEM_DIRS.contains(&path) {
        return Err(format!("destination `{path}` is a directory on every node, not a file"));
    }
    Ok(())
}

/// Directories every node has (a file cannot take their place); the ones the
/// harness mounts from the image or keeps as volumes among them.
const SYSTEM_DIRS: &[&str] = &[
    "/",
    "/bin",
    "/boot",
    "/etc",
    "/home",
    "/lib",
    "/lib64",
    "/opt",
    "/root",
    "/run",
    "/sbin",
    "/srv",
    "/tmp",
    "/usr",
    "/var",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/libexec",
    "/usr/share",
    "/usr/lib/python3",
    "/usr/lib/locale",
    "/usr/lib/ocf",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/var/log",
    "/var/lib",
    "/var/lib/pacemaker",
    "/etc/corosync",
    "/etc/pacemaker",
];

fn valid_account_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}
