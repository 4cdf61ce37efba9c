//! What a delivery's span records once the pipeline knows it: ids only, never content.
//!
//! The worker opens one span per delivery (`delivery`, in `crate::hub::worker`) with the
//! fields declared empty; the pipeline fills them in as soon as they are known, so every log
//! line written while handling the delivery — in the pipeline, the store, the guard — names the
//! event, its type, the sender and the need without each call site repeating them.
//!
//! Every value recorded here has passed the envelope's checks (printable ASCII, bounded), or
//! is the configured organisation's id: a partner cannot put text of its choosing into the log
//! through these fields.

use tracing::Span;

use super::Refusal;
use crate::event::{CloudEvent, is_need_id};
use crate::settings::Organisation;

/// Record an admitted event and its authenticated sender on the current span.
pub(super) fn admitted(event: &CloudEvent, sender: &Organisation) {
    let span = Span::current();
    span.record("event_id", event.id.as_ref());
    span.record("event_type", event.event_type.as_str());
    span.record("org", sender.id.as_str());
    let need_id = event
        .event_type
        .need_id_pointer()
        .and_then(|pointer| event.data.pointer(pointer))
        .and_then(serde_json::Value::as_str)
        .filter(|id| is_need_id(id));
    if let Some(need_id) = need_id {
        span.record("need_id", need_id);
    }
}

/// Record what is known of a message refused at admission on the current span (an admitted
/// event refused later has its ids recorded already).
pub(super) fn refused(refusal: &Refusal) {
    let span = Span::current();
    if let Some(sender) = &refusal.sender {
        span.record("org", sender.id.as_str());
    }
    let Some(event) = &refusal.event else {
        return;
    };
    let origin = event.origin(refusal.sender.as_ref());
    if let Some(id) = &origin.event_id {
        span.record("event_id", id.as_ref());
    }
    if let Some(event_type) = &origin.event_type {
        span.record("event_type", event_type.as_str());
    }
    if let Some(need_id) = &origin.need_id {
        span.record("need_id", need_id.as_str());
    }
}
