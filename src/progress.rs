//! Progress for long work: a spinner per task on a terminal, a plain line per
//! step with its elapsed time in CI logs.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use pcmk_containers::image::BuildEvent;

/// Where the tasks of one command draw: spinners share one terminal area.
pub struct Board {
    multi: Option<MultiProgress>,
}

impl Board {
    pub fn new() -> Board {
        Board { multi: std::io::stderr().is_terminal().then(MultiProgress::new) }
    }

    pub fn task(&self, label: &str) -> Progress {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(ProgressStyle::with_template("{spinner} {prefix}: {wide_msg} [{elapsed}]").expect("valid template"));
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { label: label.to_string(), bar, started: Instant::now() }
    }
}

pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// A task of its own on the terminal.
    pub fn new(label: &str) -> Progress {
        Board::new().task(label)
    }

    pub fn phase(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => eprintln!("{}: [{:>6.1}s] {message}", self.label, self.started.elapsed().as_secs_f64()),
        }
    }

    /// Build output goes to the spinner only; phases are also logged plainly.
    pub fn event(&self, event: BuildEvent) {
        match event {
            BuildEvent::Phase(message) => self.phase(&message),
            BuildEvent::Output(line) => {
                if let Some(bar) = &self.bar {
                    bar.set_message(line);
                }
            }
        }
    }

    pub fn finish(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(message.to_string()),
            None => eprintln!("{}: [{:>6.1}s] {message}", self.label, self.started.elapsed().as_secs_f64()),
        }
    }
}
