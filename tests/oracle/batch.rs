//! One container per image for a whole batch of cases: the cases are copied
//! in as files, one script asks the real software about each, and prints one
//! tab-separated line per answer.

use std::collections::BTreeMap;
use std::time::Duration;

use pcmk_containers::cluster::{run_tool_with, ToolGrant};
use pcmk_containers::image::NodeImage;
use pcmk_containers::Docker;

/// Runs `script` as `user` with `files` in place; returns what it printed.
pub async fn ask(docker: &Docker, image: &NodeImage, files: Vec<(String, Vec<u8>)>, script: &str, user: &str, cap_add: &[&str]) -> String {
    let mut placed: Vec<(&str, &[u8])> = files.iter().map(|(p, c)| (p.as_str(), c.as_slice())).collect();
    placed.push(("/oracle/run.sh", script.as_bytes()));
    let grant = ToolGrant { cap_add: cap_add.iter().map(|c| c.to_string()).collect(), timeout: Duration::from_secs(600) };
    let out = run_tool_with(docker, image, &placed, user, &["bash", "/oracle/run.sh"], &grant).await.expect("the oracle's container ran");
    assert!(out.success(), "the oracle's script failed on {}: {}", image.tag, out.stderr);
    out.stdout
}

/// Lines split at tabs, keyed by their first two fields (kind and case id).
pub fn tab_lines(stdout: &str) -> BTreeMap<(String, String), Vec<String>> {
    let mut answers = BTreeMap::new();
    for line in stdout.lines() {
        let fields: Vec<String> = line.split('\t').map(str::to_string).collect();
        if fields.len() >= 2 {
            answers.insert((fields[0].clone(), fields[1].clone()), fields[2..].to_vec());
        }
    }
    answers
}
