//! "Fresh clone to first verdict": the README's first command on a clone of
//! this repository, with no node image and no build of the harness's own
//! crates (the dependencies' builds are reused: cargo shares them by version),
//! timed to the first verdict the run prints, with where the time went.

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pcmk_containers::image::{self, Mirrors};

/// Where one fresh start spent its time, each from the command's start.
pub struct FreshStart {
    pub compiled: Duration,
    pub images_ready: Duration,
    pub first_verdict: Duration,
    pub first_line: String,
}

const VERDICT_MARKS: [&str; 6] = ["PASS ", "FAIL ", "WAIVED ", "N/A ", "ERROR ", "UNDEFINED "];

/// Clones the repository, runs `cargo run -- run` in the clone against a
/// mirror spelling no image was built from (so both images are bootstrapped
/// and built, at once), stops the run at its first verdict, and removes the
/// images it built.
pub async fn measure(docker: &pcmk_containers::Docker, mirrors: &Mirrors) -> anyhow::Result<FreshStart> {
    // A path of its own each time: cargo keys a path crate's build by its path.
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let clone = std::env::temp_dir().join(format!("pcmk-fresh-clone-{}-{stamp}", std::process::id()));
    let status = Command::new("git").args(["clone", "--quiet", env!("CARGO_MANIFEST_DIR")]).arg(&clone).status()?;
    anyhow::ensure!(status.success(), "git clone failed");
    let fresh = format!("{}/./", mirrors.debian.trim_end_matches('/'));
    let before: Vec<String> = image::list_images(docker).await?.into_iter().map(|i| i.tag).collect();
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--", "run"])
        .current_dir(&clone)
        // The dependencies' builds are shared; the clone's own crates build anew (their path differs).
        .env("CARGO_TARGET_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/target"))
        .env("PCMK_COMPLY_MIRROR", &fresh)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let (tx, rx) = mpsc::channel::<(bool, String, Duration)>();
    let streams: [(bool, Box<dyn std::io::Read + Send>); 2] =
        [(true, Box::new(child.stdout.take().expect("piped"))), (false, Box::new(child.stderr.take().expect("piped")))];
    for (is_stdout, stream) in streams {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send((is_stdout, line, started.elapsed()));
            }
        });
    }
    drop(tx);
    let (mut compiled, mut images_ready, mut first) = (None, None, None);
    for (is_stdout, line, at) in rx.iter() {
        // The first line the harness itself prints ends the compile (cargo is quiet).
        compiled.get_or_insert(at);
        // The last image line before the first verdict: the images are ready.
        if !is_stdout && line.starts_with("image ") {
            images_ready = Some(at);
        }
        if is_stdout && VERDICT_MARKS.iter().any(|m| line.starts_with(m)) {
            first = Some((line, at));
            break;
        }
    }
    // SAFETY: signalling our own child, which is running or a zombie not yet reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let _ = child.wait();
    // What the run built (its node images and their bootstrapped bases) goes again.
    for new in image::list_images(docker).await?.into_iter().filter(|i| !before.contains(&i.tag)) {
        image::remove(docker, &new.tag).await?;
    }
    let _ = std::fs::remove_dir_all(&clone);
    let (first_line, first_verdict) = first.ok_or_else(|| anyhow::anyhow!("the run ended before its first verdict"))?;
    Ok(FreshStart { compiled: compiled.unwrap_or_default(), images_ready: images_ready.unwrap_or_default(), first_verdict, first_line })
}
