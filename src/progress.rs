//! Progress for long work: a spinner on a terminal, plain lines in CI logs.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use pcmk_containers::image::BuildEvent;

pub struct Progress {
    label: String,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(label: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(ProgressStyle::with_template("{spinner} {prefix}: {wide_msg} [{elapsed}]").expect("valid template"));
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress { label: label.to_string(), bar }
    }

    pub fn phase(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => eprintln!("{}: {message}", self.label),
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
            None => eprintln!("{}: {message}", self.label),
        }
    }
}
