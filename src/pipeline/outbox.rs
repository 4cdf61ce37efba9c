//! Turning what the hub sends into outbox rows and back.
//!
//! Every outbound message — challenges, calls, statuses, rejections and dead-letter copies —
//! is written to the outbox in the same transaction as the effects that caused it, and only
//! the relay publishes. So a crash between commit and publish loses nothing: the relay finds
//! the row at start and publishes it (receivers dedupe by event id).

use crate::event::{CloudEvent, EventId};
use crate::settings::OrgId;
use crate::store::OutboxMessage;
use crate::transport::Outbound;

/// Content type recorded for a dead-lettered body that came without one.
const UNKNOWN_CONTENT_TYPE: &str = "application/octet-stream";

/// An event for organisation `org`, via the egress exchange (`<org>.<type>`), and in its feed.
pub(crate) fn to_org(org: &str, event: &CloudEvent) -> OutboxMessage {
    OutboxMessage {
        recipient: OrgId::parse(org).ok(),
        ..to_row(Outbound::to_org(org, event), event.id.clone())
    }
}

/// Any outbound message, recorded under `event_id`.
pub(crate) fn to_row(out: Outbound, event_id: EventId) -> OutboxMessage {
    OutboxMessage {
        message_id: out.message_id.filter(|m| m != event_id.as_ref()),
        event_id,
        exchange: out.exchange,
        routing_key: out.routing_key,
        content_type: out
            .content_type
            .unwrap_or_else(|| UNKNOWN_CONTENT_TYPE.to_owned()),
        correlation_id: out.correlation_id,
        kind: out.kind,
        headers: out.headers,
        body: out.body,
        recipient: None,
    }
}

/// The message the relay publishes for an outbox row.
pub(crate) fn from_row(message: &OutboxMessage) -> Outbound {
    let message_id = message
        .message_id
        .clone()
        .unwrap_or_else(|| message.event_id.as_ref().to_owned());
    Outbound {
        exchange: message.exchange.clone(),
        routing_key: message.routing_key.clone(),
        body: message.body.clone(),
        content_type: Some(message.content_type.clone()),
        message_id: Some(message_id),
        correlation_id: message.correlation_id.clone(),
        kind: message.kind.clone(),
        headers: message.headers.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::{EventType, STRUCTURED_CONTENT_TYPE, Source};

    /// Whether an outbox row carries a structured CloudEvent of `event_type`.
    fn is_event(message: &OutboxMessage, event_type: EventType) -> bool {
        message.content_type == STRUCTURED_CONTENT_TYPE
            && message.kind.as_deref() == Some(event_type.as_str())
    }

    #[test]
    fn a_row_round_trips_to_the_same_message() {
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some("NEED-2026-0101".into()),
            json!({"x": 1}),
        );
        let row = to_org("VGR", &event);
        assert_eq!(row.routing_key, "VGR.se.samverkan.need.status.v1");
        assert!(is_event(&row, EventType::NeedStatus));
        let out = from_row(&row);
        assert_eq!(out, Outbound::to_org("VGR", &event));
    }

    #[test]
    fn a_message_id_other_than_the_row_id_survives_the_row() {
        let out = Outbound {
            message_id: Some("refused-event-1".into()),
            ..Outbound::to_org(
                "VGR",
                &CloudEvent::new(EventType::NeedStatus, Source::hub(), None, json!({})),
            )
        };
        let row = to_row(out.clone(), EventId::new_v7());
        assert_ne!(row.event_id.as_ref(), "refused-event-1");
        assert_eq!(row.message_id.as_deref(), Some("refused-event-1"));
        assert!(row.headers.is_empty(), "no addressing rides in the headers");
        assert_eq!(from_row(&row), out);
    }
}
