//! [`AmqpPublisher`], the reconnecting confirmed publisher: confirmed, pipelined publishing of
//! [`Outbound`] messages that survives broker restarts — what the outbox relay publishes with.
//!
//! # During an outage, fail fast
//!
//! A publish attempted while the broker is unreachable returns a transient error for each
//! message that did not get through ([`TransportError::NotPublished`], `ConfirmLost`,
//! `ConfirmTimeout`; all `is_transient`), instead of waiting for the broker inside
//! `publish_all`. The caller is an outbox relay: its messages are safe in the database, it
//! already retries with its own schedule, and it must stay responsive to shutdown. Waiting here
//! would hide the outage from it and hold its batch hostage. So:
//!
//! * a lost link is noticed at the start of the next `publish_all` (or by its own failing
//!   confirms), logged once at WARN, and rebuilt at once — connect, declare the topology,
//!   `confirm.select` (`session.rs`, `link.rs`);
//! * while reconnecting keeps failing, calls inside the backoff delay (100 ms doubling to 10 s,
//!   jittered) fail at once without touching the network, so a tight relay loop cannot hammer
//!   a booting broker; the first call after the delay tries again;
//! * a message whose confirm was lost may still have reached the queue: publishing it again
//!   can duplicate it, which receivers absorb by deduplicating on the event id.
//!
//! Each message is checked against AMQP's limits and the link's negotiated `frame_max` before
//! it is sent (`limits.rs`): one that can never be carried fails alone as
//! [`TransportError::Unsendable`] instead of closing the connection under the whole batch.
//!
//! Confirms are pipelined over the batch: up to `confirm_window` publishes await their confirm
//! at once, the oldest are awaited when the window is full (never one round trip per message;
//! 8–10× the throughput on one broker node). Messages are sent in chunks of up to 64 whose
//! frames are queued together, so the connection writes a chunk in one go rather than each
//! message on its own. Each confirm has a deadline, so a stalled broker cannot hang the
//! relay; a missed deadline also retires the link. Returned (unroutable) messages are matched
//! to publishes over the whole batch by `message_id`, since lapin may hand a return to a
//! neighbour's confirm (`confirms.rs`); batches on one link therefore run one at a time. A
//! batch can take more messages while its confirms are outstanding
//! ([`Publish::publish_train`]): they go out at once, after it, as part of it (`train.rs`).

use std::time::{Duration, Instant};

use super::confirms::{Confirm, not_published};
use super::consume::LinkStatus;
use super::link::{Link, Links};
use super::publish::PendingConfirm;
use super::session::Endpoint;
use super::train::Train;
use crate::transport::{More, NoMore, Outbound, Publish, TransportError};

/// Default for [`PublisherConfig::confirm_window`] (`amqp.confirm_window` in the settings).
pub(super) const DEFAULT_CONFIRM_WINDOW: usize = 256;
/// Default for [`PublisherConfig::confirm_timeout`].
pub(super) const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`PublisherConfig::max_message_bytes`]: RabbitMQ 4's default `max_message_size`
/// (16 MiB).
pub(super) const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Where [`AmqpPublisher`] publishes, and how many confirms it keeps in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherConfig {
    /// The broker, the topology to declare on every (re)connect and the backoff.
    pub endpoint: Endpoint,
    /// Publishes that may await their confirm at once (0 is taken as 1).
    pub confirm_window: usize,
    /// How long one confirm may take before the message counts as lost.
    pub confirm_timeout: Duration,
    /// Largest body published; a larger one fails as [`TransportError::Unsendable`].
    pub max_message_bytes: usize,
}

impl PublisherConfig {
    /// A config with the default window (256), confirm timeout (30 s) and largest body
    /// (16 MiB).
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            confirm_window: DEFAULT_CONFIRM_WINDOW,
            confirm_timeout: DEFAULT_CONFIRM_TIMEOUT,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Publishes with confirms over a link it rebuilds after broker restarts (see module docs).
pub struct AmqpPublisher {
    config: PublisherConfig,
    links: Links,
}

impl std::fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpPublisher")
            .field("config", &self.config)
            .field("reconnects", &self.reconnects())
            .finish_non_exhaustive()
    }
}

impl AmqpPublisher {
    /// Connect, declare the topology and enable confirms; fails fast when that does not work
    /// now. Afterwards lost links are rebuilt on demand.
    pub async fn connect(config: PublisherConfig) -> Result<Self, TransportError> {
        let links = Links::connect(config.endpoint.clone()).await?;
        Ok(Self { config, links })
    }

    /// Whether the publishing link is up (as of the last publish), for `/readyz`.
    pub fn status(&self) -> LinkStatus {
        self.links.status()
    }

    /// How often the link was rebuilt since [`connect`](Self::connect).
    pub fn reconnects(&self) -> u64 {
        self.links.reconnects()
    }

    /// Close the connection. Later publishes reconnect.
    pub async fn close(&self) {
        self.links.close().await;
    }

    /// Publish `first` and what `more` hands over while their confirms are outstanding, as
    /// one batch on the current link (`train.rs`).
    async fn publish_batch<M: More>(
        &self,
        first: &[Outbound],
        more: &mut M,
    ) -> Vec<Result<(), TransportError>> {
        let link = match self.links.get().await {
            Ok(link) => link,
            Err(e) => {
                return first
                    .iter()
                    .map(|m| Err(not_published(m, &e.message, e.transient)))
                    .collect();
            }
        };
        // One batch at a time per link, so every return lands on a confirm of its own batch.
        let _batch = link.batch.lock().await;
        Train::new(self, &link, self.config.confirm_window)
            .run(first, more)
            .await
    }

    /// Largest body published.
    pub(super) fn max_message_bytes(&self) -> usize {
        self.config.max_message_bytes
    }

    /// Await one confirm until its deadline; a missed deadline retires the link.
    pub(super) async fn confirmation(
        &self,
        link: &Link,
        confirm: PendingConfirm,
        sent: Instant,
    ) -> Confirm {
        let deadline = sent + self.config.confirm_timeout;
        let event_id = confirm.event_id().to_owned();
        match tokio::time::timeout_at(deadline.into(), confirm.confirmation()).await {
            Ok(answer) => Confirm::of(answer),
            Err(_elapsed) => {
                link.stalled
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                Confirm::Failed(TransportError::ConfirmTimeout {
                    event_id,
                    millis: self.config.confirm_timeout.as_millis(),
                })
            }
        }
    }
}

impl Publish for AmqpPublisher {
    async fn publish_all(&self, messages: &[Outbound]) -> Vec<Result<(), TransportError>> {
        self.publish_batch(messages, &mut NoMore).await
    }

    fn publish_train<M: More>(
        &self,
        first: &[Outbound],
        more: &mut M,
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send {
        self.publish_batch(first, more)
    }
}
