//! Which scenarios a run takes (tags, `lint`'s `@static`, a shard), and what
//! the taken ones need before they start: the node images they name.

use std::collections::BTreeSet;

use cucumber::gherkin;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::tag::Ext as _;
use pcmk_model::node::Distro;

use crate::policy::FeatureSource;

/// Slice `index` (1-based) of `count`: a CI matrix spreads one policy run over
/// `count` runners. A scenario's slice depends only on its feature and name,
/// so slices are disjoint, complete, and stable when other scenarios change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("a shard is I/N with 1 <= I <= N, e.g. 2/4; got `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse::<u32>().map_err(|_| bad())?, n.trim().parse::<u32>().map_err(|_| bad())?);
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    pub fn contains(&self, feature: &str, scenario: &str) -> bool {
        // FNV-1a: stable across platforms and compiler versions, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in feature.bytes().chain([0]).chain(scenario.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        hash % u64::from(self.count) == u64::from(self.index - 1)
    }
}

pub fn parse_tags(expr: &str) -> Result<TagOperation, String> {
    expr.parse::<TagOperation>().map_err(|e| format!("bad tag expression `{expr}`: {e}"))
}

pub(crate) fn has_tag(feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario, tag: &str) -> bool {
    feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags).any(|t| t == tag)
}

/// Which scenarios a run takes.
pub(crate) type ScenarioFilter = dyn Fn(&gherkin::Feature, Option<&gherkin::Rule>, &gherkin::Scenario) -> bool;

/// The features of a source, parsed (a parse error stays an error to report).
pub(crate) async fn parse_source(source: &FeatureSource) -> Vec<cucumber::parser::Result<gherkin::Feature>> {
    use futures_util::StreamExt as _;
    match source {
        FeatureSource::Path(path) => cucumber::Parser::parse(cucumber::parser::Basic::new(), path, Default::default()).collect().await,
        FeatureSource::Builtin => {
            crate::policy::builtin_features().into_iter().map(|f| f.map_err(cucumber::parser::Error::Parsing)).collect()
        }
    }
}

/// The scenarios a run takes.
pub struct Selection {
    tags: Option<TagOperation>,
    /// `lint`: only scenarios tagged `@static`.
    static_only: bool,
    shard: Option<Shard>,
    /// Shards spread candidates × scenarios: the candidate is part of every scenario's key.
    candidate: String,
}

impl Selection {
    pub fn new(tags: Option<&str>, static_only: bool, shard: Option<Shard>, candidate: &str) -> Result<Selection, String> {
        Ok(Selection { tags: tags.map(parse_tags).transpose()?, static_only, shard, candidate: candidate.to_string() })
    }

    pub fn takes(&self, feature: &gherkin::Feature, rule: Option<&gherkin::Rule>, scenario: &gherkin::Scenario) -> bool {
        let all_tags = feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags)).chain(&scenario.tags);
        (!self.static_only || has_tag(feature, rule, scenario, "static"))
            && self.tags.as_ref().is_none_or(|t| t.eval(all_tags))
            && self.shard.is_none_or(|s| s.contains(&format!("{}\u{0}{}", self.candidate, feature.name), &scenario.name))
    }
}

/// The node images the taken scenarios name in their steps (the rolling
/// upgrade's newer release), so a run can prepare them with its own before
/// any scenario starts instead of building one in the middle of the run.
/// A step whose release is still a `${parameter}` names none here; it builds
/// its image when it runs, as it would anyway.
pub async fn distros_named(sources: &[FeatureSource], selection: &Selection) -> BTreeSet<Distro> {
    let mut distros = BTreeSet::new();
    for source in sources {
        for feature in parse_source(source).await.into_iter().flatten() {
            let in_rules = feature.rules.iter().flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
            for (rule, scenario) in feature.scenarios.iter().map(|s| (None, s)).chain(in_rules) {
                if !selection.takes(&feature, rule, scenario) {
                    continue;
                }
                let backgrounds = feature.background.iter().chain(rule.and_then(|r| r.background.as_ref()));
                let steps = backgrounds.flat_map(|b| &b.steps).chain(&scenario.steps);
                distros.extend(steps.filter_map(|step| crate::upgrade::distro_named(&step.value)));
            }
        }
    }
    distros
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rolling_upgrade_names_trixie_unless_it_is_left_out() {
        let all = Selection::new(None, false, None, "candidates/hardened").unwrap();
        assert_eq!(distros_named(&[FeatureSource::Builtin], &all).await, BTreeSet::from([Distro::Trixie]));
        let without = Selection::new(Some("not @upgrade"), false, None, "candidates/hardened").unwrap();
        assert!(distros_named(&[FeatureSource::Builtin], &without).await.is_empty());
        let lint = Selection::new(None, true, None, "candidates/hardened").unwrap();
        assert!(distros_named(&[FeatureSource::Builtin], &lint).await.is_empty(), "lint runs no live scenario");
    }
}
