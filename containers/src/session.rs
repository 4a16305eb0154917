//! A shell kept open in a node for the commands the harness runs several times
//! a second (status polls). On this machine's engine a `docker exec` costs
//! about 130 ms of CPU (create, runc, inspect) and the same command in an open
//! shell about 50 ms; polls were most of a cluster start's CPU.

use std::pin::Pin;

use anyhow::{anyhow, bail, Context};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::{Stream, StreamExt};
use rand::RngCore;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::cluster::ExecOutput;

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;

pub(crate) struct Session {
    input: Pin<Box<dyn AsyncWrite + Send>>,
    output: Output,
    /// Ends each command's output; random, so no command's output can fake it.
    marker: String,
    /// Bytes read past the last command's end.
    pending: Vec<u8>,
}

/// Reads a command line, runs it, prints its stdout, the marker and exit
/// code, its stderr (kept in a file, as the two streams' frames may arrive out
/// of order), then the marker again.
const LOOP: &str = r#"err=$(mktemp); trap 'rm -f "$err"' EXIT
while IFS= read -r line; do
  eval "$line" </dev/null 2>"$err"; code=$?
  printf '\n%s %d\n' "$1" "$code"; cat "$err"; printf '\n%s\n' "$1"
done"#;

impl Session {
    pub(crate) async fn open(docker: &Docker, container: &str) -> anyhow::Result<Session> {
        let mut bytes = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut bytes);
        let marker = format!("pcmk-comply-end-{}", hex::encode(bytes));
        let config = CreateExecOptions {
            cmd: Some(vec!["bash".into(), "-c".into(), LOOP.into(), "session".into(), marker.clone()]),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            user: Some("root".into()),
            ..Default::default()
        };
        let exec = docker.create_exec(container, config).await?;
        match docker.start_exec(&exec.id, None).await? {
            StartExecResults::Attached { output, input } => Ok(Session { input, output, marker, pending: Vec::new() }),
            StartExecResults::Detached => bail!("the engine did not attach to the shell in {container}"),
        }
    }

    /// Runs `cmd` (words, quoted for the shell here) and collects its output.
    pub(crate) async fn run(&mut self, cmd: &[&str]) -> anyhow::Result<ExecOutput> {
        let line: Vec<String> = cmd.iter().map(|word| shell_quote(word)).collect();
        self.input.write_all(format!("{}\n", line.join(" ")).as_bytes()).await.context("writing to the node's shell")?;
        self.input.flush().await.context("writing to the node's shell")?;
        let head = format!("\n{} ", self.marker);
        let tail = format!("\n{}\n", self.marker);
        loop {
            if let Some(done) = self.take_command_output(head.as_bytes(), tail.as_bytes())? {
                return Ok(done);
            }
            match self.output.next().await {
                Some(Ok(LogOutput::StdOut { message })) => self.pending.extend_from_slice(&message),
                // The loop's own complaints; a command's stderr comes through its file.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e).context("reading from the node's shell"),
                None => bail!("the node's shell ended (the node stopped or restarted)"),
            }
        }
    }

    /// One command's stdout, code and stderr, once all of it has arrived.
    fn take_command_output(&mut self, head: &[u8], tail: &[u8]) -> anyhow::Result<Option<ExecOutput>> {
        let Some(stdout_end) = find(&self.pending, head, 0) else { return Ok(None) };
        let code_start = stdout_end + head.len();
        let Some(code_end) = find(&self.pending, b"\n", code_start) else { return Ok(None) };
        let Some(stderr_end) = find(&self.pending, tail, code_end) else { return Ok(None) };
        let code = std::str::from_utf8(&self.pending[code_start..code_end]).ok().and_then(|c| c.parse().ok()).ok_or_else(|| anyhow!("the node's shell sent no exit code"))?;
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let out = ExecOutput { code, stdout: text(&self.pending[..stdout_end]), stderr: text(&self.pending[code_end + 1..stderr_end]) };
        self.pending.drain(..stderr_end + tail.len());
        Ok(Some(out))
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_every_word_whole() {
        assert_eq!(shell_quote("it's a $HOME `x`"), r"'it'\''s a $HOME `x`'");
    }

    #[test]
    fn output_is_taken_only_once_complete() {
        let (head, tail) = ("\nM ".as_bytes(), "\nM\n".as_bytes());
        let mut pending = b"<xml/>\n\nM 102\nwarn".to_vec();
        let take = |p: &mut Vec<u8>| {
            let mut session = Session { input: Box::pin(tokio::io::sink()), output: Box::pin(futures_util::stream::empty()), marker: "M".into(), pending: std::mem::take(p) };
            let out = session.take_command_output(head, tail).unwrap();
            *p = session.pending;
            out
        };
        assert!(take(&mut pending).is_none(), "stderr is not complete yet");
        pending.extend_from_slice(b"ing\n\nM\nnext");
        let out = take(&mut pending).unwrap();
        assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (102, "<xml/>\n", "warning\n"));
        assert_eq!(pending, b"next", "the next command's bytes are kept");
    }
}
