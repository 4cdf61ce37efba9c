//! Recording a refusal: the original to the dead-letter queue with its reason, the sender told
//! exactly what to fix, an audit row — all in the caller's transaction, so a refusal is acked
//! only once it is durable.

use time::OffsetDateTime;

use super::admit::Refusal;
use super::outbox::{to_org, to_row};
use crate::event::{EventId, EventType};
use crate::store::{AuditAction, AuditEntry, NeedId, StoreError, Tx};
use crate::transport::Inbound;
use crate::transport::Outbound;
use crate::transport::amqp::DEAD_LETTER_EXCHANGE;

/// Write the dead letter, the `message.rejected` (when the sender is known) and the audit row.
pub async fn record(
    tx: &mut Tx,
    inbound: &Inbound,
    refusal: &Refusal,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let rejection = &refusal.rejection;
    let event = refusal.event.clone().unwrap_or_default();
    let event_id = event.id.as_deref().and_then(|id| EventId::parse(id).ok());
    let dead = Outbound::dead_letter(
        DEAD_LETTER_EXCHANGE,
        inbound,
        rejection.reason,
        &rejection.detail,
    );
    // Each dead letter is its own message (the same event may be refused twice, e.g. sent by
    // two unknown users), so it gets a fresh id; the refused event's id is in its body.
    tx.enqueue(&to_row(dead, EventId::new_v7())).await?;
    if let Some(sender) = &refusal.sender {
        let mut reply = rejection.to_event(event.as_refused());
        reply.time = now;
        tx.enqueue(&to_org(sender.id.as_str(), &reply)).await?;
    }
    let need_id = match event.event_type.as_deref() {
        Some(t)
            if EventType::parse(t)
                .and_then(EventType::need_id_pointer)
                .is_some() =>
        {
            event.subject.as_deref().and_then(|s| NeedId::parse(s).ok())
        }
        _ => None,
    };
    tx.audit(&AuditEntry {
        event_id,
        need_id,
        org: refusal.sender.as_ref().map(|s| s.id.clone()),
        reason: Some(rejection.reason.into()),
        ..AuditEntry::new(AuditAction::Rejected)
    })
    .await
}
