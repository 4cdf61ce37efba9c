//! Group commit: the deliveries that arrive together are written in one store transaction and
//! committed once.
//!
//! One transaction per delivery made the commit the hub's bottleneck (SQLite serialises
//! commits and writes its WAL per commit; PostgreSQL pays a commit's backend work per
//! delivery). So a worker takes the first delivery (waiting for it), then whatever else arrives
//! within `hub.batch_window_ms`, up to `hub.batch_max`, and writes each into one transaction
//! behind its own savepoint ([`Pipeline::handle_admitted`]). A delivery whose writes fail is
//! rolled back to its savepoint and set aside; the others stay. After the one commit every
//! delivery written into it is settled (acked — never before the commit) and the relay is woken
//! once.
//!
//! Everything that did not make it into a commit — a delivery set aside, a course or partner
//! change (checked against committed changes only, so never batched), every delivery of a
//! batch whose commit failed — then goes through the single-delivery path
//! (`worker::process`): its own transaction, bounded retries, the pause on store faults,
//! `retries_exhausted` after the last attempt. So the settlement rules are exactly those of one
//! delivery at a time: nothing is acked before its effects are durable, an outage pauses and
//! dead-letters nothing, and only a message that keeps failing on its own is dead-lettered.
//!
//! On PostgreSQL several batches run at once (`hub.workers`). Two batches may wait on each
//! other's row locks (answers to the same needs in opposite orders, one event redelivered into
//! both); the database breaks such a deadlock by failing one statement, which is a contention
//! fault: that delivery is rolled back to its savepoint and handled on its own afterwards.

use tokio::time::Instant;
use tracing::Instrument;

use super::worker::{Handled, Worker, count, delivery_span, process, settle, settlement};
use crate::pipeline::Outcome;
use crate::settings::HubSettings;
use crate::store::{Fault, Tx};
use crate::transport::{Consume, Delivery, Publish};

/// The next batch: the first delivery (waiting for it), then whatever else arrives within the
/// window, up to `batch_max`. `None` when the consumer has ended.
pub(super) async fn collect<C: Consume>(
    consumer: &mut C,
    settings: &HubSettings,
) -> Option<Vec<C::Delivery>> {
    let first = consumer.next().await?;
    let mut batch = vec![first];
    let deadline = Instant::now() + settings.batch_window();
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

/// Handle and settle a batch: one transaction for what it can, the single-delivery path for
/// the rest.
pub(super) async fn process_batch<D: Delivery, P: Publish>(worker: &Worker<'_, P>, batch: Vec<D>) {
    let (committed, alone) = if batch.len() > 1 {
        write_together(worker, batch).await
    } else {
        (Vec::new(), batch)
    };
    if committed
        .iter()
        .any(|(_, outcome)| matches!(outcome, Outcome::Accepted { .. } | Outcome::Refused { .. }))
    {
        worker.relay.notify_one();
    }
    for (delivery, outcome) in committed {
        let handled = Handled::Done(outcome);
        count(worker.pipeline.metrics(), &handled);
        settle(delivery, settlement(&handled)).await;
    }
    for delivery in alone {
        process(worker, delivery).await;
    }
}

/// Write the batch into one transaction and commit it: the deliveries committed with their
/// outcomes, and the ones left for the single-delivery path (all of them if the commit failed).
async fn write_together<D: Delivery, P: Publish>(
    worker: &Worker<'_, P>,
    batch: Vec<D>,
) -> (Vec<(D, Outcome)>, Vec<D>) {
    let pipeline = worker.pipeline;
    let mut tx = match pipeline.store().begin().await {
        Ok(tx) => tx,
        Err(e) => {
            tracing::debug!(error = %e, "a batch could not begin; its deliveries go one by one");
            return (Vec::new(), batch);
        }
    };
    let (written, alone) = write_each(worker, &mut tx, batch).await;
    if written.is_empty() || tx.is_broken() {
        if let Err(e) = tx.rollback().await {
            tracing::debug!(error = %e, "rolling back a batch failed; dropping it rolls back");
        }
        return (Vec::new(), rejoin(written, alone));
    }
    let size = written.len();
    match tx.commit().await {
        Ok(()) => {
            pipeline.metrics().batch_committed(size);
            (written, alone)
        }
        Err(e) => {
            pipeline.metrics().store_fault(e.kind());
            tracing::debug!(error = %e, size, "a batch's commit failed; its deliveries go one by one");
            (Vec::new(), rejoin(written, alone))
        }
    }
}

/// Each delivery into `tx` behind its savepoint, in its own span. Stops at a store fault (the
/// rest would fail too) or a transaction that can no longer be used.
async fn write_each<D: Delivery, P: Publish>(
    worker: &Worker<'_, P>,
    tx: &mut Tx,
    batch: Vec<D>,
) -> (Vec<(D, Outcome)>, Vec<D>) {
    let pipeline = worker.pipeline;
    let mut written = Vec::with_capacity(batch.len());
    let mut alone = Vec::new();
    let mut deliveries = batch.into_iter();
    for delivery in deliveries.by_ref() {
        let inbound = delivery.inbound();
        let attempt = async {
            let admission = pipeline.admission(inbound);
            if admission.is_reference() {
                return None;
            }
            Some(pipeline.handle_admitted(tx, inbound, admission).await)
        }
        .instrument(delivery_span(inbound))
        .await;
        match attempt {
            Some(Ok(outcome)) => written.push((delivery, outcome)),
            None => alone.push(delivery),
            Some(Err(e)) => {
                pipeline.metrics().store_fault(e.kind());
                tracing::debug!(error = %e, "a delivery failed in a batch; it goes on its own");
                alone.push(delivery);
                if e.fault() == Fault::Infrastructure || tx.is_broken() {
                    break;
                }
            }
        }
    }
    alone.extend(deliveries);
    (written, alone)
}

fn rejoin<D>(written: Vec<(D, Outcome)>, alone: Vec<D>) -> Vec<D> {
    written.into_iter().map(|(d, _)| d).chain(alone).collect()
}
