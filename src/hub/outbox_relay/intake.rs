//! Where the relay's next rows come from: handed over by the commits of this process
//! ([`Store::hand_off`](crate::store::Store::hand_off)), or claimed from the database.
//!
//! Once a claim has caught up with the backlog, the relay publishes what it is handed and
//! claims only every [`IDLE_POLL`], for what no commit of this process handed over: rows whose
//! next attempt has come, rows of another hub instance, rows whose lease ran out. When handing
//! over was turned off — a commit found the channel full, or the relay gave rows back — the
//! relay gives back what it was handed until then and claims every step, oldest first. Once a
//! claim comes back short (the backlog is small) it turns handing over on again, and leaves
//! what it is handed in the channel until a claim has caught up (`store/handoff.rs` explains
//! the rule). Turning it on only once the backlog is small keeps the channel from filling
//! again while the relay works through a large backlog.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{IDLE_POLL, RelayConfig};
use crate::store::{Backlog, Handed, HandoffReceiver, OutboxRow, Settlement};

/// How often a relay that has not caught up yet claims while nothing else wakes it (unclaimed
/// writes were under way at its last claim; they end with their transactions).
const CATCH_UP_POLL: Duration = Duration::from_millis(10);

/// The relay's handoff, if it got one, and what it took from it but has not used yet.
pub(super) struct Intake {
    handoff: Option<HandoffReceiver>,
    stash: VecDeque<Handed>,
    /// A claim has caught up since handing over was last turned on: handed rows may go out.
    caught_up: bool,
    /// The last claim found less than a full batch: the backlog is small.
    short: bool,
    last_claim: Option<Instant>,
    /// Rows taken as handed over, and rows claimed, over the relay's life (logged at its end).
    taken: (usize, usize),
}

impl Intake {
    pub(super) fn new(handoff: Option<HandoffReceiver>) -> Self {
        Self {
            handoff,
            stash: VecDeque::new(),
            caught_up: false,
            short: false,
            last_claim: None,
            taken: (0, 0),
        }
    }

    /// Whether this step claims from the database, and the backlog's state before it does.
    /// While handing over is off, what was handed over before goes back (into `owed`, recorded
    /// before the claim), and once a claim has come back short — the backlog is small —
    /// handing over is turned on again.
    pub(super) fn claim_now(
        &mut self,
        now: Instant,
        owed: &mut Vec<Settlement>,
    ) -> Option<Backlog> {
        let Some(handoff) = self.handoff.as_mut() else {
            return Some(Backlog::default());
        };
        if !handoff.is_direct() {
            self.caught_up = false;
            while let Some(handed) = self.stash.pop_front().or_else(|| handoff.try_take()) {
                owed.extend(Settlement::release_all(&handed.rows));
            }
            if self.short {
                handoff.reopen();
            }
        }
        let polled = self
            .last_claim
            .is_some_and(|last| now.duration_since(last) < IDLE_POLL);
        (!(self.caught_up && polled)).then(|| handoff.before_claim())
    }

    /// A claim that began at `at` with the backlog `before` returned `rows`, of at most
    /// `limit`.
    pub(super) fn claimed(&mut self, at: Instant, before: Backlog, rows: usize, limit: i64) {
        self.last_claim = Some(at);
        self.taken.1 += rows;
        self.short = i64::try_from(rows).unwrap_or(i64::MAX) < limit;
        if let Some(handoff) = &self.handoff
            && self.short
            && handoff.caught_up(before)
        {
            self.caught_up = true;
        }
    }

    /// Appends to `ready` what was handed over, up to `limit` rows in all (whole commits), and
    /// returns the earliest deadline among them: a handed row must be published within its
    /// lease less the margin, counted from its write. Nothing before a claim has caught up. A
    /// commit whose deadline has passed is given back (into `owed`) and handing over turned
    /// off, so that nothing handed later overtakes it.
    pub(super) fn take_into(
        &mut self,
        ready: &mut Vec<OutboxRow>,
        owed: &mut Vec<Settlement>,
        limit: usize,
        config: &RelayConfig,
    ) -> Option<Instant> {
        self.take(ready, owed, limit, config, None)
    }

    /// As [`take_into`](Self::take_into), for a batch already on the wire that must be
    /// published by `floor`: it stops at a commit whose own deadline is earlier (that commit
    /// waits for the next batch).
    pub(super) fn take_for_batch(
        &mut self,
        ready: &mut Vec<OutboxRow>,
        owed: &mut Vec<Settlement>,
        limit: usize,
        config: &RelayConfig,
        floor: Instant,
    ) {
        self.take(ready, owed, limit, config, Some(floor));
    }

    fn take(
        &mut self,
        ready: &mut Vec<OutboxRow>,
        owed: &mut Vec<Settlement>,
        limit: usize,
        config: &RelayConfig,
        floor: Option<Instant>,
    ) -> Option<Instant> {
        let handoff = self.handoff.as_mut()?;
        let mut deadline: Option<Instant> = None;
        let now = Instant::now();
        while self.caught_up && ready.len() < limit {
            let Some(handed) = self.stash.pop_front().or_else(|| handoff.try_take()) else {
                break;
            };
            let by = handed.written_at + config.publish_deadline();
            if by <= now {
                handoff.stop();
                self.caught_up = false;
                owed.extend(Settlement::release_all(&handed.rows));
                continue;
            }
            if floor.is_some_and(|floor| by < floor) {
                self.stash.push_front(handed);
                break;
            }
            deadline = Some(deadline.map_or(by, |d| d.min(by)));
            self.taken.0 += handed.rows.len();
            ready.extend(handed.rows);
        }
        deadline
    }

    /// Whether handed rows may go out now: a claim has caught up (which only a step's claim
    /// changes, never a batch on the wire).
    pub(super) fn takes_handed(&self) -> bool {
        self.caught_up && self.handoff.is_some()
    }

    /// Turns handing over off: the relay gives rows back (the broker is away), and rows handed
    /// over later must not overtake them. What was handed over goes back at the next claim.
    pub(super) fn stop(&mut self) {
        if let Some(handoff) = &self.handoff {
            handoff.stop();
            self.caught_up = false;
        }
    }

    /// Waits until a commit hands rows over, or, before a claim has caught up, a moment
    /// (forever without a handoff).
    pub(super) async fn wait(&mut self) {
        match self.handoff.as_mut() {
            Some(_) if !self.caught_up => tokio::time::sleep(CATCH_UP_POLL).await,
            Some(handoff) => match handoff.take().await {
                Some(handed) => self.stash.push_back(handed),
                None => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }

    /// Shutting down: hands nothing over any more and gives back what was handed over,
    /// waiting up to `within` for the commits that hold a slot.
    pub(super) async fn close(&mut self, owed: &mut Vec<Settlement>, within: Duration) {
        tracing::debug!(
            handed = self.taken.0,
            claimed = self.taken.1,
            "outbox relay stopping; rows it took as handed over and as claimed"
        );
        let Some(handoff) = self.handoff.as_mut() else {
            return;
        };
        for handed in self.stash.drain(..) {
            owed.extend(Settlement::release_all(&handed.rows));
        }
        match tokio::time::timeout(within, handoff.close()).await {
            Ok(left) => {
                for handed in left {
                    owed.extend(Settlement::release_all(&handed.rows));
                }
            }
            Err(_) => tracing::warn!(
                "a commit held its handoff slot past the lease at shutdown; its rows wait for \
                 their lease to run out"
            ),
        }
    }
}
