//! Rationale and remediation: every scenario's description says why it
//! matters and, on a line starting `Remediation:`, the change that fixes it.

use std::path::{Path, PathBuf};

use cucumber::gherkin::{self, GherkinEnv};

use pcmk_model::guidance::Guidance;

use crate::policy::FeatureSource;

#[derive(Debug, Clone)]
pub struct Explained {
    pub feature: String,
    pub scenario: String,
    pub file: PathBuf,
    pub line: usize,
    pub tags: Vec<String>,
    pub guidance: Guidance,
}

fn feature_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(path).map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .flat_map(|p| {
            if p.is_dir() {
                feature_files(&p)
            } else if p.extension().is_some_and(|e| e == "feature") {
                vec![p]
            } else {
                vec![]
            }
        })
        .collect()
}

/// Scenarios whose name contains `query` (case-insensitive), or that carry the tag `@query`.
pub fn explain(sources: &[FeatureSource], query: &str) -> anyhow::Result<Vec<Explained>> {
    let tag = query.strip_prefix('@');
    let needle = query.to_lowercase();
    let mut out = Vec::new();
    let mut features = Vec::new();
    for source in sources {
        match source {
            FeatureSource::Builtin => {
                for feature in crate::policy::builtin_features() {
                    features.push(feature?);
                }
            }
            FeatureSource::Path(path) => {
                for file in feature_files(path) {
                    features.push(
                        gherkin::Feature::parse_path(&file, GherkinEnv::default())
                            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
                    );
                }
            }
        }
    }
    for feature in features {
        let file = feature.path.clone().unwrap_or_default();
        let scenarios = feature.scenarios.iter().chain(feature.rules.iter().flat_map(|r| &r.scenarios));
        for scenario in scenarios {
            let tags: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
            let hit = match tag {
                Some(tag) => tags.iter().any(|t| t == tag),
                None => scenario.name.to_lowercase().contains(&needle),
            };
            if hit {
                out.push(Explained {
                    feature: feature.name.clone(),
                    scenario: scenario.name.clone(),
                    file: file.clone(),
                    line: scenario.position.line,
                    tags,
                    guidance: Guidance::from_description(scenario.description.as_deref()),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_splits_into_rationale_and_remediation() {
        let g = Guidance::from_description(Some("Why it matters.\n  More why.\n  Remediation: set x=y.\n"));
        assert_eq!(g, Guidance { rationale: "Why it matters. More why.".into(), remediation: Some("set x=y.".into()) });
    }

    #[test]
    fn every_bundled_scenario_says_why_and_how_to_fix_it() {
        let all = explain(&[FeatureSource::Builtin], "").unwrap();
        assert!(all.len() >= 20);
        for e in &all {
            assert!(e.guidance.remediation.as_deref().is_some_and(|r| r.len() > 10), "{} » {} has no remediation", e.feature, e.scenario);
            assert!(e.guidance.rationale.len() > 20, "{} » {} does not say why it matters", e.feature, e.scenario);
        }
        let critical =
            explain(&[FeatureSource::Path(PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../features")))], "@critical").unwrap();
        assert!(critical.iter().all(|e| e.tags.iter().any(|t| t == "critical")) && !critical.is_empty());
    }
}
