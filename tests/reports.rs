//! Reports as CI reads them: every format golden and valid, the HTML report
//! rendered in a browser, waivers, and sharded runs merged into one.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::*;
use pcmk_model::measurement::{Kind, Measurement};
use pcmk_model::report::{ClusterStart, Report, RunInfo, SHARED_LANE};
use pcmk_model::verdict::{Outcome, Verdict};
use pcmk_reports::html::palette;

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pcmk-reports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `pcmk-comply ARGS`, from the repository root so paths in reports are relative.
fn comply(args: &[&str]) -> Output {
    binary().current_dir(repo_path("")).args(args).output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A file of a crate in Cargo's registry (the tests borrow schemas that crates ship).
fn crate_file(package: &str, version_prefix: &str, file: &str) -> PathBuf {
    let metadata =
        std::process::Command::new(env!("CARGO")).args(["metadata", "--format-version", "1"]).current_dir(repo_path("")).output().unwrap();
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package && p["version"].as_str().unwrap().starts_with(version_prefix))
        .unwrap_or_else(|| panic!("{package} {version_prefix} is in the dependency graph"))["manifest_path"]
        .as_str()
        .unwrap()
        .to_string();
    Path::new(&manifest).parent().unwrap().join(file)
}

fn run_tool(program: &str, args: &[&std::ffi::OsStr]) -> Output {
    std::process::Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program} (ci/setup-host installs it): {e}"))
}

fn junit_valid(file: &Path) -> Result<(), String> {
    let schema = crate_file("junit-report", "0.8", "tests/JUnit.xsd");
    let out = run_tool("xmllint", &["--noout".as_ref(), "--schema".as_ref(), schema.as_os_str(), file.as_os_str()]);
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out))
    }
}

fn sarif_valid(file: &Path) -> Result<(), String> {
    let schema = crate_file("serde-sarif", "0.8", "src/schema.json");
    let check =
        "import json,sys,jsonschema; jsonschema.Draft7Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))";
    let out = run_tool("/usr/bin/python3", &["-c".as_ref(), check.as_ref(), schema.as_os_str(), file.as_os_str()]);
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out))
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Timestamps and durations vary between runs; everything else is golden.
fn golden_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r#"timestamp="[^"]*""#, r#"timestamp="[when]""#);
    settings.add_filter(r#"time="[0-9.e-]*""#, r#"time="[secs]""#);
    // Seconds as numbers in the typed report; nanoseconds as integers in Cucumber JSON.
    settings.add_filter(r#""(duration|seconds|started|at|took)": \d+\.\d+(e-?\d+)?"#, r#""$1": "[secs]""#);
    settings.add_filter(r#""duration": \d+"#, r#""duration": "[ns]""#);
    settings.add_filter(r"<td>\d+\.\d</td></tr>", "<td>[secs]</td></tr>");
    settings.add_filter(r#"<td class="secs">[0-9.]+</td>"#, r#"<td class="secs">[secs]</td>"#);
    // The timeline is drawn from the run's times; unit tests check how.
    settings.add_filter(r#"(?s)<svg id="timeline".*?</svg>"#, r#"<svg id="timeline">[drawn from the run's times]</svg>"#);
    settings
}

#[test]
fn every_format_of_a_small_run_is_golden_and_valid() {
    let dir = out_dir("golden");
    let (junit, json, sarif, html, typed_json) =
        (dir.join("r.xml"), dir.join("r.json"), dir.join("r.sarif"), dir.join("r.html"), dir.join("r.report.json"));
    let output = binary()
        .current_dir(repo_path(""))
        .args(["lint", "--candidate", "candidates/insecure", "--tags", "@communication", "--junit"])
        .args([&junit, &PathBuf::from("--json"), &json, &PathBuf::from("--sarif"), &sarif, &PathBuf::from("--report"), &html])
        .args([&PathBuf::from("--report-json"), &typed_json])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    golden_settings().bind(|| {
        insta::assert_snapshot!("junit", read(&junit));
        insta::assert_snapshot!("cucumber_json", read(&json));
        insta::assert_snapshot!("sarif", read(&sarif));
        insta::assert_snapshot!("html", read(&html));
        insta::assert_snapshot!("report_json", read(&typed_json));
    });
    // The typed report reads back as the run's report: same exit code, findings with their lines.
    let report = pcmk_reports::report_json::read(&typed_json).unwrap();
    assert_eq!(report.exit_code(), 1);
    let placed: Vec<_> =
        report.verdicts.iter().flat_map(|v| &v.findings).filter_map(|f| f.place.as_ref()).map(|p| (p.file.as_str(), p.line)).collect();
    assert!(placed.contains(&("/etc/corosync/corosync.conf", 5)), "{placed:?}");
    junit_valid(&junit).unwrap();
    sarif_valid(&sarif).unwrap();
    // The typed model generated from the same schema reads it back.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_str(&read(&sarif)).unwrap();
    assert_eq!(typed.runs[0].results.as_ref().unwrap().len(), 6);
    // The validators can fail: a result without a message is not SARIF, a stray element is not JUnit.
    let broken = dir.join("broken.sarif");
    std::fs::write(&broken, read(&sarif).replacen("\"message\"", "\"note\"", 1)).unwrap();
    assert!(sarif_valid(&broken).is_err());
    let broken = dir.join("broken.xml");
    std::fs::write(&broken, read(&junit).replacen("<testcase ", "<testcase bogus=\"1\" ", 1)).unwrap();
    assert!(junit_valid(&broken).is_err());
}

/// PNG pixels with exactly this colour.
fn pixels_of(png_file: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::fs::File::open(png_file).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).unwrap();
    let step = frame.color_type.samples();
    buf[..frame.buffer_size()].chunks(step).filter(|p| p[..3] == rgb).count()
}

/// Headless chromium on `url`, `height` pixels high, with `extra` arguments (a screenshot, the DOM).
fn chromium(url: &str, height: u32, extra: &[&str]) -> Output {
    let window = format!("--window-size=1280,{height}");
    let mut args = vec!["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", &window];
    args.extend_from_slice(extra);
    args.push(url);
    std::process::Command::new("chromium").args(&args).output().expect("chromium (ci/setup-host installs it)")
}

#[test]
fn the_html_report_shows_its_summary_table_in_a_browser() {
    let dir = out_dir("html");
    let html = dir.join("report.html");
    let output = comply(&["lint", "--candidate", "candidates/insecure", "--report", html.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let url = format!("file://{}", html.display());
    let chromium = |extra: &[&str]| chromium(&url, 1000, extra);
    let dom = String::from_utf8_lossy(&chromium(&["--dump-dom"]).stdout).into_owned();
    for practice in ["Role-based access control", "Secure cluster configuration", "Secure communication"] {
        assert!(dom.contains(&format!("<tr><td>{practice}</td>")), "{practice} missing from the rendered summary");
    }
    assert!(dom.contains("Verdict: <strong>not compliant</strong>"));
    let shot = dir.join("report.png");
    let out = chromium(&[&format!("--screenshot={}", shot.display())]);
    assert!(shot.exists(), "no screenshot: {}", text(&out));
    // The summary table's header and its red status cells are on screen.
    let header = pixels_of(&shot, [0x1d, 0x35, 0x57]);
    let failed = pixels_of(&shot, [0xc1, 0x12, 0x1f]);
    assert!(header > 5_000, "summary header not rendered ({header} px)");
    assert!(failed > 500, "failed status cells not rendered ({failed} px)");
}

/// A scenario of a live run, placed on the timeline.
fn placed(feature: &str, scenario: &str, tags: &str, outcome: Outcome, lane: &str, start: u64, seconds: u64) -> Verdict {
    let failed = outcome == Outcome::Failed;
    Verdict {
        tags: tags.split_whitespace().map(String::from).collect(),
        failed_step: failed.then(|| "Then it holds (line 3)".into()),
        reason: failed.then(|| "it did not hold".into()),
        duration: Duration::from_secs(seconds),
        started: Some(Duration::from_secs(start)),
        cluster: Some(lane.into()),
        ..Verdict::new(feature, scenario, outcome)
    }
}

/// A live run's report as the runner fills it: scenarios on the shared
/// cluster and on two of their own, and failover and fencing times with
/// corosync's floor and the service level.
fn live_report() -> Report {
    let (failover, own1, own2) = ("Failover and fencing", "own cluster 1", "own cluster 2");
    let verdicts = vec![
        placed(
            failover,
            "A killed node's resource moves and the node is fenced",
            "failover destructive critical CP-10 SC-24 CIS-4.1",
            Outcome::Passed,
            own1,
            20,
            70,
        ),
        placed(
            failover,
            "A node that loses quorum stops its resources",
            "failover destructive critical SC-24",
            Outcome::Failed,
            own2,
            25,
            60,
        ),
        placed(
            "Secure communication",
            "Cluster traffic is encrypted",
            "communication high SC-8 CIS-3.10",
            Outcome::Passed,
            SHARED_LANE,
            15,
            10,
        ),
        placed("Secure communication", "No inline key", "communication high SC-8", Outcome::Failed, SHARED_LANE, 16, 8),
        placed("Auditing", "Logs carry timestamps", "auditing medium AU-8", Outcome::Passed, SHARED_LANE, 26, 30),
    ];
    let starts = [(SHARED_LANE, 0, 14), (own1, 2, 16), (own2, 5, 18)];
    let info = RunInfo {
        command: "run".into(),
        candidate: "candidates/hardened".into(),
        cluster_starts: starts
            .iter()
            .map(|(lane, at, took)| ClusterStart { lane: lane.to_string(), at: Duration::from_secs(*at), took: Duration::from_secs(*took) })
            .collect(),
        ..RunInfo::default()
    };
    let mut report = Report::new(verdicts, info);
    let ms = Duration::from_millis;
    let figures = [
        (Kind::Failover, 9_700),
        (Kind::Fencing, 5_200),
        (Kind::Availability, 8_100),
        (Kind::Fencing, 4_900),
        (Kind::QuorumLoss, 6_100),
        (Kind::Recovery, 2_300),
    ];
    for (kind, took) in figures {
        let what = format!("{} took {:.2}s", kind.word(), took as f64 / 1000.0);
        report.measurements.push(
            Measurement::new(kind, what)
                .took(ms(took))
                .floor(ms(3_000))
                .slo(ms(30_000))
                .scenario(Some("A killed node's resource moves and the node is fenced".into())),
        );
    }
    report
}

fn rgb(hex: &str) -> [u8; 3] {
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap();
    [byte(1), byte(3), byte(5)]
}

#[test]
fn the_html_report_draws_its_timeline_and_failover_chart_and_filters_them_in_a_browser() {
    let dir = out_dir("drawn");
    let html = dir.join("live.html");
    std::fs::write(&html, pcmk_reports::html::render(&live_report()).unwrap()).unwrap();
    let url = format!("file://{}", html.display());
    let shot = |name: &str, url: &str| {
        let png = dir.join(name);
        let out = chromium(url, 2400, &[&format!("--screenshot={}", png.display())]);
        assert!(png.exists(), "no screenshot: {}", text(&out));
        png
    };
    let all = shot("all.png", &url);
    // Each colour is drawn only by the timeline or the chart; a legend swatch alone is about 200 px.
    let expected = [
        ("passed bars on the timeline", palette::LANE_PASSED, 3_000),
        ("failed bars on the timeline", palette::LANE_FAILED, 3_000),
        ("cluster starts on the timeline", palette::CLUSTER_START, 1_000),
        ("failover bars of the chart", palette::CHART_FAILOVER, 5_000),
        ("fencing bars of the chart", palette::CHART_FENCING, 2_000),
        ("corosync's floor on the chart", palette::CHART_FLOOR, 350),
        ("the service level on the chart", palette::CHART_SLO, 350),
    ];
    for (what, colour, at_least) in expected {
        let seen = pixels_of(&all, rgb(colour));
        assert!(seen >= at_least, "{what} not drawn: {seen} px of {colour}, expected {at_least} or more");
    }

    // Filters work in the file itself, on the drawing and on the table: a link can carry one.
    let failed_only = format!("{url}#outcome=failed");
    let dom = String::from_utf8_lossy(&chromium(&failed_only, 2400, &["--dump-dom"]).stdout).into_owned();
    assert!(dom.contains("<form id=\"filters\">"), "the script shows the form");
    assert!(dom.contains("2 of 5 scenarios shown."), "{dom}");
    let row = |scenario: &str| {
        dom.lines()
            .find(|l| l.starts_with("<tr data-outcome") && l.contains(&format!("<td>{scenario}</td>")))
            .unwrap_or_else(|| panic!("no row for {scenario}"))
            .to_string()
    };
    assert!(row("Cluster traffic is encrypted").contains("style=\"display: none;\""), "{}", row("Cluster traffic is encrypted"));
    assert!(!row("No inline key").contains("display: none"), "{}", row("No inline key"));
    let filtered = shot("failed.png", &failed_only);
    let passed_left = pixels_of(&filtered, rgb(palette::LANE_PASSED));
    assert!(passed_left < 1_000, "passed bars still drawn after filtering them out: {passed_left} px");
    assert!(pixels_of(&filtered, rgb(palette::LANE_FAILED)) >= 3_000, "failed bars stay");

    // Without JavaScript the file is what a browser shows (headless chromium cannot dump or
    // shoot a page with scripts off): the form hidden, every row and failure there, nothing hidden.
    let plain = read(&html);
    assert!(plain.contains("<form id=\"filters\" hidden>"));
    assert!(!plain.contains("style=\"display") && plain.matches(" hidden").count() == 1);
    let scenarios = plain.split("<table id=\"scenarios\">").nth(1).and_then(|t| t.split("</table>").next()).expect("the scenario table");
    assert_eq!(scenarios.matches("<tr data-outcome").count(), 5);
    assert_eq!(plain.matches("<div class=\"failure\"").count(), 2);
}

#[test]
fn waivers_mark_failures_waived_and_expired_ones_fail_the_run() {
    let dir = out_dir("waivers");
    let waivers = dir.join("waivers.toml");
    let lint = |extra: &[&str]| {
        let mut args = vec![
            "lint",
            "--candidate",
            "candidates/insecure",
            "--tags",
            "@access-control or @patching",
            "--waivers",
            waivers.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        comply(&args)
    };
    std::fs::write(
        &waivers,
        "[[waiver]]\nscenario = \"Pacemaker enforces its access control lists\"\njustification = \"ACLs come with the new LDAP groups\"\nowner = \"ops@example.com\"\nexpires = 2999-12-31\n\n[[waiver]]\ntag = \"@backup\"\njustification = \"n/a\"\nowner = \"ops\"\nexpires = 2999-12-31\n",
    )
    .unwrap();
    let junit = dir.join("w.xml");
    let output = lint(&["--junit", junit.to_str().unwrap()]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(said.contains("WAIVED    Role-based access control » Pacemaker enforces its access control lists"), "{said}");
    assert!(said.contains("0 passed, 0 failed, 1 waived"), "{said}");
    assert!(said.contains("waivers.toml line 7: the waiver for tag @backup matches no scenario in this run"), "{said}");
    assert!(read(&junit).contains("<skipped"), "a waived failure is skipped in JUnit, not passed");

    std::fs::write(&waivers, read(&waivers).replacen("2999-12-31", "2001-01-31", 1)).unwrap();
    let output = lint(&[]);
    let said = text(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("waivers.toml line 1: the waiver for scenario \"Pacemaker enforces its access control lists\" (owner ops@example.com) expired on 2001-01-31"), "{said}");
    assert!(said.contains("FAIL      Role-based access control"), "{said}");

    std::fs::write(&waivers, "[[waiver]]\nscenario = \"x\"\nowner = \"o\"\n").unwrap();
    let output = lint(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("waivers.toml:1: missing field `justification`"), "{}", text(&output));
}

/// Scenario identity and outcome per scenario, without timings.
fn outcomes(json: &Path) -> Vec<(String, String, String)> {
    let features: serde_json::Value = serde_json::from_str(&read(json)).unwrap();
    let mut out = Vec::new();
    for feature in features.as_array().unwrap() {
        for element in feature["elements"].as_array().unwrap() {
            let statuses: Vec<String> =
                element["steps"].as_array().unwrap().iter().map(|s| s["result"]["status"].as_str().unwrap().to_string()).collect();
            out.push((feature["name"].as_str().unwrap().to_string(), element["name"].as_str().unwrap().to_string(), statuses.join(",")));
        }
    }
    out.sort();
    out
}

fn without_durations(json: &Path) -> String {
    let mut value: serde_json::Value = serde_json::from_str(&read(json)).unwrap();
    for feature in value.as_array_mut().unwrap() {
        for element in feature["elements"].as_array_mut().unwrap() {
            for step in element["steps"].as_array_mut().unwrap() {
                step["result"].as_object_mut().unwrap().remove("duration");
            }
        }
    }
    serde_json::to_string_pretty(&value).unwrap()
}

#[test]
fn shards_are_disjoint_and_complete_and_merge_equals_the_unsharded_run() {
    let dir = out_dir("shards");
    let whole = dir.join("whole.json");
    let output = comply(&["lint", "--candidate", "candidates/insecure", "--json", whole.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let everything = outcomes(&whole);
    assert!(everything.len() >= 12);
    let mut shards = Vec::new();
    let mut union = Vec::new();
    let mut typed_shards = Vec::new();
    for index in 1..=3 {
        let file = dir.join(format!("shard-{index}.json"));
        let typed = dir.join(format!("shard-{index}.report.json"));
        let output = comply(&[
            "lint",
            "--candidate",
            "candidates/insecure",
            "--shard",
            &format!("{index}/3"),
            "--json",
            file.to_str().unwrap(),
            "--report-json",
            typed.to_str().unwrap(),
        ]);
        typed_shards.push(typed);
        assert!(matches!(output.status.code(), Some(0 | 1)), "{}", text(&output));
        let part = outcomes(&file);
        assert!(!part.is_empty() && part.len() < everything.len(), "shard {index} holds {} of {}", part.len(), everything.len());
        union.extend(part);
        shards.push(file);
    }
    union.sort();
    assert_eq!(union, everything, "the shards together are the whole run, each scenario once");

    let merged = dir.join("merged.json");
    let sarif = dir.join("merged.sarif");
    let mut args = vec!["merge".to_string(), "--json".into(), merged.display().to_string(), "--sarif".into(), sarif.display().to_string()];
    args.extend(shards.iter().map(|s| s.display().to_string()));
    let output = binary().current_dir(repo_path("")).args(&args).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(without_durations(&merged), without_durations(&whole));
    sarif_valid(&sarif).unwrap();

    // Typed slices merge into the same verdicts and keep what Cucumber JSON cannot: start times, findings' lines.
    let (typed_merged, typed_sarif, typed_html) =
        (dir.join("typed-merged.json"), dir.join("typed-merged.sarif"), dir.join("typed-merged.html"));
    let mut args = vec![
        "merge".to_string(),
        "--json".into(),
        typed_merged.display().to_string(),
        "--sarif".into(),
        typed_sarif.display().to_string(),
        "--report".into(),
        typed_html.display().to_string(),
    ];
    args.extend(typed_shards.iter().map(|s| s.display().to_string()));
    let output = binary().current_dir(repo_path("")).args(&args).output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(without_durations(&typed_merged), without_durations(&whole));
    assert!(read(&typed_sarif).contains("\"uri\": \"candidates/insecure/corosync.conf\""), "results located at the candidate's lines");
    assert!(read(&typed_html).contains("<svg id=\"timeline\""), "merged typed slices draw a timeline");

    let output = comply(&["lint", "--shard", "4/3"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("a shard is I/N with 1 <= I <= N"), "{}", text(&output));
    let output = binary().current_dir(repo_path("")).args(["merge"]).arg(&shards[0]).arg(&shards[0]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).contains("merge takes disjoint shards"), "{}", text(&output));
}

/// The CI templates are YAML and call only subcommands and options that exist.
#[test]
fn ci_templates_parse_and_use_real_options() {
    for template in ["ci/templates/github-actions.yml", "ci/templates/gitlab-ci.yml"] {
        let path = repo_path(template);
        let out =
            run_tool("/usr/bin/python3", &["-c".as_ref(), "import sys,yaml; yaml.safe_load(open(sys.argv[1]))".as_ref(), path.as_os_str()]);
        assert!(out.status.success(), "{template} is not YAML: {}", text(&out));
        let joined = read(&path).replace("\\\n", " ");
        let mut calls = 0;
        for line in joined.lines() {
            let Some(at) = line.find("pcmk-comply-bin ").or_else(|| line.find("release/pcmk-comply ")) else { continue };
            let rest = &line[at..];
            let mut words = rest.split_whitespace().skip(1);
            let mut command: Vec<&str> = words.next().into_iter().collect();
            // `chmod +x pcmk-comply-bin`, `cp … pcmk-comply-bin`: not calls.
            if !command.first().is_some_and(|c| c.chars().all(|ch| ch.is_ascii_lowercase())) {
                continue;
            }
            if command == ["image"] {
                command.extend(words.next());
            }
            let help = comply(&[command.as_slice(), &["--help"]].concat());
            assert!(help.status.success(), "{template}: `pcmk-comply {}` is not a command", command.join(" "));
            let help = text(&help);
            for flag in rest.split_whitespace().filter(|w| w.starts_with("--")) {
                assert!(help.contains(flag), "{template}: `pcmk-comply {}` has no option {flag}", command.join(" "));
            }
            calls += 1;
        }
        assert!(calls >= 3, "{template} calls pcmk-comply {calls} times");
    }
}
