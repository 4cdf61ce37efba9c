//! Transport-neutral messages and the two small traits the hub runs on.
//!
//! The pipeline never sees lapin types: a delivery is an [`Inbound`] plus a way to settle it,
//! and everything the hub sends is an [`Outbound`] (what the outbox stores and the relay
//! publishes). RabbitMQ and the in-process broker both implement [`Consume`], [`Delivery`] and
//! [`Publish`] with the same semantics — confirms, `mandatory`, dead-lettering — so the demo
//! and the fast tests exercise the same pipeline as production.

use std::collections::BTreeMap;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::TransportError;
use super::topology::{EGRESS_EXCHANGE, INGRESS_EXCHANGE, Topology};
use crate::event::{CloudEvent, RawMessage, STRUCTURED_CONTENT_TYPE, Trace};

/// One message as delivered to the hub.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbound {
    /// The body, unparsed.
    pub body: Vec<u8>,
    /// AMQP `content_type`.
    pub content_type: Option<String>,
    /// String-valued headers (binary-mode CloudEvent attributes live here).
    pub headers: BTreeMap<String, String>,
    /// AMQP `user_id`, checked by RabbitMQ against the connection's user: the sender identity.
    pub user_id: Option<String>,
    /// AMQP `message_id`.
    pub message_id: Option<String>,
    /// The routing key it was published with.
    pub routing_key: String,
    /// Whether the broker has delivered it before.
    pub redelivered: bool,
    /// Trace context the transport carried beside the event, validated (an HTTP request's W3C
    /// `traceparent` / `tracestate` headers); the event's own trace context wins over it.
    pub trace: Trace,
    /// Set by the transport, and only for deliveries from the hub's replay queue (which
    /// partners cannot write to): a dead letter replayed by an operator, to be handled as sent
    /// by its original sender.
    pub replay: Option<Replay>,
}

/// A replayed dead letter: who sent it first, which dead letter it was, and how often it has
/// been replayed (see `transport::dead_letter_admin`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// The original sender's organisation id (`x-samverkan-sender`), when the dead letter
    /// named one.
    pub sender: Option<String>,
    /// The dead letter's id (`x-samverkan-dead-letter-id`).
    pub dead_letter_id: Option<String>,
    /// Replays so far, this one included (`x-samverkan-replays`).
    pub replays: u32,
}

impl Inbound {
    /// This delivery, taken from the hub's replay queue, as the pipeline reads it: marked as
    /// a [`Replay`] from the `x-samverkan-*` headers the replay tool wrote, with the routing key
    /// the original was published with. Only a transport calls this, and only for that queue.
    #[must_use]
    pub fn replayed(mut self) -> Self {
        use super::dead_letter::{
            DEAD_LETTER_ID_HEADER, ORIGINAL_ROUTING_KEY_HEADER, REPLAYS_HEADER, SENDER_HEADER,
        };
        let header = |name: &str| self.headers.get(name).cloned();
        let replay = Replay {
            sender: header(SENDER_HEADER),
            dead_letter_id: header(DEAD_LETTER_ID_HEADER),
            replays: header(REPLAYS_HEADER)
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        };
        if let Some(key) = header(ORIGINAL_ROUTING_KEY_HEADER) {
            self.routing_key = key;
        }
        // The sender is the original one, not whoever published to the replay queue.
        self.user_id = None;
        self.replay = Some(replay);
        self
    }
}

impl Inbound {
    /// The view [`crate::event::decode`] reads.
    pub fn raw(&self) -> RawMessage<'_> {
        RawMessage {
            body: &self.body,
            content_type: self.content_type.as_deref(),
            headers: &self.headers,
        }
    }
}

/// One message to publish (persistent, mandatory, confirmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    /// Exchange to publish to.
    pub exchange: String,
    /// Routing key.
    pub routing_key: String,
    /// Body bytes.
    pub body: Vec<u8>,
    /// AMQP `content_type`.
    pub content_type: Option<String>,
    /// AMQP `message_id` (the event id for events the hub emits).
    pub message_id: Option<String>,
    /// AMQP `correlation_id` (the need id for need-scoped events).
    pub correlation_id: Option<String>,
    /// AMQP `type` (the CloudEvents type).
    pub kind: Option<String>,
    /// String headers.
    pub headers: BTreeMap<String, String>,
}

/// Addressing: the constructors choose the exchange, so nothing outside the transport names
/// one.
impl Outbound {
    /// A structured-mode CloudEvent for organisation `org`, via the egress exchange
    /// (`<org>.<type>`).
    pub fn to_org(org: &str, event: &CloudEvent) -> Self {
        let key = Topology::egress_routing_key(org, event.event_type);
        Self::event(EGRESS_EXCHANGE, key, event)
    }

    /// A structured-mode CloudEvent for the hub, via the ingress exchange, as an organisation
    /// sends it.
    pub(crate) fn to_hub(event: &CloudEvent) -> Self {
        let key = Topology::ingress_routing_key(event.event_type);
        Self::event(INGRESS_EXCHANGE, key, event)
    }

    /// A structured-mode CloudEvent to `exchange` with `routing_key`.
    pub(crate) fn event(
        exchange: &str,
        routing_key: impl Into<String>,
        event: &CloudEvent,
    ) -> Self {
        Self {
            exchange: exchange.to_owned(),
            routing_key: routing_key.into(),
            body: event.to_json_bytes(),
            content_type: Some(STRUCTURED_CONTENT_TYPE.to_owned()),
            message_id: Some(event.id.as_ref().to_owned()),
            correlation_id: event.subject.clone(),
            kind: Some(event.event_type.as_str().to_owned()),
            headers: BTreeMap::new(),
        }
    }
}

/// How a delivery ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done (its effects are durable, or it was a duplicate).
    Ack,
    /// Give it back for another attempt (counts towards the queue's delivery limit).
    Requeue,
    /// Reject without requeue: the queue's dead-letter exchange takes it.
    Reject,
}

/// A delivery the hub must settle exactly once.
pub trait Delivery: Send + 'static {
    /// The message.
    fn inbound(&self) -> &Inbound;
    /// Ack, requeue or reject it. Settling on a channel that has since closed fails; the broker
    /// then redelivers the message and the inbox makes the redelivery a no-op.
    fn settle(self, how: Settle) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Ack every one of `deliveries` (in arrival order), whose effects were committed together.
    /// A transport may send fewer acks than deliveries (AMQP's `multiple`), never one that
    /// settles anything else. Returns the first failure; every delivery is tried.
    fn ack_all(deliveries: Vec<Self>) -> impl Future<Output = Result<(), TransportError>> + Send
    where
        Self: Sized,
    {
        async move {
            let mut first = Ok(());
            for delivery in deliveries {
                let acked = delivery.settle(Settle::Ack).await;
                if first.is_ok() {
                    first = acked;
                }
            }
            first
        }
    }
}

/// A stream of deliveries that survives broker reconnects.
pub trait Consume: Send + 'static {
    /// What it yields.
    type Delivery: Delivery;
    /// The next delivery, or `None` once the consumer has been shut down.
    fn next(&mut self) -> impl Future<Output = Option<Self::Delivery>> + Send;
}

/// Confirmed publishing.
pub trait Publish: Send + Sync + 'static {
    /// Publish every message with confirms pipelined (never one round trip per message) and
    /// report each one's fate in order: `Ok` only when the broker confirmed it and routed it
    /// to at least one queue.
    fn publish_all(
        &self,
        messages: &[Outbound],
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send;

    /// Publish `first` as [`publish_all`](Self::publish_all) does, and, while their confirms
    /// are outstanding, what `more` hands over meanwhile, on the same link after them, as one
    /// batch: each fate in the order sent (`first`, then each hand-over in turn). So a message
    /// handed over while a batch awaits its confirms goes out at once instead of after them.
    /// Once a message of the batch was not published because the link was lost, nothing more
    /// is taken. The default publishes `first` only (a transport whose confirms take no time
    /// gains nothing).
    fn publish_train<M: More>(
        &self,
        first: &[Outbound],
        more: &mut M,
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send {
        let _ = more;
        self.publish_all(first)
    }
}

/// Messages handed over while a publish is under way, to go out with it
/// ([`Publish::publish_train`]).
pub trait More: Send {
    /// Messages to send now, if any were handed over; never waits.
    fn try_more(&mut self) -> Option<Vec<Outbound>>;

    /// Waits until messages are handed over (for ever, if none will be). Must be cancel-safe:
    /// the publish drops it as soon as its confirms are in.
    fn more(&mut self) -> impl Future<Output = Vec<Outbound>> + Send;
}

/// Nothing more: [`Publish::publish_train`] publishes its first messages only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMore;

impl More for NoMore {
    fn try_more(&mut self) -> Option<Vec<Outbound>> {
        None
    }

    fn more(&mut self) -> impl Future<Output = Vec<Outbound>> + Send {
        std::future::pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventType, Source};

    #[test]
    fn an_event_carries_its_ids_in_properties() {
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some("NEED-2026-0101".into()),
            serde_json::json!({}),
        );
        let out = Outbound::to_org("VGR", &event);
        assert_eq!(out.exchange, "samverkan.egress");
        assert_eq!(out.routing_key, "VGR.se.samverkan.need.status.v1");
        assert_eq!(out.message_id.as_deref(), Some(event.id.as_ref()));
        assert_eq!(out.correlation_id.as_deref(), Some("NEED-2026-0101"));
        assert_eq!(out.content_type.as_deref(), Some(STRUCTURED_CONTENT_TYPE));
    }
}
