//! What `capture` runs on each node, and how its output is read. The script
//! only reads: stat, sha256sum, base64 of the files the policy reads, and
//! the read-only queries of the cluster's own tools. Whether hacluster's
//! password is a default word is decided on the node; the hash never leaves it.

use std::collections::BTreeMap;

use base64::Engine;

/// Files the policy reads (a trailing `/*` is every file in that directory).
pub const FILES: &[&str] = &[
    "/etc/corosync/corosync.conf",
    "/etc/corosync/authkey",
    "/etc/corosync/uidgid.d/*",
    "/etc/pacemaker/authkey",
    "/var/lib/pacemaker/cib/cib.xml",
    "/etc/nftables.conf",
    "/etc/default/pcsd",
    "/etc/sysconfig/pcsd",
    "/var/lib/pcsd/*",
    "/etc/aide/aide.conf",
    "/etc/rsyslog.conf",
    "/etc/rsyslog.d/*",
    "/etc/audit/auditd.conf",
    "/etc/audit/rules.d/*",
    "/etc/sudoers",
    "/etc/sudoers.d/*",
    // sbd's environment: RHEL and SUSE, Debian.
    "/etc/sysconfig/sbd",
    "/etc/default/sbd",
    // root's login umask, which decides a backup's mode.
    "/etc/profile",
    "/etc/profile.d/*",
    "/etc/login.defs",
];

/// Directories whose owner and mode the policy judges.
pub const DIRECTORIES: &[&str] = &["/etc/corosync", "/etc/pacemaker", "/var/lib/pacemaker/cib", "/var/lib/pcsd", "/etc/sudoers.d"];

/// The read-only queries, each with the command that must exist on the node.
pub const QUERIES: &[(&str, &str)] = &[
    ("cib", "cibadmin --query"),
    ("crm_mon", "crm_mon --one-shot --output-as=xml"),
    ("cmap", "corosync-cmapctl"),
    ("nft", "nft list ruleset"),
    ("sockets", "ss -lntup"),
    ("processes", "ps -eo comm --no-headers"),
];

/// The query under which a node's `sbd -d DEV dump` of every device its
/// SBD_DEVICE names is kept (no query where it names none or has no sbd).
pub const SBD_DUMP: &str = "sbd-dump";

/// The default words `crm cluster init` and guides set for hacluster.
pub const DEFAULT_PASSWORDS: &[&str] = &["linux", "hacluster", "password"];

const BODY: &str = r####"
set -u
export LC_ALL=C
file() {
  [ -f "$1" ] || return 0
  if [ ! -r "$1" ]; then printf 'E\t%s\tnot readable\n' "$1"; return 0; fi
  printf 'F\t%s\t%s\t%s\n' "$1" "$(stat -c '%U	%G	%a	%s' -- "$1")" "$(sha256sum -- "$1" | cut -d' ' -f1)"
  printf 'B\t%s\t%s\n' "$1" "$(base64 -w0 -- "$1")"
}
echo '### files'
for pattern in __FILES__; do
  for p in $pattern; do file "$p"; done
done
# The alert agents the CIB runs: the lab runs them too.
if command -v cibadmin >/dev/null 2>&1; then
  for p in $(cibadmin --query 2>/dev/null | grep -o '<alert [^>]*' | grep -o ' path="[^"]*"' | cut -d'"' -f2); do
    case "$p" in /*) file "$p" ;; esac
  done
fi
for d in __DIRECTORIES__; do
  [ -d "$d" ] && printf 'D\t%s\t%s\n' "$d" "$(stat -c '%U	%G	%a' -- "$d")"
done
query() {
  name=$1; shift
  if ! command -v "$1" >/dev/null 2>&1; then printf '### missing\t%s\t%s\n' "$name" "$1"; return 0; fi
  echo "### $name"
  "$@" 2>/dev/null | base64 -w0; status=${PIPESTATUS[0]}
  echo
  printf '### status\t%s\t%s\n' "$name" "$status"
}
__QUERIES__
# SBD's device headers (msgwait, watchdog timeout), where the node names
# devices: `sbd -d DEV dump` only reads them. The file is read, never sourced.
for conf in __SBD_CONFS__; do
  [ -f "$conf" ] && [ -r "$conf" ] || continue
  devices=$(sed -n 's/^[[:space:]]*\(export[[:space:]][[:space:]]*\)\{0,1\}SBD_DEVICE=//p' "$conf" | tail -n 1 | tr -d "\"'")
  [ -n "$devices" ] && command -v sbd >/dev/null 2>&1 || continue
  echo '### __SBD_DUMP__'
  old_ifs=$IFS; IFS=';'
  for dev in $devices; do
    dev=$(printf '%s' "$dev" | tr -d '[:space:]')
    [ -n "$dev" ] && sbd -d "$dev" dump 2>&1
  done | base64 -w0
  IFS=$old_ifs
  echo
  break
done
if command -v dpkg-query >/dev/null 2>&1; then
  query packages dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'
else
  query packages rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\tii \n'
fi
echo '### password'
perl -e '__PASSWORD_STATE__' hacluster __DEFAULTS__ || echo unreadable
echo '### end'
"####;

/// How a user's password is set, decided where /etc/shadow is (the hash never
/// leaves the node): `empty`, `locked`, `default` (one of the words given
/// after the user), `set`, `nouser`, or `unreadable`. No single quote: the
/// capture script quotes it so.
pub const PASSWORD_STATE: &str = r#"
my ($user, @words) = @ARGV;
open(my $shadow, "<", "/etc/shadow") or do { print "unreadable\n"; exit 0 };
while (<$shadow>) {
  chomp; my @f = split /:/, $_, -1;
  next unless $f[0] eq $user;
  my $h = $f[1];
  if ($h eq "") { print "empty\n"; exit 0 }
  if ($h =~ /^[!*]/) { print "locked\n"; exit 0 }
  for my $w (@words) { if (crypt($w, $h) eq $h) { print "default\n"; exit 0 } }
  print "set\n"; exit 0;
}
print "nouser\n";
"#;

/// sbd's environment files, whose SBD_DEVICE the dump reads.
const SBD_CONFS: &[&str] = &["/etc/sysconfig/sbd", "/etc/default/sbd"];

/// The script, with the paths and queries filled in.
pub fn script() -> String {
    script_for(FILES)
}

fn script_for(files: &[&str]) -> String {
    script_with(files, SBD_CONFS)
}

fn script_with(files: &[&str], sbd_confs: &[&str]) -> String {
    let queries: Vec<String> = QUERIES.iter().map(|(name, command)| format!("query {name} {command}")).collect();
    BODY.replace("__FILES__", &files.join(" "))
        .replace("__DIRECTORIES__", &DIRECTORIES.join(" "))
        .replace("__QUERIES__", &queries.join("\n"))
        .replace("__SBD_DUMP__", SBD_DUMP)
        .replace("__SBD_CONFS__", &sbd_confs.join(" "))
        .replace("__DEFAULTS__", &DEFAULT_PASSWORDS.join(" "))
        .replace("__PASSWORD_STATE__", PASSWORD_STATE)
}

/// A file as the node has it.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeFile {
    pub owner: String,
    pub group: String,
    pub mode: u32,
    /// None for a directory.
    pub sha256: Option<String>,
    pub content: Option<Vec<u8>>,
}

impl std::fmt::Debug for NodeFile {
    // Contents may be keys: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeFile({}:{} {:04o})", self.owner, self.group, self.mode)
    }
}

/// What one node said.
#[derive(Debug, Clone, Default)]
pub struct NodeOutput {
    pub files: BTreeMap<String, NodeFile>,
    /// Query name → its output, for queries that ran and succeeded.
    pub queries: BTreeMap<String, String>,
    /// What could not be read, each a sentence naming the path or command.
    pub problems: Vec<String>,
    /// hacluster's password: empty, locked, default, set, nouser, or unreadable.
    pub password: Option<String>,
    /// The script ran to its end (a cut-off stream is not a capture).
    pub complete: bool,
}

/// Reads the script's output.
pub fn parse(text: &str) -> Result<NodeOutput, String> {
    let mut out = NodeOutput::default();
    let mut section = String::new();
    let mut last_file: Option<String> = None;
    let decode = |b64: &str| base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| format!("bad base64: {e}"));
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("### ") {
            let fields: Vec<&str> = rest.split('\t').collect();
            match fields.as_slice() {
                ["missing", name, command] => out.problems.push(format!("`{command}` is not installed (needed for {name})")),
                ["status", name, code] if *code != "0" => {
                    out.queries.remove(*name);
                    out.problems.push(format!("`{}` failed (exit {code})", query_command(name)));
                }
                ["status", ..] => {}
                ["end"] => out.complete = true,
                [name] => section = name.to_string(),
                _ => return Err(format!("unexpected line `{line}`")),
            }
            continue;
        }
        match section.as_str() {
            "files" => {
                let f: Vec<&str> = line.split('\t').collect();
                match f.as_slice() {
                    ["F", path, owner, group, mode, _size, hash] => {
                        let mode = u32::from_str_radix(mode, 8).map_err(|_| format!("bad mode in `{line}`"))?;
                        let file = NodeFile {
                            owner: owner.to_string(),
                            group: group.to_string(),
                            mode,
                            sha256: Some(hash.to_string()),
                            content: None,
                        };
                        out.files.insert(path.to_string(), file);
                        last_file = Some(path.to_string());
                    }
                    ["B", path, b64] => {
                        if last_file.as_deref() != Some(*path) {
                            return Err(format!("content of {path} without its stat"));
                        }
                        let content = decode(b64)?;
                        if let Some(file) = out.files.get_mut(*path) {
                            file.content = Some(content);
                        }
                    }
                    ["D", path, owner, group, mode] => {
                        let mode = u32::from_str_radix(mode, 8).map_err(|_| format!("bad mode in `{line}`"))?;
                        let dir = NodeFile { owner: owner.to_string(), group: group.to_string(), mode, sha256: None, content: None };
                        out.files.insert(path.to_string(), dir);
                    }
                    ["E", path, why] => out.problems.push(format!("{path} is {why}")),
                    _ => return Err(format!("unexpected line `{line}`")),
                }
            }
            "password" => out.password = Some(line.trim().to_string()).filter(|s| !s.is_empty()),
            "" => {}
            name => {
                let text = String::from_utf8_lossy(&decode(line)?).into_owned();
                out.queries.insert(name.to_string(), text);
            }
        }
    }
    if out.password.as_deref() == Some("unreadable") {
        out.problems.push("/etc/shadow is not readable (hacluster's password state)".into());
    }
    Ok(out)
}

fn query_command(name: &str) -> String {
    QUERIES.iter().find(|(n, _)| *n == name).map(|(_, c)| c.to_string()).unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_valid_bash_and_only_reads() {
        let script = script();
        assert!(!PASSWORD_STATE.contains('\''), "the script quotes the password check in single quotes");
        let check = std::process::Command::new("bash").args(["-n", "-c", &script]).output().unwrap();
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
        for writer in [" > /", ">>", "rm ", "mv ", "cp ", "tee ", "chmod", "chown", "--replace", "--modify", "--delete", "cibadmin -R"] {
            assert!(!script.contains(writer), "the capture script must only read: found `{writer}`");
        }
    }

    #[test]
    fn the_script_runs_on_this_machine_and_its_output_reads_back() {
        let dir = std::env::temp_dir().join(format!("pcmk-capture-script-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        let bytes: Vec<u8> = (0..=255u8).collect();
        std::fs::write(dir.join("key"), &bytes).unwrap();
        std::fs::write(dir.join("d/a"), "").unwrap();
        let (key, glob) = (dir.join("key").display().to_string(), format!("{}/d/*", dir.display()));
        let out = std::process::Command::new("bash").args(["-c", &script_for(&[&key, &glob])]).output().unwrap();
        let parsed = parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(parsed.complete, "{}", String::from_utf8_lossy(&out.stdout));
        assert!(parsed.password.is_some());
        let file = &parsed.files[&key];
        assert_eq!(file.content.as_deref(), Some(&bytes[..]), "content round-trips byte for byte");
        assert_eq!(file.sha256.as_deref().map(str::len), Some(64));
        assert_eq!(parsed.files[&format!("{}/d/a", dir.display())].content.as_deref(), Some(&b""[..]), "an empty file is a file");
    }

    #[test]
    fn the_script_dumps_the_header_of_every_device_sbd_names() {
        let dir = std::env::temp_dir().join(format!("pcmk-capture-sbd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("sbd");
        std::fs::write(&conf, "#SBD_DEVICE=/dev/old\nSBD_DEVICE=\" /dev/a ;/dev/b\"\nSBD_PACEMAKER=yes\n").unwrap();
        // A stand-in sbd that prints a header as `sbd -d DEV dump` does.
        let fake = dir.join("bin");
        std::fs::create_dir_all(&fake).unwrap();
        std::fs::write(fake.join("sbd"), "#!/bin/sh\necho \"==Dumping header on disk $2\"\necho 'Timeout (msgwait)  : 10'\n").unwrap();
        std::fs::set_permissions(fake.join("sbd"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let script = script_with(&[], &[&conf.display().to_string()]);
        let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap_or_default());
        let out = std::process::Command::new("bash").args(["-c", &script]).env("PATH", path).output().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let parsed = parse(&String::from_utf8_lossy(&out.stdout)).unwrap();
        assert!(parsed.complete, "{}", String::from_utf8_lossy(&out.stdout));
        let dump = &parsed.queries[SBD_DUMP];
        assert!(dump.contains("on disk /dev/a\n") && dump.contains("on disk /dev/b\n") && !dump.contains("/dev/old"), "{dump}");
    }

    #[test]
    fn output_is_read_with_every_problem_named() {
        let conf = base64::engine::general_purpose::STANDARD.encode("totem {\n}\n");
        let text = format!(
            "### files\nF\t/etc/corosync/corosync.conf\troot\troot\t644\t10\tabc\nB\t/etc/corosync/corosync.conf\t{conf}\n\
             E\t/etc/corosync/authkey\tnot readable\nD\t/etc/corosync\troot\troot\t755\n\
             ### missing\tnft\tnft\n### cib\nPGNpYi8+\n### status\tcib\t0\n### cmap\n\n### status\tcmap\t1\n### password\nlocked\n### end\n"
        );
        let out = parse(&text).unwrap();
        assert!(out.complete);
        let conf = &out.files["/etc/corosync/corosync.conf"];
        assert_eq!((conf.mode, conf.sha256.as_deref(), conf.content.as_deref()), (0o644, Some("abc"), Some(&b"totem {\n}\n"[..])));
        assert_eq!(out.queries["cib"], "<cib/>");
        assert!(!out.queries.contains_key("cmap"));
        assert_eq!(out.password.as_deref(), Some("locked"));
        assert_eq!(
            out.problems,
            vec![
                "/etc/corosync/authkey is not readable".to_string(),
                "`nft` is not installed (needed for nft)".to_string(),
                "`corosync-cmapctl` failed (exit 1)".to_string()
            ]
        );
        assert!(!parse("### files\nF\t/x\troot\n").is_ok_and(|o| o.complete), "a cut-off stream is never complete");
    }
}
