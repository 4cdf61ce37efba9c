//! The outbox relay: publishes what the pipeline committed, marks it sent once confirmed.
//!
//! It is the only thing that publishes the hub's events. Rows are claimed oldest first in
//! batches of the confirm window ([`Store::claim_outbox`]) and published with pipelined
//! confirms; a row is marked sent only after the broker confirmed it and routed it to a queue.
//! Failed rows are given back at once ([`Store::record_attempt`] clears the claim) and retried
//! with a growing pause; a row that stays unroutable (an organisation's queue was deleted) is
//! moved to the dead-letter queue after [`MAX_ATTEMPTS`] so it cannot hold the relay forever,
//! and is never dropped.
//!
//! **Several relays, one outbox.** Hub instances sharing a database each run a relay. A claim
//! is a lease (`[hub] relay_lease_secs`): while one relay holds a row the others skip it, so
//! each event goes on the wire once, and the relays split the backlog between them (on
//! PostgreSQL two claims at the same moment take disjoint rows). A relay that dies holding
//! rows — a SIGKILL between claim and confirm — leaves them claimed until the lease runs out;
//! then any relay, including the restarted hub's, claims and publishes them again, and
//! receivers dedupe by event id. A batch must be published well within the lease, or another
//! relay publishes it too: a broker that withholds confirms for longer than the lease (the
//! publisher waits up to its confirm timeout) costs duplicates, never a loss.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::event::RejectReason;
use crate::pipeline::outbox::from_row;
use crate::store::{OutboxRow, Store, StoreError};
use crate::transport::amqp::DEAD_LETTER_EXCHANGE;
use crate::transport::{DETAIL_HEADER, Outbound, Publish, REASON_HEADER, Shutdown, TransportError};

/// Attempts before an undeliverable row is moved to the dead letters.
pub const MAX_ATTEMPTS: i64 = 20;
/// Longest pause after a failed batch.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// How often the relay looks even when nobody woke it (rows from another hub instance).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How much the relay claims at a time, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// Rows per pass (the confirm window).
    pub batch: usize,
    /// How long other relays skip the claimed rows.
    pub lease: Duration,
}

/// Publish pending outbox rows until `shutdown`.
pub async fn run<P: Publish>(
    store: Store,
    publisher: Arc<P>,
    wake: Arc<Notify>,
    claim: Claim,
    shutdown: Shutdown,
) {
    let mut pause = Duration::from_millis(100);
    while !shutdown.is_triggered() {
        match relay_once(&store, publisher.as_ref(), claim).await {
            Ok(Pass {
                published: 0,
                failed: 0,
            }) => {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                    () = shutdown.wait() => {}
                }
            }
            Ok(Pass { failed: 0, .. }) => pause = Duration::from_millis(100),
            Ok(Pass { failed, .. }) => {
                tracing::debug!(failed, "outbox rows not confirmed; retrying");
                sleep_or_shutdown(pause, &shutdown).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay cannot read the store; retrying");
                sleep_or_shutdown(pause, &shutdown).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

async fn sleep_or_shutdown(pause: Duration, shutdown: &Shutdown) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        () = shutdown.wait() => {}
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Rows confirmed and marked sent.
    pub published: usize,
    /// Rows that failed this time.
    pub failed: usize,
}

/// Claim one batch of unsent rows no other relay holds, publish it, and mark each row sent or
/// give it back.
pub async fn relay_once<P: Publish>(
    store: &Store,
    publisher: &P,
    claim: Claim,
) -> Result<Pass, StoreError> {
    let limit = i64::try_from(claim.batch).unwrap_or(i64::MAX);
    let rows = store.claim_outbox(limit, claim.lease).await?;
    if rows.is_empty() {
        return Ok(Pass {
            published: 0,
            failed: 0,
        });
    }
    let messages: Vec<Outbound> = rows.iter().map(|r| from_row(&r.message)).collect();
    let results = publisher.publish_all(&messages).await;
    let mut sent = Vec::with_capacity(rows.len());
    let mut failed = 0;
    for (row, result) in rows.iter().zip(results) {
        match result {
            Ok(()) => sent.push(row.id),
            Err(e) if row.attempts + 1 >= MAX_ATTEMPTS && !e.is_transient() => {
                if park(publisher, row, &e).await {
                    sent.push(row.id);
                } else {
                    store.record_attempt(row.id).await?;
                    failed += 1;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, outbox_id = row.id, "publish failed");
                store.record_attempt(row.id).await?;
                failed += 1;
            }
        }
    }
    store.mark_sent(&sent).await?;
    Ok(Pass {
        published: sent.len(),
        failed,
    })
}

/// Move an undeliverable row to the dead letters; true when the broker confirmed it.
async fn park<P: Publish>(publisher: &P, row: &OutboxRow, error: &TransportError) -> bool {
    let mut dead = from_row(&row.message);
    dead.headers.insert(
        REASON_HEADER.to_owned(),
        RejectReason::RetriesExhausted.as_str().to_owned(),
    );
    dead.headers
        .insert(DETAIL_HEADER.to_owned(), error.to_string());
    dead.exchange = DEAD_LETTER_EXCHANGE.to_owned();
    let parked = matches!(
        publisher
            .publish_all(std::slice::from_ref(&dead))
            .await
            .pop(),
        Some(Ok(()))
    );
    if parked {
        tracing::error!(outbox_id = row.id, routing_key = %row.message.routing_key, "outbox row undeliverable; moved to the dead letters");
    }
    parked
}
