//! Admission: bytes → a validated event from a known sender, or a [`Refusal`] (refuse.rs).
//!
//! The stages run in the order of the flow — decode, authenticate, authorize, validate —
//! and stop at the first refusal. All of it is pure: the store is touched only after admission
//! (dedupe, effects) or to record the refusal.
//!
//! A decoded event takes the transport's trace context ([`Inbound::trace`]) when it carries
//! none of its own, so everything it causes, refusals included, continues the caller's trace.

use super::auth::{Directory, authenticate, authorize, sent_as};
use super::refuse::{Refusal, RefusedEvent};
use crate::event::{CloudEvent, EventError, Limits, decode};
use crate::rejection::Rejection;
use crate::schema::SchemaRegistry;
use crate::settings::Organisation;
use crate::transport::{Inbound, KeptBody};

/// An event that passed every admission stage.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The sender, from the AMQP `user_id`.
    pub sender: Organisation,
    /// The schema-valid event.
    pub event: CloudEvent,
}

/// Run decode → authenticate → authorize → validate.
pub fn admit(
    inbound: &Inbound,
    limits: Limits,
    directory: &Directory,
    registry: &SchemaRegistry,
) -> Result<Admitted, Box<Refusal>> {
    let event = decode(inbound.raw(), limits).map_err(|err| {
        let event = RefusedEvent::sniff(inbound, limits);
        // Authentication still names the sender, so it can be told what to fix.
        let sender = authenticate(directory, sent_as(directory, inbound))
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
    // The transport's trace context (an HTTP `traceparent` header) where the event has none.
    let event = inbound.trace.fill(event);
    let refused = |rejection: Rejection, sender: Option<&Organisation>| {
        Box::new(Refusal {
            rejection,
            sender: sender.cloned(),
            event: Some(RefusedEvent::of(&event)),
            body: KeptBody::Original,
        })
    };
    let sender =
        authenticate(directory, sent_as(directory, inbound)).map_err(|r| refused(r, None))?;
    authorize(sender, &event).map_err(|r| refused(r, Some(sender)))?;
    registry
        .check(&event)
        .map_err(|err| refused(Rejection::from_event_error(&err), Some(sender)))?;
    Ok(Admitted {
        sender: sender.clone(),
        event,
    })
}
