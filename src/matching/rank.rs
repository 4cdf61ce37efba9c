//! Scoring arithmetic, candidate generation from the topic index, and top-N selection.
//!
//! # Score
//!
//! `score = 0.7 · topic + 0.2 · text + 0.1 · fit`, each part in [0, 1]:
//!
//! - **topic**: shared topics over `min(tags, 3)` — sharing three of a need's topics is a full
//!   topic fit, so a need with many tags is not punished for them — capped at 1; when the
//!   need has a category, 80 % of this plus 20 % for covering the category.
//! - **text**: shared stems of need text and entry text over [`TEXT_SATURATION`], capped at 1.
//! - **fit**: courses: preferred university (0.5), preferred study period (0.3), taught in
//!   the need's language (0.2); companies: 0.6 × product TRL (inside the call's range 1, no
//!   product TRL 0.5, outside 0) + 0.4 × the share of the need's capability tags covered.
//!
//! Topics dominate because they are curated by people on both sides; text only refines.
//!
//! # Bounded work
//!
//! A popular topic can be carried by 10 % of a large catalogue. Candidates are therefore
//! taken in descending topic overlap, and a candidate whose *upper bound* (its exact topic
//! part plus perfect text and fit) cannot beat the current N-th best of its recipient group
//! is skipped without running its filters or text scoring. The result is exactly the top N,
//! only cheaper.

use time::Date;

use crate::catalogue::index::{Posting, Postings, TopicId, TopicSet};

/// Weight of the topic part.
pub(crate) const W_TOPIC: f64 = 0.7;
/// Weight of the text part.
pub(crate) const W_TEXT: f64 = 0.2;
/// Weight of the fit part.
pub(crate) const W_FIT: f64 = 0.1;
/// Shared stems that count as full text relevance.
pub(crate) const TEXT_SATURATION: usize = 3;

/// The topic part for `overlap` shared topics of a need with `tag_count` tags.
#[must_use]
pub(crate) fn topic_score(overlap: usize, tag_count: usize, category: Option<bool>) -> f64 {
    let denominator = tag_count.clamp(1, 3) as f64;
    let shared = (overlap as f64 / denominator).min(1.0);
    match category {
        None => shared,
        Some(hit) => 0.8 * shared + if hit { 0.2 } else { 0.0 },
    }
}

/// The text part for `hits` shared stems.
#[must_use]
pub(crate) fn text_score(hits: usize) -> f64 {
    (hits as f64 / TEXT_SATURATION as f64).min(1.0)
}

/// The weighted score.
#[must_use]
pub(crate) fn combine(topic: f64, text: f64, fit: f64) -> f64 {
    (W_TOPIC * topic + W_TEXT * text + W_FIT * fit).clamp(0.0, 1.0)
}

/// Candidates sharing two or more topics with the need, reached through the index, each
/// once, grouped by overlap; and the number of all candidates (including single-topic ones).
///
/// Single-topic candidates — the bulk when a topic is popular — are not collected: they are
/// walked afterwards by [`single_topic_candidates`], and only when the groups' thresholds
/// leave them a chance. So no per-match buffer grows with the catalogue.
pub(crate) struct Candidates {
    /// Postings sharing two or more topics with the need, in index order.
    strong: Vec<Posting>,
    /// The largest overlap among them.
    most: usize,
    /// How many entries share at least one topic.
    pub considered: usize,
}

impl Candidates {
    /// Walks the posting list of each need topic. An entry is taken only from the list of the
    /// first need topic it carries, so it is seen once without a visited set.
    pub(crate) fn collect(postings: &Postings, ordered: &[TopicId], need: TopicSet) -> Self {
        // Sized once: a vector grown by doubling would copy and free its way to the same size.
        let reached: usize = ordered.iter().map(|&t| postings.get(t).len()).sum();
        let mut strong = Vec::with_capacity(reached / 4);
        let mut earlier = TopicSet::EMPTY;
        let mut considered = 0;
        for &topic in ordered {
            for posting in postings.get(topic) {
                if !posting.topics.and(earlier).is_empty() {
                    continue;
                }
                considered += 1;
                if posting.topics.and(need).has_several() {
                    strong.push(*posting);
                }
            }
            earlier.insert(topic);
        }
        let most = strong
            .iter()
            .map(|p| p.topics.and(need).len())
            .max()
            .unwrap_or(0);
        Self {
            strong,
            most,
            considered,
        }
    }

    /// The strong candidates with their overlap, highest overlap first (index order within
    /// one overlap).
    pub(crate) fn descending(&self, need: TopicSet) -> impl Iterator<Item = (usize, &Posting)> {
        (2..=self.most).rev().flat_map(move |overlap| {
            self.strong
                .iter()
                .filter(move |p| p.topics.and(need).len() == overlap)
                .map(move |p| (overlap, p))
        })
    }
}

/// Calls `visit` for every candidate sharing exactly one topic with the need, within the
/// posting lists of `topics`. Such an entry is in exactly one need topic's list, so no
/// de-duplication is needed.
pub(crate) fn single_topic_candidates(
    postings: &Postings,
    topics: &[TopicId],
    need: TopicSet,
    mut visit: impl FnMut(&Posting),
) {
    for &topic in topics {
        for posting in postings.get(topic) {
            // Every posting of a need topic shares at least that one.
            if !posting.topics.and(need).has_several() {
                visit(posting);
            }
        }
    }
}

/// A candidate that passed every filter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pick {
    /// The full score.
    pub score: f64,
    /// Tie-break: earlier first (a course's first period end; `Date::MIN` for companies).
    pub period_end: Date,
    /// The catalogue slot.
    pub slot: u32,
    /// The chosen course instance (0 for companies).
    pub instance: usize,
}

/// The best `cap` picks of one recipient group, best first.
#[derive(Clone, Debug)]
pub(crate) struct TopN {
    cap: usize,
    picks: Vec<Pick>,
}

impl TopN {
    /// An empty group keeping at most `cap`.
    #[must_use]
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            picks: Vec::with_capacity(cap + 1),
        }
    }

    /// The score a new candidate must reach to enter.
    #[must_use]
    pub(crate) fn threshold(&self, min_score: f64) -> f64 {
        if self.cap == 0 {
            return f64::INFINITY;
        }
        match self.picks.get(self.cap.saturating_sub(1)) {
            Some(last) if self.picks.len() >= self.cap => last.score.max(min_score),
            _ => min_score,
        }
    }

    /// Offers `pick`; `before(a, b)` breaks exact ties of score and period end.
    pub(crate) fn offer(&mut self, pick: Pick, before: impl Fn(&Pick, &Pick) -> bool) {
        if self.cap == 0 {
            return;
        }
        let better = |a: &Pick, b: &Pick| {
            a.score
                .total_cmp(&b.score)
                .reverse()
                .then(a.period_end.cmp(&b.period_end))
                .is_lt()
                || (a.score == b.score && a.period_end == b.period_end && before(a, b))
        };
        let at = self
            .picks
            .iter()
            .position(|held| better(&pick, held))
            .unwrap_or(self.picks.len());
        if at < self.cap {
            self.picks.insert(at, pick);
            self.picks.truncate(self.cap);
        }
    }

    /// The picks, best first.
    #[must_use]
    pub(crate) fn into_picks(self) -> Vec<Pick> {
        self.picks
    }

    /// Nothing picked.
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.picks.is_empty()
    }
}

/// The need's stems as a bitset over the catalogue's stem ids, for cheap overlap counts.
pub(crate) struct TermHits {
    bits: Vec<u64>,
}

impl TermHits {
    /// A bitset with `ids` set.
    pub(crate) fn new(ids: impl Iterator<Item = u32>) -> Self {
        let mut bits = Vec::new();
        for id in ids {
            let word = (id / 64) as usize;
            if bits.len() <= word {
                bits.resize(word + 1, 0);
            }
            bits[word] |= 1 << (id % 64);
        }
        Self { bits }
    }

    /// Whether stem `id` is in the need.
    #[must_use]
    pub(crate) fn contains(&self, id: u32) -> bool {
        self.bits
            .get((id / 64) as usize)
            .is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    /// How many of `terms` are in the need.
    #[must_use]
    pub(crate) fn count(&self, terms: &[u32]) -> usize {
        terms.iter().filter(|&&id| self.contains(id)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_shared_topics_are_a_full_topic_fit() {
        assert_eq!(topic_score(3, 5, None), 1.0);
        assert_eq!(topic_score(5, 5, None), 1.0);
        assert!((topic_score(1, 5, None) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(topic_score(1, 1, None), 1.0);
        assert!((topic_score(3, 5, Some(true)) - 1.0).abs() < 1e-9);
        assert!((topic_score(3, 5, Some(false)) - 0.8).abs() < 1e-9);
    }

    #[test]
    fn text_saturates() {
        assert_eq!(text_score(0), 0.0);
        assert_eq!(text_score(TEXT_SATURATION + 4), 1.0);
    }

    #[test]
    fn combined_score_stays_in_unit_range() {
        assert!((combine(1.0, 1.0, 1.0) - 1.0).abs() < 1e-9);
        assert_eq!(combine(0.0, 0.0, 0.0), 0.0);
        assert!((combine(1.0, 0.0, 0.0) - W_TOPIC).abs() < 1e-9);
    }

    fn pick(score: f64, day: u8, slot: u32) -> Pick {
        let period_end = Date::from_calendar_date(2027, time::Month::March, day).unwrap();
        Pick {
            score,
            period_end,
            slot,
            instance: 0,
        }
    }

    #[test]
    fn top_n_keeps_the_best_and_breaks_ties_on_earliest_period() {
        let mut top = TopN::new(2);
        let by_slot = |a: &Pick, b: &Pick| a.slot < b.slot;
        top.offer(pick(0.5, 20, 1), by_slot);
        top.offer(pick(0.9, 28, 2), by_slot);
        top.offer(pick(0.5, 10, 3), by_slot);
        assert_eq!(top.threshold(0.3), 0.5);
        top.offer(pick(0.1, 1, 4), by_slot);
        let slots: Vec<u32> = top.into_picks().iter().map(|p| p.slot).collect();
        assert_eq!(slots, [2, 3]);
    }

    proptest::proptest! {
        #[test]
        fn top_n_equals_sorting_everything(
            raw in proptest::collection::vec((0u8..10, 1u8..5), 0..40),
            cap in 0usize..6,
        ) {
            let picks: Vec<Pick> = raw
                .iter()
                .enumerate()
                .map(|(i, &(score, day))| pick(f64::from(score) / 10.0, day, i as u32))
                .collect();
            let mut top = TopN::new(cap);
            for p in &picks {
                top.offer(*p, |a, b| a.slot < b.slot);
            }
            let mut sorted = picks.clone();
            sorted.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(a.period_end.cmp(&b.period_end))
                    .then(a.slot.cmp(&b.slot))
            });
            sorted.truncate(cap);
            proptest::prop_assert_eq!(top.into_picks(), sorted);
        }
    }

    #[test]
    fn threshold_is_min_score_until_full() {
        let mut top = TopN::new(3);
        top.offer(pick(0.9, 1, 1), |_, _| false);
        assert_eq!(top.threshold(0.3), 0.3);
    }

    #[test]
    fn candidates_are_seen_once_strong_first_then_single_topic() {
        let mut postings = Postings::default();
        let set = |ids: &[TopicId]| {
            let mut s = TopicSet::EMPTY;
            ids.iter().for_each(|&id| s.insert(id));
            s
        };
        let sets = [set(&[0, 1]), set(&[1]), set(&[2])];
        for (slot, topics) in sets.iter().enumerate() {
            postings.insert(Posting {
                slot: slot as u32,
                org: 0,
                digest: crate::catalogue::digest::Digest::default(),
                topics: *topics,
            });
        }
        let need = set(&[0, 1]);

        let found = Candidates::collect(&postings, &[0, 1], need);
        let mut single = Vec::new();
        single_topic_candidates(&postings, &[0, 1], need, |p| single.push(p.slot));

        let strong: Vec<(usize, u32)> = found.descending(need).map(|(k, p)| (k, p.slot)).collect();
        assert_eq!(found.considered, 2);
        assert_eq!(strong, [(2, 0)]);
        assert_eq!(single, [1]);
    }

    #[test]
    fn term_hits_count_shared_ids() {
        let hits = TermHits::new([3, 70, 200].into_iter());
        assert_eq!(hits.count(&[1, 3, 70, 199, 200, 500]), 3);
    }
}
