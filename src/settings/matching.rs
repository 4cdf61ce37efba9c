//! `[matching]`: how many courses and companies a need may reach and how good a match must be.
//!
//! The options are plain data read from the configuration; `crate::matching` applies them. They
//! live here, below matching, so that the settings depend on nothing above them.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Tunables of matching; a `[matching]` configuration section.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MatchOptions {
    /// Course instances offered to one university in one challenge.
    pub max_courses_per_university: usize,
    /// Companies that receive a call for one need.
    pub max_companies: usize,
    /// Lowest score (0–1) that still counts as a match.
    pub min_score: f64,
    /// Region orgId → ISO 3166-2 county code (`VGR` → `SE-O`), to compare a need's region
    /// with partners' regions. A region missing here reaches nationwide (`SE`) partners only.
    pub region_counties: BTreeMap<String, String>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        Self {
            max_courses_per_university: 3,
            max_companies: 5,
            min_score: 0.3,
            region_counties: [("VGR", "SE-O"), ("RV", "SE-U")]
                .into_iter()
                .map(|(region, county)| (region.to_owned(), county.to_owned()))
                .collect(),
        }
    }
}
