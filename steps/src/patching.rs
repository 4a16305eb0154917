//! Practice 3, patch level: installed versions against the first fixed
//! versions the feature lists, and the same versions on every node.

use pcmk_model::scope::Evidence;
use std::collections::BTreeMap;

use cucumber::gherkin::Step;
use cucumber::then;

use crate::support::{compare_debian_versions, list, node_named, Violations};
use crate::world::PolicyWorld;
use pcmk_model::finding::{Finding, Subject};

#[then(expr = "every node has at least these package versions:")]
async fn minimum_versions(world: &mut PolicyWorld, step: &Step) -> anyhow::Result<()> {
    // Live: the nodes' packages; lint: the packages a capture listed.
    if world.lacks(&[Evidence::Packages]) {
        return Ok(());
    }
    let table = step.table.as_ref().ok_or_else(|| world.authoring("the step needs a table: package | version | reason"))?;
    let header = table.rows.first().cloned().unwrap_or_default();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(pkg), Some(ver)) = (column("package"), column("version")) else {
        return Err(world.authoring("the table needs `package` and `version` columns"));
    };
    let reason = column("reason");
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    let mut matched = 0;
    for row in table.rows.iter().skip(1) {
        let (package, minimum) = (&row[pkg], &row[ver]);
        for node in &facts.nodes {
            let Some(installed) = node.packages.as_ref().and_then(|p| p.get(package)) else { continue };
            matched += 1;
            if compare_debian_versions(installed, minimum).is_lt() {
                let why = reason.map(|r| format!(" ({})", row[r])).unwrap_or_default();
                violations.add(Finding::new(
                    node_named(&node.name),
                    format!("{}: {package} {installed} is older than {minimum}{why}", node.name),
                ));
            }
        }
    }
    if matched == 0 {
        violations.add(Finding::new(Subject::Cluster, "none of the listed packages is installed on any node"));
    }
    world.judge(violations)
}

#[then(expr = "every node runs the same versions of {string}")]
async fn same_versions(world: &mut PolicyWorld, packages: String) -> anyhow::Result<()> {
    // Live: the nodes' packages; lint: the packages a capture listed.
    if world.lacks(&[Evidence::Packages]) {
        return Ok(());
    }
    let facts = world.facts().await?;
    let mut violations = Violations::default();
    for package in list(&packages) {
        let versions: BTreeMap<String, Vec<&str>> = facts.nodes.iter().fold(BTreeMap::new(), |mut acc, node| {
            let version = node.packages.as_ref().and_then(|p| p.get(&package)).cloned().unwrap_or_else(|| "not installed".into());
            acc.entry(version).or_default().push(node.name.as_str());
            acc
        });
        if versions.len() > 1 {
            let spread: Vec<String> = versions.iter().map(|(v, nodes)| format!("{v} on {}", nodes.join(", "))).collect();
            violations.add(Finding::new(Subject::Cluster, format!("{package} differs between nodes: {}", spread.join("; "))));
        }
    }
    world.judge(violations)
}
