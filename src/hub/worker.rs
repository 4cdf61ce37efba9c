//! The worker loop: take a delivery, run the pipeline, settle — the outcome → ack mapping lives
//! in `settlement`, one `match`.
//!
//! A delivery is acked only after the pipeline committed its effects (or its refusal) to the
//! store. A transient store failure is retried here with doubling delays, a bounded number of
//! times; after the last attempt the original is published to the dead-letter exchange as
//! `retries_exhausted` and then acked — or, if even that publish fails, requeued, so the
//! queue's delivery limit dead-letters it eventually. Nothing is dropped, nothing loops forever.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::event::RejectReason;
use crate::metrics::Metrics;
use crate::pipeline::{Outcome, Pipeline};
use crate::settings::HubSettings;
use crate::store::StoreError;
use crate::transport::amqp::DEAD_LETTER_EXCHANGE;
use crate::transport::{Consume, Delivery, Inbound, KeptBody, Origin, Outbound, Publish, Settle};

/// What became of one delivery, after retries.
#[derive(Debug)]
enum Handled {
    /// The pipeline finished (accepted, duplicate or refused).
    Done(Outcome),
    /// Transient failures outlasted every attempt; the original went to the dead letters.
    GaveUp,
    /// Could not even dead-letter it: give it back to the broker.
    Failed(StoreError),
}

/// The one place where an outcome becomes an ack, a requeue or a reject.
fn settlement(handled: &Handled) -> Settle {
    match handled {
        Handled::Done(Outcome::Accepted { .. } | Outcome::Duplicate | Outcome::Refused { .. }) => {
            Settle::Ack
        }
        Handled::GaveUp => Settle::Ack,
        Handled::Failed(_) => Settle::Requeue,
    }
}

/// Consume until the consumer ends (shutdown or broker closed), handling up to
/// `settings.workers` deliveries at once; waits for the ones in flight before returning.
pub async fn run<C: Consume, P: Publish>(
    pipeline: Arc<Pipeline>,
    mut consumer: C,
    publisher: Arc<P>,
    settings: HubSettings,
    relay: Arc<Notify>,
) {
    let permits = Arc::new(Semaphore::new(settings.workers));
    let mut tasks = JoinSet::new();
    while let Some(delivery) = consumer.next().await {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (pipeline, publisher, relay) = (pipeline.clone(), publisher.clone(), relay.clone());
        let settings = settings.clone();
        tasks.spawn(async move {
            let handled = handle(&pipeline, publisher.as_ref(), delivery.inbound(), &settings).await;
            count(pipeline.metrics(), &handled);
            if matches!(handled, Handled::Done(Outcome::Accepted { .. } | Outcome::Refused { .. })) {
                relay.notify_one();
            }
            if let Handled::Failed(e) = &handled {
                tracing::warn!(error = %e, "delivery neither processed nor dead-lettered; requeued");
            }
            let how = settlement(&handled);
            if let Err(e) = delivery.settle(how).await {
                tracing::debug!(error = %e, ?how, "settle failed; the broker will redeliver");
            }
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// One delivery, counted once by what became of it.
fn count(metrics: &Metrics, handled: &Handled) {
    match handled {
        Handled::Done(Outcome::Accepted { .. }) => metrics.accepted(),
        Handled::Done(Outcome::Duplicate) => metrics.duplicate(),
        Handled::Done(Outcome::Refused { reason }) => metrics.refused(*reason),
        Handled::GaveUp => metrics.refused(RejectReason::RetriesExhausted),
        Handled::Failed(_) => metrics.requeued(),
    }
}

async fn handle<P: Publish>(
    pipeline: &Pipeline,
    publisher: &P,
    inbound: &Inbound,
    settings: &HubSettings,
) -> Handled {
    let mut attempt = 1;
    loop {
        match pipeline.handle(inbound).await {
            Ok(outcome) => {
                if let Outcome::Refused { reason } = &outcome {
                    tracing::debug!(reason = reason.as_str(), "refused");
                }
                return Handled::Done(outcome);
            }
            Err(e) if e.is_transient() && attempt < settings.max_attempts => {
                let delay = settings.retry_base_ms.saturating_mul(1 << attempt.min(10));
                tracing::debug!(error = %e, attempt, "transient failure; retrying");
                tokio::time::sleep(Duration::from_millis(delay)).await;
                attempt += 1;
            }
            Err(e) => return give_up(publisher, inbound, e).await,
        }
    }
}

async fn give_up<P: Publish>(publisher: &P, inbound: &Inbound, error: StoreError) -> Handled {
    tracing::error!(error = %error, "giving up on a delivery; dead-lettering it");
    let detail = "the hub could not record this message's effects; it was not processed";
    let dead = Outbound::dead_letter(
        DEAD_LETTER_EXCHANGE,
        inbound,
        RejectReason::RetriesExhausted,
        detail,
        &Origin::default(),
        KeptBody::Original,
    );
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
                reason: RejectReason::PersonalData
            }),
            Settle::Ack
        );
        assert_eq!(settlement(&Handled::GaveUp), Settle::Ack);
        let failed = Handled::Failed(StoreError::Conflict {
            need_id: "N".into(),
            expected: 1,
        });
        assert_eq!(settlement(&failed), Settle::Requeue);
    }
}
