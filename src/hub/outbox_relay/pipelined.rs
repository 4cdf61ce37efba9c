//! The relay's loop, pipelined: while batch k is on the wire awaiting its confirms, the store
//! records what became of batch k − 1 and claims batch k + 1, in one write transaction
//! ([`Store::settle_and_claim`]). So the store's work hides behind the broker's, and on SQLite
//! the relay takes the one writer once per batch instead of twice. At most two batches are
//! claimed at a time: the one being published and the next.
//!
//! While batch k awaits its confirms, rows that commits hand over go out with it at once
//! (`handed.rs`), up to a batch's worth: they are part of batch k, judged with it.
//!
//! **Order per organisation is kept.** The publisher sends one batch at a time per link, in
//! the order the relay hands them over, and batch k + 1 is handed over only after batch k's
//! results are in; rows join batch k only while its link holds. If any row of batch k was not published because the broker was away, batch
//! k + 1 is not published at all: it is given back with batch k's rows, and after the pause
//! the next claim takes them again oldest first — so a rebuilt link never carries later rows
//! ahead of earlier ones. (A row the broker refused waits for its own next attempt while the
//! rows behind it go on, as before.)
//!
//! **Nothing is marked sent before its confirm.** A batch's fates are recorded only after its
//! publish returned; if the store fails, they are kept and recorded with the next transaction
//! that works. Until then the rows stay claimed; a crash in between leaves them to run out of
//! their lease and be published again (a duplicate, never a loss). A batch claimed ahead is
//! leased for the wait behind the batch before it as well as for its own publishing (the lease
//! plus the lease less the margin), and is given back unpublished if it is not published
//! within that less the margin; so after a crash such rows wait up to about twice the lease.

use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::handed::Handed;
use super::intake::Intake;
use super::{IDLE_POLL, MAX_PAUSE, MIN_PAUSE, Pass, RelayConfig, publish_batch, sleep_or_shutdown};
use crate::store::{ClaimLimits, HandoffReceiver, OutboxRow, Settlement, Store};
use crate::transport::{Backoff, Publish, Shutdown};

/// Claimed rows waiting for their turn on the wire, and when they must be published by.
struct Batch {
    rows: Vec<OutboxRow>,
    deadline: Instant,
}

impl Batch {
    fn empty() -> Self {
        Self {
            rows: Vec::new(),
            deadline: Instant::now(),
        }
    }
}

/// A batch claimed ahead waits for the batch before it (at most that batch's deadline) and is
/// then published itself: its lease covers both, so a slow broker does not run every batch
/// claimed ahead out of time. Such rows wait that much longer after a crash.
fn ahead(config: &RelayConfig) -> (ClaimLimits, Duration) {
    let wait = config.publish_deadline();
    let limits = ClaimLimits {
        lease: config.lease + wait,
        ..config.limits()
    };
    (limits, wait + wait)
}

/// How a step went, and so what the loop does next.
enum Step {
    /// Rows were published or claimed: go on at once.
    Busy,
    /// Nothing to publish and nothing claimed: wait to be woken.
    Idle,
    /// The broker was away: what was claimed next was given back; pause.
    Outage,
    /// The store failed: the fates stay owed; pause.
    StoreDown,
}

/// Publish pending outbox rows until `shutdown` (see the module docs).
pub(super) async fn run<P: Publish>(
    store: &Store,
    publisher: &P,
    wake: &Notify,
    handoff: Option<HandoffReceiver>,
    config: &RelayConfig,
    shutdown: &Shutdown,
) {
    let backoff = Backoff {
        initial: MIN_PAUSE,
        max: MAX_PAUSE,
    };
    // One jittered, doubling schedule per stretch of trouble; any step that works starts over.
    let mut pauses = backoff.delays();
    let mut ready = Batch::empty();
    // Fates of published batches the store has not recorded yet.
    let mut owed: Vec<Settlement> = Vec::new();
    let mut intake = Intake::new(handoff);
    while !shutdown.is_triggered() {
        match step(store, publisher, config, &mut ready, &mut owed, &mut intake).await {
            Step::Busy => pauses = backoff.delays(),
            Step::Idle => {
                pauses = backoff.delays();
                tokio::select! {
                    () = wake.notified() => {}
                    () = intake.wait() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    () = shutdown.wait() => {}
                }
            }
            Step::Outage | Step::StoreDown => {
                sleep_or_shutdown(pauses.next().unwrap_or(MAX_PAUSE), shutdown).await;
            }
        }
    }
    // Shutting down: what was claimed or handed over but not published goes back at once.
    owed.extend(Settlement::release_all(&ready.rows));
    intake.close(&mut owed, config.lease).await;
    record(store, &mut owed).await;
}

/// Publishes `ready` while the store records `owed` and claims the next batch into `ready`,
/// then adds what commits handed over meanwhile.
async fn step<P: Publish>(
    store: &Store,
    publisher: &P,
    config: &RelayConfig,
    ready: &mut Batch,
    owed: &mut Vec<Settlement>,
    intake: &mut Intake,
) -> Step {
    let claimed_at = Instant::now();
    let (limits, within) = ahead(config);
    let backlog = intake.claim_now(claimed_at, owed);
    let limit = usize::try_from(limits.rows).unwrap_or(usize::MAX);
    let mut handed = Handed::new(intake, config, ready.deadline, limit);
    let (published, stored) = tokio::join!(
        publish_batch(
            publisher,
            &ready.rows,
            ready.deadline,
            config,
            Some(&mut handed)
        ),
        store.settle_and_claim(owed, backlog.map(|_| limits)),
    );
    let given_back = std::mem::take(&mut handed.released);
    drop(handed);
    let store_ok = match stored {
        Ok(rows) => {
            owed.clear();
            if let Some(before) = backlog {
                intake.claimed(claimed_at, before, rows.len(), limits.rows);
            }
            let deadline = claimed_at + within;
            *ready = Batch { rows, deadline };
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "outbox relay cannot use the store; retrying");
            *ready = Batch::empty();
            false
        }
    };
    owed.extend(given_back);
    let pass = published.map_or_else(Pass::default, |(settlements, pass)| {
        owed.extend(settlements);
        pass
    });
    if pass.waiting > 0 {
        tracing::debug!(
            waiting = pass.waiting,
            "broker unavailable; outbox rows wait for it"
        );
        owed.extend(Settlement::release_all(&ready.rows));
        intake.stop();
        *ready = Batch::empty();
        record(store, owed).await;
        return Step::Outage;
    }
    if !store_ok {
        return Step::StoreDown;
    }
    if let Some(by) = intake.take_into(&mut ready.rows, owed, limit, config) {
        ready.deadline = ready.deadline.min(by);
    }
    if ready.rows.is_empty() && owed.is_empty() {
        Step::Idle
    } else {
        Step::Busy
    }
}

/// Records the owed fates without claiming; on failure they stay owed (and their rows claimed
/// until the lease runs out).
async fn record(store: &Store, owed: &mut Vec<Settlement>) {
    match store.settle_and_claim(owed, None).await {
        Ok(_) => owed.clear(),
        Err(e) => tracing::warn!(error = %e, "outbox relay cannot record what it published"),
    }
}
