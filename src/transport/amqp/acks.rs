//! Which delivery tags of one channel are settled, so that a group commit's acks can go out as
//! one `basic.ack` with `multiple = true` when — and only when — that acks nothing else.
//!
//! # Why a ledger
//!
//! `multiple = true` on tag `k` acks *every* unsettled delivery up to `k` on the channel. The
//! hub's worker runs several batches at once on the one consumer channel, and a batch can set
//! deliveries aside for the single-delivery path, so a tag below `k` may belong to a delivery
//! whose effects are not durable yet. Acking it would break the first settlement rule. The
//! ledger therefore records every tag whose settlement *has been sent*, and a multiple ack is
//! named only up to the highest tag `k` such that every tag up to `k` is either settled or in
//! the set being acked ([`Ledger::cover`]). Tags are handed out by the broker consecutively per
//! channel from 1, so "every tag up to `k`" is a finite, known set.
//!
//! # Ordering
//!
//! A tag is marked settled only after its `basic.ack` / `basic.nack` / `basic.reject` has been
//! sent (lapin resolves the call once the frame is out). A multiple ack that relies on that
//! mark is therefore sent after it, and the broker never sees one tag settled twice (which
//! would close the channel with `PRECONDITION_FAILED`). A settlement still under way counts as
//! unsettled, which only makes a multiple ack stop short of it.
//!
//! A new channel (after a reconnect) gets a new ledger; the old channel's deliveries cannot be
//! settled any more anyway.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use lapin::options::BasicAckOptions;

use super::consume::AmqpDelivery;
use crate::transport::{Settle, TransportError};

/// Settled tags of one channel (see the module docs); shared by its deliveries.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    state: Mutex<Settled>,
}

/// Every tag up to `floor` is settled; `above` holds the settled tags beyond it.
#[derive(Debug, Default)]
struct Settled {
    floor: u64,
    above: BTreeSet<u64>,
}

impl Ledger {
    /// A ledger for a fresh channel (nothing delivered yet).
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Record that the settlements of `tags` have been sent.
    pub(super) fn settled(&self, tags: impl IntoIterator<Item = u64>) {
        // A poisoned lock only means another settle panicked mid-update; the set itself is
        // always consistent (each step is one insert or remove), so it is used as it is.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for tag in tags {
            state.insert(tag);
        }
    }

    /// The highest of `tags` (ascending, distinct, none settled yet) that a multiple ack may
    /// name: every tag of the channel up to it is settled or in `tags`. `None` when the
    /// lowest unsettled tag of the channel is not in `tags`.
    pub(super) fn cover(&self, tags: &[u64]) -> Option<u64> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = state.floor + 1;
        let mut covered = None;
        for &tag in tags {
            while next < tag {
                if !state.above.contains(&next) {
                    return covered;
                }
                next += 1;
            }
            if tag == next {
                covered = Some(tag);
                next += 1;
            }
        }
        covered
    }
}

/// Ack `deliveries`: one multiple ack for the run the ledger allows, one ack each for the rest.
pub(super) async fn ack_together(mut deliveries: Vec<AmqpDelivery>) -> Result<(), TransportError> {
    deliveries.sort_by_key(|d| d.tag);
    let mut first = Ok(());
    let covered = cover(&deliveries).map_or(0, |k| deliveries.partition_point(|d| d.tag <= k));
    let rest = deliveries.split_off(if covered >= 2 { covered } else { 0 });
    if let Some(last) = deliveries.last() {
        let multiple = BasicAckOptions { multiple: true };
        let outcome = last.acker.ack(multiple).await;
        first = last.sent("ack", outcome, deliveries.iter().map(|d| d.tag));
    }
    for delivery in rest {
        let acked = delivery.settle_now(Settle::Ack).await;
        if first.is_ok() {
            first = acked;
        }
    }
    first
}

/// The tag a multiple ack of `deliveries` (ascending tags) may name, when they all came on one
/// channel.
fn cover(deliveries: &[AmqpDelivery]) -> Option<u64> {
    let ledger = &deliveries.first()?.ledger;
    if !deliveries.iter().all(|d| Arc::ptr_eq(&d.ledger, ledger)) {
        return None;
    }
    let tags: Vec<u64> = deliveries.iter().map(|d| d.tag).collect();
    ledger.cover(&tags)
}

impl Settled {
    fn insert(&mut self, tag: u64) {
        if tag <= self.floor {
            return;
        }
        self.above.insert(tag);
        while self.above.remove(&(self.floor + 1)) {
            self.floor += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_batch_after_everything_settled_is_covered_whole() {
        let ledger = Ledger::new();
        ledger.settled([1, 2]);
        assert_eq!(ledger.cover(&[3, 4, 5]), Some(5));
    }

    #[test]
    fn an_unsettled_earlier_tag_stops_the_cover_before_it() {
        let ledger = Ledger::new();
        // 1 belongs to a batch still running: nothing of 2..4 may be acked with multiple.
        assert_eq!(ledger.cover(&[2, 3, 4]), None);
        // 3 is set aside for the single path: the cover ends at 2.
        ledger.settled([1]);
        assert_eq!(ledger.cover(&[2, 4, 5]), Some(2));
    }

    #[test]
    fn tags_settled_out_of_order_close_the_gap_once_the_lowest_comes() {
        let ledger = Ledger::new();
        ledger.settled([2, 3]);
        assert_eq!(ledger.cover(&[4]), None);
        ledger.settled([1]);
        assert_eq!(ledger.cover(&[4, 6]), Some(4));
        let state = ledger.state.lock().unwrap();
        assert_eq!((state.floor, state.above.len()), (3, 0));
    }

    proptest! {
        /// Whatever was settled before, a multiple ack on the cover acks exactly the
        /// unsettled tags of the set: it never reaches an unsettled tag outside the set.
        #[test]
        fn a_cover_acks_nothing_outside_the_set(
            settled in proptest::collection::btree_set(1u64..40, 0..30),
            wanted in proptest::collection::btree_set(1u64..40, 1..15),
        ) {
            let ledger = Ledger::new();
            ledger.settled(settled.iter().copied());
            let wanted: Vec<u64> = wanted.difference(&settled).copied().collect();
            let set: BTreeSet<u64> = wanted.iter().copied().collect();
            if let Some(k) = ledger.cover(&wanted) {
                prop_assert!(set.contains(&k));
                for tag in 1..=k {
                    prop_assert!(settled.contains(&tag) || set.contains(&tag), "tag {tag}");
                }
            } else if let Some(&lowest) = wanted.first() {
                // No cover only when some tag below the lowest wanted one is unsettled.
                prop_assert!((1..lowest).any(|t| !settled.contains(&t)));
            }
        }
    }
}
