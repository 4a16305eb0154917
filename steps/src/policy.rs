//! The policy that travels with the binary: the built-in feature files,
//! compiled in, so `lint` and `run` work from any directory and after
//! `cargo install`; and where a run takes its scenarios from.

use std::path::{Path, PathBuf};

use cucumber::gherkin::{self, GherkinEnv};

/// (path in the repository, text) of every built-in feature.
pub const BUILTIN: &[(&str, &str)] = &[
    ("features/access-control.feature", include_str!("../../features/access-control.feature")),
    ("features/auditing.feature", include_str!("../../features/auditing.feature")),
    ("features/backup.feature", include_str!("../../features/backup.feature")),
    ("features/communication.feature", include_str!("../../features/communication.feature")),
    ("features/configuration.feature", include_str!("../../features/configuration.feature")),
    ("features/failover.feature", include_str!("../../features/failover.feature")),
    ("features/intrusion-detection.feature", include_str!("../../features/intrusion-detection.feature")),
    ("features/isolation.feature", include_str!("../../features/isolation.feature")),
    ("features/logging.feature", include_str!("../../features/logging.feature")),
    ("features/patching.feature", include_str!("../../features/patching.feature")),
    ("features/sbd.feature", include_str!("../../features/sbd.feature")),
    ("features/upgrade.feature", include_str!("../../features/upgrade.feature")),
];

/// Where a run's scenarios come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureSource {
    /// The policy compiled into the binary.
    Builtin,
    /// A feature file, or a directory of them, of the user's.
    Path(PathBuf),
}

impl FeatureSource {
    pub fn describe(&self) -> String {
        match self {
            FeatureSource::Builtin => "the built-in policy".into(),
            FeatureSource::Path(path) => path.display().to_string(),
        }
    }
}

/// The built-in features, parsed; each keeps its repository path for reports.
/// Parsed once per process: a run asks for them per candidate, and for the parameters they declare.
pub fn builtin_features() -> Vec<Result<gherkin::Feature, std::sync::Arc<gherkin::ParseFileError>>> {
    static PARSED: std::sync::OnceLock<Vec<Result<gherkin::Feature, std::sync::Arc<gherkin::ParseFileError>>>> = std::sync::OnceLock::new();
    PARSED
        .get_or_init(|| {
            BUILTIN
                .iter()
                .map(|(path, text)| {
                    let mut feature = gherkin::Feature::parse(text, GherkinEnv::default()).map_err(|source| {
                        std::sync::Arc::new(gherkin::ParseFileError::Parsing { path: PathBuf::from(path), error: None, source })
                    })?;
                    feature.path = Some(PathBuf::from(path));
                    Ok(feature)
                })
                .collect()
        })
        .clone()
}

/// Writes the built-in features into `dir` for editing (`policy export`).
pub fn export(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (path, text) in BUILTIN {
        let name = Path::new(path).file_name().expect("built-in paths name files");
        let target = dir.join(name);
        std::fs::write(&target, text)?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feature_in_the_repository_is_built_in() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../features");
        let mut on_disk: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| format!("features/{}", e.unwrap().file_name().to_string_lossy())).collect();
        on_disk.sort();
        let built_in: Vec<String> = BUILTIN.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(built_in, on_disk, "add the new feature file to policy::BUILTIN");
        assert!(builtin_features().iter().all(Result::is_ok));
    }

    #[test]
    fn every_scenario_names_the_controls_it_evidences() {
        for feature in builtin_features().into_iter().map(Result::unwrap) {
            for scenario in feature.scenarios.iter().chain(feature.rules.iter().flat_map(|r| &r.scenarios)) {
                let tags: Vec<String> = feature.tags.iter().chain(&scenario.tags).cloned().collect();
                let controls = pcmk_model::verdict::controls(&tags);
                assert!(
                    !controls.nist.is_empty() && !controls.cis.is_empty(),
                    "`{}` maps to no NIST SP 800-53 control or no CIS safeguard: {tags:?}",
                    scenario.name
                );
            }
        }
    }
}
