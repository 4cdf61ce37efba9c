//! Group commit: the deliveries that arrive together are written in one store transaction and
//! committed once.
//!
//! One transaction per delivery made the commit the hub's bottleneck (SQLite serialises
//! commits and writes its WAL per commit; PostgreSQL pays a commit's backend work per
//! delivery). So a worker takes the first delivery (waiting for it), then whatever else arrives
//! within `hub.batch_window_ms`, up to `hub.batch_max`, and admits them; the writer
//! (`super::writer`) merges what is admitted and writes each into one transaction
//! ([`Pipeline::handle_admitted`]). The window is waited only while another batch is being
//! handled (like PostgreSQL's `commit_delay`, which waits only with `commit_siblings`
//! transactions open): then the store is busy and deliveries gather anyway; an idle hub takes
//! what has already arrived and writes at once, so a lone delivery does not pay the window.
//!
//! It first writes them without savepoints ([`Tx::without_savepoints`]): on PostgreSQL each
//! savepoint is a subtransaction and two more statements per delivery, and a batch seldom
//! needs one. If a delivery must be undone alone — a failed statement, or a refusal found
//! after its first writes, such as a need id already in use — that transaction is rolled back
//! whole and the batch is written again with a savepoint per delivery: a delivery whose writes
//! fail is rolled back to its savepoint and set aside; the others stay. After the one commit every
//! delivery written into it is settled (acked — never before the commit; on AMQP with one
//! `multiple` ack where they are contiguous on the channel, see `Delivery::ack_all`) and the
//! relay is woken once.
//!
//! A lone delivery is written the same way, a batch of one: a transaction without a
//! savepoint, so the statements of a delivery at a quiet hour are its own writes and nothing
//! else (on SQLite each statement is a round trip to the connection's thread).
//!
//! Everything that did not make it into a commit — a delivery set aside, a course or partner
//! change (checked against committed changes only, so never batched), every delivery of a
//! batch whose commit failed — then goes through the single-delivery path
//! (`worker::process`): its own transaction, bounded retries, the pause on store faults,
//! `retries_exhausted` after the last attempt. So the settlement rules are exactly those of one
//! delivery at a time: nothing is acked before its effects are durable, an outage pauses and
//! dead-letters nothing, and only a message that keeps failing on its own is dead-lettered.
//!
//! A failure inside a batch is not counted in `samverkan_store_faults_total`: the delivery is
//! tried again on its own, and that path counts what fails there.
//!
//! One hub writes one batch at a time (`super::writer` merges what its workers admitted); on
//! PostgreSQL other hub instances write theirs at the same moment. A batch holds the row locks
//! of all its deliveries until its commit, so batches that touch the same needs wait for each
//! other. Each batch takes its deliveries in need order, so those waits
//! rarely form a cycle; and a delivery that waits for a lock longer than `BATCH_LOCK_WAIT_MS`
//! fails (a contention fault) instead of holding up its batch and everyone waiting on it — it
//! is rolled back to its savepoint and handled on its own after the commit, like a delivery
//! the database picked to break a deadlock.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{Instrument, Span};

use super::worker::{Handled, Worker, count, delivery_span, settle, settlement};
use crate::event::{EventId, Source};
use crate::pipeline::{Admission, Outcome, Pipeline};
use crate::settings::HubSettings;
use crate::store::{Fault, StoreError, Tx};
use crate::transport::{Consume, Delivery, Publish, Settle};

/// How long, in milliseconds, a batch on PostgreSQL waits for a row lock another transaction
/// holds before that delivery is set aside for the single-delivery path (`Tx::limit_lock_waits`).
const BATCH_LOCK_WAIT_MS: u64 = 100;

/// The next batch: the first delivery (waiting for it), then whatever else arrives within the
/// window, up to `batch_max`. `None` when the consumer has ended. `others_busy` says whether
/// another batch is being handled when the first delivery arrives; if none is, the window is
/// not waited (unless `hub.batch_window_when_idle`): the batch takes what has already arrived.
pub(super) async fn collect<C: Consume>(
    consumer: &mut C,
    settings: &HubSettings,
    others_busy: impl Fn() -> bool,
) -> Option<Vec<C::Delivery>> {
    let first = consumer.next().await?;
    let mut batch = vec![first];
    let deadline = Instant::now() + window(settings, others_busy());
    while batch.len() < settings.batch_max {
        // `timeout_at` polls the delivery first, so a window of 0 still takes what has arrived.
        match tokio::time::timeout_at(deadline, consumer.next()).await {
            Ok(Some(delivery)) => batch.push(delivery),
            // The consumer ended: this batch is handled, and the next `collect` says so.
            Ok(None) | Err(_) => break,
        }
    }
    Some(batch)
}

/// How long a batch waits for more deliveries after its first. Waiting pays while other
/// batches hold the store: deliveries gather meanwhile and share the next commit. With the
/// store idle it pays nothing, and a lone delivery (any delivery at a quiet hour) would pay
/// the whole window in latency.
fn window(settings: &HubSettings, others_busy: bool) -> Duration {
    if others_busy || settings.batch_window_when_idle {
        settings.batch_window()
    } else {
        Duration::ZERO
    }
}

/// Deliveries one worker task admitted, on their way to the writer (`super::writer`).
pub(super) type Admitted<D> = Vec<(D, Span, Admission)>;

/// Write admitted deliveries in one transaction and settle what committed; returns the
/// deliveries left for the single-delivery path (`worker::process`).
pub(super) async fn write_batch<D: Delivery, P: Publish>(
    worker: &Worker<'_, P>,
    admitted: Admitted<D>,
) -> Vec<D> {
    let first = write_admitted(worker, admitted, Vec::new(), Savepoints::None).await;
    let (committed, alone) = match first {
        // Written again with a savepoint each, so that only the one to undo is undone.
        Written::Undone(batch) if batch.len() > 1 => {
            match write_together(worker, batch, Savepoints::Each).await {
                Written::Undone(batch) => (Vec::new(), batch),
                Written::Done(committed, alone) => (committed, alone),
            }
        }
        // A lone delivery to undo: its own path has the savepoint (and the retries).
        Written::Undone(batch) => (Vec::new(), batch),
        Written::Done(committed, alone) => (committed, alone),
    };
    settle_committed(worker, committed).await;
    alone
}

/// Ack what a commit made durable (one `multiple` ack where contiguous) and wake the relay.
async fn settle_committed<D: Delivery, P: Publish>(
    worker: &Worker<'_, P>,
    committed: Vec<(D, Outcome)>,
) {
    if committed
        .iter()
        .any(|(_, outcome)| matches!(outcome, Outcome::Accepted { .. } | Outcome::Refused { .. }))
    {
        worker.relay.notify_one();
    }
    let mut acks = Vec::with_capacity(committed.len());
    for (delivery, outcome) in committed {
        let handled = Handled::Done(outcome);
        count(worker.pipeline.metrics(), delivery.inbound(), &handled);
        match settlement(&handled) {
            Settle::Ack => acks.push(delivery),
            how => settle(delivery, how).await,
        }
    }
    // Together: the transport may ack a contiguous run of them with one frame.
    if let Err(e) = D::ack_all(acks).await {
        tracing::debug!(error = %e, "an ack after a batch failed; the broker will redeliver");
    }
}

/// Whether a batch's deliveries are written behind savepoints of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Savepoints {
    /// None ([`Tx::without_savepoints`]): tried first, since a batch seldom needs one.
    None,
    /// One per delivery, so that one can be undone alone.
    Each,
}

/// What became of a batch written together.
enum Written<D> {
    /// Committed (with the outcomes), and the deliveries left for the single-delivery path
    /// (all of them if the commit failed).
    Done(Vec<(D, Outcome)>, Vec<D>),
    /// Written without savepoints, one delivery had to be undone alone: nothing was
    /// committed; write them again with savepoints.
    Undone(Vec<D>),
}

/// Write the batch into one transaction and commit it.
/// Admission (decoding, schemas) is done before the transaction begins: on SQLite the
/// transaction is the only writer, and should be held for writing only.
async fn write_together<D: Delivery, P: Publish>(
    worker: &Worker<'_, P>,
    batch: Vec<D>,
    savepoints: Savepoints,
) -> Written<D> {
    let (admitted, alone) = admit_all(worker.pipeline, batch);
    write_admitted(worker, admitted, alone, savepoints).await
}

/// [`write_together`] for deliveries already admitted; `alone` is passed through.
async fn write_admitted<D: Delivery, P: Publish>(
    worker: &Worker<'_, P>,
    mut admitted: Admitted<D>,
    mut alone: Vec<D>,
    savepoints: Savepoints,
) -> Written<D> {
    let pipeline = worker.pipeline;
    if admitted.is_empty() {
        // Only course or partner changes (a lone one, say): no transaction to begin here.
        return Written::Done(Vec::new(), alone);
    }
    // By need, keeping arrival order within one need: concurrent batches then take need rows
    // in the same order and do not wait on each other in a cycle.
    admitted.sort_by(|a, b| a.2.subject().cmp(&b.2.subject()));
    let events = admitted
        .iter()
        .filter_map(|(_, _, a)| a.inbox_key())
        .map(|(source, id)| (source.clone(), id.clone()))
        .collect();
    let mut tx = match begin(pipeline, savepoints, events).await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::debug!(error = %e, "a batch could not begin; its deliveries go one by one");
            alone.extend(admitted.into_iter().map(|(delivery, _, _)| delivery));
            return Written::Done(Vec::new(), alone);
        }
    };
    let written = write_each(pipeline, &mut tx, admitted, &mut alone).await;
    if !written.is_empty()
        && !tx.is_broken()
        && let Err(e) = tx.write_pending().await
    {
        // Without savepoints this breaks the transaction: it is written again with them,
        // where each delivery writes its own rows and a failure undoes it alone.
        tracing::debug!(error = %e, "writing a batch's pending rows failed");
    }
    let broken = tx.is_broken();
    if written.is_empty() || broken {
        if let Err(e) = tx.rollback().await {
            tracing::debug!(error = %e, "rolling back a batch failed; dropping it rolls back");
        }
        let all = rejoin(written, alone);
        if savepoints == Savepoints::None && broken {
            tracing::debug!("a batch without savepoints needed one; it is written again with them");
            return Written::Undone(all);
        }
        return Written::Done(Vec::new(), all);
    }
    let size = written.len();
    match tx.commit().await {
        Ok(()) => {
            tracing::debug!(size, "batch committed");
            if size > 1 {
                pipeline.metrics().batch_committed(size);
            }
            Written::Done(written, alone)
        }
        Err(e) => {
            tracing::debug!(error = %e, size, "a batch's commit failed; its deliveries go one by one");
            Written::Done(Vec::new(), rejoin(written, alone))
        }
    }
}

/// A batch's transaction, its lock waits bounded.
/// Without savepoints, the batch's events are recorded in the inbox ahead, in one statement.
async fn begin(
    pipeline: &Pipeline,
    savepoints: Savepoints,
    events: Vec<(Source, EventId)>,
) -> Result<Tx, StoreError> {
    let mut tx = pipeline.store().begin().await?;
    tx.limit_lock_waits(BATCH_LOCK_WAIT_MS).await?;
    if savepoints == Savepoints::None {
        tx.without_savepoints();
        tx.record_inbox_ahead(&events).await?;
    }
    Ok(tx)
}

/// Each admitted delivery into `tx` behind its savepoint, in its own span; the ones that fail
/// go to `alone`. Stops at a store fault (the rest would fail too) or a transaction that can
/// no longer be used.
async fn write_each<D: Delivery>(
    pipeline: &Pipeline,
    tx: &mut Tx,
    admitted: Vec<(D, Span, Admission)>,
    alone: &mut Vec<D>,
) -> Vec<(D, Outcome)> {
    let mut written = Vec::with_capacity(admitted.len());
    let mut deliveries = admitted.into_iter();
    for (delivery, span, admission) in deliveries.by_ref() {
        let attempt = pipeline
            .handle_admitted(tx, delivery.inbound(), admission)
            .instrument(span.clone())
            .await;
        match attempt {
            Ok(outcome) => written.push((delivery, outcome)),
            Err(e) => {
                span.in_scope(|| {
                    tracing::debug!(error = %e, "a delivery failed in a batch; it goes on its own");
                });
                alone.push(delivery);
                if e.fault() == Fault::Infrastructure || tx.is_broken() {
                    break;
                }
            }
        }
    }
    alone.extend(deliveries.map(|(delivery, _, _)| delivery));
    written
}

/// Admit every delivery in its span; course and partner changes are left for the
/// single-delivery path.
pub(super) fn admit_all<D: Delivery>(pipeline: &Pipeline, batch: Vec<D>) -> (Admitted<D>, Vec<D>) {
    let mut admitted = Vec::with_capacity(batch.len());
    let mut alone = Vec::new();
    for delivery in batch {
        let span = delivery_span(delivery.inbound());
        let admission = span.in_scope(|| pipeline.admission(delivery.inbound()));
        if admission.is_reference() {
            alone.push(delivery);
        } else {
            admitted.push((delivery, span, admission));
        }
    }
    (admitted, alone)
}

fn rejoin<D>(written: Vec<(D, Outcome)>, alone: Vec<D>) -> Vec<D> {
    written.into_iter().map(|(d, _)| d).chain(alone).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(when_idle: bool) -> HubSettings {
        let defaults = crate::settings::load_from(None, std::collections::HashMap::new());
        HubSettings {
            batch_window_ms: 2,
            batch_window_when_idle: when_idle,
            ..defaults.expect("the defaults load").hub
        }
    }

    #[test]
    fn the_window_is_waited_only_while_another_batch_is_handled() {
        let two = Duration::from_millis(2);
        assert_eq!(window(&hub(false), false), Duration::ZERO, "an idle hub");
        assert_eq!(window(&hub(false), true), two, "another batch in flight");
        assert_eq!(window(&hub(true), false), two, "batch_window_when_idle");
        assert_eq!(window(&hub(true), true), two);
    }

    #[test]
    fn the_default_is_not_to_wait_when_idle() {
        let defaults = crate::settings::load_from(None, std::collections::HashMap::new());
        assert!(
            !defaults
                .expect("the defaults load")
                .hub
                .batch_window_when_idle
        );
    }
}
