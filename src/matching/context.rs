//! Per-match state shared by the course and partner matchers: the need translated into the
//! catalogue's integer ids once, plus the counters and exclusions both report into.

use time::Date;

use super::MatchOptions;
use super::filter::{Exclusions, Filter};
use super::profile::NeedProfile;
use super::rank::{TermHits, topic_score};
use crate::catalogue::Catalogue;
use crate::catalogue::digest::CALL_TYPES;
use crate::catalogue::index::{TopicId, TopicSet};
use crate::dates::day_number;

/// Most need words quoted in a `text:` reason.
const MAX_TEXT_WORDS: usize = 4;

/// The need as the catalogue's ids, and the inputs every filter reads.
pub(super) struct Ctx<'a> {
    pub profile: &'a NeedProfile,
    pub catalogue: &'a Catalogue,
    pub options: &'a MatchOptions,
    pub today: Date,
    /// `today` as a digest day number.
    pub today_day: u16,
    /// `today` and the deadline lie strictly inside the digest's day range, so comparing day
    /// numbers is comparing dates (a saturated day number stands for more than one date).
    pub days_exact: bool,
    /// The requested call type's index in [`CALL_TYPES`]; `None` when no (known) call.
    pub call_index: Option<usize>,
    /// The need's tags the catalogue knows, as a set and in the need's order.
    pub need_topics: TopicSet,
    pub ordered: Vec<TopicId>,
    /// `Some(hit test)` when the need has a category.
    category: Option<Option<TopicId>>,
    pub hits: TermHits,
    /// The need's terms the catalogue knows: (stem id, index into `profile.terms`).
    known_terms: Vec<(u32, usize)>,
    /// The need region's county code (`SE-O`), when configured.
    pub county: Option<&'a str>,
    /// Whether the matches of an organisation get reasons (`match_need_for`).
    pub explain: &'a dyn Fn(&str) -> bool,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(
        profile: &'a NeedProfile,
        catalogue: &'a Catalogue,
        options: &'a MatchOptions,
        today: Date,
        explain: &'a dyn Fn(&str) -> bool,
    ) -> Self {
        let mut need_topics = TopicSet::EMPTY;
        let mut ordered = Vec::new();
        for id in profile.tags.iter().filter_map(|t| catalogue.topics.get(t)) {
            if !need_topics.contains(id) {
                need_topics.insert(id);
                ordered.push(id);
            }
        }
        let known_terms: Vec<(u32, usize)> = profile
            .terms
            .iter()
            .enumerate()
            .filter_map(|(index, term)| Some((catalogue.terms.get(&term.stem)?, index)))
            .collect();
        let hits = TermHits::new(known_terms.iter().map(|&(id, _)| id));
        Self {
            profile,
            catalogue,
            options,
            today,
            today_day: day_number(today),
            days_exact: [Some(today), profile.deadline]
                .into_iter()
                .flatten()
                .map(day_number)
                .all(|day| day != 0 && day != u16::MAX),
            call_index: profile
                .call
                .as_ref()
                .and_then(|call| CALL_TYPES.iter().position(|t| *t == call.call_type)),
            need_topics,
            ordered,
            category: profile.category.as_deref().map(|c| catalogue.topics.get(c)),
            hits,
            known_terms,
            // Case-insensitive: the configuration loader lowercases keys, and org ids that
            // differ only by case are refused as duplicates, so this cannot confuse two regions.
            county: options
                .region_counties
                .iter()
                .find(|(region, _)| region.eq_ignore_ascii_case(&profile.region))
                .map(|(_, county)| county.as_str()),
            explain,
        }
    }

    /// The topic part of the score for an entry carrying `set`, given its overlap.
    pub(super) fn topic_part(&self, overlap: usize, set: TopicSet) -> f64 {
        let category = self
            .category
            .map(|id| id.is_some_and(|id| set.contains(id)));
        topic_score(overlap, self.profile.tags.len(), category)
    }

    /// The id of the need's category, when it has one the catalogue knows.
    pub(super) fn category_id(&self) -> Option<TopicId> {
        self.category.flatten()
    }

    /// The shared topics, in the need's order.
    pub(super) fn shared_topics(&self, set: TopicSet) -> Vec<String> {
        self.ordered
            .iter()
            .filter(|&&id| set.contains(id))
            .map(|&id| self.catalogue.topics.name(id).to_owned())
            .collect()
    }

    /// The need's own words whose stems the entry text has (first few, one per stem).
    pub(super) fn shared_words(&self, terms: &[u32]) -> Vec<String> {
        if self.hits.count(terms) == 0 {
            return Vec::new();
        }
        let mut seen: Vec<u32> = Vec::new();
        let mut words = Vec::new();
        for &(id, index) in &self.known_terms {
            if terms.binary_search(&id).is_ok() && !seen.contains(&id) {
                seen.push(id);
                words.push(self.profile.terms[index].word.clone());
                if words.len() == MAX_TEXT_WORDS {
                    break;
                }
            }
        }
        words
    }
}

/// Counters and exclusions of one match, filled by both matchers.
#[derive(Default)]
pub(super) struct Work {
    pub considered: usize,
    pub scored: usize,
    exclusions: Exclusions,
    /// Per [`Filter`] (as index): a plain array, cheaper than a map on the hot path.
    counts: [usize; Filter::COUNT],
}

impl Work {
    pub(super) fn exclude(&mut self, filter: Filter, example: impl FnOnce() -> (String, String)) {
        self.counts[filter as usize] += 1;
        self.exclusions.add_example(filter, example);
    }

    /// The exclusions with their counts.
    pub(super) fn into_exclusions(mut self) -> Exclusions {
        for filter in Filter::ALL {
            let count = self.counts[filter as usize];
            if count > 0 {
                self.exclusions.counts.insert(filter, count);
            }
        }
        self.exclusions
    }
}

/// `topics: a, b` / `text: x, y` reasons, skipped when empty.
pub(super) fn list_reason(label: &str, items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| format!("{label}: {}", items.join(", ")))
}
