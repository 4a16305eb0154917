//! A candidate: real configuration files as they would be deployed, plus the
//! `candidate.toml` manifest that says where each goes. Candidates come from
//! untrusted pull requests, so every path is confined to the candidate directory
//! and every size is bounded.

use std::path::{Component, Path, PathBuf};

mod captured;
mod evidence;
mod inferred;
mod manifest;

pub(crate) use manifest::check_destination;

use crate::error::InputError;
pub use captured::{CapturedNode, NodeFile};
pub use evidence::Reading;
use pcmk_model::corosync_conf::CorosyncConf;
use pcmk_model::node::Distro;
use pcmk_model::node::{Placement, Service, CIB_XML, COROSYNC_CONF};
pub use pcmk_model::scope::{CandidateKind, Evidence};

pub const MANIFEST: &str = "candidate.toml";
pub const MAX_NODES: usize = 16;

#[derive(Clone)]
pub struct CandidateFile {
    /// Where it came from, for error messages and policy locations.
    pub source: PathBuf,
    pub placement: Placement,
    pub content: Vec<u8>,
    /// Key material the candidate brings (an authkey): placed as it is, never printed.
    pub secret: bool,
    /// Not the user's own bytes (a CIB crmsh made of crm text, a corosync.conf
    /// the harness made): its lines are in no file the user has, so no
    /// report points a finding at them.
    pub converted: bool,
    /// The owner and mode are the candidate's own (a manifest spells them, a
    /// capture read them), not a stock node's that the harness gave the file.
    pub stated: bool,
}

impl std::fmt::Debug for CandidateFile {
    // Contents may be keys: only their size is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandidateFile")
            .field("source", &self.source)
            .field("placement", &self.placement)
            .field("bytes", &self.content.len())
            .field("secret", &self.secret)
            .field("converted", &self.converted)
            .finish()
    }
}

/// A secret generated fresh for every run; its bytes never leave the harness
/// except into the nodes.
#[derive(Debug, Clone)]
pub struct SecretSpec {
    pub placement: Placement,
    pub bytes: usize,
    /// The manifest spells the owner or mode (else a stock node's).
    pub stated: bool,
}

#[derive(Debug, Clone)]
pub struct UserSpec {
    pub name: String,
    pub groups: Vec<String>,
    /// Never logged; Debug shows only whether one is set.
    pub password: Option<Secret>,
}

#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    /// The directory (or the bare corosync.conf) the user named.
    pub origin: PathBuf,
    /// What kind of artifact it is, and so what it can carry.
    pub kind: CandidateKind,
    pub distro: Option<Distro>,
    /// The candidate itself names the distribution (`distro` in its
    /// manifest): the nodes' packages are then the candidate's choice.
    pub distro_declared: bool,
    pub nodes: Option<usize>,
    pub services: Vec<Service>,
    pub files: Vec<CandidateFile>,
    pub secrets: Vec<SecretSpec>,
    pub users: Vec<UserSpec>,
    /// Nodes also get a public network, apart from the cluster's links.
    pub public_network: bool,
    pub corosync: Option<(CorosyncConf, usize)>,
    /// What the candidate was recognised as and what became of each file,
    /// for the console and every report.
    pub inventory: Vec<String>,
    /// Node paths the harness made because the candidate lacks them (a key,
    /// a corosync.conf for a bare CIB): nothing of the candidate's to judge there.
    pub generated: Vec<String>,
    /// Policy parameters the manifest sets: (name, value, where: `file:line`).
    pub policy: Vec<(String, String, String)>,
    /// Every node of a capture, judged one by one (empty for other kinds).
    pub captured: Vec<CapturedNode>,
}

impl Candidate {
    /// Loads a candidate as the user has it: a directory (with or without a
    /// manifest), an archive (`pcs config backup`, `crm report`, sosreport),
    /// a bare CIB or a bare corosync.conf.
    pub fn load(path: &Path) -> Result<Candidate, InputError> {
        let meta = std::fs::metadata(path).map_err(|e| InputError::new(path, None, format!("cannot read candidate: {e}")))?;
        if meta.is_file() {
            if crate::tree::is_archive(path) {
                let mut tree = crate::tree::read_archive(path)?;
                tree.strip_single_top_dir();
                return Self::from_tree(path, tree);
            }
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| InputError::new(path, None, "bad file name"))?;
            let content = read_confined(dir, name)?;
            if content.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
                return Self::bare_cib(path, content);
            }
            let text = String::from_utf8_lossy(&content);
            if crate::crmsh::is_crm_text(&text) {
                let cib = crate::crmsh::cib_of(&text, path)?;
                let mut candidate = Self::bare_cib(path, cib.into_bytes())?;
                candidate.kind = CandidateKind::CrmText;
                candidate.inventory[0] = format!("{} is crm configure show text, converted to a CIB by crmsh (cached)", path.display());
                // Lines of the converted CIB are not lines of the text: say which file they are in.
                for file in candidate.files.iter_mut().filter(|f| f.placement.path == CIB_XML) {
                    file.source = crate::crmsh::converted_source(path);
                    file.converted = true;
                }
                return Ok(candidate);
            }
            return Self::bare_corosync_conf(path);
        }
        if path.join(crate::capture::CAPTURE_TOML).exists() {
            return Self::captured(path);
        }
        let manifest_path = path.join(MANIFEST);
        if !manifest_path.exists() {
            if let Some(artifact) = artifact_in(path)? {
                return Self::beside_artifact(path, &artifact);
            }
            return Self::from_tree(path, crate::tree::read_dir(path)?);
        }
        Self::from_manifest(path, &manifest_path)
    }

    fn bare_corosync_conf(file: &Path) -> Result<Candidate, InputError> {
        let dir = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = file.file_name().and_then(|n| n.to_str()).ok_or_else(|| InputError::new(file, None, "bad file name"))?;
        let content = read_confined(dir, name)?;
        let files = vec![CandidateFile {
            source: file.to_path_buf(),
            placement: Placement { path: COROSYNC_CONF.into(), owner: "root".into(), group: "root".into(), mode: 0o644 },
            content,
            secret: false,
            converted: false,
            stated: false,
        }];
        let placed: Vec<String> = files.iter().map(|f| f.placement.path.clone()).collect();
        let (secrets, generated, said) = inferred::missing_keys(&placed);
        let mut candidate = Candidate {
            origin: file.to_path_buf(),
            kind: CandidateKind::CorosyncConf,
            distro: None,
            distro_declared: false,
            nodes: None,
            public_network: false,
            services: vec![Service::Corosync, Service::Pacemaker],
            files,
            secrets,
            users: Vec::new(),
            corosync: None,
            inventory: std::iter::once(format!("{} is a corosync.conf alone", file.display())).chain(said).collect(),
            generated,
            policy: Vec::new(),
            captured: Vec::new(),
        };
        candidate.parse_configuration()?;
        Ok(candidate)
    }

    pub(crate) fn parse_configuration(&mut self) -> Result<(), InputError> {
        if let Some(cib) = self.file_at(CIB_XML) {
            let text = std::str::from_utf8(&cib.content).map_err(|_| InputError::new(&cib.source, None, "not UTF-8"))?;
            crate::cib::parse(text, &cib.source)?;
        }
        let Some(index) = self.files.iter().position(|f| f.placement.path == COROSYNC_CONF) else {
            return Err(InputError::new(&self.origin, None, format!("the candidate places no {COROSYNC_CONF}")));
        };
        let file = &self.files[index];
        let text = std::str::from_utf8(&file.content).map_err(|_| InputError::new(&file.source, None, "not UTF-8"))?;
        let conf = CorosyncConf::parse(text, &file.source)?;
        // Every node image runs corosync 3: what it refuses, the candidate cannot use.
        if let Some((line, message)) = crate::corosync_semantics::refusal(&conf) {
            return Err(InputError::new(&file.source, Some(line), format!("corosync 3 would refuse to start: {message}")));
        }
        // A key the candidate brings is read as corosync reads it; a missing one the harness makes.
        let key_path = crate::corosync_semantics::key_path(&conf);
        if let Some(key) = self.file_at(&key_path) {
            if let Some(message) = crate::corosync_semantics::key_refusal(&conf, Some(key.content.len())) {
                return Err(InputError::new(&key.source, None, format!("corosync 3 would refuse to start: {message}")));
            }
        }
        self.inventory.extend(crate::corosync_semantics::corosync2_notes(&conf));
        self.corosync = Some((conf, index));
        Ok(())
    }

    pub fn corosync_conf(&self) -> &CorosyncConf {
        &self.corosync.as_ref().expect("a loaded candidate has a corosync.conf").0
    }

    pub fn corosync_file(&self) -> &CandidateFile {
        &self.files[self.corosync.as_ref().expect("a loaded candidate has a corosync.conf").1]
    }

    /// How many nodes a cluster of this candidate has: as asked, else as the
    /// manifest says, else as the nodelist has, else three.
    pub fn planned_nodes(&self, requested: Option<usize>) -> usize {
        let listed = self.corosync_conf().nodes().len();
        requested.or(self.nodes).unwrap_or(if listed == 0 { 3 } else { listed })
    }

    pub fn file_at(&self, node_path: &str) -> Option<&CandidateFile> {
        self.files.iter().find(|f| f.placement.path == node_path)
    }
}

/// The one archive at the top of a candidate directory, if it holds one; two
/// are ambiguous (bad input): the manifest's `base` must say which.
fn artifact_in(dir: &Path) -> Result<Option<String>, InputError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InputError::new(dir, None, format!("cannot read: {e}")))?;
    let mut archives = Vec::new();
    for entry in entries.flatten() {
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && crate::tree::is_archive(&entry.path()) {
            archives.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    archives.sort();
    match archives.len() {
        0 | 1 => Ok(archives.pop()),
        _ => Err(InputError::new(
            dir,
            None,
            format!(
                "holds {} archives ({}): name the one the candidate builds on as `base` in {MANIFEST}",
                archives.len(),
                archives.join(", ")
            ),
        )),
    }
}

/// Reads `relative` below `dir`, refusing anything that resolves outside it
/// (`..`, absolute paths, symlinks pointing out) or is too large.
pub fn read_confined(dir: &Path, relative: &str) -> Result<Vec<u8>, InputError> {
    let shown = dir.join(relative);
    let rel = Path::new(relative);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(InputError::new(&shown, None, "path leaves the candidate directory"));
    }
    let base = dir.canonicalize().map_err(|e| InputError::new(dir, None, format!("cannot read: {e}")))?;
    let (resolved, meta) = crate::tree::resolve_confined(&base, &shown)?;
    crate::tree::check_regular(&shown, &meta)?;
    std::fs::read(&resolved).map_err(|e| InputError::new(&shown, None, format!("cannot read: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).unwrap();
        }
        dir
    }

    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let p = std::env::temp_dir().join(format!("pcmk-cand-{}-{}", std::process::id(), rand::random::<u64>()));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const CONF: &str = "totem {\n version: 2\n cluster_name: t\n}\nnodelist {\n node {\n  ring0_addr: 10.0.0.1\n  nodeid: 1\n }\n}\n";

    #[test]
    fn manifest_errors_name_file_and_line() {
        let dir = dir_with(&[
            ("corosync.conf", CONF),
            (
                "candidate.toml",
                "nodes = 3\n\n[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\nmode = \"0999\"\n",
            ),
        ]);
        let e = Candidate::load(dir.path()).unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("not an octal file mode"), "{e}");

        let dir = dir_with(&[("candidate.toml", "nodes = 3\nbogus = 1\n")]);
        let e = Candidate::load(dir.path()).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("unknown field"), "{e}");
    }

    #[test]
    fn sources_cannot_leave_the_directory() {
        for source in ["../etc/passwd", "/etc/passwd", "sub/../../x"] {
            let manifest = format!("[[file]]\nsource = \"{source}\"\npath = \"/etc/corosync/corosync.conf\"\n");
            let dir = dir_with(&[("candidate.toml", &manifest)]);
            let e = Candidate::load(dir.path()).unwrap_err();
            assert!(e.message.contains("leaves the candidate directory"), "{source}: {e}");
        }
        let dir = dir_with(&[("candidate.toml", "[[file]]\nsource = \"link\"\npath = \"/etc/corosync/corosync.conf\"\n")]);
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).unwrap();
        let e = Candidate::load(dir.path()).unwrap_err();
        assert!(e.message.contains("through a symlink"), "{e}");
    }

    #[test]
    fn destinations_cannot_touch_harness_paths() {
        let dir = dir_with(&[
            ("corosync.conf", CONF),
            ("candidate.toml", "[[file]]\nsource = \"corosync.conf\"\npath = \"/usr/local/sbin/pcmk-node\"\n"),
        ]);
        let e = Candidate::load(dir.path()).unwrap_err();
        assert!(e.message.contains("harness owns"), "{e}");
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn a_destination_cannot_be_a_system_directory() {
        let dir = dir_with(&[("corosync.conf", CONF), ("candidate.toml", "\n[[file]]\nsource = \"corosync.conf\"\npath = \"/usr/bin\"\n")]);
        let e = Candidate::load(dir.path()).unwrap_err();
        assert!(e.message.contains("`/usr/bin` is a directory on every node"), "{e}");
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn bare_corosync_conf_gets_defaults() {
        let dir = dir_with(&[("corosync.conf", CONF)]);
        let c = Candidate::load(&dir.path().join("corosync.conf")).unwrap();
        assert_eq!(c.services, vec![Service::Corosync, Service::Pacemaker]);
        assert_eq!(c.secrets[0].placement.path, "/etc/corosync/authkey");
        assert_eq!(c.secrets[0].placement.mode, 0o400);
        assert_eq!(c.corosync_conf().root.lookup("totem.cluster_name").unwrap().value, "t");
    }

    #[test]
    fn a_manifest_entry_without_owner_or_mode_gets_a_stock_nodes_never_a_readable_key() {
        let manifest = "[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\n\
                        [[file]]\nsource = \"key\"\npath = \"/etc/corosync/authkey\"\n\
                        [[file]]\nsource = \"pkey\"\npath = \"/etc/pacemaker/authkey\"\nmode = \"0644\"\n";
        let dir = dir_with(&[("corosync.conf", CONF), ("key", "k"), ("pkey", "p"), ("candidate.toml", manifest)]);
        let c = Candidate::load(dir.path()).unwrap();
        let key = c.file_at("/etc/corosync/authkey").unwrap();
        assert_eq!((key.placement.owner.as_str(), key.placement.mode, key.stated), ("root", 0o400, false));
        let pkey = c.file_at("/etc/pacemaker/authkey").unwrap();
        assert_eq!((pkey.placement.owner.as_str(), pkey.placement.group.as_str(), pkey.placement.mode), ("hacluster", "haclient", 0o644));
        assert!(
            c.inventory.iter().any(|l| l.contains("/etc/corosync/authkey (root:root 0400, a stock node's owner and mode)")),
            "{:#?}",
            c.inventory
        );
        assert!(c.inventory.iter().any(|l| l.contains("wider than a stock node's 0400")), "{:#?}", c.inventory);
    }

    fn real_backup() -> Vec<u8> {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/real/pcs-backup/lab-backup.tar.bz2")).unwrap()
    }

    #[test]
    fn a_backup_with_the_files_a_team_keeps_beside_it_is_one_candidate() {
        let ruleset = "table inet filter {\n chain input { type filter hook input priority 0; }\n}\n";
        // As a manifest names it, and as a directory holding both.
        let manifest = "base = \"lab.tar.bz2\"\ndistro = \"bookworm\"\n";
        for with_manifest in [true, false] {
            let dir = dir_with(&[("nftables.conf", ruleset)]);
            std::fs::write(dir.path().join("lab.tar.bz2"), real_backup()).unwrap();
            if with_manifest {
                std::fs::write(dir.path().join("candidate.toml"), manifest).unwrap();
            }
            let c = Candidate::load(dir.path()).unwrap();
            // It carries what the backup carries, and what is placed beside it.
            assert_eq!(c.kind, CandidateKind::PcsBackup);
            assert!(c.holds("/etc/nftables.conf") && c.holds("/var/lib/pacemaker/cib/cib.xml") && c.holds("/etc/corosync/authkey"));
            assert!(c.file_at("/var/lib/pacemaker/cib/cib.xml").unwrap().stated, "the backup's recorded owner and mode stay the evidence");
            assert!(c.inventory.iter().any(|l| l.starts_with("base: ") && l.contains("is a pcs config backup")), "{:#?}", c.inventory);
            assert_eq!(c.distro_declared, with_manifest);
        }
    }

    #[test]
    fn a_base_must_stay_in_the_directory_and_two_archives_need_a_manifest() {
        let dir = dir_with(&[("candidate.toml", "\nbase = \"../lab.tar.bz2\"\n")]);
        let e = Candidate::load(dir.path()).unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("leaves the candidate directory"), "{e}");
        let dir = dir_with(&[]);
        std::fs::write(dir.path().join("a.tar.bz2"), real_backup()).unwrap();
        std::fs::write(dir.path().join("b.tar.bz2"), real_backup()).unwrap();
        let e = Candidate::load(dir.path()).unwrap_err();
        assert!(e.message.contains("holds 2 archives (a.tar.bz2, b.tar.bz2)"), "{e}");
    }

    const CRM_TEXT: &str = "node 1: alpha\nnode 2: beta\nprimitive vip IPaddr2 \\\n\tparams ip=10.0.0.1\nproperty stonith-enabled=true\n";
    const CRM_CIB: &str = "<cib validate-with=\"pacemaker-3.9\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\"><configuration><crm_config/>\
        <nodes><node id=\"1\" uname=\"alpha\"/><node id=\"2\" uname=\"beta\"/></nodes><resources/><constraints/></configuration><status/></cib>";

    #[test]
    fn crm_text_under_any_name_supplies_the_cib_of_a_directory_or_a_manifest() {
        let dir = dir_with(&[("corosync.conf", CONF), ("cluster-config.txt", CRM_TEXT), ("README.md", "# Notes\norder matters\n")]);
        // Not converted yet: the load says so, and notes the text for the caller that converts.
        let (loaded, noted) = crate::crmsh::unconverted_during(|| Candidate::load(dir.path()));
        assert!(loaded.unwrap_err().message.contains("has not converted to a CIB yet"));
        assert_eq!(noted.len(), 1);
        assert_eq!(noted[0].source, dir.path().join("cluster-config.txt"));
        crate::crmsh::remember(CRM_TEXT, CRM_CIB);
        let c = Candidate::load(dir.path()).unwrap();
        let cib = c.file_at(CIB_XML).unwrap();
        assert!(cib.converted && cib.content == CRM_CIB.as_bytes(), "{cib:?}");
        assert_eq!(c.kind, CandidateKind::Assembled, "a directory carries what it holds: the CIB of the text, its corosync.conf");
        assert!(c.file_at(COROSYNC_CONF).is_some_and(|f| !f.converted));
        let placed = format!(
            "placed {} at /var/lib/pacemaker/cib/cib.xml (hacluster:haclient 0600; crm configure show text, converted to a CIB by crmsh)",
            dir.path().join("cluster-config.txt").display()
        );
        assert!(c.inventory.contains(&placed), "{:#?}", c.inventory);
        assert!(c.inventory.iter().any(|l| l.contains("README.md` is not a well-known name")), "prose is no crm text: {:#?}", c.inventory);

        // A manifest's [[file]] entry under any name, placed as the CIB.
        let manifest = "[[file]]\nsource = \"web.crm\"\npath = \"/var/lib/pacemaker/cib/cib.xml\"\n";
        let dir = dir_with(&[("corosync.conf", CONF), ("web.crm", CRM_TEXT), ("candidate.toml", manifest)]);
        let c = Candidate::load(dir.path()).unwrap();
        let cib = c.file_at(CIB_XML).unwrap();
        assert!(cib.converted && cib.content == CRM_CIB.as_bytes(), "{cib:?}");
        assert!(c.inventory.iter().all(|l| !l.starts_with("ignored")), "the entry's source is used once: {:#?}", c.inventory);
    }

    #[test]
    fn password_is_redacted_in_debug() {
        let dir = dir_with(&[("corosync.conf", CONF), ("pw", "hunter2-very-secret\n"), ("candidate.toml", "[[file]]\nsource = \"corosync.conf\"\npath = \"/etc/corosync/corosync.conf\"\n[[user]]\nname = \"ops\"\npassword_file = \"pw\"\n")]);
        let c = Candidate::load(dir.path()).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.users[0].password.as_ref().unwrap().0, "hunter2-very-secret");
    }
}
