//! Consuming from the in-process broker: prefetch-bounded deliveries that must be settled.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::lock;
use super::state::{Death, State, Stored};
use crate::transport::{
    Consume, Delivery, HUB_REPLAY_QUEUE, Inbound, Settle, Shutdown, TransportError,
};

/// Deliveries from one queue of a [`MemoryBroker`](super::MemoryBroker), at most `prefetch`
/// unsettled at a time. Ends (`None`) when the broker is closed or its [`Shutdown`] fires.
pub struct MemoryConsumer {
    state: Arc<Mutex<State>>,
    queue: String,
    notify: Arc<Notify>,
    /// The replay queue's wake-ups, for a consumer of the hub's ingress queue.
    replay: Option<Arc<Notify>>,
    prefetch: usize,
    /// Deliveries handed out and not yet settled; shared with them.
    unsettled: Arc<AtomicUsize>,
    shutdown: Shutdown,
}

impl std::fmt::Debug for MemoryConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryConsumer")
            .field("queue", &self.queue)
            .field("prefetch", &self.prefetch)
            .field("unsettled", &self.unsettled.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl MemoryConsumer {
    pub(super) fn new(
        state: Arc<Mutex<State>>,
        queue: String,
        (notify, replay): (Arc<Notify>, Option<Arc<Notify>>),
        prefetch: u16,
    ) -> Self {
        Self {
            state,
            queue,
            notify,
            replay,
            prefetch: usize::from(prefetch.max(1)),
            unsettled: Arc::new(AtomicUsize::new(0)),
            shutdown: Shutdown::never(),
        }
    }

    /// Also end when `shutdown` fires.
    #[must_use]
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Deliveries handed out and not yet settled.
    pub fn unsettled(&self) -> usize {
        self.unsettled.load(Ordering::SeqCst)
    }

    /// The next delivery if one may be handed out now; `Err(())` once the broker is closed.
    fn try_take(&self) -> Result<Option<MemoryDelivery>, ()> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(());
        }
        if self.unsettled.load(Ordering::SeqCst) >= self.prefetch {
            return Ok(None);
        }
        let mut take = |name: &str| {
            state.queues.get_mut(name).and_then(|q| {
                let stored = q.ready.pop_front();
                q.unacked += usize::from(stored.is_some());
                stored
            })
        };
        let (queue, stored) = match take(&self.queue) {
            Some(stored) => (self.queue.as_str(), stored),
            None if self.replay.is_some() => match take(HUB_REPLAY_QUEUE) {
                Some(mut stored) => {
                    stored.inbound = stored.inbound.replayed();
                    (HUB_REPLAY_QUEUE, stored)
                }
                None => return Ok(None),
            },
            None => return Ok(None),
        };
        self.unsettled.fetch_add(1, Ordering::SeqCst);
        let slot = Some(Arc::clone(&self.unsettled));
        Ok(Some(MemoryDelivery::new(
            Arc::clone(&self.state),
            queue.to_owned(),
            stored,
            slot,
        )))
    }

    async fn next_delivery(&mut self) -> Option<MemoryDelivery> {
        loop {
            // Register for wake-ups before looking, so a publish or settle in between is seen.
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let replay = self.replay.clone().unwrap_or_default();
            let replayed = replay.notified();
            tokio::pin!(replayed);
            replayed.as_mut().enable();
            if self.shutdown.is_triggered() {
                return None;
            }
            match self.try_take() {
                Err(()) => return None,
                Ok(Some(delivery)) => return Some(delivery),
                Ok(None) => {}
            }
            tokio::select! {
                () = &mut notified => {}
                () = &mut replayed => {}
                () = self.shutdown.wait() => return None,
            }
        }
    }
}

impl Consume for MemoryConsumer {
    type Delivery = MemoryDelivery;

    fn next(&mut self) -> impl Future<Output = Option<MemoryDelivery>> + Send {
        self.next_delivery()
    }
}

/// One message taken from a queue of the in-process broker. Dropping it unsettled puts it back
/// (like a RabbitMQ channel closing), which counts towards the delivery limit.
pub struct MemoryDelivery {
    state: Arc<Mutex<State>>,
    queue: String,
    stored: Option<Stored>,
    /// The consumer's unsettled counter (`None` for [`MemoryBroker::get`](super::MemoryBroker::get)).
    slot: Option<Arc<AtomicUsize>>,
}

impl std::fmt::Debug for MemoryDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDelivery")
            .field("queue", &self.queue)
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

impl MemoryDelivery {
    pub(super) fn new(
        state: Arc<Mutex<State>>,
        queue: String,
        stored: Stored,
        slot: Option<Arc<AtomicUsize>>,
    ) -> Self {
        Self {
            state,
            queue,
            stored: Some(stored),
            slot,
        }
    }

    /// How often this message was given back before (a quorum queue's delivery count).
    pub fn delivery_count(&self) -> u32 {
        self.stored.as_ref().map_or(0, |s| s.delivery_count)
    }

    /// Settle now; a second call does nothing.
    fn finish(&mut self, how: Settle) {
        let Some(stored) = self.stored.take() else {
            return;
        };
        let mut state = lock(&self.state);
        match how {
            Settle::Ack => {}
            Settle::Requeue => state.requeue(&self.queue, stored),
            Settle::Reject => state.dead_letter(&self.queue, stored, Death::Rejected),
        }
        if let Some(slot) = self.slot.take() {
            slot.fetch_sub(1, Ordering::SeqCst);
        }
        // A free prefetch slot: wake this queue's consumers.
        if let Some(queue) = state.queues.get_mut(&self.queue) {
            queue.unacked = queue.unacked.saturating_sub(1);
            queue.notify.notify_waiters();
        }
    }
}

impl Delivery for MemoryDelivery {
    fn inbound(&self) -> &Inbound {
        static EMPTY: Inbound = Inbound {
            body: Vec::new(),
            content_type: None,
            headers: std::collections::BTreeMap::new(),
            user_id: None,
            message_id: None,
            routing_key: String::new(),
            redelivered: false,
            trace: crate::event::Trace::NONE,
            replay: None,
        };
        // `stored` is only `None` after settling, which consumes `self`.
        self.stored.as_ref().map_or(&EMPTY, |s| &s.inbound)
    }

    fn settle(mut self, how: Settle) -> impl Future<Output = Result<(), TransportError>> + Send {
        self.finish(how);
        std::future::ready(Ok(()))
    }
}

impl Drop for MemoryDelivery {
    fn drop(&mut self) {
        self.finish(Settle::Requeue);
    }
}
