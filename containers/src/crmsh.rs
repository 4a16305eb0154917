//! `crm configure show` text as a candidate: the real crmsh converts it to a
//! CIB in a throwaway node container with no network (`crm configure load
//! replace` against a file CIB, `CIB_file`, as crmsh does offline), and the
//! result is cached by the text's hash, so the next `lint` of the same text
//! needs no engine. Both the current syntax and the older
//! `property $id="…" \` with quoted values are crmsh's own to read.
//!
//! Texts as users have them, not only as `crm configure show` prints them:
//! - agents the lab image lacks (`ocf:suse:SAPHana`, `ocf:linbit:drbd`,
//!   `lsb:postgresql`) are no reason to refuse: crmsh's own relaxed checking
//!   (`core.ignore_missing_metadata`, `core.check_frequency=never`) keeps
//!   their class, provider, type and parameters as written;
//! - a second `property` (`rsc_defaults`, `op_defaults`) statement is merged
//!   into the set as crmsh's interactive `configure` and `load update` do
//!   (the later value wins): such statements are loaded with `load update`
//!   after the rest, which `load replace` would refuse as "Duplicate resource";
//! - crmsh's messages are taken without colour (`-R`, and any escape that
//!   remains is stripped), pinned to the line of the user's text, with
//!   credential values masked.
//!
//! Loading is synchronous and reads the cache; the conversion needs the
//! engine: `crmsh_engine::convert` runs crmsh, and this module, which runs
//! nothing, plans what it runs and reads what crmsh said. A load notes the
//! texts it found unconverted (`unconverted_during`), so the caller converts
//! them and loads again.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest as _;

use crate::error::InputError;
use crate::session::ExecOutput;

/// Keywords that open a `crm configure show` statement (crmsh/parse.py);
/// `xml` is how `show` prints an element it cannot render as a statement.
const STATEMENTS: &[&str] = &[
    "node",
    "primitive",
    "group",
    "clone",
    "ms",
    "master",
    "bundle",
    "template",
    "rsc_template",
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
    "xml",
];

/// Statements that add to a set of name=value pairs: a second one with the
/// same set merges into it in crmsh's interactive `configure`.
const NVSETS: &[&str] = &["property", "rsc_defaults", "op_defaults"];

/// Bump when the conversion can make a different CIB of the same text.
const CONVERTER: &str = "crmsh-load-v2";

/// One statement as crmsh reads it (`utils.lines2cli`): lines ending in `\`
/// joined, each part stripped, empty ones dropped; comments count.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Logical {
    /// 1-based lines of the text it spans.
    first: usize,
    last: usize,
    text: String,
}

fn logical_lines(text: &str) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut joined = String::new();
    let mut first = None;
    for (index, raw) in text.split('\n').enumerate() {
        let part = raw.trim();
        let continued = part.ends_with('\\');
        let part = if continued { part.trim_end_matches('\\') } else { part };
        if first.is_none() && !part.is_empty() {
            first = Some(index + 1);
        }
        joined.push_str(part);
        if !continued {
            if !joined.trim().is_empty() {
                out.push(Logical { first: first.unwrap_or(index + 1), last: index + 1, text: joined.trim().to_string() });
            }
            joined.clear();
            first = None;
        }
    }
    if !joined.is_empty() {
        let lines = text.split('\n').count();
        out.push(Logical { first: first.unwrap_or(lines), last: lines, text: joined });
    }
    out
}

fn first_word(statement: &str) -> &str {
    statement.split_whitespace().next().unwrap_or_default()
}

fn opens_statement(statement: &str) -> bool {
    STATEMENTS.contains(&first_word(statement))
}

/// Whether `text` is crmsh configuration text (rather than a corosync.conf,
/// a README, …): its first statement and at least three in four of the
/// others open with a `crm configure` keyword, one of them sets a
/// `name=value`, and none is a `section {`.
pub fn is_crm_text(text: &str) -> bool {
    let statements: Vec<Logical> = logical_lines(text).into_iter().filter(|l| !l.text.starts_with('#')).collect();
    let Some(first) = statements.first() else { return false };
    let section = |s: &Logical| {
        let word = first_word(&s.text);
        word == "totem" || word.ends_with('{') || s.text.split_whitespace().nth(1) == Some("{")
    };
    if !opens_statement(&first.text) || statements.iter().any(section) {
        return false;
    }
    let known: Vec<&Logical> = statements.iter().filter(|s| opens_statement(&s.text)).collect();
    let sets_a_value = |s: &&Logical| {
        s.text.split_whitespace().any(|word| {
            word.split_once('=').is_some_and(|(name, _)| {
                let name = name.trim_start_matches('$');
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            })
        })
    };
    known.len() * 4 >= statements.len() * 3 && known.iter().any(sets_a_value)
}

/// Whether a file's content is crm text (UTF-8, not XML).
pub fn is_crm_bytes(content: &[u8]) -> bool {
    std::str::from_utf8(content).is_ok_and(|text| !text.trim_start().starts_with('<') && is_crm_text(text))
}

fn key(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("{CONVERTER}\0{text}").as_bytes()))
}

fn cached_file(text: &str) -> Option<PathBuf> {
    Some(crate::cache::dir()?.join("crmsh").join(format!("{}.xml", key(text))))
}

/// Conversions made by this process: they count even where the cache
/// directory cannot be written.
static CONVERTED: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// The CIB crmsh made of this text before, if any.
pub fn cached(text: &str) -> Option<String> {
    if let Some(cib) = CONVERTED.lock().unwrap_or_else(|e| e.into_inner()).get(&key(text)) {
        return Some(cib.clone());
    }
    std::fs::read_to_string(cached_file(text)?).ok()
}

/// Takes `cib` as what crmsh made of `text` (tests of loading, without the engine).
#[cfg(test)]
pub(crate) fn remember(text: &str, cib: &str) {
    CONVERTED.lock().unwrap_or_else(|e| e.into_inner()).insert(key(text), cib.to_string());
}

/// Crm text a load met that crmsh has not converted yet.
#[derive(Clone)]
pub struct Unconverted {
    /// The file as messages name it (`dir/file`, `archive:member`).
    pub source: PathBuf,
    pub text: String,
}

impl std::fmt::Debug for Unconverted {
    // The text may hold credentials: only its size is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Unconverted({}, {} bytes)", self.source.display(), self.text.len())
    }
}

thread_local! {
    static NOTED: RefCell<Option<Vec<Unconverted>>> = const { RefCell::new(None) };
}

/// Runs a load (`Candidate::load`) and returns, beside its result, the crm
/// texts it found that crmsh has not converted yet: convert them
/// (`crmsh_engine::convert`) and load again.
pub fn unconverted_during<T>(load: impl FnOnce() -> T) -> (T, Vec<Unconverted>) {
    let outer = NOTED.with(|n| n.replace(Some(Vec::new())));
    let result = load();
    let noted = NOTED.with(|n| n.replace(outer)).unwrap_or_default();
    (result, noted)
}

/// The CIB crmsh made of `text` (the candidate file `source`): from this
/// process's conversions or the cache; else an input error, and the text is
/// noted for the caller that converts (`unconverted_during`).
pub fn cib_of(text: &str, source: &Path) -> Result<String, InputError> {
    if let Some(cib) = cached(text) {
        return Ok(cib);
    }
    NOTED.with(|n| {
        if let Some(noted) = n.borrow_mut().as_mut() {
            noted.push(Unconverted { source: source.to_path_buf(), text: text.to_string() });
        }
    });
    Err(InputError::new(
        source,
        None,
        "crm configure show text, which crmsh has not converted to a CIB yet (pcmk-comply converts it with the Docker engine)",
    ))
}

/// A file placed at the CIB's path: crm text there becomes the CIB crmsh
/// made of it, with its source named as such. None: not crm text.
pub(crate) fn as_cib(content: &[u8], source: &Path) -> Result<Option<(Vec<u8>, PathBuf)>, InputError> {
    if !is_crm_bytes(content) {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(content);
    let cib = cib_of(&text, source)?;
    Ok(Some((cib.into_bytes(), converted_source(source))))
}

/// How the CIB crmsh made of a file is named: its lines are not the file's.
pub fn converted_source(source: &Path) -> PathBuf {
    format!("{} (the CIB crmsh made of it)", source.display()).into()
}

/// One `crm configure load` of the conversion: the first replaces the empty
/// CIB with the text, the others (one repeated set statement each) update it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Load {
    text: String,
    /// The user's line of each statement crmsh counts in this load (its `N:`).
    lines: Vec<usize>,
}

/// The text as loads: every statement in the first, in place, except a
/// second or later `property`/`rsc_defaults`/`op_defaults`, each of which
/// follows in a load of its own (`load update` merges it into the set, or
/// makes the set when its id is new). Moved statements' lines are left
/// blank, so the first load keeps the text's line numbers.
fn plan(text: &str) -> Vec<Load> {
    let logical = logical_lines(text);
    let mut physical: Vec<&str> = text.split('\n').collect();
    let mut seen = Vec::new();
    let mut later = Vec::new();
    for statement in &logical {
        let word = first_word(&statement.text);
        if !NVSETS.contains(&word) {
            continue;
        }
        if !seen.contains(&word) {
            seen.push(word);
            continue;
        }
        let lines = &physical[statement.first - 1..statement.last];
        later.push(Load { text: format!("{}\n", lines.join("\n")), lines: vec![statement.first] });
        for line in &mut physical[statement.first - 1..statement.last] {
            *line = "";
        }
    }
    let main = physical.join("\n");
    let lines = logical_lines(&main).iter().map(|l| l.first).collect();
    std::iter::once(Load { text: main, lines }).chain(later).collect()
}

const MARK: &str = "@@pcmk-comply";

/// crmsh's options: no colour and a line number on each message (`-R`),
/// changes committed without asking (`-F`), agents the image lacks accepted
/// as written and parameters not checked against agents' metadata.
const CRM: &str = "crm -R -F -o core.ignore_missing_metadata=yes -o core.check_frequency=never configure load";

fn script(loads: usize) -> String {
    let mut script = String::from(
        "export HOME=/tmp XDG_CACHE_HOME=/tmp/.cache XDG_CONFIG_HOME=/tmp/.config CIB_file=/tmp/cib.xml NO_COLOR=1 TERM=dumb\n\
         cibadmin --empty > /tmp/cib.xml || exit 1\n",
    );
    for n in 0..loads {
        let method = if n == 0 { "replace" } else { "update" };
        script.push_str(&format!(
            "echo '{MARK} load {n}' >&2\n{CRM} {method} /tmp/candidate-{n}.crm 1>&2 || {{ echo '{MARK} refused {n}' >&2; exit 3; }}\n"
        ));
    }
    script.push_str("cat /tmp/cib.xml\n");
    script
}

/// One conversion of a text as a tool container runs it: the text as loads,
/// each in a file of its own, and the script that loads them in turn. The
/// engine's part, running it, is `crmsh_engine::convert`; reading what
/// crmsh said and keeping the CIB are this module's.
pub(crate) struct Conversion {
    loads: Vec<Load>,
}

impl Conversion {
    pub(crate) fn of(text: &str) -> Self {
        Self { loads: plan(text) }
    }

    /// The files the container is given: one per load, as the script names them.
    pub(crate) fn files(&self) -> Vec<(String, &[u8])> {
        self.loads.iter().enumerate().map(|(n, load)| (format!("/tmp/candidate-{n}.crm"), load.text.as_bytes())).collect()
    }

    /// The script the container runs (`sh -c`): the CIB on its output, crmsh's words on its errors.
    pub(crate) fn script(&self) -> String {
        script(self.loads.len())
    }

    /// What crmsh made of `text` (the candidate file `source`), from the
    /// container's output: the CIB, kept for later loads (this process's
    /// and, in the cache directory, the next), or the input error in
    /// crmsh's words.
    pub(crate) fn outcome(&self, text: &str, source: &Path, out: ExecOutput) -> Result<String, InputError> {
        let said = refusals(&out.stderr, &self.loads, text);
        if !out.success() || !out.stdout.contains("<cib") || !said.is_empty() {
            return Err(refused(source, text, out.code, &out.stderr, &said));
        }
        if let Some(file) = cached_file(text) {
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            // A cache that cannot be written only costs a conversion next time.
            let _ = std::fs::write(&file, &out.stdout);
        }
        CONVERTED.lock().unwrap_or_else(|e| e.into_inner()).insert(key(text), out.stdout.clone());
        Ok(out.stdout)
    }
}

/// An error crmsh reported about the text, at the user's line where known.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Said {
    line: Option<usize>,
    message: String,
}

/// What crmsh said was wrong with the text, in its words. Pacemaker's own
/// verdict on the configuration (`crm_verify`: no fencing, …) is the
/// policy's to judge, not a reason to refuse the text; so are agents the
/// image lacks.
fn refusals(stderr: &str, loads: &[Load], text: &str) -> Vec<Said> {
    let mut said = Vec::new();
    let mut exceptions = Vec::new();
    let mut load = 0;
    let mut in_traceback = false;
    for line in strip_ansi(stderr).lines() {
        if let Some(n) = line.strip_prefix(&format!("{MARK} load ")).and_then(|n| n.trim().parse().ok()) {
            load = n;
            continue;
        }
        if line.starts_with("Traceback (most recent call last)") {
            in_traceback = true;
            continue;
        }
        if in_traceback {
            if !line.starts_with(char::is_whitespace) {
                // The exception's own line ends a traceback: crmsh failed on the text.
                in_traceback = false;
                exceptions.push((load, line.trim().to_string()));
            }
            continue;
        }
        let Some(error) = line.strip_prefix("ERROR: ") else { continue };
        let (number, message) = match error.split_once(": ") {
            Some((n, rest)) if n.parse::<usize>().is_ok() => (n.parse::<usize>().ok(), rest.trim()),
            _ => (None, error.trim()),
        };
        let pacemakers = message.starts_with('(') || message.starts_with("crm_verify:");
        let missing_agent = message.contains("got no meta-data") || message.ends_with("no such resource agent");
        if pacemakers || missing_agent {
            continue;
        }
        let line = number.and_then(|n| loads.get(load)?.lines.get(n.checked_sub(1)?).copied());
        said.push(Said { line: line.or_else(|| located(message, load, loads, text)), message: message.to_string() });
    }
    // crmsh says an exception it caught as an ERROR too: once is enough.
    let tail = |m: &str| m.rsplit(": ").next().unwrap_or_default().to_string();
    for (load, exception) in exceptions {
        if !said.iter().any(|s| tail(&s.message) == tail(&exception)) {
            said.push(Said { line: located(&exception, load, loads, text), message: format!("crmsh failed on it: {exception}") });
        }
    }
    said
}

/// The user's line of the statement a message without a line number is
/// about: the object it names first ("g refers to missing object x"), or
/// the statement whose quotes do not close.
fn located(message: &str, load: usize, loads: &[Load], text: &str) -> Option<usize> {
    // The first load keeps the text's lines; a later one is one statement, from its line on.
    let (statements, offset) = match loads.get(load) {
        Some(l) if load > 0 => (logical_lines(&l.text), l.lines.first().copied().unwrap_or(1)),
        _ => (logical_lines(text), 1),
    };
    let found = if message.contains("No closing quotation") {
        statements.iter().find(|s| s.text.matches('"').count() % 2 == 1)
    } else {
        let object = message.split([' ', ':']).next()?;
        statements.iter().find(|s| s.text.split_whitespace().nth(1).map(|id| id.trim_end_matches(':')) == Some(object))
    };
    found.map(|s| s.first + offset - 1)
}

/// The input error for a text crmsh refused: its words, at the user's line,
/// credentials masked.
fn refused(source: &Path, text: &str, code: i64, stderr: &str, said: &[Said]) -> InputError {
    let secrets = credentials(text);
    let clean = |message: &str| redact(&strip_ansi(message), &secrets);
    let Some(first) = said.first() else {
        // No words of crmsh's to quote: its last lines, with nothing of ours.
        let tail: Vec<String> = strip_ansi(stderr)
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with(MARK) && !l.starts_with(".EXT") && !l.starts_with(".INP"))
            .map(|l| clean(l.trim()))
            .collect();
        let tail = tail[tail.len().saturating_sub(5)..].join("; ");
        return InputError::new(source, None, format!("crmsh could not load this text (exit {code}): {tail}"));
    };
    let mut message = format!("crmsh refused this text: {}", clean(&first.message));
    let more: Vec<String> = said[1..]
        .iter()
        .take(4)
        .map(|s| match s.line {
            Some(line) => format!("line {line}: {}", clean(&s.message)),
            None => clean(&s.message),
        })
        .collect();
    if !more.is_empty() {
        message.push_str(&format!("; also {}", more.join("; ")));
    }
    InputError::new(source, first.line, message)
}

/// Removes terminal escape sequences (crmsh colours `ERROR` red on its own).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Words in a parameter's name that make its value a credential (broader
/// than the policy's: a message masks what might be one).
const CREDENTIAL_WORDS: &[&str] =
    &["passw", "passphrase", "secret", "token", "apikey", "api_key", "community", "privkey", "psk", "key", "pass", "pwd"];

fn is_credential_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|w| name.contains(w)) || name == "pw" || name.ends_with("_pw") || name == "kg"
}

/// Values in the text that may be credentials: those of parameters so
/// named, and passwords in URIs.
fn credentials(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    for statement in logical_lines(text) {
        for (name, value) in pairs(&statement.text) {
            if is_credential_name(&name) && !value.is_empty() {
                values.push(value);
            }
        }
        for word in statement.text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            if let Some(password) = uri_password(word) {
                values.push(password.to_string());
            }
        }
    }
    // Longest first, so a value containing another is masked whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    values
}

/// `name=value` pairs of a statement, quotes removed.
fn pairs(statement: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = statement;
    while let Some(eq) = rest.find('=') {
        let name_start = rest[..eq].rfind(|c: char| c.is_whitespace()).map_or(0, |i| i + 1);
        let name = rest[name_start..eq].trim_start_matches('$').to_string();
        let after = &rest[eq + 1..];
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => (after[1..end + 1].to_string(), &after[end + 2..]),
                None => (after[1..].to_string(), ""),
            },
            _ => {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (after[..end].to_string(), &after[end..])
            }
        };
        out.push((name, value));
        rest = next;
    }
    out
}

/// `scheme://user:password@host…`: the password.
fn uri_password(word: &str) -> Option<&str> {
    let (_, rest) = word.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// A message with every credential masked as crmsh masks them (`******`):
/// the values of parameters named as credentials, wherever they appear.
fn redact(message: &str, secrets: &[String]) -> String {
    let mut out = message.to_string();
    for secret in secrets {
        out = out.replace(secret.as_str(), "******");
    }
    // A credential-named pair the text spells differently from the message (quotes).
    let mut masked = String::with_capacity(out.len());
    for (i, word) in out.split(' ').enumerate() {
        if i > 0 {
            masked.push(' ');
        }
        match word.split_once('=') {
            Some((name, value)) if is_credential_name(name.trim_start_matches(['\'', '"', '$'])) && !value.is_empty() => {
                let closing = if value.ends_with('\'') && !value.starts_with('\'') { "'" } else { "" };
                masked.push_str(&format!("{name}=******{closing}"));
            }
            _ => masked.push_str(word),
        }
    }
    masked
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
        assert!(is_crm_text(
            "# made by crm configure show\nnode alpha\nprimitve vip IPaddr2\nprimitive app Dummy\nproperty stonith-enabled=true\n"
        ));
        assert!(!is_crm_text("totem {\n version: 2\n}\nnodelist {\n node {\n  ring0_addr: a\n }\n}\n"));
        assert!(!is_crm_text("# nothing\n"));
        // Prose that happens to hold a keyword is no configuration.
        assert!(!is_crm_text("Notes on the cluster\norder matters here:\nfirst the database, then the address\n"));
        assert!(!is_crm_text("node 1 is the primary\nsee the wiki for the rest\nand ask ops\n"));
        assert!(!is_crm_text("# Notes\norder matters: first the database\n"));
    }

    #[test]
    fn statements_are_counted_as_crmsh_counts_them() {
        let text = "node 1: a\n\n# a comment\nprimitive vip IPaddr2 \\\n\tparams ip=10.0.0.1 \\\n\top monitor interval=10s\nproperty x=1\n";
        let logical = logical_lines(text);
        assert_eq!(logical.iter().map(|l| (l.first, l.last)).collect::<Vec<_>>(), vec![(1, 1), (3, 3), (4, 6), (7, 7)]);
        assert_eq!(logical[2].text, "primitive vip IPaddr2 params ip=10.0.0.1 op monitor interval=10s");
    }

    #[test]
    fn repeated_sets_are_loaded_after_the_rest_and_lines_keep_their_numbers() {
        let text = "node 1: a\nproperty cib-bootstrap-options: \\\n\tstonith-enabled=true\nrsc_defaults rsc-options: \\\n\tresource-stickiness=1\n\
                    primitive vip IPaddr2\nproperty cib-bootstrap-options: \\\n\tstonith-timeout=150s\nproperty no-quorum-policy=ignore\n\
                    op_defaults timeout=600\nrsc_defaults migration-threshold=3\ncolocation c inf vip a\n";
        let loads = plan(text);
        assert_eq!(loads.len(), 4, "{loads:#?}");
        // The first load: every statement but the repeated sets, on its own lines.
        assert_eq!(loads[0].lines, vec![1, 2, 4, 6, 10, 12]);
        assert_eq!(loads[0].text.lines().count(), text.lines().count());
        assert!(!loads[0].text.contains("stonith-timeout") && !loads[0].text.contains("migration-threshold"));
        // Then each repeated one, in the text's order (the later value wins), at its own line.
        assert_eq!(loads[1], Load { text: "property cib-bootstrap-options: \\\n\tstonith-timeout=150s\n".into(), lines: vec![7] });
        assert_eq!(loads[2], Load { text: "property no-quorum-policy=ignore\n".into(), lines: vec![9] });
        assert_eq!(loads[3], Load { text: "rsc_defaults migration-threshold=3\n".into(), lines: vec![11] });
        // One set statement of each kind: one load, the text as it is.
        let once = "node 1: a\nproperty stonith-enabled=true\nrsc_defaults resource-stickiness=1\n";
        assert_eq!(plan(once), vec![Load { text: once.into(), lines: vec![1, 2, 3] }]);
    }

    #[test]
    fn terminal_colours_are_stripped() {
        assert_eq!(strip_ansi("\u{1b}[31mERROR\u{1b}[0m: 5: syntax"), "ERROR: 5: syntax");
        assert_eq!(strip_ansi("\u{1b}[1;33mWARNING\u{1b}[0m: x\u{1b}]0;title\u{7}"), "WARNING: x");
        assert_eq!(strip_ansi("plain: ok"), "plain: ok");
    }

    const REFUSED: &str = "node 1: a\n\
        primitive st-ipmi stonith:fence_ipmilan \\\n\tparams ipaddr=10.0.0.9 login=admin passwd=\"Pg-Secret-77\" \\\n\top\n\
        colocation c inf vip st-ipmi\n";

    #[test]
    fn crmsh_refusals_name_the_users_line_without_colour_or_credentials() {
        let loads = plan(REFUSED);
        // crmsh 4.4.1's words (`crm -F configure load replace`), coloured as on a terminal.
        let stderr = "@@pcmk-comply load 0\n.EXT crm_resource --show-metadata stonith:fence_ipmilan\n\
            \u{1b}[31mERROR\u{1b}[0m: 2: syntax in primitive: Expected identifier parsing 'primitive st-ipmi stonith:fence_ipmilan params ipaddr=10.0.0.9 login=admin passwd=Pg-Secret-77 op'\n\
            ERROR: 3: syntax in colocation: Expected <score>: near <inf> parsing 'colocation c inf vip st-ipmi'\n\
            ERROR: (unpack_resources) \terror: Resource start-up disabled since no STONITH resources have been defined\n\
            ERROR: crm_verify: Errors found during check: config not valid\n\
            ERROR: ocf:suse:SAPHana: got no meta-data, does this RA exist?\n\
            @@pcmk-comply refused 0\n";
        let said = refusals(stderr, &loads, REFUSED);
        assert_eq!(said.iter().map(|s| s.line).collect::<Vec<_>>(), vec![Some(2), Some(5)], "{said:#?}");
        let e = refused(Path::new("forum.crm"), REFUSED, 3, stderr, &said);
        let shown = e.to_string();
        assert!(shown.starts_with("forum.crm:2: crmsh refused this text: syntax in primitive: Expected identifier"), "{shown}");
        assert!(shown.contains("line 5: syntax in colocation"), "{shown}");
        assert!(shown.contains("passwd=******"), "{shown}");
        assert!(!shown.contains("Pg-Secret-77") && !shown.contains('\u{1b}') && !shown.contains("STONITH"), "{shown}");
    }

    #[test]
    fn messages_without_a_line_number_are_placed_by_what_they_name() {
        let text = "node 1: a\nprimitive x Dummy\ngroup g x nosuch\nprimitive y Dummy \\\n\tparams a=\"open\n";
        let loads = plan(text);
        let stderr = "@@pcmk-comply load 0\nERROR: g refers to missing object nosuch\nTraceback (most recent call last):\n  File \"x\", line 1\nValueError: No closing quotation\nERROR: configure.load: No closing quotation\n";
        let said = refusals(stderr, &loads, text);
        assert_eq!(said[0], Said { line: Some(3), message: "g refers to missing object nosuch".into() });
        assert_eq!(said.len(), 2, "an exception said twice is one refusal: {said:#?}");
        assert_eq!(said[1].line, Some(4), "{said:#?}");
        assert!(said[1].message.contains("No closing quotation"), "{said:#?}");
    }

    #[test]
    fn credentials_are_masked_wherever_they_appear() {
        let text = "primitive st stonith:fence_ipmilan params passwd=\"two words\" login=admin ip=10.0.0.9\n\
                    primitive web apache params statusurl=\"http://mon:Url-Pw-9@127.0.0.1/status\"\n";
        let secrets = credentials(text);
        assert_eq!(redact("parsing 'passwd=two words login=admin'", &secrets), "parsing 'passwd=****** login=admin'");
        assert_eq!(redact("url http://mon:Url-Pw-9@127.0.0.1/status", &secrets), "url http://mon:******@127.0.0.1/status");
        assert_eq!(redact("parsing 'primitive x params password=Other1'", &secrets), "parsing 'primitive x params password=******'");
        assert_eq!(redact("ip=10.0.0.9", &secrets), "ip=10.0.0.9");
    }
}
