//! A need's reconciled state as JSON: the one shape `samverkan needs show --format json` prints
//! and `GET /v1/needs/{id}` serves, so operators and regions read the same thing.
//!
//! It names recipients, scores, latest answers and counts, and the state's reason; it carries
//! no free text beyond what already passed the PII guard.

use serde_json::{Value, json};

use super::Counts;
use crate::event::format_time;
use crate::store::StoredNeed;

/// `need` with its recipients, their latest answers and the counts.
pub(crate) fn need_report(need: &StoredNeed) -> Value {
    let counts = Counts::of(need);
    json!({
        "needId": need.need_id.as_str(),
        "region": need.region.as_str(),
        "state": need.state.as_str(),
        "reason": need.state_reason,
        "respondBy": need.respond_by.map(format_time),
        "version": need.version(),
        "counts": {
            "offers": counts.offers,
            "proposals": counts.proposals,
            "interests": counts.interests,
            "declines": counts.declines,
        },
        "recipients": need.recipients.iter().map(|r| json!({
            "org": r.org_id.as_str(),
            "kind": r.kind.as_str(),
            "score": r.score,
            "reasons": r.reasons,
            "latest": r.latest.as_ref().map(|a| json!({
                "decision": a.decision.as_str(),
                "time": format_time(a.time),
                "eventId": a.event_id.as_ref(),
            })),
        })).collect::<Vec<_>>(),
    })
}
