//! Hostile archives as candidates: each is refused with exit 2, naming the
//! archive and the member, quickly, and nothing is written outside the
//! harness's own temporary space (archives are read in memory, never unpacked).

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::repo_path;

fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_pcmk-comply"))
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("pcmk-archives-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn header(path: &str, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    // Set the name bytes directly: `set_path` refuses `..` and absolute paths, which are the point here.
    let name = &mut h.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_cksum();
    h
}

fn tar_of(members: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, content, link) in members {
        let mut h = header(path, *kind, content.len() as u64);
        // As sos and pcs record a node's files: by owner name, a key at 0400.
        h.set_username("root").unwrap();
        h.set_groupname("root").unwrap();
        if path.ends_with("authkey") {
            h.set_mode(0o400);
        }
        h.set_cksum();
        if let Some(link) = link {
            h.set_link_name(link).unwrap();
            h.set_cksum();
        }
        builder.append(&h, *content).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

const CONF: &[u8] = include_bytes!("fixtures/pcs-corosync.conf");

/// Runs lint on the archive: exit 2, a message naming the archive and `expected`, within 10 s.
fn refused(dir: &Path, name: &str, bytes: &[u8], expected: &str) {
    let archive = dir.join(name);
    std::fs::write(&archive, bytes).unwrap();
    let before: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    let started = Instant::now();
    let output = binary().args(["lint", "--candidate"]).arg(&archive).current_dir(dir).output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
    assert!(stderr.contains(&archive.display().to_string()), "{name}: names the archive: {stderr}");
    assert!(stderr.contains(expected), "{name}: expected `{expected}` in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{name} took {took:?}");
    let after: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before, after, "{name}: nothing written beside the archive");
    std::fs::remove_file(&archive).unwrap();
}

#[test]
fn hostile_archives_are_refused_naming_the_member() {
    use tar::EntryType::{Block, Char, Fifo, Link, Regular, Symlink};
    let scratch = Scratch::new("hostile");
    let dir = &scratch.0;
    let conf = ("corosync.conf", Regular, CONF, None);
    refused(dir, "dotdot.tar", &tar_of(&[conf, ("../../etc/cron.d/x", Regular, b"x", None)]), "../../etc/cron.d/x: has a path with `..`");
    refused(dir, "absolute.tar", &tar_of(&[conf, ("/etc/passwd", Regular, b"x", None)]), "/etc/passwd: has an absolute path");
    refused(
        dir,
        "symlink.tar",
        &tar_of(&[conf, ("cib.xml", Symlink, b"", Some("/etc/shadow"))]),
        "cib.xml: is a link to `/etc/shadow`, outside the archive",
    );
    refused(dir, "symlink-up.tar", &tar_of(&[conf, ("a/cib.xml", Symlink, b"", Some("../../x"))]), "a/cib.xml: is a link to `../../x`");
    refused(
        dir,
        "hardlink.tar",
        &tar_of(&[conf, ("authkey", Link, b"", Some("../../etc/shadow"))]),
        "authkey: is a link to `../../etc/shadow`",
    );
    for (name, kind) in [("char.tar", Char), ("block.tar", Block), ("fifo.tar", Fifo)] {
        refused(dir, name, &tar_of(&[conf, ("dev", kind, b"", None)]), "dev: is a");
    }
    // A header declaring 4 GiB, with no data behind it.
    let mut huge = tar_of(&[conf]);
    huge.truncate(huge.len() - 1024);
    let mut h = header("cib.xml", Regular, 4 << 30);
    h.set_cksum();
    huge.extend_from_slice(h.as_bytes());
    refused(dir, "declares-4gib.tar", &huge, "cib.xml: declares 4294967296 bytes");
    let inner = gzip(&tar_of(&[conf]));
    refused(dir, "nested.tar", &tar_of(&[conf, ("inner.tar.gz", Regular, &inner, None)]), "inner.tar.gz: is itself an archive");
    let whole = gzip(&tar_of(&[conf, ("cib.xml", Regular, &[b'x'; 100_000], None)]));
    refused(dir, "truncated.tar.gz", &whole[..whole.len() / 2], "truncated or corrupt archive");
    refused(dir, "garbage.tar.bz2", b"BZh91AY&SYgarbage", "truncated or corrupt archive");
}

#[test]
fn bombs_and_floods_stop_at_their_bounds() {
    let scratch = Scratch::new("bombs");
    let dir = &scratch.0;
    // 160 MiB of zeros in 4 MiB members: a few hundred kilobytes compressed.
    let zeros = vec![0u8; 4 << 20];
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for i in 0..40 {
        builder.append(&header(&format!("m{i}"), tar::EntryType::Regular, zeros.len() as u64), zeros.as_slice()).unwrap();
    }
    let gz_bomb = builder.into_inner().unwrap().finish().unwrap();
    assert!(gz_bomb.len() < 1 << 20);
    refused(dir, "bomb.tar.gz", &gz_bomb, "decompresses to more than");
    let mut builder = tar::Builder::new(bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast()));
    for i in 0..40 {
        builder.append(&header(&format!("m{i}"), tar::EntryType::Regular, zeros.len() as u64), zeros.as_slice()).unwrap();
    }
    refused(dir, "bomb.tar.bz2", &builder.into_inner().unwrap().finish().unwrap(), "decompresses to more than");
    // 100,000 empty files.
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for i in 0..100_000 {
        builder.append(&header(&format!("f{i}"), tar::EntryType::Regular, 0), &b""[..]).unwrap();
    }
    refused(dir, "flood.tar.gz", &builder.into_inner().unwrap().finish().unwrap(), "more than 20000 members");
}

#[test]
fn an_archive_in_the_root_layout_is_placed_and_its_key_never_printed() {
    let scratch = Scratch::new("root");
    let key: Vec<u8> = (0..256u32).map(|i| (i * 7 % 251) as u8).collect();
    let hex_key: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let archive = scratch.0.join("node1.tar.gz");
    let bytes = gzip(&tar_of(&[
        ("sosreport-node1/etc/corosync/corosync.conf", tar::EntryType::Regular, CONF, None),
        ("sosreport-node1/etc/corosync/authkey", tar::EntryType::Regular, &key, None),
        ("sosreport-node1/etc/sysconfig/pcsd", tar::EntryType::Regular, b"PCSD_BIND_ADDR=10.0.0.1\n", None),
        ("sosreport-node1/etc/hosts", tar::EntryType::Regular, b"127.0.0.1 localhost\n", None),
        ("sosreport-node1/sos_commands/pacemaker/crm_mon", tar::EntryType::Regular, b"x\n", None),
        ("sosreport-node1/hostname", tar::EntryType::Symlink, b"", Some("sos_commands/general/hostname")),
    ]));
    std::fs::write(&archive, bytes).unwrap();
    let output = binary().args(["lint", "--candidate"]).arg(&archive).current_dir(repo_path("")).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("is a sosreport"), "{stdout}");
    assert!(
        stdout.contains("etc/corosync/authkey at /etc/corosync/authkey (root:root 0400; owner and mode as the archive records them)"),
        "{stdout}"
    );
    assert!(stdout.contains("etc/sysconfig/pcsd at /etc/default/pcsd"), "{stdout}");
    assert!(stdout.contains("ignored") && stdout.contains("etc/hosts: not a file the policy or the cluster reads"), "{stdout}");
    assert!(stdout.contains("sos_commands/pacemaker/crm_mon: sosreport command output"), "{stdout}");
    assert!(stdout.contains("hostname: a link to"), "{stdout}");
    assert!(stdout.contains("services: corosync, pacemaker, pcsd"), "{stdout}");
    assert!(!stdout.contains("no /etc/corosync/authkey"), "the candidate's key is used: {stdout}");
    // One node's report: its key is judged for size and mode, never as the same on every node.
    assert!(stdout.contains("N/A       Secure communication » Every node holds the same strong corosync key"), "{stdout}");
    assert!(stdout.contains("a sosreport holds one node's /etc/corosync/authkey"), "{stdout}");
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(!all.contains(&hex_key[..32]), "the key is never printed");
}
