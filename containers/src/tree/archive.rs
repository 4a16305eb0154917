//! Archives read in memory, never unpacked: gzip, bzip2, xz or plain tar,
//! each member checked (path, type, size, count) before it joins the tree.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use super::{Skipped, Tree, TreeFile, MAX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES};
use crate::error::InputError;

/// The owner, group and mode a member records, where it names both by name
/// (a member written from memory, such as pcs's `version.txt`, names neither).
fn recorded_stat(header: &tar::Header) -> Option<pcmk_model::node::Placement> {
    let owner = header.username().ok().flatten().filter(|n| !n.is_empty())?.to_string();
    let group = header.groupname().ok().flatten().filter(|n| !n.is_empty())?.to_string();
    let mode = header.mode().ok()? & 0o7777;
    Some(pcmk_model::node::Placement { path: String::new(), owner, group, mode })
}

/// How an archive is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Gzip,
    Bzip2,
    Xz,
    Tar,
}

pub fn packing_of(head: &[u8]) -> Option<Packing> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some(Packing::Gzip)
    } else if head.starts_with(b"BZh") {
        Some(Packing::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Packing::Xz)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some(Packing::Tar)
    } else {
        None
    }
}

/// Whether `path` is an archive this module reads (by its content).
pub fn is_archive(path: &Path) -> bool {
    let mut head = [0u8; 512];
    let Ok(mut file) = std::fs::File::open(path) else { return false };
    let n = read_up_to(&mut file, &mut head).unwrap_or(0);
    packing_of(&head[..n]).is_some()
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A reader that fails once more than `limit` bytes came through: the
/// decompressed stream of a bomb stops here, whatever the archive declares.
struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more than allowed tells a full stream from a cut one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(format!("decompresses to more than {MAX_TOTAL_BYTES} bytes"))),
            };
        }
        let want = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads an archive into a tree, checking every member.
pub fn read_archive(path: &Path) -> Result<Tree, InputError> {
    let file = std::fs::File::open(path).map_err(|e| InputError::new(path, None, format!("cannot read: {e}")))?;
    let mut reader = std::io::BufReader::new(file);
    let head = std::io::BufRead::fill_buf(&mut reader).map_err(|e| InputError::new(path, None, format!("cannot read: {e}")))?.to_vec();
    let packing = packing_of(&head).ok_or_else(|| InputError::new(path, None, "not a tar archive (plain, gzip, bzip2 or xz)"))?;
    let stream: Box<dyn Read> = match packing {
        Packing::Gzip => Box::new(flate2::read::MultiGzDecoder::new(reader)),
        Packing::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(reader)),
        Packing::Xz => Box::new(xz_stream(reader, path)?),
        Packing::Tar => Box::new(reader),
    };
    let bounded = Bounded { inner: stream, left: MAX_TOTAL_BYTES };
    let mut tree = Tree { origin: path.to_path_buf(), is_archive: true, single_file: false, files: Vec::new(), skipped: Vec::new() };
    let mut archive = tar::Archive::new(bounded);
    let entries = archive.entries().map_err(|e| InputError::new(path, None, format!("not a readable tar archive: {e}")))?;
    let mut last_member = String::from("(the first member)");
    // (link, target inside the archive, target as written)
    let mut links: Vec<(String, String, String)> = Vec::new();
    let mut members = 0usize;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(path, &last_member, e))?;
        let raw_name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let member_err = |msg: String| InputError::new(PathBuf::from(format!("{}:{raw_name}", path.display())), None, msg);
        members += 1;
        if members > MAX_FILES {
            return Err(InputError::new(
                path,
                None,
                format!("holds more than {MAX_FILES} members; a cluster's configuration is far smaller"),
            ));
        }
        let name = member_path(&raw_name).map_err(member_err)?;
        last_member = raw_name.clone();
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => continue,
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
                // A hard link names its target from the archive's root, a symlink from its own directory.
                let resolved = if kind == tar::EntryType::Link { member_path(&target).ok() } else { resolve_link(&name, &target) };
                let Some(resolved) = resolved else {
                    return Err(member_err(format!("is a link to `{target}`, outside the archive")));
                };
                links.push((name, resolved, target));
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {}
            tar::EntryType::XHeader | tar::EntryType::XGlobalHeader | tar::EntryType::GNULongName | tar::EntryType::GNULongLink => continue,
            other => {
                return Err(member_err(format!("is a {other:?} entry, not a regular file; an archive of configuration holds files only")))
            }
        }
        let declared = entry.header().size().map_err(|e| member_err(format!("has a bad size field: {e}")))?;
        if declared > MAX_FILE_BYTES {
            return Err(member_err(format!("declares {declared} bytes, more than the {MAX_FILE_BYTES} byte limit for a candidate file")));
        }
        let mut content = Vec::with_capacity(declared as usize);
        entry.read_to_end(&mut content).map_err(|e| corrupt(path, &raw_name, e))?;
        if is_nested_archive(&name, &content) {
            return Err(member_err("is itself an archive; unpack it and hand over the inner one".into()));
        }
        let header = entry.header();
        let executable = header.mode().is_ok_and(|m| m & 0o111 != 0);
        let recorded = recorded_stat(header);
        tree.files.push(TreeFile { path: name, content, executable, recorded });
    }
    if members == 0 {
        return Err(InputError::new(path, None, "the archive is empty or truncated"));
    }
    // `crm report` keeps one copy of what every node shares and links each node's name to it.
    for (link, target, written) in links {
        match tree.files.iter().find(|f| f.path == target).cloned() {
            Some(file) => tree.files.push(TreeFile { path: link, ..file }),
            None => tree
                .skipped
                .push(Skipped { path: link, reason: format!("a link to `{written}`, which the archive does not hold as a file") }),
        }
    }
    tree.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(tree)
}

/// A tar inside the archive (plain, or compressed under a tar name). A
/// compressed single file (`crm report`'s pengine/*.bz2) is not an archive.
fn is_nested_archive(name: &str, content: &[u8]) -> bool {
    const TAR_NAMES: &[&str] = &[".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz"];
    match packing_of(content) {
        Some(Packing::Tar) => true,
        Some(_) => TAR_NAMES.iter().any(|suffix| name.ends_with(suffix)),
        None => false,
    }
}

fn corrupt(archive: &Path, member: &str, e: std::io::Error) -> InputError {
    let shown = PathBuf::from(format!("{}:{member}", archive.display()));
    InputError::new(shown, None, format!("truncated or corrupt archive: {e}"))
}

fn xz_stream(mut reader: impl std::io::BufRead, path: &Path) -> Result<std::io::Cursor<Vec<u8>>, InputError> {
    // lzma-rs decompresses into a writer: one that refuses past the bound stops a bomb.
    struct Sink(Vec<u8>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.0.len() as u64 + buf.len() as u64 > MAX_TOTAL_BYTES {
                return Err(std::io::Error::other(format!("decompresses to more than {MAX_TOTAL_BYTES} bytes")));
            }
            self.0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut sink = Sink(Vec::new());
    lzma_rs::xz_decompress(&mut reader, &mut sink)
        .map_err(|e| InputError::new(path, None, format!("truncated or corrupt xz archive: {e}")))?;
    Ok(std::io::Cursor::new(sink.0))
}

/// A member's path, relative and without `..`; anything else is refused.
fn member_path(raw: &str) -> Result<String, String> {
    let path = Path::new(raw);
    if path.is_absolute() {
        return Err("has an absolute path; an archive member must stay inside the archive".into());
    }
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return Err("has a path with `..`, leaving the archive".into()),
        }
    }
    if parts.is_empty() {
        return Err("has an empty path".into());
    }
    if raw.chars().any(char::is_control) {
        return Err("has control characters in its path".into());
    }
    Ok(parts.join("/"))
}

/// Where a symlink at `link` (relative to the root) pointing at `target`
/// leads, relative to the root; None where it leaves the root.
fn resolve_link(link: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_paths_stay_inside() {
        assert_eq!(member_path("./a/b").unwrap(), "a/b");
        assert!(member_path("/etc/passwd").is_err());
        assert!(member_path("a/../../x").is_err());
        assert_eq!(resolve_link("a/b", "c").as_deref(), Some("a/c"));
        assert_eq!(resolve_link("r/n1/corosync.conf", "../corosync.conf").as_deref(), Some("r/corosync.conf"));
        assert_eq!(resolve_link("a/b", "../../c"), None);
        assert_eq!(resolve_link("a", "/etc/shadow"), None);
    }

    #[test]
    fn packing_is_told_by_content() {
        assert_eq!(packing_of(b"BZh91AY"), Some(Packing::Bzip2));
        assert_eq!(packing_of(&[0x1f, 0x8b, 8]), Some(Packing::Gzip));
        assert_eq!(packing_of(b"totem {"), None);
    }
}
