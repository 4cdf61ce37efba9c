//! Recording a refusal: the original to the dead-letter queue with its reason, the sender told
//! exactly what to fix, an audit row — all in the caller's transaction, so a refusal is acked
//! only once it is durable.

use time::OffsetDateTime;

use super::admit::Refusal;
use super::outbox::{to_org, to_row};
use crate::event::EventId;
use crate::store::{AuditAction, AuditEntry, NeedId, StoreError, Tx};
use crate::transport::Inbound;
use crate::transport::Outbound;

/// Write the dead letter, the `message.rejected` (when the sender is known) and the audit row.
pub async fn record(
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
    );
    // Each dead letter is its own outbox row (the same event may be refused twice, e.g. sent
    // by two unknown users); its AMQP message id is the refused event's id where it had one.
    tx.enqueue(&to_row(dead, EventId::new_v7())).await?;
    if let Some(sender) = &refusal.sender {
        let mut reply = rejection.to_event(event.as_refused());
        reply.time = now;
        tx.enqueue(&to_org(sender.id.as_str(), &reply)).await?;
    }
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
