//! Looking into `samverkan.hub.dead` without taking anything out of it.
//!
//! An operator asking "what was refused, and why?" must not lose the evidence by asking. So
//! [`peek`] takes up to `limit` messages with `basic.get` and manual acknowledgement and never
//! acknowledges them: when the caller closes the channel, the broker puts every one back, in
//! order. (On a quorum queue that counts as a delivery; the dead-letter queue's delivery limit
//! is practically unbounded, so nothing is ever dropped for being looked at.)
//!
//! What is shown is what the hub wrote on the dead letter — the reason code and detail
//! headers, the refused event's id, sender and need id, the original routing key and body
//! size — or, for a message the broker
//! dead-lettered itself (delivery limit reached), RabbitMQ's `x-first-death-reason`. Bodies are
//! never shown: a refused need may be refused precisely because it carries personal data.

use std::collections::BTreeMap;

use lapin::Channel;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use serde::Serialize;

use super::convert::header_texts;
use crate::transport::HUB_DEAD_QUEUE;
use crate::transport::{
    BODY_BYTES_HEADER, BODY_HEADER, DETAIL_HEADER, EVENT_ID_HEADER, NEED_ID_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER, REASON_HEADER, SENDER_HEADER, TransportError,
};

/// One dead letter, without its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// The hub's reason code (`x-samverkan-reason`), or the broker's reason prefixed
    /// `broker:` (e.g. `broker:delivery_limit`) when the broker dead-lettered it.
    pub reason: String,
    /// What the hub said about it (`x-samverkan-detail`); empty for broker dead letters.
    pub detail: String,
    /// The original message id (usually the event id), when it had one.
    pub message_id: Option<String>,
    /// The refused event's id (`x-samverkan-event-id`), when it could be read.
    pub event_id: Option<String>,
    /// The organisation that sent it (`x-samverkan-sender`), when it was authenticated.
    pub sender: Option<String>,
    /// The need it concerns (`x-samverkan-need-id`), for need-scoped events.
    pub need_id: Option<String>,
    /// The routing key it was first published with (the event type it claimed).
    pub routing_key: String,
    /// What the dead letter holds of the body: `original`, `redacted` or `withheld`
    /// (`x-samverkan-body`); `original` for broker dead letters.
    pub body: String,
    /// Size in bytes of the body as it was received.
    pub bytes: usize,
}

/// What [`peek`] saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetters {
    /// The queue.
    pub queue: String,
    /// Messages ready in the queue when looked at (not those another consumer holds, nor
    /// those a channel closed a moment ago is still giving back).
    pub total: u32,
    /// How many of each reason among those shown.
    pub by_reason: BTreeMap<String, usize>,
    /// The first `limit` messages, oldest first.
    pub messages: Vec<DeadLetter>,
}

/// Look at up to `limit` messages of the hub's dead-letter queue, oldest first, leaving them
/// there once `channel` is closed (the caller closes it; nothing is acknowledged here).
pub async fn peek(channel: &Channel, limit: usize) -> Result<DeadLetters, TransportError> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let queue = channel
        .queue_declare(HUB_DEAD_QUEUE.into(), passive, Default::default())
        .await
        .map_err(|source| TransportError::Channel {
            operation: "queue.declare (passive) samverkan.hub.dead; declare the topology \
                        with `samverkan topology --declare` or start the hub",
            source,
        })?;
    let mut messages = Vec::new();
    while messages.len() < limit {
        let got = channel
            .basic_get(HUB_DEAD_QUEUE.into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(|source| TransportError::Channel {
                operation: "basic.get samverkan.hub.dead",
                source,
            })?;
        let Some(message) = got else { break };
        messages.push(describe(&message.delivery));
    }
    let mut by_reason = BTreeMap::new();
    for m in &messages {
        *by_reason.entry(m.reason.clone()).or_insert(0) += 1;
    }
    Ok(DeadLetters {
        queue: HUB_DEAD_QUEUE.to_owned(),
        total: queue.message_count(),
        by_reason,
        messages,
    })
}

fn describe(delivery: &lapin::message::Delivery) -> DeadLetter {
    let headers = delivery
        .properties
        .headers()
        .as_ref()
        .map(header_texts)
        .unwrap_or_default();
    let reason = match (
        headers.get(REASON_HEADER),
        headers.get("x-first-death-reason"),
    ) {
        (Some(code), _) => code.clone(),
        (None, Some(broker)) => format!("broker:{broker}"),
        (None, None) => "unknown".to_owned(),
    };
    DeadLetter {
        reason,
        detail: headers.get(DETAIL_HEADER).cloned().unwrap_or_default(),
        message_id: delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.as_str().to_owned()),
        event_id: headers.get(EVENT_ID_HEADER).cloned(),
        sender: headers.get(SENDER_HEADER).cloned(),
        need_id: headers.get(NEED_ID_HEADER).cloned(),
        routing_key: headers
            .get(ORIGINAL_ROUTING_KEY_HEADER)
            .cloned()
            .unwrap_or_else(|| delivery.routing_key.as_str().to_owned()),
        body: headers
            .get(BODY_HEADER)
            .cloned()
            .unwrap_or_else(|| "original".to_owned()),
        bytes: headers
            .get(BODY_BYTES_HEADER)
            .and_then(|b| b.parse().ok())
            .unwrap_or(delivery.data.len()),
    }
}
