//! The outbox relay: publishes what the pipeline committed, marks it sent once confirmed.
//!
//! It is the only thing that publishes the hub's events. Rows are read oldest first in batches
//! of the confirm window and published with pipelined confirms; a row is marked sent only
//! after the broker confirmed it and routed it to a queue. On start the relay simply finds
//! every row a crash left unconfirmed. Failed rows are retried with a growing pause; a row
//! that stays unroutable (an organisation's queue was deleted) is moved to the dead-letter
//! queue after [`MAX_ATTEMPTS`] so it cannot hold the relay forever, and is never dropped.

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

/// Publish pending outbox rows until `shutdown`.
pub async fn run<P: Publish>(
    store: Store,
    publisher: Arc<P>,
    wake: Arc<Notify>,
    batch: usize,
    shutdown: Shutdown,
) {
    let mut pause = Duration::from_millis(100);
    while !shutdown.is_triggered() {
        match relay_once(&store, publisher.as_ref(), batch).await {
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

/// Publish one batch of pending rows.
pub async fn relay_once<P: Publish>(
    store: &Store,
    publisher: &P,
    batch: usize,
) -> Result<Pass, StoreError> {
    let rows = store
        .pending_outbox(i64::try_from(batch).unwrap_or(i64::MAX))
        .await?;
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
