//! The publishing link and how [`super::AmqpPublisher`] gets a new one: at once after a loss,
//! then no more often than the backoff allows, so a tight relay loop cannot hammer a broker
//! that is still booting. Calls inside the delay fail at once without touching the network.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lapin::Connection;
use tokio::sync::Mutex;

use super::connection::close;
use super::consume::LinkStatus;
use super::publish::Publisher;
use super::session::{Endpoint, chain, usable};
use crate::transport::TransportError;

/// One connection with a channel in confirm mode.
pub(super) struct Link {
    pub(super) connection: Connection,
    pub(super) publisher: Publisher,
    /// A confirm missed its deadline: do not trust this link any more.
    pub(super) stalled: AtomicBool,
    /// Held while a batch is in flight, so every return lands on a confirm of its own batch.
    pub(super) batch: Mutex<()>,
}

impl Link {
    pub(super) fn usable(&self) -> bool {
        !self.stalled.load(Ordering::SeqCst) && usable(&self.connection, self.publisher.channel())
    }

    async fn open(endpoint: &Endpoint) -> Result<Self, TransportError> {
        let (connection, channel) = endpoint.open().await?;
        let publisher = Publisher::new(channel).await?;
        Ok(Self {
            connection,
            publisher,
            stalled: AtomicBool::new(false),
            batch: Mutex::new(()),
        })
    }
}

/// Why there is no link now: the cause, and whether it heals by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LinkError {
    /// What went wrong, with its cause chain.
    pub(super) message: String,
    /// Whether the cause heals by itself (the broker is away) or needs a fix.
    pub(super) transient: bool,
}

/// The link, and what is known about getting a new one.
#[derive(Default)]
struct LinkState {
    current: Option<Arc<Link>>,
    /// Since when there has been no usable link (`None` while connected).
    down_since: Option<Instant>,
    /// Failed connect attempts in this outage.
    failures: u32,
    /// The rest of this outage's backoff schedule (a new one after every success).
    delays: Option<Box<dyn Iterator<Item = Duration> + Send>>,
    /// No new attempt before this instant.
    retry_at: Option<Instant>,
    /// The last attempt's error.
    last_error: Option<LinkError>,
}

/// Keeps one link and rebuilds it on demand after a loss.
pub(super) struct Links {
    endpoint: Endpoint,
    state: Mutex<LinkState>,
    reconnects: AtomicU64,
    status: LinkStatus,
}

impl Links {
    /// Connect now (fails fast); later losses are rebuilt by [`Links::get`].
    pub(super) async fn connect(endpoint: Endpoint) -> Result<Self, TransportError> {
        let link = Link::open(&endpoint).await?;
        let state = LinkState {
            current: Some(Arc::new(link)),
            ..LinkState::default()
        };
        Ok(Self {
            endpoint,
            state: Mutex::new(state),
            reconnects: AtomicU64::new(0),
            status: LinkStatus::new(true),
        })
    }

    pub(super) fn status(&self) -> LinkStatus {
        self.status.clone()
    }

    pub(super) fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::SeqCst)
    }

    /// Close the connection; the next [`Links::get`] reconnects.
    pub(super) async fn close(&self) {
        let link = self.state.lock().await.current.take();
        if let Some(link) = link {
            close(&link.connection, "publisher closed").await;
        }
    }

    /// The current link, a new one, or why there is none.
    pub(super) async fn get(&self) -> Result<Arc<Link>, LinkError> {
        let mut state = self.state.lock().await;
        if let Some(link) = &state.current {
            if link.usable() {
                return Ok(Arc::clone(link));
            }
            tracing::warn!(
                connection_name = %self.endpoint.connection_name,
                "lost the broker link; publishing fails (transiently) until it is rebuilt"
            );
            self.status.set(false);
            *state = LinkState {
                down_since: Some(Instant::now()),
                ..LinkState::default()
            };
        }
        let now = Instant::now();
        if let Some(at) = state.retry_at.filter(|at| now < *at) {
            let last = state.last_error.clone().unwrap_or(LinkError {
                message: String::new(),
                transient: true,
            });
            let wait = at.duration_since(now).as_millis();
            return Err(LinkError {
                message: format!(
                    "no link to the broker; next attempt in {wait} ms (last: {})",
                    last.message
                ),
                transient: last.transient,
            });
        }
        match Link::open(&self.endpoint).await {
            Ok(link) => Ok(self.connected(&mut state, Arc::new(link))),
            Err(e) => Err(self.failed(&mut state, now, &e)),
        }
    }

    fn connected(&self, state: &mut LinkState, link: Arc<Link>) -> Arc<Link> {
        if let Some(since) = state.down_since {
            self.reconnects.fetch_add(1, Ordering::SeqCst);
            tracing::info!(
                connection_name = %self.endpoint.connection_name,
                attempts = state.failures + 1,
                outage_ms = since.elapsed().as_millis(),
                "reconnected to the broker; publishing again"
            );
        }
        *state = LinkState {
            current: Some(Arc::clone(&link)),
            ..LinkState::default()
        };
        self.status.set(true);
        link
    }

    fn failed(&self, state: &mut LinkState, now: Instant, e: &TransportError) -> LinkError {
        self.status.set(false);
        state.down_since.get_or_insert(now);
        state.failures = state.failures.saturating_add(1);
        let backoff = self.endpoint.backoff;
        let delays = state
            .delays
            .get_or_insert_with(|| Box::new(backoff.delays()));
        state.retry_at = Some(now + delays.next().unwrap_or(backoff.max));
        let error = LinkError {
            message: chain(e),
            transient: e.is_transient(),
        };
        if state.failures == 1 {
            tracing::warn!(
                connection_name = %self.endpoint.connection_name,
                error = %error.message,
                "cannot reach the broker to publish; retrying with backoff"
            );
        } else {
            tracing::debug!(attempt = state.failures, error = %e, "reconnect failed");
        }
        state.last_error = Some(error.clone());
        error
    }
}
