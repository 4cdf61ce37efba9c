//! Admission: bytes → a validated event from a known sender, or a [`Refusal`].
//!
//! The stages run in the order of DESIGN.md §1 — decode, authenticate, authorize, validate —
//! and stop at the first refusal. All of it is pure: the store is touched only after admission
//! (dedupe, effects) or to record the refusal.

use serde_json::Value;

use super::intake::{Directory, authenticate, authorize};
use crate::event::{CloudEvent, Limits, decode};
use crate::rejection::{Refused, Rejection};
use crate::schema::SchemaRegistry;
use crate::settings::Organisation;
use crate::transport::Inbound;

/// An event that passed every admission stage.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The sender, from the AMQP `user_id`.
    pub sender: Organisation,
    /// The schema-valid event.
    pub event: CloudEvent,
}

/// Why a message was not admitted, and what is known about it for the reply.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Reason code, detail, per-location errors.
    pub rejection: Rejection,
    /// The sender, when authentication got that far (it receives `message.rejected`).
    pub sender: Option<Organisation>,
    /// The refused event's `id`, `type`, `subject` and `source`, when readable.
    pub event: Option<RefusedEvent>,
}

/// What could be read of a refused event.
#[derive(Debug, Clone, Default)]
pub struct RefusedEvent {
    /// `id`.
    pub id: Option<String>,
    /// `type` as sent.
    pub event_type: Option<String>,
    /// `subject`.
    pub subject: Option<String>,
    /// `source`.
    pub source: Option<String>,
}

impl RefusedEvent {
    /// The attributes of a parsed event.
    pub fn of(event: &CloudEvent) -> Self {
        Self {
            id: Some(event.id.as_ref().to_owned()),
            event_type: Some(event.event_type.as_str().to_owned()),
            subject: event.subject.clone(),
            source: Some(event.source.as_ref().to_owned()),
        }
    }

    /// Best effort for an event that did not parse: string attributes of a JSON object body.
    fn sniff(body: &[u8]) -> Option<Self> {
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let text = |key: &str| {
            obj.get(key)
                .and_then(Value::as_str)
                .filter(|s| s.len() <= 256)
                .map(str::to_owned)
        };
        Some(Self {
            id: text("id"),
            event_type: text("type"),
            subject: text("subject"),
            source: text("source"),
        })
    }

    /// The view the rejection event is built from.
    pub fn as_refused(&self) -> Refused<'_> {
        Refused {
            id: self.id.as_deref(),
            event_type: self.event_type.as_deref(),
            subject: self.subject.as_deref(),
        }
    }
}

/// Run decode → authenticate → authorize → validate.
pub fn admit(
    inbound: &Inbound,
    limits: Limits,
    directory: &Directory,
    registry: &SchemaRegistry,
) -> Result<Admitted, Box<Refusal>> {
    let event = decode(inbound.raw(), limits).map_err(|err| {
        let event = if inbound.body.len() <= limits.max_message_bytes {
            RefusedEvent::sniff(&inbound.body)
        } else {
            None
        };
        // Authentication still names the sender, so it can be told what to fix.
        let sender = authenticate(directory, inbound.user_id.as_deref())
            .ok()
            .cloned();
        Box::new(Refusal {
            rejection: Rejection::from_event_error(&err),
            sender,
            event,
        })
    })?;
    let refused = |rejection: Rejection, sender: Option<&Organisation>| {
        Box::new(Refusal {
            rejection,
            sender: sender.cloned(),
            event: Some(RefusedEvent::of(&event)),
        })
    };
    let sender =
        authenticate(directory, inbound.user_id.as_deref()).map_err(|r| refused(r, None))?;
    authorize(sender, &event).map_err(|r| refused(r, Some(sender)))?;
    registry
        .check(&event)
        .map_err(|err| refused(Rejection::from_event_error(&err), Some(sender)))?;
    Ok(Admitted {
        sender: sender.clone(),
        event,
    })
}
