//! Admission: bytes → a validated event from a known sender, or a [`Refusal`].
//!
//! The stages run in the order of the flow — decode, authenticate, authorize, validate —
//! and stop at the first refusal. All of it is pure: the store is touched only after admission
//! (dedupe, effects) or to record the refusal.

use serde_json::Value;

use super::auth::{Directory, authenticate, authorize};
use crate::event::{
    CloudEvent, EventError, EventId, EventType, Limits, Source, decode, is_attribute_token,
    is_need_id,
};
use crate::rejection::{Refused, Rejection};
use crate::schema::SchemaRegistry;
use crate::settings::Organisation;
use crate::transport::{Inbound, KeptBody, Origin};

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
    /// What its dead letter keeps of the body.
    pub body: KeptBody,
}

/// What could be read of a refused event: only attribute values that pass the envelope's own
/// checks, because they become AMQP properties and headers of the rejection and dead letter.
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

    /// Best effort for an event that did not parse: the string attributes of a JSON object
    /// body that are well-formed on their own (an id that is a valid id, a need id as subject).
    fn sniff(body: &[u8]) -> Option<Self> {
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let text = |key: &str| obj.get(key).and_then(Value::as_str);
        Some(Self {
            id: text("id")
                .filter(|s| EventId::parse(s).is_ok())
                .map(str::to_owned),
            event_type: text("type")
                .filter(|s| is_attribute_token(s))
                .map(str::to_owned),
            subject: text("subject").filter(|s| is_need_id(s)).map(str::to_owned),
            source: text("source")
                .filter(|s| Source::parse(s).is_ok())
                .map(str::to_owned),
        })
    }

    /// The ids a dead letter names, for a refusal from `sender`.
    pub fn origin(&self, sender: Option<&Organisation>) -> Origin {
        let need_scoped = self
            .event_type
            .as_deref()
            .and_then(EventType::parse)
            .and_then(EventType::need_id_pointer)
            .is_some();
        Origin {
            event_id: self.id.as_deref().and_then(|id| EventId::parse(id).ok()),
            source: self.source.clone(),
            event_type: self.event_type.clone(),
            sender: sender.map(|s| s.id.as_str().to_owned()),
            need_id: self.subject.clone().filter(|_| need_scoped),
        }
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
        // A body over the limit is not kept: it could be anything, of any size.
        let body = match err {
            EventError::TooLarge { .. } => KeptBody::Withheld,
            _ => KeptBody::Original,
        };
        Box::new(Refusal {
            rejection: Rejection::from_event_error(&err),
            sender,
            event,
            body,
        })
    })?;
    let refused = |rejection: Rejection, sender: Option<&Organisation>| {
        Box::new(Refusal {
            rejection,
            sender: sender.cloned(),
            event: Some(RefusedEvent::of(&event)),
            body: KeptBody::Original,
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
