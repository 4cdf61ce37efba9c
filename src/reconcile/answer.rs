//! An answer as the state machine reads it, parsed from `offer.submitted` (universities) or
//! `proposal.submitted` (companies) and the organisation the broker authenticated.
//!
//! The answering organisation is the authenticated one, never a field of the event: a company
//! cannot answer for another by naming it. The event type decides which kind of recipient the
//! answer is from, so a university that sends a proposal is caught as the wrong kind of
//! recipient. The data has passed its schema before; the checks here repeat only what the state
//! machine relies on, so that a caller who skipped validation still cannot record nonsense.

use serde_json::Value;
use time::OffsetDateTime;

use super::refuse;
use crate::event::{CloudEvent, EventId, EventType, RejectReason, Source};
use crate::need::{Decision, NeedId, NewAnswer, RecipientKind};
use crate::rejection::Rejection;
use crate::settings::OrgId;

/// One answer to a need.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The need answered (the event's `subject` and `data.needId`).
    pub need_id: NeedId,
    /// The region whose need it answers, when the answer names one (`data.region`): needed
    /// only when needs with this id from several regions were sent to the sender.
    pub region: Option<OrgId>,
    /// The authenticated organisation that answers.
    pub org_id: OrgId,
    /// The kind of recipient the event type belongs to: offers come from universities,
    /// proposals from companies.
    pub kind: RecipientKind,
    /// CloudEvents `source` of the answer.
    pub source: Source,
    /// CloudEvents `id` of the answer.
    pub event_id: EventId,
    /// CloudEvents `time` of the answer: the latest answer of a recipient wins.
    pub time: OffsetDateTime,
    /// What was answered.
    pub decision: Decision,
    /// The course named (required for an offer; a decline may name one).
    pub course_code: Option<String>,
    /// The course instance named (required for an offer).
    pub instance_id: Option<String>,
    /// The event's data as it will be stored and summarised.
    pub detail: Value,
}

impl Answer {
    /// Reads an answer from an `offer.submitted` or `proposal.submitted` event sent by `org_id`.
    ///
    /// # Errors
    ///
    /// `invalid_attribute` for another event type or a `subject` that is not `data.needId`;
    /// `schema_invalid` when `needId`, `decision`, `courseCode` or `instanceId` cannot be read
    /// or an offer lacks its course instance.
    pub fn from_event(event: &CloudEvent, org_id: &OrgId) -> Result<Self, Rejection> {
        let (kind, allowed): (_, &[Decision]) = match event.event_type {
            EventType::OfferSubmitted => (
                RecipientKind::University,
                &[Decision::Offer, Decision::Decline],
            ),
            EventType::ProposalSubmitted => (
                RecipientKind::Company,
                &[Decision::Interest, Decision::Proposal, Decision::Decline],
            ),
            _ => return Err(not_an_answer()),
        };
        let data = &event.data;
        let need_id = data
            .get("needId")
            .and_then(Value::as_str)
            .and_then(|id| NeedId::parse(id).ok())
            .ok_or_else(|| schema_invalid("/data/needId", "not a need id"))?;
        if event.subject.as_deref() != Some(need_id.as_str()) {
            return Err(refuse(
                RejectReason::InvalidAttribute,
                "The CloudEvents `subject` of an answer must equal `data.needId`.",
                &[("/subject", "does not equal data.needId")],
            ));
        }
        let decision = data
            .get("decision")
            .and_then(Value::as_str)
            .and_then(Decision::parse)
            .filter(|d| allowed.contains(d))
            .ok_or_else(|| {
                schema_invalid("/data/decision", "not a decision of this answer type")
            })?;
        let region = optional_text(data, "region")?
            .map(|r| OrgId::parse(&r))
            .transpose()
            .map_err(|_| schema_invalid("/data/region", "not an organisation id"))?;
        let course_code = optional_text(data, "courseCode")?;
        let instance_id = optional_text(data, "instanceId")?;
        if decision == Decision::Offer {
            if course_code.is_none() {
                return Err(schema_invalid("/data/courseCode", "required for an offer"));
            }
            if instance_id.is_none() {
                return Err(schema_invalid("/data/instanceId", "required for an offer"));
            }
        }
        Ok(Self {
            need_id,
            region,
            org_id: org_id.clone(),
            kind,
            source: event.source.clone(),
            event_id: event.id.clone(),
            time: event.time,
            decision,
            course_code,
            instance_id,
            detail: data.clone(),
        })
    }

    /// The answer as the store records it, for the need of `region`.
    #[must_use]
    pub(crate) fn to_new_answer(&self, region: &OrgId) -> NewAnswer {
        NewAnswer {
            need_id: self.need_id.clone(),
            region: region.clone(),
            org_id: self.org_id.clone(),
            source: self.source.clone(),
            event_id: self.event_id.clone(),
            time: self.time,
            decision: self.decision,
            detail: self.detail.clone(),
        }
    }

    /// `offer from chalmers (TEK901-2026-2027-LP3)`, `decline from partner-013`: ids and codes
    /// only, so it can go into a status unchecked.
    pub(super) fn describe(&self) -> String {
        let what = self.instance_id.as_deref().or(self.course_code.as_deref());
        match what {
            Some(course) => format!("{} from {} ({course})", self.decision, self.org_id),
            None => format!("{} from {}", self.decision, self.org_id),
        }
    }
}

fn optional_text(data: &Value, key: &str) -> Result<Option<String>, Rejection> {
    match data.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(schema_invalid(
            &format!("/data/{key}"),
            "must be a non-empty string",
        )),
    }
}

fn schema_invalid(pointer: &str, message: &str) -> Rejection {
    refuse(
        RejectReason::SchemaInvalid,
        "The answer's data does not follow its schema.",
        &[(pointer, message)],
    )
}

fn not_an_answer() -> Rejection {
    refuse(
        RejectReason::InvalidAttribute,
        "Only se.samverkan.offer.submitted.v1 and se.samverkan.proposal.submitted.v1 answer a need.",
        &[("/type", "not an answer type")],
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(event_type: EventType, data: Value) -> CloudEvent {
        CloudEvent::new(
            event_type,
            Source::for_org("chalmers"),
            Some("NEED-2026-0101".into()),
            data,
        )
    }

    fn chalmers() -> OrgId {
        "chalmers".parse().unwrap()
    }

    #[test]
    fn an_offer_names_its_course_instance() {
        let data = json!({"needId": "NEED-2026-0101", "decision": "offer",
            "courseCode": "TEK901", "instanceId": "TEK901-2026-2027-LP3"});
        let answer =
            Answer::from_event(&event(EventType::OfferSubmitted, data), &chalmers()).unwrap();
        assert_eq!(answer.kind, RecipientKind::University);
        assert_eq!(answer.decision, Decision::Offer);
        assert_eq!(
            answer.describe(),
            "offer from chalmers (TEK901-2026-2027-LP3)"
        );
        assert_eq!(answer.region, None);
        let recorded = answer.to_new_answer(&"VGR".parse().unwrap());
        assert_eq!(
            (recorded.event_id, recorded.region.as_str()),
            (answer.event_id.clone(), "VGR")
        );
    }

    #[test]
    fn malformed_answers_are_refused_with_pointers() {
        let cases = [
            (
                EventType::OfferSubmitted,
                json!({"needId": "NEED-2026-0101", "decision": "offer"}),
                RejectReason::SchemaInvalid,
                "/data/courseCode",
            ),
            (
                EventType::OfferSubmitted,
                json!({"needId": "NEED-2026-0101", "decision": "proposal"}),
                RejectReason::SchemaInvalid,
                "/data/decision",
            ),
            (
                EventType::ProposalSubmitted,
                json!({"needId": "NEED 1", "decision": "decline"}),
                RejectReason::SchemaInvalid,
                "/data/needId",
            ),
            (
                EventType::ProposalSubmitted,
                json!({"needId": "NEED-2026-0102", "decision": "decline"}),
                RejectReason::InvalidAttribute,
                "/subject",
            ),
            (
                EventType::NeedWithdrawn,
                json!({"needId": "NEED-2026-0101", "reason": "x"}),
                RejectReason::InvalidAttribute,
                "/type",
            ),
        ];
        for (event_type, data, reason, pointer) in cases {
            let err = Answer::from_event(&event(event_type, data), &chalmers()).unwrap_err();
            assert_eq!(err.reason, reason, "{pointer}");
            assert_eq!(err.errors[0].instance_path, pointer);
        }
    }
}
