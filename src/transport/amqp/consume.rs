//! Consuming a queue with a supervised reconnect: the caller sees an outage only as a delay.
//!
//! # Why the consumer owns the reconnect
//!
//! Broker restarts, `rabbitmqctl close_all_connections`, missed heartbeats and network blips
//! are the most reported failure class of AMQP integration services:
//! a consumer that ends its stream on the first error leaves the process alive but deaf until
//! someone restarts it. [`AmqpConsumer::next`](crate::transport::Consume::next) therefore never
//! reports a lost connection. It logs one WARN for the incident, rebuilds the link from scratch
//! (connect, channel, declare the topology, `basic.qos`, `basic.consume`; see `session.rs`)
//! with exponential backoff and jitter ([`Backoff`](super::Backoff): 100 ms doubling to 10 s by
//! default) until it succeeds or shutdown is signalled, logs one INFO when it is back, and goes
//! on yielding. Only start-up fails fast ([`AmqpConsumer::connect`]): a wrong URL, password or
//! a conflicting topology is a configuration error the operator should see at once.
//!
//! # What happens to deliveries in flight
//!
//! Deliveries handed out before the loss belong to the dead channel: settling one fails with
//! [`TransportError::SettleFailed`] (lapin 4 reports a poisoned acker as `Ok(false)`; that is
//! turned into the error here, never into a silent success). The broker still holds those
//! messages and delivers them again with `redelivered = true`, so delivery is at least once and
//! the hub's inbox makes the repeat a no-op. Prefetched deliveries the caller never saw are
//! requeued by the broker the same way.
//!
//! # Acks
//!
//! A delivery is settled on its own ([`Delivery::settle`]), or together with the others whose
//! effects one group commit made durable ([`Delivery::ack_all`]). Those go out as one
//! `basic.ack` with `multiple = true` for the longest run of them that no unsettled delivery of
//! another batch interrupts — the channel's ledger of settled tags (acks.rs) decides — and one
//! ack each for the rest.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use backon::Retryable;
use futures_lite::StreamExt as _;
use lapin::options::{BasicAckOptions, BasicRejectOptions};
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Acker, Channel, Connection};

use super::acks::Ledger;
use super::connection::close_settled;
use super::convert::inbound;
use super::declare::short_string;
use super::session::{Endpoint, chain, usable};
use crate::transport::{Consume, Delivery, Inbound, Settle, Shutdown};
use crate::transport::{HUB_INGRESS_QUEUE, HUB_REPLAY_QUEUE, TransportError};

/// What [`AmqpConsumer`] consumes, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerConfig {
    /// The broker, the topology to declare on every (re)connect and the backoff.
    pub endpoint: Endpoint,
    /// The queue to consume (it must exist after declaring the topology). The hub's ingress
    /// queue is consumed together with its replay queue, `samverkan.hub.replay`.
    pub queue: String,
    /// Per-consumer QoS (`global = false`): unsettled deliveries in flight. 0 is taken as 1,
    /// since 0 would mean "unlimited".
    pub prefetch: u16,
}

/// The connection and channel the consumer currently reads from.
struct Link {
    connection: Connection,
    channel: Channel,
    consumer: lapin::Consumer,
    /// The replay queue's consumer, beside the hub's ingress queue.
    replay: Option<lapin::Consumer>,
    /// The settled delivery tags of `channel`.
    ledger: Arc<Ledger>,
}

/// Deliveries from one queue that survive broker restarts (see the module docs).
pub struct AmqpConsumer {
    config: ConsumerConfig,
    shutdown: Shutdown,
    link: Option<Link>,
    /// Set once shutdown was seen: no more deliveries.
    stopped: bool,
    reconnects: u64,
    /// Whether a link is up, for readiness checks from outside.
    status: LinkStatus,
}

/// Whether an [`AmqpConsumer`] (or an `AmqpPublisher`) currently has a working link to the
/// broker; a cheap clone that stays valid after its owner moved into the worker loop or relay
/// (readiness checks read it).
#[derive(Debug, Clone)]
pub struct LinkStatus(Arc<AtomicBool>);

impl LinkStatus {
    /// A status with this value (for tests and for transports without a link).
    #[must_use]
    pub fn new(connected: bool) -> Self {
        Self(Arc::new(AtomicBool::new(connected)))
    }

    /// Whether the link is up.
    #[must_use]
    pub(crate) fn is_connected(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn set(&self, connected: bool) {
        self.0.store(connected, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for AmqpConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpConsumer")
            .field("config", &self.config)
            .field("connected", &self.link.is_some())
            .field("stopped", &self.stopped)
            .field("reconnects", &self.reconnects)
            .finish()
    }
}

impl AmqpConsumer {
    /// Connect, declare, and start consuming; fails fast when that does not work now.
    /// Afterwards the consumer reconnects by itself until `shutdown` fires.
    pub async fn connect(
        config: ConsumerConfig,
        shutdown: Shutdown,
    ) -> Result<Self, TransportError> {
        let link = open_link(&config).await?;
        Ok(Self {
            config,
            shutdown,
            link: Some(link),
            stopped: false,
            reconnects: 0,
            status: LinkStatus::new(true),
        })
    }

    /// A handle on whether the link is up.
    #[must_use]
    pub fn status(&self) -> LinkStatus {
        self.status.clone()
    }

    /// How often the link was rebuilt since [`connect`](Self::connect).
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// The queue consumed.
    pub fn queue(&self) -> &str {
        &self.config.queue
    }

    /// Stop consuming and close the channel, then the connection. Settle the deliveries still
    /// held first: once the channel is closed they cannot be settled (the broker then delivers
    /// them again); closing the channel first makes sure the acks already sent are settled.
    pub async fn close(mut self) {
        self.status.set(false);
        self.stop().await;
        if let Some(link) = self.link.take() {
            close_settled(&link.connection, &link.channel, "consumer closed").await;
        }
    }

    /// Cancel the broker-side consumer so no further messages arrive; the connection stays
    /// open so deliveries in flight can still be settled.
    async fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Some(link) = &self.link
            && usable(&link.connection, &link.channel)
        {
            let tag = link.consumer.tag();
            if let Err(e) = link
                .channel
                .basic_cancel(tag, BasicCancelOptions::default())
                .await
            {
                tracing::debug!(error = %e, "basic.cancel at shutdown failed");
            }
        }
        tracing::info!(queue = %self.config.queue, "consumer stopped");
    }

    async fn next_delivery(&mut self) -> Option<AmqpDelivery> {
        loop {
            if self.stopped {
                return None;
            }
            if self.shutdown.is_triggered() {
                self.stop().await;
                return None;
            }
            let Some(link) = self.link.as_mut() else {
                self.relink().await;
                continue;
            };
            let replays = async {
                match link.replay.as_mut() {
                    Some(replay) => replay.next().await,
                    None => std::future::pending().await,
                }
            };
            // Both streams are cancel-safe: a delivery not yet yielded stays in its stream.
            let (item, replayed) = tokio::select! {
                biased;
                () = self.shutdown.wait() => continue,
                item = link.consumer.next() => (item, false),
                item = replays => (item, true),
            };
            let lost = match item {
                Some(Ok(delivery)) => {
                    return Some(AmqpDelivery::new(delivery, replayed, link.ledger.clone()));
                }
                Some(Err(e)) => chain(&e),
                None => "the broker cancelled the consumer or closed its channel".to_owned(),
            };
            tracing::warn!(
                queue = %self.config.queue,
                connection_name = %self.config.endpoint.connection_name,
                error = %lost,
                "lost the broker link; reconnecting (unsettled deliveries will come again)"
            );
            // Dropping the link closes whatever is left of it.
            self.link = None;
            self.status.set(false);
        }
    }

    /// Rebuild the link with backoff until it works or shutdown fires (then `link` stays
    /// `None` and the caller sees the trigger).
    async fn relink(&mut self) {
        let started = Instant::now();
        let mut failures: u32 = 0;
        let mut warned = false;
        let config = &self.config;
        let attempts = (|| open_link(config))
            .retry(config.endpoint.backoff.builder())
            .notify(|e: &TransportError, _| {
                failures = failures.saturating_add(1);
                if !e.is_transient() && !warned {
                    warned = true;
                    tracing::warn!(
                        queue = %config.queue,
                        error = %chain(e),
                        "reconnecting fails for a reason that needs a fix; still retrying"
                    );
                } else {
                    tracing::debug!(attempt = failures, error = %e, "reconnect failed");
                }
            });
        let attempt = tokio::select! {
            () = self.shutdown.wait() => return,
            attempt = attempts => attempt,
        };
        match attempt {
            Ok(link) => {
                self.link = Some(link);
                self.status.set(true);
                self.reconnects += 1;
                tracing::info!(
                    queue = %self.config.queue,
                    attempts = failures + 1,
                    outage_ms = started.elapsed().as_millis(),
                    "reconnected to the broker; consuming again"
                );
            }
            // The schedule is endless; should it ever end, the next call tries again.
            Err(e) => tracing::warn!(error = %e, "reconnecting stopped; trying again"),
        }
    }
}

/// Connect, declare, set QoS and start consuming with manual acks.
async fn open_link(config: &ConsumerConfig) -> Result<Link, TransportError> {
    let (connection, channel) = config.endpoint.open().await?;
    let qos = BasicQosOptions { global: false };
    channel
        .basic_qos(config.prefetch.max(1), qos)
        .await
        .map_err(|source| TransportError::Channel {
            operation: "basic.qos",
            source,
        })?;
    let consumer = channel
        .basic_consume(
            short_string("queue name", &config.queue)?,
            // Empty: the broker picks a unique consumer tag.
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|source| TransportError::Channel {
            operation: "basic.consume",
            source,
        })?;
    // The hub's ingress queue comes with its replay queue (see `dead_letter_admin`).
    let replay = if config.queue == HUB_INGRESS_QUEUE {
        let replay = channel
            .basic_consume(
                HUB_REPLAY_QUEUE.into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|source| TransportError::Channel {
                operation: "basic.consume samverkan.hub.replay",
                source,
            })?;
        Some(replay)
    } else {
        None
    };
    Ok(Link {
        connection,
        channel,
        consumer,
        replay,
        ledger: Ledger::new(),
    })
}

impl Consume for AmqpConsumer {
    type Delivery = AmqpDelivery;

    fn next(&mut self) -> impl Future<Output = Option<AmqpDelivery>> + Send {
        self.next_delivery()
    }
}

/// One message from RabbitMQ, to be settled on the channel it came from.
#[derive(Debug)]
pub struct AmqpDelivery {
    inbound: Inbound,
    pub(super) acker: Acker,
    /// The channel's delivery tag, and the channel's ledger of settled tags.
    pub(super) tag: u64,
    pub(super) ledger: Arc<Ledger>,
}

impl AmqpDelivery {
    /// A delivery; `replayed` when it came from the replay queue (read as a [`Replay`]);
    /// `ledger` records its channel's settled tags.
    ///
    /// [`Replay`]: crate::transport::Replay
    fn new(delivery: lapin::message::Delivery, replayed: bool, ledger: Arc<Ledger>) -> Self {
        let tag = delivery.delivery_tag;
        let (inbound, acker) = inbound(delivery);
        let inbound = if replayed {
            inbound.replayed()
        } else {
            inbound
        };
        Self {
            inbound,
            acker,
            tag,
            ledger,
        }
    }

    pub(super) async fn settle_now(self, how: Settle) -> Result<(), TransportError> {
        let (operation, outcome) = match how {
            Settle::Ack => ("ack", self.acker.ack(BasicAckOptions::default()).await),
            Settle::Requeue => {
                let options = BasicNackOptions {
                    multiple: false,
                    requeue: true,
                };
                ("requeue", self.acker.nack(options).await)
            }
            Settle::Reject => {
                let options = BasicRejectOptions { requeue: false };
                ("reject", self.acker.reject(options).await)
            }
        };
        self.sent(operation, outcome, [self.tag])
    }

    /// What a settlement call came to; on success `tags` are recorded as settled.
    pub(super) fn sent(
        &self,
        operation: &'static str,
        outcome: lapin::Result<bool>,
        tags: impl IntoIterator<Item = u64>,
    ) -> Result<(), TransportError> {
        let failed = |source| TransportError::SettleFailed {
            operation,
            message_id: self.inbound.message_id.clone().unwrap_or_default(),
            source,
        };
        match outcome {
            Ok(true) => {
                self.ledger.settled(tags);
                Ok(())
            }
            // lapin: the acker was poisoned (its channel closed) or already used.
            Ok(false) => Err(failed(None)),
            Err(e) => Err(failed(Some(e))),
        }
    }
}

impl Delivery for AmqpDelivery {
    fn inbound(&self) -> &Inbound {
        &self.inbound
    }

    fn settle(self, how: Settle) -> impl Future<Output = Result<(), TransportError>> + Send {
        self.settle_now(how)
    }

    fn ack_all(deliveries: Vec<Self>) -> impl Future<Output = Result<(), TransportError>> + Send {
        super::acks::ack_together(deliveries)
    }
}
