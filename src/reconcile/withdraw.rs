//! `need.withdrawn`: the owning region takes a need back. The need becomes `withdrawn`, every
//! recipient gets a `challenge.withdrawn` so it stops work, and later answers are refused as
//! `withdrawn` ([`super::apply_answer`]).
//!
//! Withdrawal is allowed from every state that is not final: `received`, `published`,
//! `answered`, and `unmatched` (nothing was sent, but the region's view should still say the
//! need is off the table). A `closed` need is refused as `late` — its final summary has gone
//! out — a withdrawn one as `withdrawn`, and a `rejected` one as `unknown_need`, since it never
//! entered the hub. Another region's need is `unknown_need` too, word for word like an id
//! nobody uses: a region cannot tell whether another region has a need with some id.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::status::status_data;
use super::{Transition, refuse, unknown_need};
use crate::event::{CloudEvent, EventId, EventType, RejectReason};
use crate::need::{Need, NeedId, NeedState, RecipientKind};
use crate::rejection::Rejection;
use crate::settings::OrgId;
use crate::text::clip;

/// `challenge-withdrawn.v1.json` and `need-withdrawn.v1.json` allow 500 characters of reason.
const MAX_REASON_CHARS: usize = 500;

/// A region's request to withdraw a need, parsed from `need.withdrawn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdraw {
    /// The need to withdraw.
    pub need_id: NeedId,
    /// The authenticated region that asks.
    pub region: OrgId,
    /// The `need.withdrawn` event's id.
    pub event_id: EventId,
    /// Why, in the region's words: recipients read it. The caller runs the PII guard first.
    pub reason: String,
}

impl Withdraw {
    /// Reads a withdrawal from a `need.withdrawn` event sent by the region `region`.
    ///
    /// # Errors
    ///
    /// `invalid_attribute` for another event type or a `subject` that is not `data.needId`;
    /// `schema_invalid` when `needId` or `reason` cannot be read.
    pub fn from_event(event: &CloudEvent, region: &OrgId) -> Result<Self, Rejection> {
        if event.event_type != EventType::NeedWithdrawn {
            return Err(refuse(
                RejectReason::InvalidAttribute,
                "Only se.samverkan.need.withdrawn.v1 withdraws a need.",
                &[("/type", "not need.withdrawn")],
            ));
        }
        let text = |key: &str| {
            event
                .data
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
        };
        let schema_invalid = |pointer, message| {
            refuse(
                RejectReason::SchemaInvalid,
                "The withdrawal's data does not follow its schema.",
                &[(pointer, message)],
            )
        };
        let need_id = text("needId")
            .and_then(|id| NeedId::parse(id).ok())
            .ok_or_else(|| schema_invalid("/data/needId", "not a need id"))?;
        if event.subject.as_deref() != Some(need_id.as_str()) {
            return Err(refuse(
                RejectReason::InvalidAttribute,
                "The CloudEvents `subject` of a withdrawal must equal `data.needId`.",
                &[("/subject", "does not equal data.needId")],
            ));
        }
        let reason = text("reason").ok_or_else(|| schema_invalid("/data/reason", "required"))?;
        Ok(Self {
            need_id,
            region: region.clone(),
            event_id: event.id.clone(),
            reason: clip(reason, MAX_REASON_CHARS),
        })
    }
}

/// One `challenge.withdrawn` to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The university or company that received the challenge or call.
    pub recipient: OrgId,
    /// Which of the two.
    pub kind: RecipientKind,
    /// `challenge-withdrawn.v1.json` data.
    pub data: Value,
}

/// What withdrawing a need does.
#[derive(Debug, Clone, PartialEq)]
pub struct Withdrawal {
    /// The need, now `withdrawn` with the region's reason, and its status for the region.
    pub transition: Transition,
    /// One notice per recipient, in the need's recipient order.
    pub notices: Vec<Notice>,
}

/// Withdraws `need` (as loaded by its key, `None` when the store has no such need) at `now`.
///
/// # Errors
///
/// `unknown_need` when there is no such need, it is another region's or it was rejected (all
/// alike); `withdrawn` when it is already withdrawn; `late` when it has closed.
pub fn withdraw(
    need: Option<&Need>,
    request: &Withdraw,
    now: OffsetDateTime,
) -> Result<Withdrawal, Rejection> {
    let need = need
        .filter(|n| n.need_id == request.need_id && n.region == request.region)
        .filter(|n| n.state != NeedState::Rejected)
        .ok_or_else(|| unknown_need(&request.need_id))?;
    match need.state {
        NeedState::Withdrawn => Err(refuse(
            RejectReason::Withdrawn,
            "The need is already withdrawn.",
            &[],
        )),
        NeedState::Closed => Err(refuse(
            RejectReason::Late,
            "The need closed when its respondBy date passed; it can no longer be withdrawn.",
            &[],
        )),
        _ => Ok(withdrawal(need, request, now)),
    }
}

fn withdrawal(need: &Need, request: &Withdraw, now: OffsetDateTime) -> Withdrawal {
    let notices: Vec<Notice> = need
        .recipients
        .iter()
        .map(|r| Notice {
            recipient: r.org_id.clone(),
            kind: r.kind,
            data: json!({"needId": need.need_id.as_str(), "reason": request.reason}),
        })
        .collect();
    let changed = if notices.is_empty() {
        format!(
            "withdrawn by {}; no challenge or call had been sent",
            request.region
        )
    } else {
        let orgs: Vec<&str> = notices.iter().map(|n| n.recipient.as_str()).collect();
        format!(
            "withdrawn by {}; challenge.withdrawn sent to {}",
            request.region,
            orgs.join(", ")
        )
    };
    let mut after = need.clone();
    after.state = NeedState::Withdrawn;
    after.state_reason = Some(request.reason.clone());
    after.updated_at = now;
    let status = status_data(&after, &changed, now);
    Withdrawal {
        transition: Transition {
            need: after,
            from: need.state,
            changed,
            status,
        },
        notices,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::Source;
    use crate::reconcile::fixture::{NOW, assert_valid, need};

    fn request(region: &str) -> Withdraw {
        let data = json!({"needId": "NEED-2026-0101", "reason": "Solved internally."});
        let event = CloudEvent::new(
            EventType::NeedWithdrawn,
            Source::for_org(region),
            Some("NEED-2026-0101".into()),
            data,
        );
        Withdraw::from_event(&event, &region.parse().unwrap()).unwrap()
    }

    #[test]
    fn withdrawing_notifies_every_recipient_and_reports_once() {
        let w = withdraw(Some(&need(NeedState::Answered)), &request("VGR"), NOW).unwrap();
        let t = &w.transition;
        assert_eq!(
            (t.from, t.state()),
            (NeedState::Answered, NeedState::Withdrawn)
        );
        assert_eq!(
            t.changed,
            "withdrawn by VGR; challenge.withdrawn sent to chalmers, partner-001, partner-013"
        );
        assert_eq!(t.status["reason"], "Solved internally.");
        assert_valid(EventType::NeedStatus, &t.status);
        assert_eq!(w.notices.len(), 3);
        for notice in &w.notices {
            assert_valid(EventType::ChallengeWithdrawn, &notice.data);
        }
    }

    #[test]
    fn an_unmatched_need_can_be_withdrawn_with_nobody_to_notify() {
        let mut unmatched = need(NeedState::Unmatched);
        unmatched.recipients.clear();
        let w = withdraw(Some(&unmatched), &request("VGR"), NOW).unwrap();
        assert!(w.notices.is_empty());
        assert_eq!(
            w.transition.changed,
            "withdrawn by VGR; no challenge or call had been sent"
        );
        assert_valid(EventType::NeedStatus, &w.transition.status);
    }

    #[test]
    fn only_the_owning_region_may_withdraw_an_open_need() {
        let reason = |state, region| {
            withdraw(Some(&need(state)), &request(region), NOW)
                .unwrap_err()
                .reason
        };
        // Another region's need is refused word for word like a need that does not exist.
        let others = withdraw(Some(&need(NeedState::Published)), &request("RV"), NOW);
        let nobodys = withdraw(None, &request("RV"), NOW);
        assert_eq!(others.unwrap_err(), nobodys.unwrap_err());
        assert_eq!(
            reason(NeedState::Published, "RV"),
            RejectReason::UnknownNeed
        );
        assert_eq!(reason(NeedState::Withdrawn, "VGR"), RejectReason::Withdrawn);
        assert_eq!(reason(NeedState::Closed, "VGR"), RejectReason::Late);
        assert_eq!(
            reason(NeedState::Rejected, "VGR"),
            RejectReason::UnknownNeed
        );
        let none = withdraw(None, &request("VGR"), NOW).unwrap_err();
        assert_eq!(none.reason, RejectReason::UnknownNeed);
    }

    #[test]
    fn withdrawals_are_read_from_need_withdrawn_events() {
        let example: Value = serde_json::from_str(include_str!(
            "../../schemas/examples/need-withdrawn.v1/valid/NEED-2026-0102.json"
        ))
        .unwrap();
        let event = CloudEvent::from_value(example).unwrap();
        let w = Withdraw::from_event(&event, &"VGR".parse().unwrap()).unwrap();
        assert_eq!(w.need_id.as_str(), "NEED-2026-0102");
        let mut wrong = event.clone();
        wrong.data["reason"] = json!("  ");
        let err = Withdraw::from_event(&wrong, &"VGR".parse().unwrap()).unwrap_err();
        assert_eq!(err.errors[0].instance_path, "/data/reason");
    }
}
