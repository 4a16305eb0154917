//! What a candidate holds evidence of. A step judges the cluster only on
//! what the candidate says: its own files (their owners and modes where it
//! states them), its accounts, the distribution it names. What its kind cannot
//! carry, or what the harness had to make, is no evidence: the step is not
//! judged, and the reason says how to bring it.

use super::Candidate;
use pcmk_model::scope::Evidence;

/// Where a live run's node has a file the candidate does not place: the lab image's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// `lint`: the candidate's files alone.
    Files,
    /// `run`: the nodes, where a file the candidate does not place comes from the image.
    Nodes,
}

impl Candidate {
    /// Whether the candidate places a file at `node_path` (or, for a
    /// directory ending in `/`, any file below it), the harness's own aside.
    pub fn holds(&self, node_path: &str) -> bool {
        let matches = |path: &str| if node_path.ends_with('/') { path.starts_with(node_path) } else { path == node_path };
        let generated = |path: &str| self.generated.iter().any(|g| g == path);
        self.files
            .iter()
            .map(|f| f.placement.path.as_str())
            .chain(self.secrets.iter().map(|s| s.placement.path.as_str()))
            .any(|p| matches(p) && !generated(p))
    }

    /// Why the candidate holds no evidence of `evidence`, or `None` when it does
    /// (which includes a file its kind would carry and that it lacks: the
    /// absence is then the cluster's).
    pub fn absence(&self, evidence: &Evidence, reading: Reading) -> Option<String> {
        let kind = self.kind.describe();
        match evidence {
            Evidence::File(path) => self.file_absence(path),
            Evidence::Stat(path) => {
                if let Some(file) = self.file_at(path) {
                    let p = &file.placement;
                    return (!file.stated).then(|| {
                        format!(
                            "{kind} states no owner or mode for {path} (the harness placed it {}:{} {:04o}, as a stock node has it): \
                             state them in candidate.toml ([[file]] owner, group and mode)",
                            p.owner, p.group, p.mode
                        )
                    });
                }
                if let Some(secret) = self.secrets.iter().find(|s| s.placement.path == *path) {
                    return self.file_absence(path).or_else(|| {
                        (!secret.stated)
                            .then(|| format!("{kind} states no owner or mode for the key {path}: state them in its [[secret]] entry"))
                    });
                }
                match reading {
                    Reading::Files => self.file_absence(path),
                    // Not placed: the nodes' copy came with the image's packages.
                    Reading::Nodes => self.absence(&Evidence::Packages, reading).map(|_| {
                        format!(
                            "{kind} does not place {path}, so the nodes' copy is the lab image's: \
                             place it with its owner and mode in candidate.toml, or name the distribution (`distro`)"
                        )
                    }),
                }
            }
            // A capture decided hacluster's on every node it read.
            Evidence::Password(user)
                if *user == "hacluster" && !self.captured.is_empty() && self.captured.iter().all(|n| n.password.is_some()) =>
            {
                None
            }
            Evidence::Password(user) => (!self.users.iter().any(|u| u.name == *user)).then(|| {
                format!(
                    "{kind} does not say how the password of `{user}` is set (no /etc/shadow, no [[user]] entry): \
                     declare the account in candidate.toml ([[user]], with password_file if it has one)"
                )
            }),
            Evidence::Packages => match reading {
                Reading::Files if self.captured.is_empty() => {
                    Some(format!("{kind} lists no installed packages: capture the nodes (`pcmk-comply capture`), or run it"))
                }
                Reading::Files => None,
                Reading::Nodes if self.distro_declared => None,
                Reading::Nodes if !self.captured.is_empty() => {
                    Some("the lab image's packages are not the captured nodes': `lint` judges the packages the capture listed".into())
                }
                Reading::Nodes => Some(format!(
                    "{kind} does not say which packages the nodes run, so the lab image's are no evidence: \
                     name the distribution in candidate.toml (`distro = \"bookworm\"`)"
                )),
            },
        }
    }

    fn file_absence(&self, path: &str) -> Option<String> {
        if self.generated.iter().any(|g| g == path) {
            return Some(format!("the candidate brings no {path}; the harness made the one the cluster uses"));
        }
        if self.holds(path) || self.kind.carries(path) {
            return None;
        }
        let what = Evidence::File(path);
        Some(format!("{} does not carry {what}: {}", self.kind.describe(), self.kind.remedy()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcmk_model::scope::CandidateKind;

    fn backup() -> Candidate {
        let dir = std::env::temp_dir().join(format!("pcmk-evidence-{}-{}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = "totem {\n version: 2\n cluster_name: t\n transport: knet\n}\nnodelist {\n node {\n  ring0_addr: 10.0.0.1\n  nodeid: 1\n }\n}\n";
        std::fs::write(dir.join("corosync.conf"), conf).unwrap();
        std::fs::write(dir.join("cib.xml"), "<cib validate-with=\"pacemaker-3.9\"><configuration/></cib>").unwrap();
        std::fs::write(dir.join("version.txt"), "1").unwrap();
        let mut candidate = Candidate::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        candidate.kind = CandidateKind::PcsBackup;
        candidate
    }

    #[test]
    fn what_a_pcs_backup_cannot_carry_is_no_evidence_and_says_how_to_bring_it() {
        let candidate = backup();
        let why = candidate.absence(&Evidence::File("/etc/nftables.conf"), Reading::Files).unwrap();
        assert!(why.starts_with("a pcs config backup does not carry /etc/nftables.conf: put it beside the backup"), "{why}");
        assert!(candidate.absence(&Evidence::File("/etc/sudoers.d/"), Reading::Nodes).unwrap().contains("a file in /etc/sudoers.d/"));
        assert!(candidate.absence(&Evidence::Password("hacluster"), Reading::Files).unwrap().contains("/etc/shadow"));
        assert!(candidate.absence(&Evidence::Packages, Reading::Nodes).is_some());
        assert_eq!(candidate.absence(&Evidence::File("/etc/corosync/corosync.conf"), Reading::Files), None);
        // Carried but absent: the backup would hold it, so the cluster has none.
        assert_eq!(candidate.absence(&Evidence::File("/var/lib/pcsd/pcs_settings.conf"), Reading::Files), None);
    }

    #[test]
    fn keys_the_harness_made_and_stock_modes_are_no_evidence() {
        let candidate = backup();
        let key = candidate.absence(&Evidence::File("/etc/corosync/authkey"), Reading::Files).unwrap();
        assert!(key.contains("the harness made"), "{key}");
        let stat = candidate.absence(&Evidence::Stat("/etc/corosync/corosync.conf"), Reading::Files).unwrap();
        assert!(stat.contains("states no owner or mode"), "{stat}");
        let unplaced = candidate.absence(&Evidence::Stat("/var/lib/pacemaker/cib"), Reading::Nodes).unwrap();
        assert!(unplaced.contains("the lab image's"), "{unplaced}");
    }
}
