//! Integer ids for topics and text stems, topic bitsets and sorted posting lists.
//!
//! Matching must not compare a need with every catalogue entry. Topics are
//! interned to small integers so that an entry's topics fit in one [`TopicSet`] (128 bits):
//! overlap with a need is an `AND` and a `count_ones`, with no string comparison and no
//! allocation. Each topic has a posting list of the entries carrying it, kept sorted, so a need
//! reaches only the entries that share at least one of its topics.
//!
//! A [`Posting`] carries the entry's topic set and university next to its slot. With a popular
//! topic a need reaches tens of thousands of postings; reading what the first ranking step
//! needs from the list itself streams memory in order, where looking each slot up elsewhere
//! would cost a cache miss per candidate.
//!
//! Stems of entry text are interned the same way ([`Terms`]) and stored per entry as sorted
//! ids, tokenized once at upsert, so text relevance at match time is a few bit tests.

use std::collections::HashMap;

use super::digest::Digest;

/// How many distinct topics the catalogue can index: the bits of a [`TopicSet`]. The shared
/// vocabulary has 36; the schema's enum keeps unknown topics out, so 128 leaves room for
/// several minor revisions.
pub(crate) const MAX_TOPICS: usize = 128;

/// A small integer standing for one topic string.
pub(crate) type TopicId = u8;

/// A set of topics as a bitset (two words, so that it packs into a [`Posting`] without the
/// 16-byte alignment of a `u128`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct TopicSet([u64; 2]);

impl TopicSet {
    /// The empty set.
    pub(crate) const EMPTY: Self = Self([0; 2]);

    /// Adds a topic.
    pub(crate) fn insert(&mut self, id: TopicId) {
        self.0[usize::from(id / 64) & 1] |= 1u64 << (id % 64);
    }

    /// The set with `id` added.
    #[must_use]
    pub(crate) fn with(mut self, id: TopicId) -> Self {
        self.insert(id);
        self
    }

    /// Whether `id` is in the set.
    #[must_use]
    pub(crate) fn contains(self, id: TopicId) -> bool {
        self.0[usize::from(id / 64) & 1] & (1u64 << (id % 64)) != 0
    }

    /// Topics in both sets.
    #[must_use]
    pub(crate) fn and(self, other: Self) -> Self {
        Self([self.0[0] & other.0[0], self.0[1] & other.0[1]])
    }

    /// Number of topics.
    #[must_use]
    pub(crate) fn len(self) -> usize {
        (self.0[0].count_ones() + self.0[1].count_ones()) as usize
    }

    /// At least two topics (cheaper than [`TopicSet::len`] where only that matters).
    #[must_use]
    pub(crate) fn has_several(self) -> bool {
        let [low, high] = self.0;
        (low != 0 && high != 0)
            || low & low.wrapping_sub(1) != 0
            || high & high.wrapping_sub(1) != 0
    }

    /// No topics.
    #[must_use]
    pub(crate) fn is_empty(self) -> bool {
        self.0 == [0; 2]
    }
}

/// Topic strings ↔ [`TopicId`]s, in order of first appearance.
#[derive(Clone, Debug, Default)]
pub(crate) struct Topics {
    ids: HashMap<String, TopicId>,
    names: Vec<String>,
}

impl Topics {
    /// The id of `topic`, interning it when new; `None` when [`MAX_TOPICS`] are taken.
    pub(crate) fn intern(&mut self, topic: &str) -> Option<TopicId> {
        if let Some(&id) = self.ids.get(topic) {
            return Some(id);
        }
        let id = TopicId::try_from(self.names.len())
            .ok()
            .filter(|&id| usize::from(id) < MAX_TOPICS)?;
        self.ids.insert(topic.to_owned(), id);
        self.names.push(topic.to_owned());
        Some(id)
    }

    /// The id of a known topic.
    #[must_use]
    pub(crate) fn get(&self, topic: &str) -> Option<TopicId> {
        self.ids.get(topic).copied()
    }

    /// The string of an id.
    #[must_use]
    pub(crate) fn name(&self, id: TopicId) -> &str {
        self.names.get(usize::from(id)).map_or("", String::as_str)
    }
}

/// Text stems ↔ dense `u32` ids. Stems are never forgotten: the vocabulary of a catalogue is
/// bounded by the languages, not by the number of entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Terms {
    ids: HashMap<String, u32>,
}

impl Terms {
    /// The id of `stem`, interning it when new.
    pub(crate) fn intern(&mut self, stem: &str) -> u32 {
        if let Some(&id) = self.ids.get(stem) {
            return id;
        }
        // More than 4 billion distinct stems cannot come from natural-language text.
        let id = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.insert(stem.to_owned(), id);
        id
    }

    /// The id of a known stem.
    #[must_use]
    pub(crate) fn get(&self, stem: &str) -> Option<u32> {
        self.ids.get(stem).copied()
    }
}

/// One entry in a topic's posting list (32 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Posting {
    /// The entry's slot in the catalogue.
    pub slot: u32,
    /// The owning university's index (courses; 0 for partners).
    pub org: u16,
    /// The entry's filter facts.
    pub digest: Digest,
    /// The entry's indexed topics.
    pub topics: TopicSet,
}

/// One list of postings per topic, sorted by slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct Postings {
    lists: Vec<Vec<Posting>>,
}

impl Postings {
    /// Adds `posting` under every topic of its topic set.
    pub(crate) fn insert(&mut self, posting: Posting) {
        let slot = posting.slot;
        for id in ids(posting.topics) {
            let index = usize::from(id);
            if self.lists.len() <= index {
                self.lists.resize_with(index + 1, Vec::new);
            }
            let list = &mut self.lists[index];
            match list.binary_search_by_key(&slot, |p| p.slot) {
                Ok(at) => list[at] = posting,
                Err(at) => list.insert(at, posting),
            }
        }
    }

    /// Removes `slot` from every topic of `topics`.
    pub(crate) fn remove(&mut self, slot: u32, topics: TopicSet) {
        for id in ids(topics) {
            if let Some(list) = self.lists.get_mut(usize::from(id))
                && let Ok(at) = list.binary_search_by_key(&slot, |p| p.slot)
            {
                list.remove(at);
            }
        }
    }

    /// The postings of `topic`, by ascending slot.
    #[must_use]
    pub(crate) fn get(&self, topic: TopicId) -> &[Posting] {
        self.lists
            .get(usize::from(topic))
            .map_or(&[], Vec::as_slice)
    }
}

/// The ids in a set, ascending.
pub(crate) fn ids(set: TopicSet) -> impl Iterator<Item = TopicId> {
    let mut bits = u128::from(set.0[0]) | (u128::from(set.0[1]) << 64);
    std::iter::from_fn(move || {
        if bits == 0 {
            return None;
        }
        let id = bits.trailing_zeros();
        bits &= bits - 1;
        TopicId::try_from(id).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_set_overlap_is_and_plus_count() {
        let mut a = TopicSet::EMPTY;
        let mut b = TopicSet::EMPTY;
        for id in [1, 5, 127] {
            a.insert(id);
        }
        for id in [5, 127, 9, 64] {
            b.insert(id);
        }
        assert_eq!(a.and(b).len(), 2);
        assert!(a.and(b).has_several());
        assert!(!b.and(TopicSet::EMPTY.with(9)).has_several());
        assert!(!TopicSet::EMPTY.has_several());
        assert!(TopicSet::EMPTY.with(3).with(70).has_several());
        assert!(a.and(b).contains(127));
        assert_eq!(ids(a).collect::<Vec<_>>(), [1, 5, 127]);
    }

    #[test]
    fn interning_stops_at_the_bitset_width() {
        let mut topics = Topics::default();
        for n in 0..MAX_TOPICS {
            assert!(topics.intern(&format!("t{n}")).is_some());
        }
        assert_eq!(topics.intern("one-too-many"), None);
        assert_eq!(topics.intern("t3"), Some(3));
        assert_eq!(topics.name(3), "t3");
    }

    #[test]
    fn postings_stay_sorted_and_forget_removed_slots() {
        let mut postings = Postings::default();
        let mut set = TopicSet::EMPTY;
        set.insert(2);
        for slot in [7, 3, 9, 3] {
            postings.insert(Posting {
                slot,
                org: 0,
                digest: Digest::default(),
                topics: set,
            });
        }
        let slots = |p: &Postings| p.get(2).iter().map(|p| p.slot).collect::<Vec<_>>();
        assert_eq!(slots(&postings), [3, 7, 9]);
        postings.remove(7, set);
        assert_eq!(slots(&postings), [3, 9]);
        assert!(postings.get(40).is_empty());
    }
}
