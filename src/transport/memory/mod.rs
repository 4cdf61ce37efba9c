//! An in-process broker with the semantics of the hub's RabbitMQ topology, for `samverkan demo`
//! and the fast pipeline tests.
//!
//! # Why not a plain channel
//!
//! The pipeline's correctness rests on broker behaviour: an unroutable publish is an error
//! (`mandatory`), a requeued message comes back marked `redelivered` and counts towards the
//! quorum queue's delivery limit, a rejected or over-limit message moves to the dead-letter
//! queue with its reason, and prefetch bounds the unsettled deliveries. A `VecDeque` behind a
//! channel would let tests pass that production fails, so [`MemoryBroker`] is built from the
//! same [`Topology`] as RabbitMQ and copies those rules (see `state.rs`):
//!
//! | RabbitMQ | here |
//! |---|---|
//! | topic exchange, `*` one word, `#` zero or more; fanout | same, each queue gets one copy |
//! | the default exchange (`""`): the queue named by the routing key | same |
//! | the hub consuming `samverkan.hub.ingress` and `samverkan.hub.replay` | one [`MemoryConsumer`] of the ingress queue takes from both, replays marked [`Inbound::replay`] |
//! | `mandatory` publish reaching no queue → `basic.return` | [`TransportError::Unroutable`] (312 NO_ROUTE; 404 for a missing exchange) |
//! | publisher confirms | immediate: a publish is stored when `publish_all` returns `Ok` |
//! | `basic.qos(prefetch)` | at most `prefetch` unsettled deliveries per [`MemoryConsumer`] |
//! | `nack(requeue)` | back at the head, `redelivered`, delivery count + 1 |
//! | delivery count > `x-delivery-limit` | dead-lettered with `x-first-death-reason: delivery_limit` |
//! | `reject(requeue = false)` | to the queue's DLX (`rejected`), dropped when it has none |
//! | `user_id` checked against the connection's user | [`MemoryBroker::publisher_as`] sets it |
//! | channel closed with unsettled deliveries | a dropped unsettled [`MemoryDelivery`] is requeued |
//!
//! What it leaves out: persistence, flow control, `x-death` arrays (only the `x-first-death-*`
//! string headers), and queues or bindings outside the topology.

mod admin;
mod consumer;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

pub use consumer::{MemoryConsumer, MemoryDelivery};
pub use state::{FIRST_DEATH_EXCHANGE_HEADER, FIRST_DEATH_QUEUE_HEADER, FIRST_DEATH_REASON_HEADER};

use self::state::State;
use super::{HUB_INGRESS_QUEUE, HUB_REPLAY_QUEUE, Topology};
use super::{Inbound, Outbound, Publish, TransportError};

/// The in-process broker. Cloning is cheap; clones share the queues.
#[derive(Clone)]
pub struct MemoryBroker {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        let mut queues: Vec<(&str, usize)> = state
            .queues
            .iter()
            .map(|(name, q)| (name.as_str(), q.ready.len()))
            .collect();
        queues.sort_unstable();
        f.debug_struct("MemoryBroker")
            .field("queues", &queues)
            .field("closed", &state.closed)
            .finish()
    }
}

impl MemoryBroker {
    /// A broker with the exchanges, queues and bindings of `topology`, all empty.
    pub fn new(topology: &Topology) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(topology))),
        }
    }

    /// A publisher that sends without a `user_id`, as the hub does.
    pub fn publisher(&self) -> MemoryPublisher {
        MemoryPublisher {
            state: Arc::clone(&self.state),
            user_id: None,
        }
    }

    /// A publisher whose messages carry `user_id`, as an organisation's broker user would
    /// (RabbitMQ checks it against the connection's user; here it is simply set).
    pub fn publisher_as(&self, user_id: impl Into<String>) -> MemoryPublisher {
        MemoryPublisher {
            state: Arc::clone(&self.state),
            user_id: Some(user_id.into()),
        }
    }

    /// A consumer of `queue` with at most `prefetch` unsettled deliveries (0 is taken as 1).
    ///
    /// A consumer of the hub's ingress queue also takes the replayed dead letters of
    /// [`HUB_REPLAY_QUEUE`], as the hub's RabbitMQ consumer does.
    pub fn consumer(&self, queue: &str, prefetch: u16) -> Result<MemoryConsumer, TransportError> {
        let mut state = lock(&self.state);
        let notify = Arc::clone(&state.queue(queue)?.notify);
        let replay = (queue == HUB_INGRESS_QUEUE)
            .then(|| state.queue(HUB_REPLAY_QUEUE).ok())
            .flatten()
            .map(|q| Arc::clone(&q.notify));
        drop(state);
        Ok(MemoryConsumer::new(
            Arc::clone(&self.state),
            queue.to_owned(),
            (notify, replay),
            prefetch,
        ))
    }

    /// Take the message at the head of `queue`, if any, like `basic.get`: settle it as a
    /// consumer would. Not bounded by any prefetch.
    pub fn get(&self, queue: &str) -> Result<Option<MemoryDelivery>, TransportError> {
        let mut state = lock(&self.state);
        let q = state.queue(queue)?;
        let stored = q.ready.pop_front();
        q.unacked += usize::from(stored.is_some());
        drop(state);
        Ok(stored.map(|s| MemoryDelivery::new(Arc::clone(&self.state), queue.to_owned(), s, None)))
    }

    /// Remove and return every message waiting in `queue` (acknowledged), oldest first.
    /// Deliveries a consumer holds unsettled are not included.
    pub fn drain(&self, queue: &str) -> Result<Vec<Inbound>, TransportError> {
        let mut state = lock(&self.state);
        let queue = state.queue(queue)?;
        let drained = queue.ready.drain(..).map(|s| s.inbound).collect();
        queue.notify.notify_waiters();
        Ok(drained)
    }

    /// Messages waiting in `queue` (not counting unsettled deliveries), like `message_count`.
    pub fn queue_len(&self, queue: &str) -> Result<usize, TransportError> {
        Ok(lock(&self.state).queue(queue)?.ready.len())
    }

    /// Deliveries of `queue` handed out and not yet settled, like `messages_unacknowledged`.
    pub fn unacked(&self, queue: &str) -> Result<usize, TransportError> {
        Ok(lock(&self.state).queue(queue)?.unacked)
    }

    /// Close the broker: consumers return `None` from then on and publishing fails with
    /// [`TransportError::Closed`]. Deliveries already handed out can still be settled.
    pub fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        for queue in state.queues.values() {
            queue.notify.notify_waiters();
        }
    }
}

/// Publishes into a [`MemoryBroker`]: `mandatory`, confirmed at once.
#[derive(Clone)]
pub struct MemoryPublisher {
    state: Arc<Mutex<State>>,
    user_id: Option<String>,
}

impl std::fmt::Debug for MemoryPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryPublisher")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl Publish for MemoryPublisher {
    fn publish_all(
        &self,
        messages: &[Outbound],
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send {
        let mut state = lock(&self.state);
        let results = messages
            .iter()
            .map(|m| state.publish(m, self.user_id.as_deref()))
            .collect();
        std::future::ready(results)
    }
}

/// The state, even if a panicking thread poisoned the lock: every update leaves it consistent
/// (a message is in exactly one place at each step), so it stays usable.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
