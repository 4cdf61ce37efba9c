//! The worker loop: take a batch of deliveries, run the pipeline, settle — the outcome → ack
//! mapping lives in `settlement`, one `match`.
//!
//! Deliveries that arrive together are written in one transaction and committed once
//! (`super::batch`, group commit); whatever does not make it into such a commit is handled here
//! one delivery at a time, in its own transaction, under the rules below. Either way a delivery
//! is acked only after its effects (or its refusal) are committed to the store. What a failed
//! attempt of a single delivery means depends on whose fault it was
//! ([`crate::store::StoreError::fault`]):
//!
//! - the store's (unreachable, read-only, disk full, …): the hub pauses ([`crate::pause`]); this
//!   delivery waits, unacknowledged and not counted against it, until the store writes again;
//! - contention or the message's own data: retried with exponential backoff and jitter a
//!   bounded number of times (`hub.max_attempts`); after the last attempt the original is
//!   published to the dead-letter exchange as `retries_exhausted` and then acked — or, if even
//!   that publish fails, requeued, so the queue's delivery limit dead-letters it eventually.
//!
//! Nothing is dropped, nothing loops forever, and an outage dead-letters nothing.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::batch;
use super::writer::{self, Shared};

use crate::event::{RejectReason, is_attribute_token};
use crate::metrics::Metrics;
use crate::pipeline::{Outcome, Pipeline};
use crate::settings::HubSettings;
use crate::store::{Fault, StoreError};
use crate::transport::{Consume, Delivery, Inbound, KeptBody, Outbound, Publish, Settle, Shutdown};

/// What became of one delivery, after retries.
#[derive(Debug)]
pub(super) enum Handled {
    /// The pipeline finished (accepted, duplicate or refused).
    Done(Outcome),
    /// Transient failures outlasted every attempt; the original went to the dead letters.
    GaveUp,
    /// Could not even dead-letter it: give it back to the broker.
    Failed(StoreError),
    /// Shutdown came while it waited for the store: give it back to the broker.
    Interrupted,
}

/// The one place where an outcome becomes an ack, a requeue or a reject.
pub(super) fn settlement(handled: &Handled) -> Settle {
    match handled {
        Handled::Done(Outcome::Accepted { .. } | Outcome::Duplicate | Outcome::Refused { .. }) => {
            Settle::Ack
        }
        Handled::GaveUp => Settle::Ack,
        Handled::Failed(_) | Handled::Interrupted => Settle::Requeue,
    }
}

/// Consume until the consumer ends (shutdown or broker closed): up to `settings.workers`
/// tasks admit batches at once (`super::batch`) and queue them for the one writer
/// (`super::writer`); waits for the ones in flight and the writer before returning. While the
/// hub is paused it takes nothing new.
pub(crate) async fn run<C: Consume, P: Publish>(
    pipeline: Arc<Pipeline>,
    mut consumer: C,
    publisher: Arc<P>,
    settings: HubSettings,
    relay: Arc<Notify>,
    shutdown: Shutdown,
) {
    let workers = settings.workers;
    let shared = Shared {
        pipeline,
        publisher,
        settings,
        relay,
        shutdown,
    };
    let permits = Arc::new(Semaphore::new(workers));
    let (to_writer, queue) = mpsc::channel(workers);
    let writer = tokio::spawn(writer::run(shared.clone(), queue));
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            () = shared.pipeline.pause().until_running() => {}
            () = shared.shutdown.wait() => break,
        }
        // The permit first: while every worker is busy, deliveries gather in the prefetch and
        // the next batch takes them all.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        // Another batch is in flight if, besides this one's, some permit is taken.
        let others_busy = || permits.available_permits() + 1 < workers;
        let Some(batch) = batch::collect(&mut consumer, &shared.settings, others_busy).await else {
            break;
        };
        let (shared, to_writer) = (shared.clone(), to_writer.clone());
        tasks.spawn(async move {
            let worker = shared.worker();
            let (admitted, alone) = batch::admit_all(worker.pipeline, batch);
            // The permit goes with the batch and is given back once it is written: the
            // deliveries admitted and not yet written stay within `workers` × `batch_max`.
            if !admitted.is_empty() && to_writer.send((admitted, permit)).await.is_err() {
                // Only if the writer task died: the deliveries are dropped unacknowledged, and
                // the broker delivers them again.
                tracing::error!("the writer is gone; a batch goes back to the broker");
            }
            for delivery in alone {
                process(&worker, delivery).await;
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    drop(to_writer);
    while tasks.join_next().await.is_some() {}
    if let Err(e) = writer.await {
        tracing::error!(error = %e, "the writer ended abnormally");
    }
}

/// What handling deliveries takes, borrowed by one worker task.
pub(super) struct Worker<'a, P> {
    pub(super) pipeline: &'a Pipeline,
    pub(super) publisher: &'a P,
    pub(super) settings: &'a HubSettings,
    pub(super) relay: &'a Notify,
    pub(super) shutdown: &'a Shutdown,
}

/// The span of one delivery. It starts with the AMQP message id and routing key (when they
/// are well-formed tokens: a partner chooses them) and the pipeline records the event id,
/// type, sender and need id once it knows them.
pub(super) fn delivery_span(inbound: &Inbound) -> tracing::Span {
    let span = tracing::info_span!(
        "delivery",
        message_id = tracing::field::Empty,
        routing_key = tracing::field::Empty,
        event_id = tracing::field::Empty,
        event_type = tracing::field::Empty,
        org = tracing::field::Empty,
        need_id = tracing::field::Empty,
    );
    if let Some(id) = inbound
        .message_id
        .as_deref()
        .filter(|id| is_attribute_token(id))
    {
        span.record("message_id", id);
    }
    if is_attribute_token(&inbound.routing_key) {
        span.record("routing_key", inbound.routing_key.as_str());
    }
    span
}

/// One delivery on its own, from the pipeline (its own transaction, with retries) to its
/// settlement, in its own span.
pub(super) async fn process<D: Delivery, P: Publish>(worker: &Worker<'_, P>, delivery: D) {
    let span = delivery_span(delivery.inbound());
    let handled = handle(
        worker.pipeline,
        worker.publisher,
        delivery.inbound(),
        worker.settings,
        worker.shutdown,
    )
    .instrument(span.clone())
    .await;
    span.in_scope(|| {
        count(worker.pipeline.metrics(), delivery.inbound(), &handled);
        if matches!(
            handled,
            Handled::Done(Outcome::Accepted { .. } | Outcome::Refused { .. })
        ) {
            worker.relay.notify_one();
        }
        if let Handled::Failed(e) = &handled {
            tracing::warn!(error = %e, "delivery neither processed nor dead-lettered; requeued");
        }
    });
    settle(delivery, settlement(&handled)).await;
}

/// Ack, requeue or reject; a failure is the broker's to repair (it redelivers).
pub(super) async fn settle<D: Delivery>(delivery: D, how: Settle) {
    if let Err(e) = delivery.settle(how).await {
        tracing::debug!(error = %e, ?how, "settle failed; the broker will redeliver");
    }
}

/// One delivery, counted once by what became of it; a replayed dead letter also as a replay.
pub(super) fn count(metrics: &Metrics, inbound: &Inbound, handled: &Handled) {
    let outcome = match handled {
        Handled::Done(Outcome::Accepted { .. }) => {
            metrics.accepted();
            "accepted"
        }
        Handled::Done(Outcome::Duplicate) => {
            metrics.duplicate();
            "duplicate"
        }
        Handled::Done(Outcome::Refused { reason, .. }) => {
            metrics.refused(*reason);
            "refused"
        }
        Handled::GaveUp => {
            metrics.refused(RejectReason::RetriesExhausted);
            "refused"
        }
        Handled::Failed(_) | Handled::Interrupted => {
            metrics.requeued();
            "requeued"
        }
    };
    if inbound.replay.is_some() {
        metrics.replayed(outcome);
    }
}

async fn handle<P: Publish>(
    pipeline: &Pipeline,
    publisher: &P,
    inbound: &Inbound,
    settings: &HubSettings,
    shutdown: &Shutdown,
) -> Handled {
    // Delays between attempts that failed for the message's data or contention; when they run
    // out, the message is given up on. Store faults do not draw on them.
    let mut delays = retry_delays(settings);
    loop {
        let error = match pipeline.handle(inbound).await {
            Ok(outcome) => return Handled::Done(outcome),
            Err(error) => error,
        };
        pipeline.metrics().store_fault(error.kind());
        match (error.fault(), delays.next()) {
            (Fault::Infrastructure, _) => {
                if pipeline.pause().pause() {
                    tracing::warn!(
                        error = %error,
                        kind = error.kind(),
                        "the store cannot do its work; pausing until it can write again"
                    );
                }
                tokio::select! {
                    () = pipeline.pause().until_running() => {}
                    () = shutdown.wait() => return Handled::Interrupted,
                }
            }
            (Fault::Message | Fault::Contention, Some(delay)) => {
                tracing::debug!(error = %error, ?delay, "delivery failed; retrying");
                tokio::time::sleep(delay).await;
            }
            (Fault::Message | Fault::Contention, None) => {
                return give_up(pipeline, publisher, inbound, error).await;
            }
        }
    }
}

/// `max_attempts - 1` delays, from `retry_base_ms` doubling, each with jitter (so deliveries
/// that failed together do not retry together).
fn retry_delays(settings: &HubSettings) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(settings.retry_base_ms))
        .with_max_delay(Duration::from_secs(10))
        .with_max_times(settings.max_attempts.saturating_sub(1) as usize)
        .with_jitter()
        .build()
}

async fn give_up<P: Publish>(
    pipeline: &Pipeline,
    publisher: &P,
    inbound: &Inbound,
    error: StoreError,
) -> Handled {
    let origin = pipeline.origin_of(inbound);
    tracing::error!(
        error = %error,
        event_id = origin.event_id.as_ref().map(|id| id.as_ref()),
        org = origin.sender.as_deref(),
        "giving up on a delivery; dead-lettering it"
    );
    let detail = "the hub could not record this message's effects; it was not processed";
    let dead = Outbound::dead_letter(
        inbound,
        RejectReason::RetriesExhausted,
        detail,
        &origin,
        KeptBody::Original,
    )
    .dead_lettered_at(pipeline.clock().now());
    match publisher
        .publish_all(std::slice::from_ref(&dead))
        .await
        .pop()
    {
        Some(Ok(())) => Handled::GaveUp,
        _ => Handled::Failed(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventType;

    #[test]
    fn only_an_undeliverable_failure_is_requeued() {
        let done = |o| settlement(&Handled::Done(o));
        assert_eq!(
            done(Outcome::Accepted {
                event_type: EventType::NeedSubmitted
            }),
            Settle::Ack
        );
        assert_eq!(done(Outcome::Duplicate), Settle::Ack);
        assert_eq!(
            done(Outcome::Refused {
                reason: RejectReason::PersonalData,
                data: Box::default(),
            }),
            Settle::Ack
        );
        assert_eq!(settlement(&Handled::GaveUp), Settle::Ack);
        let failed = Handled::Failed(StoreError::Conflict {
            need_id: "N".into(),
            expected: 1,
        });
        assert_eq!(settlement(&failed), Settle::Requeue);
        assert_eq!(settlement(&Handled::Interrupted), Settle::Requeue);
    }

    #[test]
    fn a_message_gets_max_attempts_tries_with_growing_jittered_delays() {
        let defaults = crate::settings::load_from(None, std::collections::HashMap::new());
        let settings = HubSettings {
            max_attempts: 4,
            retry_base_ms: 100,
            ..defaults.expect("the defaults load").hub
        };
        let delays: Vec<_> = retry_delays(&settings).collect();
        assert_eq!(delays.len(), 3, "three retries after the first attempt");
        for (i, delay) in delays.iter().enumerate() {
            let base = Duration::from_millis(100 << i);
            assert!(*delay >= base && *delay <= base * 2, "{i}: {delay:?}");
        }
    }
}
