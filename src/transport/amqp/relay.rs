//! [`AmqpPublisher`]: confirmed, pipelined publishing of [`Outbound`] messages that survives
//! broker restarts — what the outbox relay publishes with.
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
//!   `confirm.select` (`session.rs`);
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
//! at once, the oldest is awaited when the window is full (never one round trip per message;
//! 8–10× the throughput on one broker node). Each confirm has a deadline, so a stalled
//! broker cannot hang the relay; a missed deadline also retires the link. Returned
//! (unroutable) messages are matched to publishes over the whole batch by `message_id`, since
//! lapin may hand a return to a neighbour's confirm (see [`outcomes`]); batches on one link
//! therefore run one at a time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lapin::{Confirmation, Connection};
use tokio::sync::Mutex;

use super::consume::LinkStatus;
use super::limits;
use super::publish::{PendingConfirm, Publisher};
use super::session::{Endpoint, chain, usable};
use crate::transport::TransportError;
use crate::transport::{Outbound, Publish};

/// Default for [`PublisherConfig::confirm_window`] (`amqp.confirm_window` in the settings).
pub const DEFAULT_CONFIRM_WINDOW: usize = 256;
/// Default for [`PublisherConfig::confirm_timeout`].
pub const DEFAULT_CONFIRM_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`PublisherConfig::max_message_bytes`]: RabbitMQ 4's default `max_message_size`
/// (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

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

/// One connection with a channel in confirm mode.
struct Link {
    connection: Connection,
    publisher: Publisher,
    /// A confirm missed its deadline: do not trust this link any more.
    stalled: AtomicBool,
    /// Held while a batch is in flight (see [`outcomes`]).
    batch: Mutex<()>,
}

impl Link {
    fn usable(&self) -> bool {
        !self.stalled.load(Ordering::SeqCst) && usable(&self.connection, self.publisher.channel())
    }
}

/// The link, and what is known about getting a new one.
#[derive(Default)]
struct LinkState {
    current: Option<Arc<Link>>,
    /// Since when there has been no usable link (`None` while connected).
    down_since: Option<Instant>,
    /// Failed connect attempts in this outage.
    failures: u32,
    /// No new attempt before this instant.
    retry_at: Option<Instant>,
    /// The last attempt's error, and whether it heals by itself.
    last_error: Option<(String, bool)>,
}

/// Publishes with confirms over a link it rebuilds after broker restarts (see module docs).
pub struct AmqpPublisher {
    config: PublisherConfig,
    state: Mutex<LinkState>,
    reconnects: AtomicU64,
    status: LinkStatus,
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
        let link = open_link(&config.endpoint).await?;
        let state = LinkState {
            current: Some(Arc::new(link)),
            ..LinkState::default()
        };
        Ok(Self {
            config,
            state: Mutex::new(state),
            reconnects: AtomicU64::new(0),
            status: LinkStatus::new(true),
        })
    }

    /// Whether the publishing link is up (as of the last publish), for `/readyz`.
    pub fn status(&self) -> LinkStatus {
        self.status.clone()
    }

    /// How often the link was rebuilt since [`connect`](Self::connect).
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::SeqCst)
    }

    /// Close the connection. Later publishes reconnect.
    pub async fn close(&self) {
        let link = self.state.lock().await.current.take();
        if let Some(link) = link
            && let Err(e) = link.connection.close(200, "publisher closed".into()).await
        {
            tracing::debug!(error.message = %e, "closing the publisher's connection failed");
        }
    }

    /// The current link, a new one, or why there is none (cause, transient).
    async fn link(&self) -> Result<Arc<Link>, (String, bool)> {
        let mut state = self.state.lock().await;
        let name = &self.config.endpoint.connection_name;
        if let Some(link) = &state.current {
            if link.usable() {
                return Ok(Arc::clone(link));
            }
            tracing::warn!(
                connection_name = %name,
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
            let (last, transient) = state.last_error.clone().unwrap_or_default();
            let wait = at.duration_since(now).as_millis();
            let cause = format!("no link to the broker; next attempt in {wait} ms (last: {last})");
            return Err((cause, transient));
        }
        match open_link(&self.config.endpoint).await {
            Ok(link) => {
                let link = Arc::new(link);
                if let Some(since) = state.down_since {
                    self.reconnects.fetch_add(1, Ordering::SeqCst);
                    tracing::info!(
                        connection_name = %name,
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
                Ok(link)
            }
            Err(e) => {
                self.status.set(false);
                state.down_since.get_or_insert(now);
                state.failures = state.failures.saturating_add(1);
                state.retry_at = Some(now + self.config.endpoint.backoff.delay(state.failures));
                let cause = (chain(&e), e.is_transient());
                if state.failures == 1 {
                    tracing::warn!(
                        connection_name = %name,
                        error.cause_chain = %cause.0,
                        "cannot reach the broker to publish; retrying with backoff"
                    );
                } else {
                    tracing::debug!(attempt = state.failures, error.message = %e, "reconnect failed");
                }
                state.last_error = Some(cause.clone());
                Err(cause)
            }
        }
    }

    async fn publish_batch(&self, messages: &[Outbound]) -> Vec<Result<(), TransportError>> {
        let link = match self.link().await {
            Ok(link) => link,
            Err((cause, transient)) => {
                return messages
                    .iter()
                    .map(|m| Err(not_published(m, &cause, transient)))
                    .collect();
            }
        };
        // One batch at a time per link, so every return lands on a confirm of its own batch.
        let _batch = link.batch.lock().await;
        let window = self.config.confirm_window.max(1);
        let frame_max = link.connection.configuration().frame_max();
        let mut answers: Vec<Option<Answer>> = messages.iter().map(|_| None).collect();
        let mut in_flight: VecDeque<(usize, PendingConfirm, Instant)> = VecDeque::new();
        let mut broken: Option<String> = None;
        for (i, message) in messages.iter().enumerate() {
            if let Some(cause) = &broken {
                answers[i] = Some(Err(not_published(message, cause, true)));
                continue;
            }
            // A message AMQP cannot carry would cost the link (FRAME_ERROR) or never encode.
            if let Err(reason) = limits::check(message, frame_max, self.config.max_message_bytes) {
                let event_id = message.message_id.clone().unwrap_or_default();
                answers[i] = Some(Err(TransportError::Unsendable { event_id, reason }));
                continue;
            }
            if in_flight.len() >= window
                && let Some((j, confirm, sent)) = in_flight.pop_front()
            {
                answers[j] = Some(self.confirmation(&link, confirm, sent).await);
            }
            match link.publisher.send(message).await {
                Ok(confirm) => in_flight.push_back((i, confirm, Instant::now())),
                Err(e) => {
                    if !link.usable() {
                        broken = Some(format!("the broker link was lost mid-batch ({e})"));
                    }
                    answers[i] = Some(Err(e));
                }
            }
        }
        while let Some((j, confirm, sent)) = in_flight.pop_front() {
            answers[j] = Some(self.confirmation(&link, confirm, sent).await);
        }
        outcomes(messages, answers)
    }

    /// Await one confirm until its deadline; a missed deadline retires the link.
    async fn confirmation(&self, link: &Link, confirm: PendingConfirm, sent: Instant) -> Answer {
        let deadline = sent + self.config.confirm_timeout;
        let event_id = confirm.event_id().to_owned();
        match tokio::time::timeout_at(deadline.into(), confirm.confirmation()).await {
            Ok(answer) => Ok(answer),
            Err(_elapsed) => {
                link.stalled.store(true, Ordering::SeqCst);
                Err(TransportError::ConfirmTimeout {
                    event_id,
                    millis: self.config.confirm_timeout.as_millis(),
                })
            }
        }
    }
}

/// What became of one publish: the broker's answer, or why there is none.
type Answer = Result<lapin::Result<Confirmation>, TransportError>;

/// Each message's fate, from the answers of the whole batch.
///
/// A `mandatory` message that reached no queue comes back (`basic.return`) just before its
/// ack, but lapin hands the return to whichever confirm it completes next; after a `multiple`
/// ack that may be a neighbour's, and the returned message's own confirm then looks like a
/// plain ack. So returns are collected over the batch first and matched to messages by
/// `message_id`: a message is unroutable when a return carries its id, whichever confirm
/// brought it.
fn outcomes(
    messages: &[Outbound],
    answers: Vec<Option<Answer>>,
) -> Vec<Result<(), TransportError>> {
    let mut returned: HashMap<Option<String>, (u16, String)> = HashMap::new();
    for answer in answers.iter().flatten() {
        if let Ok(Ok(Confirmation::Ack(Some(r)) | Confirmation::Nack(Some(r)))) = answer {
            let id = r
                .delivery
                .properties
                .message_id()
                .as_ref()
                .map(|id| id.to_string());
            returned.insert(id, (r.reply_code, r.reply_text.to_string()));
        }
    }
    messages
        .iter()
        .zip(answers)
        .map(|(message, answer)| {
            let event_id = message.message_id.clone().unwrap_or_default();
            let target = || {
                (
                    event_id.clone(),
                    message.exchange.clone(),
                    message.routing_key.clone(),
                )
            };
            match answer {
                // Every index got an answer; this only keeps the function total.
                None => Err(not_published(message, "no outcome recorded", true)),
                Some(Err(e)) => Err(e),
                Some(Ok(Err(source))) => Err(TransportError::ConfirmLost { event_id, source }),
                Some(Ok(Ok(Confirmation::NotRequested))) => {
                    Err(TransportError::ConfirmsNotEnabled { event_id })
                }
                Some(Ok(Ok(Confirmation::Nack(_)))) => {
                    let (event_id, exchange, routing_key) = target();
                    Err(TransportError::Nacked {
                        event_id,
                        exchange,
                        routing_key,
                    })
                }
                Some(Ok(Ok(Confirmation::Ack(_)))) => match returned.get(&message.message_id) {
                    None => Ok(()),
                    Some((reply_code, reply_text)) => {
                        let (event_id, exchange, routing_key) = target();
                        Err(TransportError::Unroutable {
                            event_id,
                            exchange,
                            routing_key,
                            reply_code: *reply_code,
                            reply_text: reply_text.clone(),
                        })
                    }
                },
            }
        })
        .collect()
}

impl Publish for AmqpPublisher {
    fn publish_all(
        &self,
        messages: &[Outbound],
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send {
        self.publish_batch(messages)
    }
}

async fn open_link(endpoint: &Endpoint) -> Result<Link, TransportError> {
    let (connection, channel) = endpoint.open().await?;
    let publisher = Publisher::new(channel).await?;
    Ok(Link {
        connection,
        publisher,
        stalled: AtomicBool::new(false),
        batch: Mutex::new(()),
    })
}

fn not_published(message: &Outbound, cause: &str, transient: bool) -> TransportError {
    TransportError::NotPublished {
        event_id: message.message_id.clone().unwrap_or_default(),
        cause: cause.to_owned(),
        transient,
    }
}

#[cfg(test)]
mod tests {
    use lapin::BasicProperties;
    use lapin::message::{BasicReturnMessage, Delivery};

    use super::*;

    fn message(id: &str) -> Outbound {
        Outbound {
            exchange: "samverkan.egress".into(),
            routing_key: format!("VGR.{id}"),
            body: Vec::new(),
            content_type: None,
            message_id: Some(id.into()),
            correlation_id: None,
            kind: None,
            headers: Default::default(),
        }
    }

    fn returned(id: &str) -> BasicReturnMessage {
        let mut delivery = Delivery::mock(0, "".into(), "".into(), false, Vec::new());
        delivery.properties = BasicProperties::default().with_message_id(id.into());
        BasicReturnMessage {
            delivery,
            reply_code: 312,
            reply_text: "NO_ROUTE".into(),
        }
    }

    fn ack(returned: Option<BasicReturnMessage>) -> Option<Answer> {
        Some(Ok(Ok(Confirmation::Ack(returned))))
    }

    #[test]
    fn a_return_counts_for_its_own_message_whichever_confirm_carried_it() {
        let batch = [message("a"), message("b"), message("c")];
        // One `multiple` ack completed a, b, c; lapin gave b's return to a.
        let answers = vec![ack(Some(returned("b"))), ack(None), ack(None)];
        let results = outcomes(&batch, answers);
        assert!(results[0].is_ok(), "{results:?}");
        assert!(matches!(
            &results[1],
            Err(TransportError::Unroutable { event_id, reply_code: 312, .. }) if event_id == "b"
        ));
        assert!(results[2].is_ok());
    }

    #[test]
    fn nacks_lost_confirms_and_unsent_messages_are_transient_failures() {
        let batch = [message("a"), message("b"), message("c"), message("d")];
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let answers = vec![
            Some(Ok(Ok(Confirmation::Nack(None)))),
            Some(Ok(Err(io.into()))),
            Some(Err(not_published(&batch[2], "link lost", true))),
            None,
        ];
        let results = outcomes(&batch, answers);
        assert!(matches!(&results[0], Err(TransportError::Nacked { .. })));
        assert!(matches!(
            &results[1],
            Err(TransportError::ConfirmLost { .. })
        ));
        assert!(matches!(
            &results[2],
            Err(TransportError::NotPublished { .. })
        ));
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().is_err_and(|e| e.is_transient()))
        );
    }
}
