//! `need-status.v1.json` data from a need as it stands after a change.
//!
//! Each status is a complete snapshot (the schema says a consumer may keep only the one with
//! the latest `updatedAt`), so it is built from the whole [`Need`], never patched. The
//! shape is the one routing sends first ([`crate::routing::need_status_data`]): scores to two
//! decimals, at most 20 reasons of at most 500 characters, `changed` at most 500 and `reason`
//! at most 2,000 characters — clipped here so that no stored value can make the hub emit an
//! event its own schema refuses.

use crate::routing::build::reasons;
use crate::text::clip;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::deadline::respond_by_date;
use crate::dates::format_date;
use crate::event::format_time;
use crate::need::{Decision, LatestAnswer, Need, NeedState, Recipient};

const MAX_STATUS_REASON_CHARS: usize = 2000;
const MAX_CHANGED_CHARS: usize = 500;

/// How many recipients' latest answers are of each kind (`counts` in the status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Universities whose latest answer is an offer.
    pub offers: usize,
    /// Companies whose latest answer is a proposal.
    pub proposals: usize,
    /// Companies whose latest answer is interest.
    pub interests: usize,
    /// Recipients whose latest answer is a decline.
    pub declines: usize,
    /// Recipients that have not answered (not in the schema's `counts`; the final summary
    /// names it).
    pub unanswered: usize,
}

impl Counts {
    /// The counts of `need`'s latest answers.
    #[must_use]
    pub fn of(need: &Need) -> Self {
        need.recipients
            .iter()
            .fold(Self::default(), |mut counts, r| {
                match r.latest.as_ref().map(|a| a.decision) {
                    Some(Decision::Offer) => counts.offers += 1,
                    Some(Decision::Proposal) => counts.proposals += 1,
                    Some(Decision::Interest) => counts.interests += 1,
                    Some(Decision::Decline) => counts.declines += 1,
                    None => counts.unanswered += 1,
                }
                counts
            })
    }

    /// `1 offer, 1 proposal, 0 interests, 1 decline, 0 without an answer`.
    #[must_use]
    pub fn summary(&self) -> String {
        let n = |count: usize, one: &str, many: &str| {
            format!("{count} {}", if count == 1 { one } else { many })
        };
        [
            n(self.offers, "offer", "offers"),
            n(self.proposals, "proposal", "proposals"),
            n(self.interests, "interest", "interests"),
            n(self.declines, "decline", "declines"),
            format!("{} without an answer", self.unanswered),
        ]
        .join(", ")
    }

    fn to_json(self) -> Value {
        json!({
            "offers": self.offers,
            "proposals": self.proposals,
            "interests": self.interests,
            "declines": self.declines,
        })
    }
}

/// `need-status.v1.json` data for `need` as it is now: its state (with the stored reason),
/// every recipient with score, reasons and latest answer, the counts, and what `changed`.
#[must_use]
pub fn status_data(need: &Need, changed: &str, now: OffsetDateTime) -> Value {
    let changed = if changed.trim().is_empty() {
        format!("state {}", need.state)
    } else {
        clip(changed, MAX_CHANGED_CHARS)
    };
    let respond_by = need.respond_by.map_or(Value::Null, |t| {
        Value::String(format_date(respond_by_date(t)))
    });
    let recipients: Vec<Value> = need.recipients.iter().map(recipient).collect();
    let mut data = json!({
        "needId": need.need_id.as_str(),
        "state": need.state.as_str(),
        "changed": changed,
        "respondBy": respond_by,
        "updatedAt": format_time(now),
        "recipients": recipients,
        "counts": Counts::of(need).to_json(),
    });
    if let Some(reason) = state_reason(need) {
        data["reason"] = Value::String(reason);
    }
    data
}

/// The stored reason, or a fixed one for the states whose status must carry a reason.
fn state_reason(need: &Need) -> Option<String> {
    let stored = need
        .state_reason
        .as_deref()
        .filter(|r| !r.trim().is_empty());
    if let Some(reason) = stored {
        return Some(clip(reason, MAX_STATUS_REASON_CHARS));
    }
    let fixed = match need.state {
        NeedState::Unmatched => "no_match: nothing matched",
        NeedState::Rejected => "rejected by the hub",
        NeedState::Withdrawn => "withdrawn by the region",
        _ => return None,
    };
    Some(fixed.to_owned())
}

fn recipient(r: &Recipient) -> Value {
    json!({
        "org": r.org_id.as_str(),
        "kind": r.kind.as_str(),
        "score": score(r.score),
        "reasons": reasons(&r.reasons),
        "latestAnswer": r.latest.as_ref().map_or(Value::Null, answer),
    })
}

fn answer(latest: &LatestAnswer) -> Value {
    let mut answer = json!({
        "eventId": latest.event_id.as_ref(),
        "decision": latest.decision.as_str(),
        "time": format_time(latest.time),
    });
    let text = |key: &str| latest.detail.get(key).and_then(Value::as_str);
    if let Some(code) = text("courseCode").filter(|c| is_course_code(c)) {
        answer["courseCode"] = code.into();
    }
    if let Some(instance) = text("instanceId").filter(|i| is_instance_id(i)) {
        answer["instanceId"] = instance.into();
    }
    answer
}

/// `common.v1.json#/$defs/courseCode`: three upper-case letters, three digits.
pub(super) fn is_course_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 6
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit)
}

/// `common.v1.json#/$defs/instanceId`: 1–64 ASCII letters, digits and `. _ : -`, starting with
/// a letter or digit.
pub(super) fn is_instance_id(s: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    (1..=64).contains(&s.len()) && s.as_bytes()[0].is_ascii_alphanumeric() && s.bytes().all(allowed)
}

/// Two decimals, as people read scores; clamped to the schema's [0, 1].
fn score(value: f64) -> f64 {
    if value.is_finite() {
        ((value * 100.0).round() / 100.0).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::event::{EventId, EventType};
    use crate::need::{NeedId, RecipientKind};
    use crate::schema::SchemaRegistry;

    fn need() -> Need {
        let at = datetime!(2026-10-01 06:00 UTC);
        let recipient = |org: &str, kind, latest| Recipient {
            org_id: org.parse().unwrap(),
            kind,
            score: 0.8649,
            reasons: vec![String::new(), "x".repeat(600)],
            courses: json!([]),
            latest,
        };
        let offer = LatestAnswer {
            event_id: EventId::parse("e-1").unwrap(),
            time: datetime!(2026-10-20 12:30 UTC),
            decision: Decision::Offer,
            detail: json!({"courseCode": "TEK901", "instanceId": "TEK901-2026-2027-LP3"}),
        };
        Need {
            need_id: NeedId::parse("NEED-2026-0101").unwrap(),
            region: "VGR".parse().unwrap(),
            state: NeedState::Answered,
            state_reason: None,
            respond_by: Some(datetime!(2026-11-27 23:00 UTC)),
            view: json!({}),
            created_at: at,
            updated_at: at,
            recipients: vec![
                recipient("chalmers", RecipientKind::University, Some(offer)),
                recipient("partner-001", RecipientKind::Company, None),
            ],
        }
    }

    #[test]
    fn a_status_is_a_schema_valid_snapshot() {
        let data = status_data(
            &need(),
            "offer from chalmers",
            datetime!(2026-10-20 12:30:01 UTC),
        );
        let issues = SchemaRegistry::new()
            .unwrap()
            .data_issues(EventType::NeedStatus, &data);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(data["respondBy"], "2026-11-27");
        assert_eq!(data["recipients"][0]["score"], 0.86);
        assert_eq!(
            data["recipients"][0]["latestAnswer"]["courseCode"],
            "TEK901"
        );
        assert_eq!(data["recipients"][1]["latestAnswer"], Value::Null);
        assert_eq!(
            data["counts"],
            json!({"offers": 1, "proposals": 0, "interests": 0, "declines": 0})
        );
    }

    #[test]
    fn states_that_need_a_reason_always_have_one() {
        let mut need = need();
        need.state = NeedState::Withdrawn;
        let data = status_data(&need, "", datetime!(2026-11-01 00:00 UTC));
        assert_eq!(data["reason"], "withdrawn by the region");
        assert_eq!(data["changed"], "state withdrawn");
        let issues = SchemaRegistry::new()
            .unwrap()
            .data_issues(EventType::NeedStatus, &data);
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn counts_summarise_latest_answers() {
        let counts = Counts::of(&need());
        assert_eq!((counts.offers, counts.unanswered), (1, 1));
        assert_eq!(
            counts.summary(),
            "1 offer, 0 proposals, 0 interests, 0 declines, 1 without an answer"
        );
    }

    #[test]
    fn contract_patterns_are_checked_before_echoing_a_course() {
        assert!(
            is_course_code("TEK901") && !is_course_code("tek901") && !is_course_code("TEK9011")
        );
        assert!(
            is_instance_id("TEK901-2026-2027-LP3") && !is_instance_id("-x") && !is_instance_id("")
        );
        assert_eq!(score(f64::NAN), 0.0);
    }
}
