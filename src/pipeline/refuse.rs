//! Refusals, in one place: what is known about a refused message ([`Refusal`],
//! [`RefusedEvent`]) and recording it — the original to the dead-letter queue with its reason
//! ([`Outbound::dead_letter`]), the sender told exactly what to fix (the `message.rejected`
//! of [`crate::rejection::Rejection`]), an audit row — all in the caller's transaction, so a
//! refusal is acked only once it is durable.

use serde_json::Value;
use time::OffsetDateTime;

use super::outbox::{to_org, to_row};
use crate::event::{
    CloudEvent, EventId, EventType, Limits, Source, Trace, is_attribute_token, is_need_id,
    sniff_binary,
};
use crate::need::NeedId;
use crate::rejection::{Refused, Rejection};
use crate::settings::Organisation;
use crate::store::{AuditAction, AuditEntry, StoreError, Tx};
use crate::transport::{Inbound, KeptBody, Origin, Outbound};

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
    /// Its valid trace context, continued by the rejection.
    pub trace: Trace,
}

impl RefusedEvent {
    /// The attributes of a parsed event.
    pub fn of(event: &CloudEvent) -> Self {
        Self {
            id: Some(event.id.as_ref().to_owned()),
            event_type: Some(event.event_type.as_str().to_owned()),
            subject: event.subject.clone(),
            source: Some(event.source.as_ref().to_owned()),
            trace: Trace::of(event),
        }
    }

    /// Best effort for a message that did not decode: the attributes in its binary-mode
    /// headers when it has them (its body is then `data`, not an event), else those of its
    /// JSON body when that is within `limits`.
    pub(super) fn sniff(inbound: &Inbound, limits: Limits) -> Option<Self> {
        if let Some(attributes) = sniff_binary(inbound.raw()) {
            return Some(Self::readable(|key| {
                attributes.get(key).map(String::as_str)
            }));
        }
        if inbound.body.len() > limits.max_message_bytes {
            return None;
        }
        Self::sniff_body(&inbound.body)
    }

    /// Best effort for an event that did not parse: the string attributes of a JSON object
    /// body that are well-formed on their own (an id that is a valid id, a need id as subject).
    fn sniff_body(body: &[u8]) -> Option<Self> {
        let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        Some(Self::readable(|key| obj.get(key).and_then(Value::as_str)))
    }

    /// The attributes `text` gives that are well-formed on their own.
    fn readable<'a>(text: impl Fn(&str) -> Option<&'a str>) -> Self {
        Self {
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
            trace: Trace::new(text("traceparent"), text("tracestate")),
        }
    }

    /// The ids a dead letter names, for a refusal from `sender`.
    pub(crate) fn origin(&self, sender: Option<&Organisation>) -> Origin {
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
    pub(crate) fn as_refused(&self) -> Refused<'_> {
        Refused {
            id: self.id.as_deref(),
            event_type: self.event_type.as_deref(),
            subject: self.subject.as_deref(),
        }
    }
}

/// Write the dead letter, the `message.rejected` (when the sender is known) and the audit row.
pub(super) async fn record(
    tx: &mut Tx,
    inbound: &Inbound,
    refusal: &Refusal,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let rejection = &refusal.rejection;
    let event = refusal.event.clone().unwrap_or_default();
    let origin = event.origin(refusal.sender.as_ref());
    let dead = Outbound::dead_letter(
        inbound,
        rejection.reason,
        &rejection.detail,
        &origin,
        refusal.body.clone(),
    )
    .with_errors(&rejection.errors)
    .dead_lettered_at(now);
    // Each dead letter is its own outbox row (the same event may be refused twice, e.g. sent
    // by two unknown users); its AMQP message id is the refused event's id where it had one.
    let mut rows = vec![to_row(dead, EventId::new_v7())];
    if let Some(sender) = &refusal.sender {
        // An unreadable event's rejection still continues the transport's trace.
        let trace = event.trace.clone().or(&inbound.trace);
        let mut reply = trace.stamp(rejection.to_event(event.as_refused()));
        reply.time = now;
        rows.push(to_org(sender.id.as_str(), &reply));
    }
    tx.enqueue_all(rows).await?;
    let need_id = origin
        .need_id
        .as_deref()
        .and_then(|s| NeedId::parse(s).ok());
    tx.audit(&AuditEntry {
        event_id: origin.event_id,
        need_id,
        org: refusal.sender.as_ref().map(|s| s.id.clone()),
        reason: Some(rejection.reason.into()),
        ..AuditEntry::new(AuditAction::Rejected)
    })
    .await
}
