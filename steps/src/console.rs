//! The console's colours: `--color auto|always|never` and `NO_COLOR`
//! (<https://no-color.org>: present and not empty, it turns colour off unless
//! the command line asks for it).

use std::sync::atomic::{AtomicBool, Ordering};

use pcmk_model::verdict::Status;

static COLOR: AtomicBool = AtomicBool::new(false);

/// `--color`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<ColorChoice, String> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            other => Err(format!("`{other}` is not a colour choice: auto, always or never")),
        }
    }
}

/// Whether to colour: the command line first, then `NO_COLOR`, then whether stdout is a terminal.
pub fn wanted(choice: ColorChoice, no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

pub fn set_color(on: bool) {
    COLOR.store(on, Ordering::Relaxed);
}

pub fn color() -> bool {
    COLOR.load(Ordering::Relaxed)
}

/// A status word in its colour, when colour is on.
pub fn paint(status: Status, text: &str) -> String {
    let code = match status {
        Status::Passed => "32",
        Status::Failed => "1;31",
        Status::Waived => "33",
        Status::NotApplicable => "2",
        Status::InfraError | Status::Undefined => "1;35",
    };
    if color() { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_wins_then_no_color_then_the_terminal() {
        let set = Some(std::ffi::OsStr::new("1"));
        let empty = Some(std::ffi::OsStr::new(""));
        assert!(wanted(ColorChoice::Always, set, false));
        assert!(!wanted(ColorChoice::Never, None, true));
        assert!(!wanted(ColorChoice::Auto, set, true));
        assert!(wanted(ColorChoice::Auto, empty, true), "an empty NO_COLOR is unset");
        assert!(wanted(ColorChoice::Auto, None, true));
        assert!(!wanted(ColorChoice::Auto, None, false));
    }
}
