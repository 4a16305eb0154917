//! The paths a run's scenarios name: every quoted absolute path in their
//! steps (a list argument's items too) and every table cell that is one. A
//! live gathering stats and hashes them beside the policy's own paths, so a
//! scenario that names a file is judged on that file, in `run` as in `lint`.

use cucumber::gherkin;

/// Quoted strings of a step's text.
fn quoted(text: &str) -> impl Iterator<Item = &str> {
    text.split('"').skip(1).step_by(2)
}

fn absolute(value: &str) -> Option<String> {
    let value = value.trim();
    let plain = value.starts_with('/') && !value.contains(['$', '<', '>', '*', '\'', '`', ' ']);
    plain.then(|| value.trim_end_matches('/').to_string()).filter(|v| !v.is_empty())
}

fn of_step(step: &gherkin::Step, out: &mut Vec<String>) {
    let items = quoted(&step.value).flat_map(|q| q.split(','));
    let cells = step.table.iter().flat_map(|t| t.rows.iter().flatten()).map(String::as_str);
    for path in items.chain(cells).filter_map(absolute) {
        if !out.contains(&path) {
            out.push(path);
        }
    }
}

/// Every path the features' steps name, in order of first mention.
pub fn of<'a>(features: impl Iterator<Item = &'a gherkin::Feature>) -> Vec<String> {
    let mut out = Vec::new();
    for feature in features {
        let rules = feature.rules.iter();
        let backgrounds = feature.background.iter().chain(rules.clone().filter_map(|r| r.background.as_ref()));
        let scenarios = feature.scenarios.iter().chain(rules.flat_map(|r| r.scenarios.iter()));
        for step in backgrounds.flat_map(|b| b.steps.iter()).chain(scenarios.flat_map(|s| s.steps.iter())) {
            of_step(step, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_paths_list_items_and_table_cells_are_named() {
        let text = "Feature: F\n  Scenario: S\n    Then the files \"/etc/a, /var/lib/pcsd/pcsd.key\" are identical on every node\n    And the file \"/etc/b\" is owned by \"root:root\" with mode at most \"0600\"\n    And the rules watch\n      | path |\n      | /etc/c/ |\n    And the option \"${param}\" names \"/etc/<x>\"\n";
        let feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap();
        assert_eq!(of(std::iter::once(&feature)), vec!["/etc/a", "/var/lib/pcsd/pcsd.key", "/etc/b", "/etc/c"]);
    }
}
