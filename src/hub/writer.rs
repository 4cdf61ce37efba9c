//! The writer: one task commits what every worker admitted, as few transactions as it can.
//!
//! Workers (`hub.workers` of them) do the CPU part of a delivery in parallel — decoding,
//! schemas, the PII guard, matching, building rows ([`Pipeline::admission`]) — and queue what
//! they admitted here. The writer takes everything queued, up to `hub.batch_max` deliveries,
//! into one transaction ([`super::batch::write_batch`]) and commits it once; while it commits,
//! the next batches queue behind it and share the next commit. So a batch grows with the time
//! a commit takes, whatever `hub.batch_window_ms` gathered before admission.
//!
//! Why one writer: several transactions at once gained nothing and cost a lot. SQLite has one
//! writer anyway, and every worker queued behind it for a transaction of one or two
//! deliveries, each paying a commit. On PostgreSQL each transaction ends by moving the feed
//! heads of the organisations it addresses (`store::feed`), and a need addresses its region's
//! feed, so concurrent transactions waited for each other's commit on those row locks and
//! committed one after the other, each with a handful of deliveries.
//!
//! What does not commit with a batch — a delivery set aside, every delivery of a batch whose
//! commit failed — goes through the single-delivery path (`worker::process`, its retries and
//! the pause on store faults) in a task of its own per batch, so a message that keeps failing
//! never holds up the writer.

use std::sync::Arc;

use tokio::sync::{Notify, OwnedSemaphorePermit, mpsc};
use tokio::task::JoinSet;

use super::batch::{self, Admitted};
use super::worker::{Worker, process};
use crate::pipeline::Pipeline;
use crate::settings::HubSettings;
use crate::transport::{Delivery, Publish, Shutdown};

/// A worker's admitted batch and its worker permit, given back once the batch is written.
pub(super) type Queued<D> = (Admitted<D>, OwnedSemaphorePermit);

/// What a worker or the writer needs, owned, so that each task can borrow a [`Worker`].
pub(super) struct Shared<P> {
    pub(super) pipeline: Arc<Pipeline>,
    pub(super) publisher: Arc<P>,
    pub(super) settings: HubSettings,
    pub(super) relay: Arc<Notify>,
    pub(super) shutdown: Shutdown,
}

impl<P> Clone for Shared<P> {
    fn clone(&self) -> Self {
        Self {
            pipeline: self.pipeline.clone(),
            publisher: self.publisher.clone(),
            settings: self.settings.clone(),
            relay: self.relay.clone(),
            shutdown: self.shutdown.clone(),
        }
    }
}

impl<P> Shared<P> {
    pub(super) fn worker(&self) -> Worker<'_, P> {
        Worker {
            pipeline: &self.pipeline,
            publisher: self.publisher.as_ref(),
            settings: &self.settings,
            relay: &self.relay,
            shutdown: &self.shutdown,
        }
    }
}

/// Write what arrives on `queue` until every sender is gone and the queue is empty; then wait
/// for the deliveries handed to the single-delivery path.
pub(super) async fn run<D, P>(shared: Shared<P>, mut queue: mpsc::Receiver<Queued<D>>)
where
    D: Delivery + Send + 'static,
    P: Publish + Send + Sync + 'static,
{
    let mut alone_tasks = JoinSet::new();
    while let Some(first) = queue.recv().await {
        let (admitted, permits) = gather(first, &mut queue, shared.settings.batch_max);
        let alone = batch::write_batch(&shared.worker(), admitted).await;
        drop(permits);
        // One after the other, in the batch's order (by need, arrival order within one), as
        // a worker would: two deliveries of one need are never handled at the same time.
        if !alone.is_empty() {
            let shared = shared.clone();
            alone_tasks.spawn(async move {
                for delivery in alone {
                    process(&shared.worker(), delivery).await;
                }
            });
        }
        while alone_tasks.try_join_next().is_some() {}
    }
    while alone_tasks.join_next().await.is_some() {}
}

/// `first` and the batches queued behind it, until `max` items are gathered (a batch is never
/// split, so the last one may take it past `max`) or the queue is empty; with their permits.
fn gather<T, P>(
    first: (Vec<T>, P),
    queue: &mut mpsc::Receiver<(Vec<T>, P)>,
    max: usize,
) -> (Vec<T>, Vec<P>) {
    let (mut items, permit) = first;
    let mut permits = vec![permit];
    while items.len() < max {
        match queue.try_recv() {
            Ok((more, permit)) => {
                items.extend(more);
                permits.push(permit);
            }
            Err(_) => break,
        }
    }
    (items, permits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn queued_batches_are_gathered_up_to_the_maximum_and_the_rest_waits() {
        let (sender, mut queue) = mpsc::channel(8);
        for batch in [vec![2, 3], vec![4], vec![5, 6], vec![7]] {
            sender.send((batch, ())).await.expect("queued");
        }
        let first = (vec![1], ());
        let (items, permits) = gather(first, &mut queue, 4);
        assert_eq!((items, permits.len()), (vec![1, 2, 3, 4], 3));
        let next = queue.recv().await.expect("left queued");
        let (items, permits) = gather(next, &mut queue, 4);
        assert_eq!(
            (items, permits.len()),
            (vec![5, 6, 7], 2),
            "the queue ran empty"
        );
    }

    #[tokio::test]
    async fn a_batch_is_never_split() {
        let (sender, mut queue) = mpsc::channel(8);
        sender.send((vec![2, 3, 4], ())).await.expect("queued");
        let (items, _) = gather((vec![1], ()), &mut queue, 2);
        assert_eq!(items, [1, 2, 3, 4]);
    }
}
