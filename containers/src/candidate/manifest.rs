//! `candidate.toml`: where each file goes, the keys to generate, the users
//! to create and policy values, every entry checked with its line.

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::{inferred, read_confined, Candidate, CandidateFile, CandidateKind, Secret, SecretSpec, UserSpec, MANIFEST, MAX_NODES};
use crate::error::{line_of, InputError};
use pcmk_model::node::{Distro, Placement, Service, CIB_XML};
use pcmk_model::text::parse_mode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// An artifact the candidate builds on (a pcs config backup, a crm report,
    /// a sosreport, a CIB): its files are placed first, as they would be alone.
    base: Option<Spanned<String>>,
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
    /// Unset: a stock node's for the path (see `layout::stock`), else root.
    owner: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    /// Unset: a stock node's for the path, else 0644.
    mode: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretEntry {
    path: Spanned<String>,
    bytes: Spanned<usize>,
    /// Unset: a stock node's for the path, else root.
    owner: Option<Spanned<String>>,
    group: Option<Spanned<String>>,
    /// Unset: a stock node's for the path, else 0400.
    mode: Option<Spanned<String>>,
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

impl Candidate {
    /// A candidate directory with its manifest: the manifest places and declares,
    /// the directory's other files are laid out as without it, missing keys are made.
    pub(super) fn from_manifest(dir: &Path, manifest_path: &Path) -> Result<Candidate, InputError> {
        let text = read_confined(dir, MANIFEST)?;
        let text = String::from_utf8(text).map_err(|_| InputError::new(manifest_path, None, "not UTF-8"))?;
        Self::from_manifest_text(dir, manifest_path, &text)
    }

    /// A directory without a manifest that holds one artifact (a pcs config
    /// backup, a report) and other files: as if its manifest said `base = "artifact"`.
    pub(super) fn beside_artifact(dir: &Path, artifact: &str) -> Result<Candidate, InputError> {
        let text = toml::to_string(&toml::toml! { base = artifact }).map_err(|e| InputError::new(dir, None, e.to_string()))?;
        let mut candidate = Self::from_manifest_text(dir, &dir.join(MANIFEST), &text)?;
        candidate.inventory[0] = format!("{} is a candidate directory: {artifact} and the files beside it", dir.display());
        Ok(candidate)
    }

    fn from_manifest_text(dir: &Path, manifest_path: &Path, text: &str) -> Result<Candidate, InputError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            InputError::new(manifest_path, line, e.message().to_string())
        })?;
        let bad = |span: std::ops::Range<usize>, msg: String| InputError::new(manifest_path, Some(line_of(text, span.start)), msg);
        let Declared { mut files, mut secrets, users, notes } = declared(dir, &manifest, &bad)?;
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
        let mut notes = notes.into_iter();
        for file in &files {
            let p = &file.placement;
            let how = notes.next().unwrap_or_default();
            inventory.push(format!("placed {} at {} ({}:{} {:04o}, {how})", file.source.display(), p.path, p.owner, p.group, p.mode));
        }
        for secret in &secrets {
            let p = &secret.placement;
            let how = notes.next().unwrap_or_default();
            inventory.push(format!("generated {} ({} bytes, {}:{} {:04o}, {how})", p.path, secret.bytes, p.owner, p.group, p.mode));
        }
        let mut declared: Vec<(String, String)> = files
            .iter()
            .map(|f| f.placement.path.clone())
            .chain(secrets.iter().map(|s| s.placement.path.clone()))
            .map(|p| (p, MANIFEST.to_string()))
            .collect();
        // A combined candidate carries what its base's kind carries, and what is placed beside it.
        let (base, base_distro, kind) = match &manifest.base {
            Some(base) => {
                let placed_before = files.len();
                let artifact = based_on(dir, base, &bad, &declared, &mut files, &mut inventory)?;
                let by = format!("the base {}", base.get_ref());
                declared.extend(files[placed_before..].iter().map(|f| (f.placement.path.clone(), by.clone())));
                (Some(artifact.0), artifact.1, artifact.2)
            }
            None => (None, None, CandidateKind::Assembled),
        };
        // The entries' own sources (a converted CIB's source names what crmsh made of it).
        let sources = manifest.files.iter().map(|f| dir.join(f.source.get_ref()));
        let used: Vec<PathBuf> = sources.chain(passwords).chain([dir.join(MANIFEST)]).chain(base).collect();
        let tree = crate::tree::read_dir_but(dir, &|path| used.contains(&dir.join(path)))?;
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
            kind,
            distro: manifest.distro.or(base_distro),
            distro_declared: manifest.distro.is_some(),
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
            captured: Vec::new(),
        };
        candidate.parse_configuration()?;
        Ok(candidate)
    }
}

/// Places the files of the manifest's `base` artifact that the manifest does
/// not place itself (nor the harness made for it), and returns its path.
fn based_on(
    dir: &Path,
    base: &Spanned<String>,
    bad: &Bad,
    declared: &[(String, String)],
    files: &mut Vec<CandidateFile>,
    inventory: &mut Vec<String>,
) -> Result<(PathBuf, Option<Distro>, CandidateKind), InputError> {
    let relative = Path::new(base.get_ref());
    if relative.is_absolute() || relative.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(bad(base.span(), format!("base `{}` leaves the candidate directory", base.get_ref())));
    }
    let path = dir.join(relative);
    let canonical_dir = dir.canonicalize().map_err(|e| InputError::new(dir, None, format!("cannot read: {e}")))?;
    let (_, meta) = crate::tree::resolve_confined(&canonical_dir, &path)?;
    if !meta.is_file() {
        return Err(bad(
            base.span(),
            format!("base `{}` is not a file: name the artifact (a pcs config backup, a report, a CIB)", base.get_ref()),
        ));
    }
    let artifact = Candidate::load(&path)?;
    // What the combined candidate decides again (placements, keys, services) is said below.
    let decided_again = |line: &str| ["placed ", "no /etc/", "services: "].iter().any(|p| line.starts_with(p));
    inventory.extend(artifact.inventory.iter().filter(|l| !decided_again(l)).map(|l| format!("base: {l}")));
    for file in artifact.files {
        let p = &file.placement;
        if artifact.generated.contains(&p.path) {
            continue;
        }
        if declared.iter().any(|(path, _)| *path == p.path) {
            inventory.push(format!("ignored {}: {} is placed by {MANIFEST}", file.source.display(), p.path));
            continue;
        }
        let how = if file.stated { "owner and mode as the base records them" } else { "a stock node's owner and mode" };
        inventory.push(format!("placed {} at {} ({}:{} {:04o}, {how})", file.source.display(), p.path, p.owner, p.group, p.mode));
        files.push(file);
    }
    Ok((path, artifact.distro, artifact.kind))
}

/// How a placement's owner and mode came about, for the inventory.
fn placement_note(placement: &Placement, spelled: [bool; 3]) -> String {
    let stock = crate::layout::stock(&placement.path);
    let wider = match (&stock, spelled[2]) {
        (Some(stock), true) if placement.mode & !stock.mode != 0 => format!(": wider than a stock node's {:04o}", stock.mode),
        _ => String::new(),
    };
    match (spelled, stock) {
        ([false, false, false], Some(_)) => "a stock node's owner and mode".into(),
        ([false, false, false], None) => "the default owner and mode: no stock node has this file".into(),
        ([true, true, true], _) if !wider.is_empty() => format!("as {MANIFEST} spells out{wider}"),
        ([true, true, true], _) => format!("as {MANIFEST} says"),
        _ => format!("partly as {MANIFEST} says, the rest a stock node's or the default{wider}"),
    }
}

/// What the manifest places, generates and creates, each checked.
struct Declared {
    files: Vec<CandidateFile>,
    secrets: Vec<SecretSpec>,
    users: Vec<UserSpec>,
    /// How each placement's owner and mode came about, files then secrets.
    notes: Vec<String>,
}

type Bad<'a> = dyn Fn(std::ops::Range<usize>, String) -> InputError + 'a;

fn declared(dir: &Path, manifest: &Manifest, bad: &Bad) -> Result<Declared, InputError> {
    // What the entry leaves out is a stock node's for the path: a key is
    // never world-readable unless the manifest says so.
    let place = |path: &Spanned<String>,
                 owner: &Option<Spanned<String>>,
                 group: &Option<Spanned<String>>,
                 mode: &Option<Spanned<String>>,
                 fallback_mode: u32|
     -> Result<(Placement, [bool; 3]), InputError> {
        check_destination(path.get_ref()).map_err(|m| bad(path.span(), m))?;
        let stock = crate::layout::stock(path.get_ref());
        for name in [owner, group].into_iter().flatten() {
            if !valid_account_name(name.get_ref()) {
                return Err(bad(name.span(), format!("`{}` is not a valid user or group name", name.get_ref())));
            }
        }
        let mode_value = match mode {
            Some(mode) => parse_mode(mode.get_ref()).map_err(|m| bad(mode.span(), m))?,
            None => stock.as_ref().map_or(fallback_mode, |s| s.mode),
        };
        let or_stock = |given: &Option<Spanned<String>>, stock_value: Option<&String>| {
            given.as_ref().map(|g| g.get_ref().clone()).or_else(|| stock_value.cloned()).unwrap_or_else(|| "root".to_string())
        };
        let placement = Placement {
            path: path.get_ref().clone(),
            owner: or_stock(owner, stock.as_ref().map(|s| &s.owner)),
            group: or_stock(group, stock.as_ref().map(|s| &s.group)),
            mode: mode_value,
        };
        Ok((placement, [owner.is_some(), group.is_some(), mode.is_some()]))
    };

    let (mut files, mut file_notes, mut secret_notes) = (Vec::new(), Vec::new(), Vec::new());
    for entry in &manifest.files {
        let (placement, spelled) = place(&entry.path, &entry.owner, &entry.group, &entry.mode, 0o644)?;
        // Evidence of a file's owner and mode only where the entry spells all three.
        let stated = spelled.iter().all(|s| *s);
        file_notes.push(placement_note(&placement, spelled));
        let content = read_confined(dir, entry.source.get_ref())?;
        let source = dir.join(entry.source.get_ref());
        // crm configure show text, under any name, placed as the CIB: the CIB crmsh made of it.
        let cib = if placement.path == CIB_XML { crate::crmsh::as_cib(&content, &source)? } else { None };
        let converted = cib.is_some();
        let (content, source) = cib.unwrap_or((content, source));
        files.push(CandidateFile { source, placement, content, secret: false, converted, stated });
    }
    let mut secrets = Vec::new();
    for entry in &manifest.secrets {
        let (placement, spelled) = place(&entry.path, &entry.owner, &entry.group, &entry.mode, 0o400)?;
        let stated = spelled.iter().all(|s| *s);
        secret_notes.push(placement_note(&placement, spelled));
        if !(1..=65536).contains(entry.bytes.get_ref()) {
            return Err(bad(entry.bytes.span(), format!("secret size {} is outside 1..=65536 bytes", entry.bytes.get_ref())));
        }
        secrets.push(SecretSpec { placement, bytes: *entry.bytes.get_ref(), stated });
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
    Ok(Declared { files, secrets, users, notes: file_notes.into_iter().chain(secret_notes).collect() })
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
