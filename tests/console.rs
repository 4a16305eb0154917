//! The console as a user sees it: a closed pipe, colours on a terminal, one
//! infrastructure error said once.

mod common;

use common::*;

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_closed_pipe_ends_quietly_and_completions_and_the_man_page_come_from_the_cli() {
    let mut child = binary().arg("steps").stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // The reader is gone before the first line is written, as `| head -0` would leave it.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{:?}", output.status);
    for shell in ["bash", "zsh", "fish"] {
        let out = binary().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("lint"), "{shell}");
    }
    let man = binary().arg("man").output().unwrap();
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH pcmk-comply 1"));
}

/// `--color` and `NO_COLOR`: status words are coloured on a terminal (a pty
/// from `script`), never in a pipe unless asked, never when told not to.
#[test]
fn colour_follows_the_command_line_then_no_color_then_the_terminal() {
    let escape = "\x1b[32mPASS";
    let in_a_pipe = |args: &[&str], no_color: bool| {
        let mut command = binary();
        command.args(args).current_dir(repo_path(""));
        if no_color {
            command.env("NO_COLOR", "1");
        } else {
            command.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let on_a_terminal = |args: &str, no_color: bool| {
        let command = format!("{} lint {args}", env!("CARGO_BIN_EXE_pcmk-comply"));
        let mut script = std::process::Command::new("script");
        script.args(["-qec", &command, "/dev/null"]).current_dir(repo_path("")).env("PCMK_COMPLY_CACHE_DIR", test_cache_dir());
        if no_color {
            script.env("NO_COLOR", "1");
        } else {
            script.env_remove("NO_COLOR");
        }
        String::from_utf8_lossy(&script.output().expect("script (util-linux)").stdout).into_owned()
    };
    assert!(in_a_pipe(&["lint", "--color", "always"], true).contains(escape), "--color always wins over NO_COLOR");
    assert!(!in_a_pipe(&["lint"], false).contains('\x1b'), "a pipe gets no colour by default");
    assert!(on_a_terminal("", false).contains(escape), "a terminal gets colour by default");
    assert!(!on_a_terminal("", true).contains('\x1b'), "NO_COLOR turns it off");
    assert!(!on_a_terminal("--color=never", false).contains('\x1b'), "--color=never turns it off");
    let bad = binary().args(["lint", "--color", "sometimes"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A corosync key shorter than corosync's 1024-bit minimum stops every node's
/// corosync, so the shared cluster never starts: its diagnosis is said once,
/// quoting the log lines around the failure and naming the file of the full
/// logs; every other scenario is one "not run" line; every report format
/// carries it once.
#[test]
fn an_infrastructure_error_is_said_once_with_the_node_logs_around_it() {
    let candidate = hardened_variant("short-authkey", |dir| {
        let manifest = dir.join("candidate.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let short = text.replacen("path = \"/etc/corosync/authkey\"\nbytes = 256", "path = \"/etc/corosync/authkey\"\nbytes = 64", 1);
        assert_ne!(short, text, "the hardened candidate declares a 256-byte corosync key");
        std::fs::write(manifest, short).unwrap();
    });
    let out = std::env::temp_dir().join(format!("pcmk-said-once-{}", std::process::id()));
    let file = |name: &str| out.join(name).display().to_string();
    let output = binary()
        .args(["run", "--candidate", &candidate.display().to_string(), "--tags", "@communication and not @destructive"])
        .args(["--junit", &file("r.xml"), "--json", &file("r.json"), "--sarif", &file("r.sarif"), "--report", &file("r.html")])
        .output()
        .unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&output.stdout), stderr_of(&output));
    assert_eq!(output.status.code(), Some(2), "{all}");
    let refusal = "Could only read 512 bits of minimum 1024 bits";
    // Said once: under the first scenario, which the run's closing line points at.
    assert_eq!(all.matches("the cluster cannot become ready").count(), 2, "{all}");
    assert!(all.contains("(in full above)"), "{all}");
    // Each node found failed says it in its console log and its own log, once each.
    let nodes = all.matches("logs, the lines around the failure (full logs: ").count();
    assert!((1..=3).contains(&nodes) && all.matches(refusal).count() == 2 * nodes, "{all}");
    assert!(all.lines().count() < 150, "{} lines:\n{all}", all.lines().count());
    assert!(all.matches("(not run: the infrastructure error above)").count() >= 5, "{all}");
    let full =
        all.split("(full logs: ").nth(1).and_then(|rest| rest.split(')').next()).expect("the message names the file of the full logs");
    assert!(std::fs::read_to_string(full).unwrap().contains("Corosync Cluster Engine exiting with status 8"), "{full}");
    for name in ["r.xml", "r.json", "r.sarif", "r.html"] {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        // In the first scenario's reason and, where a format has them, its failed step.
        let said = text.matches(refusal).count();
        assert!(said == 2 * nodes || said == 4 * nodes, "{name} says the refusal {said} times for {nodes} nodes");
    }
    let _ = std::fs::remove_dir_all(&out);
}
