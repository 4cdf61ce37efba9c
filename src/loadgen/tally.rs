//! Counting arrivals against what each need should cause: pure bookkeeping, no I/O.
//!
//! Every measured need should produce the same fan-out as the warm-up need: so many messages
//! on each organisation queue (one status to the region, one challenge or call per recipient).
//! A need is complete when each of its queues got its share; the run is over when every need
//! is complete. Extra copies (an outbox relay that published again after a lost confirm) are
//! counted as duplicates, not as progress; a message for no measured need, or on a queue the
//! fan-out does not include, is counted as unexpected. The first arrival on the region's queue
//! is the need's answer: latency runs from its publish to then.

use std::collections::HashMap;
use std::time::Instant;

use super::observe::Arrival;

/// Messages per organisation queue that one need causes, by queue index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FanOut {
    /// Expected messages per queue (index as in the observer).
    pub per_queue: Vec<u32>,
    /// The region's queue, where the status arrives.
    pub status_queue: usize,
}

impl FanOut {
    /// Messages per need.
    pub(crate) fn total(&self) -> u32 {
        self.per_queue.iter().sum()
    }
}

/// Arrivals so far, per need and queue.
#[derive(Debug)]
pub(crate) struct Tally {
    /// `correlation_id` → measured need index (`None`: the warm-up need, ignored).
    index: HashMap<String, Option<usize>>,
    fan_out: FanOut,
    /// Arrivals per (need, queue), row-major.
    got: Vec<u32>,
    /// Expected messages not yet seen, per need.
    missing: Vec<u32>,
    incomplete: usize,
    /// First arrival on the region's queue, per need.
    pub status_at: Vec<Option<Instant>>,
    /// Arrivals that counted towards a need's fan-out.
    pub delivered: u64,
    /// Copies beyond a need's fan-out.
    pub duplicates: u64,
    /// Arrivals for no measured need, or on a queue outside the fan-out.
    pub unexpected: u64,
    /// When the last need became complete.
    pub done_at: Option<Instant>,
}

impl Tally {
    /// A tally for `needs` needs; `index` maps correlation ids to need indexes.
    pub(crate) fn new(
        index: HashMap<String, Option<usize>>,
        fan_out: FanOut,
        needs: usize,
    ) -> Self {
        let total = fan_out.total();
        Self {
            got: vec![0; needs * fan_out.per_queue.len()],
            missing: vec![total; needs],
            incomplete: if total == 0 { 0 } else { needs },
            status_at: vec![None; needs],
            index,
            fan_out,
            delivered: 0,
            duplicates: 0,
            unexpected: 0,
            done_at: None,
        }
    }

    /// Whether every need is complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.incomplete == 0
    }

    /// Needs whose whole fan-out arrived.
    pub(crate) fn complete_needs(&self) -> usize {
        self.missing.len() - self.incomplete
    }

    /// Expected messages not seen yet.
    pub(crate) fn missing(&self) -> u64 {
        self.missing.iter().map(|m| u64::from(*m)).sum()
    }

    /// Count one arrival.
    pub(crate) fn record(&mut self, arrival: &Arrival) {
        let need = match arrival.correlation.as_ref().and_then(|c| self.index.get(c)) {
            Some(Some(need)) => *need,
            Some(None) => return,
            None => {
                self.unexpected += 1;
                return;
            }
        };
        let queues = self.fan_out.per_queue.len();
        let expected = self
            .fan_out
            .per_queue
            .get(arrival.queue)
            .copied()
            .unwrap_or(0);
        if expected == 0 {
            self.unexpected += 1;
            return;
        }
        if arrival.queue == self.fan_out.status_queue && self.status_at[need].is_none() {
            self.status_at[need] = Some(arrival.at);
        }
        let got = &mut self.got[need * queues + arrival.queue];
        *got += 1;
        if *got > expected {
            self.duplicates += 1;
            return;
        }
        self.delivered += 1;
        self.missing[need] -= 1;
        if self.missing[need] == 0 {
            self.incomplete -= 1;
            if self.incomplete == 0 {
                self.done_at = Some(arrival.at);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(queue: usize, correlation: &str) -> Arrival {
        Arrival {
            queue,
            at: Instant::now(),
            correlation: Some(correlation.into()),
            routing_key: String::new(),
            kind: None,
            content_type: None,
            body: Vec::new(),
        }
    }

    fn tally() -> Tally {
        let index = HashMap::from([
            ("N0".to_owned(), Some(0)),
            ("E0".to_owned(), Some(0)),
            ("N1".to_owned(), Some(1)),
            ("W".to_owned(), None),
        ]);
        let fan_out = FanOut {
            per_queue: vec![1, 0, 2],
            status_queue: 0,
        };
        Tally::new(index, fan_out, 2)
    }

    #[test]
    fn a_need_is_complete_when_each_queue_got_its_share() {
        let mut t = tally();
        t.record(&arrival(2, "N0"));
        t.record(&arrival(2, "E0"));
        assert_eq!(t.complete_needs(), 0);
        assert!(t.status_at[0].is_none());
        t.record(&arrival(0, "N0"));
        assert_eq!(t.complete_needs(), 1);
        assert!(t.status_at[0].is_some());
        assert!(!t.is_complete());
        assert_eq!(t.missing(), 3);
        for q in [0, 2, 2] {
            t.record(&arrival(q, "N1"));
        }
        assert!(t.is_complete());
        assert!(t.done_at.is_some());
        assert_eq!((t.delivered, t.duplicates, t.unexpected), (6, 0, 0));
    }

    #[test]
    fn copies_strangers_and_the_warm_up_are_not_progress() {
        let mut t = tally();
        t.record(&arrival(0, "N0"));
        t.record(&arrival(0, "N0"));
        t.record(&arrival(1, "N0"));
        t.record(&arrival(0, "other"));
        t.record(&arrival(0, "W"));
        assert_eq!((t.delivered, t.duplicates, t.unexpected), (1, 1, 2));
        assert_eq!(t.complete_needs(), 0);
    }
}
