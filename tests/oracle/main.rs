//! The oracle suite: lint's reading of corosync.conf and of a CIB's cluster
//! options, compared case by case with what the real corosync and Pacemaker
//! in both node images make of the same files (docs/semantics.md, «Who
//! decides»). It prints the number of cases, the agreement and every
//! disagreement; a disagreement fails the suite.

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod cib;
mod cib_cases;
mod corosync;
mod corosync_cases;
mod rng;

use pcmk_model::node::Distro;

const SEED: u64 = 0x5eed_2026_1206;

/// What one image said of the cases, beside lint.
struct Tally {
    image: String,
    cases: usize,
    agreed: usize,
    /// Cases where lint is deliberately stricter, by reason.
    stricter: std::collections::BTreeMap<&'static str, usize>,
    disagreements: Vec<String>,
}

impl Tally {
    fn print(&self, what: &str) {
        let share = if self.cases == 0 { 0.0 } else { 100.0 * self.agreed as f64 / self.cases as f64 };
        let stricter: usize = self.stricter.values().sum();
        eprintln!(
            "oracle: {what} on {}: {} cases, {} agree ({share:.1} %), {stricter} deliberately stricter, {} disagree",
            self.image,
            self.cases,
            self.agreed,
            self.disagreements.len()
        );
        for (why, count) in &self.stricter {
            eprintln!("  stricter ({count}): {why}");
        }
        for d in &self.disagreements {
            eprintln!("  disagree: {d}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn corosync_and_lint_read_corosync_conf_alike() {
    let docker = common::docker().await;
    let mut cases = corosync_cases::real(&common::repo_path(""));
    cases.extend(corosync_cases::generated(720, SEED));
    let files = corosync::files(&cases);
    let ask = |distro| {
        let (docker, files) = (docker.clone(), files.clone());
        async move {
            let image = common::node_image(&docker, distro).await;
            let started = std::time::Instant::now();
            let answers = batch::tab_lines(&batch::ask(&docker, &image, files, &corosync::script(), "root", &["NET_ADMIN"]).await);
            eprintln!("oracle: corosync on {} answered in {:.1} s", image.tag, started.elapsed().as_secs_f64());
            (image.tag, answers)
        }
    };
    let (bookworm, trixie) = tokio::join!(ask(Distro::Bookworm), ask(Distro::Trixie));
    let mut failed = false;
    for (image, answers) in [bookworm, trixie] {
        let mut tally = Tally { image, cases: 0, agreed: 0, stricter: Default::default(), disagreements: Vec::new() };
        let mut started = 0;
        for (n, case) in cases.iter().enumerate() {
            let theirs = corosync::corosync(&answers, n).unwrap_or_else(|| panic!("no answer for {}", case.name));
            started += matches!(theirs, corosync::Reading::Runs(..)) as usize;
            let ours = corosync::lint(case);
            tally.cases += 1;
            if corosync::agree(&ours, &theirs) {
                tally.agreed += 1;
            } else {
                tally.disagreements.push(format!("{}: lint {ours:?}, corosync {theirs:?}\n{}", case.name, indent(&case.conf)));
            }
        }
        eprintln!("oracle: corosync on {}: {started} cases started for real", tally.image);
        tally.print("corosync.conf");
        failed |= !tally.disagreements.is_empty();
    }
    assert!(!failed, "lint and corosync disagree: see the lines above");
}

#[tokio::test(flavor = "multi_thread")]
async fn pacemaker_and_lint_read_cluster_options_alike() {
    let docker = common::docker().await;
    let mut cases = cib_cases::real(&common::repo_path(""));
    cases.extend(cib_cases::generated(320, SEED));
    let ask = |distro| {
        let docker = docker.clone();
        let cases: Vec<(usize, &cib_cases::CibCase)> =
            cases.iter().enumerate().filter(|(_, c)| distro == Distro::Trixie || !c.needs_3_0).collect();
        let files = cib::files(&cases);
        async move {
            let image = common::node_image(&docker, distro).await;
            let started = std::time::Instant::now();
            let answers = cib::outputs(&batch::ask(&docker, &image, files, cib::script(), "hacluster", &[]).await);
            eprintln!("oracle: Pacemaker on {} answered in {:.1} s", image.tag, started.elapsed().as_secs_f64());
            (distro, image.tag, answers)
        }
    };
    let (bookworm, trixie) = tokio::join!(ask(Distro::Bookworm), ask(Distro::Trixie));
    let mut failed = false;
    for (distro, image, answers) in [bookworm, trixie] {
        let mut tally = Tally { image, cases: 0, agreed: 0, stricter: Default::default(), disagreements: Vec::new() };
        for (n, case) in cases.iter().enumerate() {
            if distro == Distro::Bookworm && case.needs_3_0 {
                continue;
            }
            let theirs = cib::pacemaker(&answers, n);
            let ours = cib::lint(case, distro);
            tally.cases += 1;
            match cib::compare(case, distro, &ours, &theirs) {
                cib::Standing::Agrees => tally.agreed += 1,
                cib::Standing::Stricter(why) => *tally.stricter.entry(why).or_default() += 1,
                cib::Standing::Disagrees(why) => tally.disagreements.push(format!("{}: {why}\n{}", case.name, indent(&case.xml))),
            }
        }
        tally.print("cluster options");
        failed |= !tally.disagreements.is_empty();
    }
    assert!(!failed, "lint and Pacemaker disagree: see the lines above");
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("      | {l}\n")).collect()
}
