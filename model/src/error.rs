//! Errors the harness reports to its user. Every one maps to exit code 2:
//! bad input and infrastructure faults are never policy verdicts.

use std::path::{Path, PathBuf};

/// A problem in what the user handed us, pinned to a file and, where known, a line.
#[derive(Debug, thiserror::Error)]
pub struct InputError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl InputError {
    pub fn new(file: impl AsRef<Path>, line: Option<usize>, message: impl Into<String>) -> Self {
        InputError { file: file.as_ref().to_path_buf(), line, message: message.into() }
    }
}

impl InputError {
    /// Adds what the candidate was found to hold, so the user sees why it fell short.
    pub fn with_inventory(mut self, inventory: Vec<String>) -> Self {
        for line in inventory {
            self.message.push_str(&format!("\n  {line}"));
        }
        self
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
