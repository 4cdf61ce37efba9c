//! Test fixtures: NEED-2026-0101 as the store would hold it after routing, answers to it, and a
//! catalogue with one more Chalmers course.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{date, datetime};

use super::answer::Answer;
use super::deadline::closes_at;
use crate::catalogue::Catalogue;
use crate::event::{EventId, EventType, Source};
use crate::need::{Decision, Need, NeedId, NeedState, Recipient, RecipientKind};
use crate::schema::SchemaRegistry;

/// Before the answers start: 2026-10-01, the day of routing.
pub(super) const ROUTED: OffsetDateTime = datetime!(2026-10-01 06:00 UTC);
/// The sample data's reference date, inside the answer window.
pub(super) const NOW: OffsetDateTime = datetime!(2026-11-22 08:00 UTC);

/// NEED-2026-0101 in `state`: Chalmers matched with TEK901, two companies.
pub(super) fn need(state: NeedState) -> Need {
    let recipient = |org: &str, kind, score, courses| Recipient {
        org_id: org.parse().unwrap(),
        kind,
        score,
        reasons: vec!["topics: patient-flow".to_owned()],
        courses,
        latest: None,
    };
    let tek901 =
        json!([{"courseCode": "TEK901", "instanceId": "TEK901-2026-2027-LP3", "score": 0.86}]);
    Need {
        need_id: NeedId::parse("NEED-2026-0101").unwrap(),
        region: "VGR".parse().unwrap(),
        state,
        state_reason: None,
        respond_by: Some(closes_at(date!(2026 - 11 - 27))),
        view: json!({"needId": "NEED-2026-0101", "region": "VGR"}),
        created_at: ROUTED,
        updated_at: ROUTED,
        recipients: vec![
            recipient("chalmers", RecipientKind::University, 0.86, tek901),
            recipient("partner-001", RecipientKind::Company, 0.82, json!([])),
            recipient("partner-013", RecipientKind::Company, 0.74, json!([])),
        ],
    }
}

/// An answer from `org` at `time` with event id `id`; offers name TEK901's LP3 instance.
pub(super) fn answer(org: &str, decision: Decision, time: OffsetDateTime, id: &str) -> Answer {
    let kind = if org == "chalmers" || org == "mdu" {
        RecipientKind::University
    } else {
        RecipientKind::Company
    };
    let (course_code, instance_id) = if decision == Decision::Offer {
        (
            Some("TEK901".to_owned()),
            Some("TEK901-2026-2027-LP3".to_owned()),
        )
    } else {
        (None, None)
    };
    let mut detail = json!({"needId": "NEED-2026-0101", "decision": decision.as_str()});
    if let (Some(code), Some(instance)) = (&course_code, &instance_id) {
        detail["courseCode"] = json!(code);
        detail["instanceId"] = json!(instance);
    }
    Answer {
        need_id: NeedId::parse("NEED-2026-0101").unwrap(),
        region: None,
        org_id: org.parse().unwrap(),
        kind,
        source: Source::for_org(org),
        event_id: EventId::parse(id).unwrap(),
        time,
        decision,
        course_code,
        instance_id,
        detail,
    }
}

/// A catalogue holding Chalmers' TEK902 (instances in LP2 of 2026/2027 and 2027/2028).
pub(super) fn catalogue() -> Catalogue {
    let example: Value = serde_json::from_str(include_str!(
        "../../schemas/examples/course.v1/valid/chalmers-TEK902-two-instances.json"
    ))
    .unwrap();
    let mut catalogue = Catalogue::new();
    catalogue
        .upsert_course("chalmers", &example["data"])
        .unwrap();
    catalogue
}

/// Panics unless `data` is valid `event_type` data.
pub(super) fn assert_valid(event_type: EventType, data: &Value) {
    let issues = SchemaRegistry::new().unwrap().data_issues(event_type, data);
    assert!(issues.is_empty(), "{issues:?}\n{data:#}");
}
