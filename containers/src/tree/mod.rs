//! A candidate's files as one bounded, in-memory tree, whatever the user
//! handed over: a directory, or an archive (`pcs config backup`, `crm report`,
//! a sosreport), compressed or not. Archives are read in memory and never
//! unpacked to disk, so a hostile member cannot write anywhere; every member
//! is checked (path, type, size, count) and a bad one is an error naming the
//! archive and the member.

use std::path::{Path, PathBuf};

use crate::error::InputError;
use pcmk_model::node::Placement;

mod archive;
pub use archive::{is_archive, packing_of, read_archive, Packing};

/// Largest single file; real cluster configuration is far smaller.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most files a candidate may hold (a sosreport has a few thousand).
pub const MAX_FILES: usize = 20_000;
/// Most bytes all files together may hold, after decompression.
pub const MAX_TOTAL_BYTES: u64 = 128 * 1024 * 1024;

/// One file of the tree, at its path relative to the tree's root.
#[derive(Clone)]
pub struct TreeFile {
    pub path: String,
    pub content: Vec<u8>,
    pub executable: bool,
    /// The owner, group and mode an archive member records (the tool that
    /// made the archive read them off the node); none for a directory's files,
    /// whose owners are whoever unpacked or copied them.
    pub recorded: Option<Placement>,
}

impl std::fmt::Debug for TreeFile {
    // Contents may be keys: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TreeFile({}, {} bytes)", self.path, self.content.len())
    }
}

/// What was left out of the tree, and why (symlinks, empty directories…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct Tree {
    /// The directory or archive the user named.
    pub origin: PathBuf,
    /// Set for archives: members are named `archive:member` in messages.
    pub is_archive: bool,
    /// A tree of one file the user named (a bare CIB): named as it is.
    pub single_file: bool,
    pub files: Vec<TreeFile>,
    pub skipped: Vec<Skipped>,
}

impl Tree {
    /// How a file of this tree is named in messages and reports.
    pub fn source_of(&self, path: &str) -> PathBuf {
        if self.single_file {
            self.origin.clone()
        } else if self.is_archive {
            PathBuf::from(format!("{}:{path}", self.origin.display()))
        } else {
            self.origin.join(path)
        }
    }

    pub fn get(&self, path: &str) -> Option<&TreeFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Drops a leading directory that holds everything (`crm report` and
    /// sosreport archives put all under one directory named after the report).
    pub fn strip_single_top_dir(&mut self) {
        let Some(first) = self.files.first() else { return };
        let Some((top, _)) = first.path.split_once('/') else { return };
        let prefix = format!("{top}/");
        if self.files.iter().all(|f| f.path.starts_with(&prefix)) {
            for file in &mut self.files {
                file.path = file.path[prefix.len()..].to_string();
            }
            for skipped in &mut self.skipped {
                if let Some(rest) = skipped.path.strip_prefix(&prefix) {
                    skipped.path = rest.to_string();
                }
            }
        }
    }
}

/// Adds a file to a tar being built, at `path` below its root, with a fixed
/// mtime so that the same content makes the same archive.
pub fn append(archive: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32, content: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_cksum();
    archive.append_data(&mut header, path.trim_start_matches('/'), content)
}

/// What `shown` (a path below the candidate directory `base`, canonical)
/// resolves to, refused when a symlink leads out of the directory.
pub(crate) fn resolve_confined(base: &Path, shown: &Path) -> Result<(PathBuf, std::fs::Metadata), InputError> {
    let cannot = |e: std::io::Error| InputError::new(shown, None, format!("cannot read: {e}"));
    let resolved = shown.canonicalize().map_err(cannot)?;
    if !resolved.starts_with(base) {
        return Err(InputError::new(shown, None, "path leaves the candidate directory (through a symlink)"));
    }
    let meta = std::fs::metadata(&resolved).map_err(cannot)?;
    Ok((resolved, meta))
}

/// A candidate file is a regular file within the size bound.
pub(crate) fn check_regular(shown: &Path, meta: &std::fs::Metadata) -> Result<(), InputError> {
    if !meta.is_file() {
        return Err(InputError::new(shown, None, "not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(InputError::new(
            shown,
            None,
            format!("{} bytes is larger than the {MAX_FILE_BYTES} byte limit for a candidate file", meta.len()),
        ));
    }
    Ok(())
}

/// Reads a directory into a tree: regular files only, nothing through a
/// symlink that leaves it, bounded in count and size.
pub fn read_dir(dir: &Path) -> Result<Tree, InputError> {
    read_dir_but(dir, &|_| false)
}

/// As `read_dir`, leaving out (unread) the files `skip` names by their path in the tree.
pub fn read_dir_but(dir: &Path, skip: &dyn Fn(&str) -> bool) -> Result<Tree, InputError> {
    let base = dir.canonicalize().map_err(|e| InputError::new(dir, None, format!("cannot read candidate: {e}")))?;
    let mut tree = Tree { origin: dir.to_path_buf(), is_archive: false, single_file: false, files: Vec::new(), skipped: Vec::new() };
    let mut total = 0u64;
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let here = if relative.is_empty() { dir.to_path_buf() } else { dir.join(&relative) };
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .map_err(|e| InputError::new(&here, None, format!("cannot read: {e}")))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if relative.is_empty() { name.clone() } else { format!("{relative}/{name}") };
            if name.starts_with('.') {
                tree.skipped.push(Skipped { path, reason: "a hidden file".into() });
                continue;
            }
            if skip(&path) {
                continue;
            }
            let shown = dir.join(&path);
            let (resolved, meta) = resolve_confined(&base, &shown)?;
            if meta.is_dir() {
                if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                    tree.skipped.push(Skipped { path, reason: "a link to a directory; links are not followed".into() });
                } else {
                    pending.push(path);
                }
                continue;
            }
            check_regular(&shown, &meta)?;
            if tree.files.len() >= MAX_FILES {
                return Err(InputError::new(
                    dir,
                    None,
                    format!("holds more than {MAX_FILES} files; a cluster's configuration is far smaller"),
                ));
            }
            total += meta.len();
            if total > MAX_TOTAL_BYTES {
                return Err(InputError::new(
                    dir,
                    None,
                    format!("holds more than {MAX_TOTAL_BYTES} bytes; a cluster's configuration is far smaller"),
                ));
            }
            let content = std::fs::read(&resolved).map_err(|e| InputError::new(&shown, None, format!("cannot read: {e}")))?;
            use std::os::unix::fs::PermissionsExt as _;
            tree.files.push(TreeFile { path, content, executable: meta.permissions().mode() & 0o111 != 0, recorded: None });
        }
    }
    tree.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(tree)
}
