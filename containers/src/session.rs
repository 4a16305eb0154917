//! Shells kept open in a node, through which the harness runs its root
//! commands. On this machine's engine a `docker exec` costs about 110–120 ms
//! of CPU (create, runc, inspect); the same command in an open shell costs the
//! command's own start (2.5–12 ms for `/bin/true` through fuse-overlayfs,
//! depending on the machine) and a few writes.

use std::pin::Pin;

use anyhow::{anyhow, bail, Context};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::{Stream, StreamExt};
use rand::RngCore;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Output of a command run in a node.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Output kept from one command run in a node; more is cut, so a hostile
/// candidate cannot fill the harness's memory through a node's output.
pub(crate) const MAX_EXEC_OUTPUT: usize = 8 * 1024 * 1024;

pub(crate) fn append_bounded(buffer: &mut Vec<u8>, bytes: &[u8]) {
    let room = MAX_EXEC_OUTPUT.saturating_sub(buffer.len());
    buffer.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

pub(crate) struct Session {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: Output,
    frames: Frames,
}

/// Why a command in a shell failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ShellError {
    /// The shell had ended before it read the command (its node stopped or
    /// restarted): the command did not run, and may run in a new shell.
    #[error("the node's shell had ended before the command (the node stopped or restarted)")]
    Stale,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Made once a container's files are in place; the node image's boot waits for it.
pub(crate) const DELIVERED: &str = "/etc/pcmk-comply/delivered";

/// Reads NUL-terminated command lines, runs each, prints its stdout, the
/// marker and exit code, its stderr (kept in a file, as the two streams'
/// frames may arrive out of order), and the marker again. `$1` is the marker.
/// Given `$2` and `$3`, it first unpacks the `$2`-byte tar that comes first on
/// its input at `/`, makes the file `$3`, and answers as for a command.
const LOOP: &str = r#"err=$(mktemp); trap 'rm -f "$err"' EXIT
report() { printf '\n%s %d\n' "$1" "$2"; [ -s "$err" ] && cat "$err"; printf '\n%s\n' "$1"; }
[ -z "${2:-}" ] || { head -c "$2" | tar -x -C / 2>"$err" && : > "$3"; report "$1" $?; }
while IFS= read -r -d '' line; do
  eval "$line" </dev/null 2>"$err"; report "$1" $?
done"#;

impl Session {
    pub(crate) async fn open(docker: &Docker, container: &str) -> anyhow::Result<Session> {
        Session::start(docker, container, &[]).await
    }

    /// A shell that first unpacks `archive` at `/` of the container and marks it
    /// delivered (`DELIVERED`). The bytes go through the shell's input, so they
    /// never show in a process's arguments or in a log.
    pub(crate) async fn open_delivering(docker: &Docker, container: &str, archive: &[u8]) -> anyhow::Result<Session> {
        let mut shell = Session::start(docker, container, &[archive.len().to_string(), DELIVERED.to_string()]).await?;
        shell.input.write_all(archive).await?;
        shell.input.flush().await?;
        let out = shell.next_output().await?;
        if !out.success() {
            bail!("unpacking the files failed (exit {}): {}", out.code, out.stderr.trim());
        }
        Ok(shell)
    }

    async fn start(docker: &Docker, container: &str, delivery: &[String]) -> anyhow::Result<Session> {
        let mut bytes = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut bytes);
        let marker = format!("pcmk-comply-end-{}", hex::encode(bytes));
        let mut cmd = vec!["bash".to_string(), "-c".into(), LOOP.into(), "session".into(), marker.clone()];
        cmd.extend_from_slice(delivery);
        let config = CreateExecOptions {
            cmd: Some(cmd),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            user: Some("root".into()),
            ..Default::default()
        };
        let exec = docker.create_exec(container, config).await?;
        match docker.start_exec(&exec.id, None).await? {
            StartExecResults::Attached { output, input } => Ok(Session { input, output, frames: Frames::new(&marker) }),
            StartExecResults::Detached => bail!("the engine did not attach to the shell in {container}"),
        }
    }

    /// Runs `cmd` (a program and its arguments, no shell syntax) as root.
    /// An empty command goes first: its answer proves the shell was alive
    /// when it read `cmd`, without a round trip of its own.
    pub(crate) async fn run(&mut self, cmd: &[&str]) -> Result<ExecOutput, ShellError> {
        let line: Vec<String> = cmd.iter().map(|word| shell_quote(word)).collect();
        let written = async {
            self.input.write_all(format!("\0{}\0", line.join(" ")).as_bytes()).await?;
            self.input.flush().await
        };
        if written.await.is_err() {
            return Err(ShellError::Stale);
        }
        match self.next_output().await {
            Ok(ping) if ping.code == 0 && ping.stdout.is_empty() => {}
            Ok(_) => return Err(anyhow!("the node's shell answered out of turn").into()),
            Err(_) => return Err(ShellError::Stale),
        }
        Ok(self.next_output().await?)
    }

    async fn next_output(&mut self) -> anyhow::Result<ExecOutput> {
        loop {
            if let Some(done) = self.frames.take()? {
                return Ok(done);
            }
            match self.output.next().await {
                Some(Ok(LogOutput::StdOut { message })) => self.frames.push(&message),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("reading from the node's shell"),
                None => bail!("the node's shell ended (the node stopped or restarted)"),
            }
        }
    }
}

/// Splits the shell's stdout into commands' outputs: stdout up to
/// `\n<marker> `, the exit code up to `\n`, stderr up to `\n<marker>\n`.
/// Each part keeps at most `MAX_EXEC_OUTPUT` bytes, as `docker exec` output does.
struct Frames {
    head: Vec<u8>,
    tail: Vec<u8>,
    part: Part,
    pending: Vec<u8>,
    stdout: Vec<u8>,
    code: Vec<u8>,
    stderr: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Stdout,
    Code,
    Stderr,
}

impl Frames {
    fn new(marker: &str) -> Frames {
        Frames {
            head: format!("\n{marker} ").into_bytes(),
            tail: format!("\n{marker}\n").into_bytes(),
            part: Part::Stdout,
            pending: Vec::new(),
            stdout: Vec::new(),
            code: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
    }

    /// The next complete output, if it has all arrived.
    fn take(&mut self) -> anyhow::Result<Option<ExecOutput>> {
        loop {
            let needle: &[u8] = match self.part {
                Part::Stdout => &self.head,
                Part::Code => b"\n",
                Part::Stderr => &self.tail,
            };
            let (found_at, needle_len) = (find(&self.pending, needle), needle.len());
            let Some(end) = found_at else {
                // Keep only what could still start the needle; the rest is output.
                let settled = self.pending.len().saturating_sub(needle_len - 1);
                let rest = self.pending.split_off(settled);
                let settled = std::mem::replace(&mut self.pending, rest);
                append_bounded(self.sink(), &settled);
                if self.part == Part::Code && self.code.len() > 16 {
                    bail!("the node's shell sent no exit code");
                }
                return Ok(None);
            };
            let found: Vec<u8> = self.pending.drain(..end + needle_len).take(end).collect();
            append_bounded(self.sink(), &found);
            self.part = match self.part {
                Part::Stdout => Part::Code,
                Part::Code => Part::Stderr,
                Part::Stderr => {
                    self.part = Part::Stdout;
                    let code = std::str::from_utf8(&std::mem::take(&mut self.code)).ok().and_then(|c| c.parse().ok());
                    let code = code.ok_or_else(|| anyhow!("the node's shell sent no exit code"))?;
                    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
                    return Ok(Some(ExecOutput {
                        code,
                        stdout: text(std::mem::take(&mut self.stdout)),
                        stderr: text(std::mem::take(&mut self.stderr)),
                    }));
                }
            };
        }
    }

    fn sink(&mut self) -> &mut Vec<u8> {
        match self.part {
            Part::Stdout => &mut self.stdout,
            Part::Code => &mut self.code,
            Part::Stderr => &mut self.stderr,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Runs `cmd` by `docker exec` (as the harness does for users other than root).
pub async fn exec_in(docker: &Docker, container: &str, user: &str, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
    let config = CreateExecOptions {
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        user: Some(user.to_string()),
        ..Default::default()
    };
    let exec = docker.create_exec(container, config).await?;
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    if let StartExecResults::Attached { mut output, .. } = docker.start_exec(&exec.id, None).await? {
        while let Some(chunk) = output.next().await {
            match chunk? {
                bollard::container::LogOutput::StdOut { message } => append_bounded(&mut stdout, &message),
                bollard::container::LogOutput::StdErr { message } => append_bounded(&mut stderr, &message),
                _ => {}
            }
        }
    }
    let code = docker.inspect_exec(&exec.id).await?.exit_code.unwrap_or(-1);
    Ok(ExecOutput { code, stdout: String::from_utf8_lossy(&stdout).into_owned(), stderr: String::from_utf8_lossy(&stderr).into_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_image_boots_once_the_files_are_delivered() {
        assert!(include_str!("../image/Dockerfile.in").contains(&format!("until [ -e {DELIVERED} ]")));
    }

    #[test]
    fn quoting_keeps_every_word_whole() {
        assert_eq!(shell_quote("it's a $HOME `x`"), r"'it'\''s a $HOME `x`'");
    }

    #[test]
    fn output_is_taken_only_once_complete() {
        let mut frames = Frames::new("M");
        frames.push(b"<xml/>\n\nM 102\nwarn");
        assert!(frames.take().unwrap().is_none(), "stderr is not complete yet");
        frames.push(b"ing\n\nM\nnext\n\nM 0");
        let out = frames.take().unwrap().unwrap();
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (102, "<xml/>\n", "warning\n"));
        assert!(frames.take().unwrap().is_none(), "the next command is not complete yet");
        frames.push(b"\n\nM\n");
        let out = frames.take().unwrap().unwrap();
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "next\n", ""), "the next command's bytes were kept");
    }

    #[test]
    fn a_marker_split_across_reads_is_found() {
        let mut frames = Frames::new("MARK");
        for byte in b"out\nMAR".iter().chain(b"\nMARK 3\n\nMARK\n") {
            if let Some(out) = frames.take().unwrap() {
                panic!("taken too early: {}", out.stdout);
            }
            frames.push(&[*byte]);
        }
        let out = frames.take().unwrap().unwrap();
        assert_eq!((out.code, out.stdout.as_str()), (3, "out\nMAR"));
    }

    #[test]
    fn a_flood_is_cut_and_the_next_frame_still_found() {
        let mut frames = Frames::new("M");
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..12 {
            frames.push(&chunk);
            assert!(frames.take().unwrap().is_none());
            assert!(frames.pending.len() < 16, "settled bytes leave the buffer");
        }
        frames.push(b"\nM 0\n\nM\n");
        let out = frames.take().unwrap().unwrap();
        assert_eq!(out.stdout.len(), MAX_EXEC_OUTPUT);
    }
}
