//! Policy parameters, as InSpec inputs or Trento's per-environment values: a
//! feature declares what it needs with a default, on a line of its
//! description (`Parameter: failover_seconds = 30`), and uses it in step
//! text as `${failover_seconds}`. A candidate's manifest (`[policy]`) and
//! `--param name=value` override the defaults. A value for a parameter no
//! selected feature declares, or of the wrong type, is bad input (exit 2).
//! `auto`, where a default says so, lets the step take the value from the
//! candidate itself (its resources, its log host, its sudo users).

use cucumber::gherkin;

/// A value given for a parameter, and where it was given (file:line or `--param`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub name: String,
    pub value: String,
    pub origin: String,
}

/// A parameter a feature declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    pub default: String,
    pub meaning: String,
    pub feature: String,
}

impl Declared {
    /// Integers stay integers: a default of `30` takes whole numbers only.
    fn accepts(&self, value: &str) -> bool {
        self.default.parse::<i64>().is_err() || value.parse::<i64>().is_ok()
    }
}

/// `Parameter: name = default — meaning` lines of a feature's description.
pub fn declared(feature: &gherkin::Feature) -> Vec<Declared> {
    feature
        .description
        .as_deref()
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Parameter:"))
        .filter_map(|rest| {
            let (name, value) = rest.split_once('=')?;
            let (default, meaning) = value.split_once('—').unwrap_or((value, ""));
            Some(Declared {
                name: name.trim().into(),
                default: default.trim().into(),
                meaning: meaning.trim().into(),
                feature: feature.name.clone(),
            })
        })
        .collect()
}

/// Parses `--param name=value`.
pub fn parse_cli(text: &str) -> Result<Given, String> {
    let (name, value) = text.split_once('=').ok_or_else(|| format!("`{text}` is not name=value"))?;
    Ok(Given { name: name.trim().into(), value: value.trim().into(), origin: "--param".into() })
}

/// Checks the given values against what the features declare: every name
/// declared, every value of the declared type. Later values win (`--param`
/// after the manifest).
pub fn check(declared: &[Declared], given: &[Given]) -> Result<(), String> {
    for value in given {
        let Some(declaration) = declared.iter().find(|d| d.name == value.name) else {
            let mut known: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
            known.sort();
            known.dedup();
            return Err(format!("{}: no feature declares the parameter `{}` (known: {})", value.origin, value.name, known.join(", ")));
        };
        if !declaration.accepts(&value.value) {
            return Err(format!(
                "{}: parameter `{}` takes a whole number (its default is {}), not `{}`",
                value.origin, value.name, declaration.default, value.value
            ));
        }
    }
    Ok(())
}

/// Replaces `${name}` in a feature's steps with the given value or the default.
pub fn substitute(feature: &mut gherkin::Feature, declared: &[Declared], given: &[Given]) -> Result<(), String> {
    let value_of = |name: &str| -> Option<String> {
        given
            .iter()
            .rev()
            .find(|g| g.name == name)
            .map(|g| g.value.clone())
            .or_else(|| declared.iter().find(|d| d.name == name).map(|d| d.default.clone()))
    };
    let path = feature.path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| feature.name.clone());
    let replace = |text: &mut String, line: usize| -> Result<(), String> {
        while let Some(start) = text.find("${") {
            let end = text[start..].find('}').map(|e| start + e).ok_or_else(|| format!("{path}:{line}: `${{` without a closing `}}`"))?;
            let name = text[start + 2..end].to_string();
            let value = value_of(&name).ok_or_else(|| {
                format!("{path}:{line}: the step uses `${{{name}}}`, which no `Parameter: {name} = …` line of the feature declares")
            })?;
            text.replace_range(start..=end, &value);
        }
        Ok(())
    };
    let backgrounds = feature.background.iter_mut().flat_map(|b| b.steps.iter_mut());
    let scenarios = feature.scenarios.iter_mut().chain(feature.rules.iter_mut().flat_map(|r| r.scenarios.iter_mut()));
    for step in backgrounds.chain(scenarios.flat_map(|s| s.steps.iter_mut())) {
        let line = step.position.line;
        replace(&mut step.value, line)?;
        if let Some(doc) = step.docstring.as_mut() {
            replace(doc, line)?;
        }
        if let Some(table) = step.table.as_mut() {
            for cell in table.rows.iter_mut().flatten() {
                replace(cell, line)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURE: &str = "Feature: F\n  Why.\n  Parameter: failover_seconds = 30 — how long a failover may take\n  Parameter: failover_resource = auto\n\n  Scenario: S\n    Then \"${failover_resource}\" runs on another node within ${failover_seconds} seconds\n";

    fn parsed() -> gherkin::Feature {
        gherkin::Feature::parse(FEATURE, gherkin::GherkinEnv::default()).unwrap()
    }

    #[test]
    fn defaults_and_given_values_fill_the_steps() {
        let mut feature = parsed();
        let declared = declared(&feature);
        assert_eq!(declared[0].meaning, "how long a failover may take");
        substitute(&mut feature, &declared, &[]).unwrap();
        assert_eq!(feature.scenarios[0].steps[0].value, "\"auto\" runs on another node within 30 seconds");
        let mut feature = parsed();
        let given = [
            Given { name: "failover_seconds".into(), value: "12".into(), origin: "candidate.toml:3".into() },
            parse_cli("failover_seconds=9").unwrap(),
        ];
        check(&declared, &given).unwrap();
        substitute(&mut feature, &declared, &given).unwrap();
        assert!(feature.scenarios[0].steps[0].value.ends_with("within 9 seconds"));
    }

    #[test]
    fn unknown_names_and_wrong_types_are_refused_where_they_were_given() {
        let declared = declared(&parsed());
        let e =
            check(&declared, &[Given { name: "failover_secs".into(), value: "1".into(), origin: "candidate.toml:7".into() }]).unwrap_err();
        assert!(e.starts_with("candidate.toml:7: no feature declares the parameter `failover_secs`"), "{e}");
        let e = check(&declared, &[parse_cli("failover_seconds=soon").unwrap()]).unwrap_err();
        assert!(e.contains("takes a whole number"), "{e}");
    }

    #[test]
    fn an_undeclared_placeholder_is_an_authoring_error() {
        let mut feature =
            gherkin::Feature::parse("Feature: F\n\n  Scenario: S\n    Then ${nope} holds\n", gherkin::GherkinEnv::default()).unwrap();
        let e = substitute(&mut feature, &[], &[]).unwrap_err();
        assert!(e.contains("which no `Parameter: nope = …` line of the feature declares"), "{e}");
    }
}
