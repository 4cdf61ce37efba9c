//! Reconciliation tests: the NEED-2026-0101 story from the contract examples, every refusal, and
//! "latest answer wins" under any arrival order.

use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use samverkan::catalogue::Catalogue;
use samverkan::event::{CloudEvent, EventId, EventType, RejectReason, Source};
use samverkan::need::{
    AnswerApplied, Decision, LatestAnswer, Need, NeedId, NeedState, Recipient, RecipientKind,
};
use samverkan::reconcile::{
    Answer, Withdraw, apply_answer, close, closes_at, status_data, withdraw,
};
use samverkan::schema::SchemaRegistry;
use samverkan::settings::OrgId;

const ROUTED: OffsetDateTime = datetime!(2026-10-01 06:00:05 UTC);

fn org(id: &str) -> OrgId {
    id.parse().expect("org id")
}

/// NEED-2026-0101 as the store holds it after routing: the recipients, scores and reasons of
/// the contract's published status, Chalmers' matched courses from its challenge.
fn need_0101() -> Need {
    let published =
        crate::read_json("schemas/examples/need-status.v1/valid/NEED-2026-0101-published.json");
    let challenge =
        crate::read_json("schemas/examples/challenge.v1/valid/chalmers-NEED-2026-0101.json");
    let recipients = published["data"]["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| {
            let kind = RecipientKind::parse(r["kind"].as_str().expect("kind")).expect("kind");
            Recipient {
                org_id: org(r["org"].as_str().expect("org")),
                kind,
                score: r["score"].as_f64().expect("score"),
                reasons: serde_json::from_value(r["reasons"].clone()).expect("reasons"),
                courses: match kind {
                    RecipientKind::University => challenge["data"]["courses"].clone(),
                    RecipientKind::Company => json!([]),
                },
                latest: None,
            }
        })
        .collect();
    Need {
        need_id: NeedId::parse("NEED-2026-0101").expect("need id"),
        region: org("VGR"),
        state: NeedState::Published,
        state_reason: None,
        respond_by: Some(closes_at(date!(2026 - 11 - 27))),
        view: challenge["data"]["need"].clone(),
        created_at: ROUTED,
        updated_at: ROUTED,
        recipients,
    }
}

/// Chalmers' catalogue: TEK902 (matched for nothing here) and TEK901.
fn catalogue() -> Catalogue {
    let mut catalogue = Catalogue::new();
    for file in ["chalmers-TEK901.json", "chalmers-TEK902-two-instances.json"] {
        let example = crate::read_json(&format!("schemas/examples/course.v1/valid/{file}"));
        catalogue
            .upsert_course("chalmers", &example["data"])
            .expect("course");
    }
    catalogue
}

/// A contract example answer, optionally edited, as sent by `sender`.
fn example_answer(file: &str, sender: &str, edit: impl FnOnce(&mut Value)) -> Answer {
    let kind = if file.starts_with("partner") {
        "proposal"
    } else {
        "offer"
    };
    let mut value = crate::read_json(&format!("schemas/examples/{kind}.v1/valid/{file}"));
    edit(&mut value);
    let event = CloudEvent::from_value(value).expect("example event");
    Answer::from_event(&event, &org(sender)).expect("answer")
}

fn offer() -> Answer {
    example_answer(
        "chalmers-offer-TEK901-NEED-2026-0101.json",
        "chalmers",
        |_| {},
    )
}

fn proposal() -> Answer {
    example_answer(
        "partner-001-proposal-NEED-2026-0101.json",
        "partner-001",
        |_| {},
    )
}

fn decline() -> Answer {
    example_answer(
        "partner-013-decline-NEED-2026-0101.json",
        "partner-013",
        |_| {},
    )
}

fn assert_status_valid(data: &Value) {
    let issues = SchemaRegistry::new()
        .expect("schemas")
        .data_issues(EventType::NeedStatus, data);
    assert!(issues.is_empty(), "{issues:?}\n{data:#}");
}

/// Applies `answer` at `now` and returns the need after it, checking the status it publishes.
fn step(need: &Need, answer: &Answer, now: OffsetDateTime) -> (Need, Value) {
    let decision = apply_answer(Some(need), answer, &catalogue(), now).expect("accepted");
    assert_eq!(decision.applied, AnswerApplied::Latest);
    let transition = decision.transition.expect("a status");
    assert_status_valid(&transition.status);
    (transition.need, transition.status)
}

/// The story of NEED-2026-0101: an offer, a proposal and a decline, one status each, and the
/// last one equal to the contract's `answered` example.
#[test]
fn need_0101_is_answered_by_an_offer_a_proposal_and_a_decline() {
    // Arrange
    let now = datetime!(2026-11-05 09:45:01 UTC);
    let need = need_0101();
    assert_status_valid(&status_data(&need, "challenge sent to chalmers", ROUTED));

    // Act
    let (need, after_offer) = step(&need, &offer(), now);
    let (need, after_proposal) = step(&need, &proposal(), now);
    let (need, after_decline) = step(&need, &decline(), now);

    // Assert
    assert_eq!(after_offer["state"], "answered");
    assert_eq!(
        after_offer["changed"],
        "offer from chalmers (TEK901-2026-2027-LP3)"
    );
    assert_eq!(after_proposal["counts"]["proposals"], 1);
    assert_eq!(after_decline["state"], "answered");
    assert_eq!(
        after_decline["counts"],
        json!({"offers": 1, "proposals": 1, "interests": 0, "declines": 1})
    );
    let mut expected = crate::read_json(
        "schemas/examples/need-status.v1/valid/NEED-2026-0101-answered.json",
    )["data"]
        .clone();
    expected["changed"] = after_decline["changed"].clone();
    assert_eq!(after_decline, expected);

    let end = datetime!(2026-11-27 23:00 UTC);
    assert_eq!(close(&need, end - Duration::SECOND), None);
    let closed = close(&need, end).expect("closes at the end of respondBy");
    assert_eq!(closed.state(), NeedState::Closed);
    assert_status_valid(&closed.status);
    assert!(
        closed
            .changed
            .contains("1 offer, 1 proposal, 0 interests, 1 decline")
    );
}

/// Each refused answer names its reason and changes nothing.
#[test]
fn refused_answers_carry_their_reason_code() {
    let need = need_0101();
    let now = datetime!(2026-11-22 08:00 UTC);
    let refuse = |need: Option<&Need>, answer: &Answer, now| {
        apply_answer(need, answer, &catalogue(), now)
            .expect_err("refused")
            .reason
    };
    let late = example_answer(
        "partner-001-proposal-NEED-2026-0101.json",
        "partner-001",
        |v| {
            v["time"] = json!("2026-11-28T00:30:00+01:00");
        },
    );
    assert_eq!(refuse(Some(&need), &late, now), RejectReason::Late);
    assert_eq!(
        refuse(Some(&need), &proposal(), datetime!(2026-11-28 08:00 UTC)),
        RejectReason::Late
    );

    // partner-002 signs with partner-001's source: the authenticated sender answers, and it
    // received no call, so to it the need does not exist.
    let for_another = example_answer(
        "partner-001-proposal-NEED-2026-0101.json",
        "partner-002",
        |_| {},
    );
    assert_eq!(
        refuse(Some(&need), &for_another, now),
        RejectReason::UnknownNeed
    );
    let university_proposes = example_answer(
        "partner-001-proposal-NEED-2026-0101.json",
        "chalmers",
        |_| {},
    );
    assert_eq!(
        refuse(Some(&need), &university_proposes, now),
        RejectReason::Unauthorized
    );

    assert_eq!(refuse(None, &offer(), now), RejectReason::UnknownNeed);

    let unknown_course = example_answer(
        "chalmers-offer-TEK901-NEED-2026-0101.json",
        "chalmers",
        |v| {
            v["data"]["courseCode"] = json!("XYZ123");
        },
    );
    let err = apply_answer(Some(&need), &unknown_course, &catalogue(), now).expect_err("refused");
    assert_eq!(err.reason, RejectReason::UnknownCourse);
    assert_eq!(err.errors[0].instance_path, "/data/courseCode");
    assert!(!err.detail.contains("XYZ123") && !err.errors[0].message.contains("XYZ123"));
    let catalogued = example_answer(
        "chalmers-offer-TEK901-NEED-2026-0101.json",
        "chalmers",
        |v| {
            v["data"]["courseCode"] = json!("TEK902");
            v["data"]["instanceId"] = json!("TEK902-2026-2027-LP2");
        },
    );
    assert!(apply_answer(Some(&need), &catalogued, &catalogue(), now).is_ok());

    let request = Withdraw {
        need_id: need.need_id.clone(),
        region: org("VGR"),
        event_id: EventId::parse("w-1").expect("id"),
        reason: "Solved internally.".to_owned(),
    };
    let withdrawn = withdraw(Some(&need), &request, now)
        .expect("withdrawn")
        .transition
        .need;
    for answer in [offer(), proposal(), decline()] {
        assert_eq!(
            refuse(Some(&withdrawn), &answer, now),
            RejectReason::Withdrawn
        );
    }
}

/// Withdrawal tells every recipient, and reports once to the region.
#[test]
fn withdrawing_need_0101_notifies_all_three_recipients() {
    let example = crate::read_json("schemas/examples/need-withdrawn.v1/valid/NEED-2026-0102.json");
    let mut event = CloudEvent::from_value(example).expect("event");
    event.subject = Some("NEED-2026-0101".into());
    event.data["needId"] = json!("NEED-2026-0101");
    let request = Withdraw::from_event(&event, &org("VGR")).expect("request");
    let w = withdraw(Some(&need_0101()), &request, event.time).expect("withdrawn");
    assert_status_valid(&w.transition.status);
    assert_eq!(w.transition.status["state"], "withdrawn");
    let registry = SchemaRegistry::new().expect("schemas");
    let to: Vec<&str> = w.notices.iter().map(|n| n.recipient.as_str()).collect();
    assert_eq!(to, ["chalmers", "partner-001", "partner-013"]);
    for notice in &w.notices {
        assert!(
            registry
                .data_issues(EventType::ChallengeWithdrawn, &notice.data)
                .is_empty()
        );
    }
    let by_rv = Withdraw {
        region: org("RV"),
        ..request
    };
    let err = withdraw(Some(&need_0101()), &by_rv, event.time).expect_err("not RV's need");
    let none = withdraw(None, &by_rv, event.time).expect_err("no need");
    assert_eq!((err.reason, &err), (RejectReason::UnknownNeed, &none));
}

/// An answer from `sender` (chalmers offers TEK901; companies answer calls) with id `id`.
fn answer(sender: &str, decision: Decision, time: OffsetDateTime, id: &str) -> Answer {
    let mut data = json!({"needId": "NEED-2026-0101", "decision": decision.as_str()});
    let event_type = if sender == "chalmers" {
        data["courseCode"] = json!("TEK901");
        data["instanceId"] = json!("TEK901-2026-2027-LP3");
        EventType::OfferSubmitted
    } else {
        EventType::ProposalSubmitted
    };
    let subject = Some("NEED-2026-0101".to_owned());
    let mut event = CloudEvent::new(event_type, Source::for_org(sender), subject, data);
    event.id = EventId::parse(id).expect("id");
    event.time = time;
    Answer::from_event(&event, &org(sender)).expect("answer")
}

fn company_answer(decision: Decision, time: OffsetDateTime, id: &str) -> Answer {
    answer("partner-001", decision, time, id)
}

#[test]
fn the_latest_answer_wins_and_equal_times_go_to_the_higher_id() {
    let t = datetime!(2026-11-01 10:00 UTC);
    let now = datetime!(2026-11-22 08:00 UTC);
    let (need, _) = step(
        &need_0101(),
        &company_answer(Decision::Interest, t, "b"),
        now,
    );
    let lower = company_answer(Decision::Decline, t, "a");
    let decision = apply_answer(Some(&need), &lower, &catalogue(), now).expect("accepted");
    assert_eq!(
        (decision.applied, decision.transition),
        (AnswerApplied::Superseded, None)
    );
    let higher = company_answer(Decision::Proposal, t, "c");
    let (need, status) = step(&need, &higher, now);
    assert_eq!(status["recipients"][1]["latestAnswer"]["eventId"], "c");
    let earlier = company_answer(Decision::Decline, t - Duration::MINUTE, "z");
    let decision = apply_answer(Some(&need), &earlier, &catalogue(), now).expect("accepted");
    assert_eq!(decision.applied, AnswerApplied::Superseded);
}

/// Applies every answer in order and returns the final need; refusals are not expected.
fn fold(answers: &[Answer]) -> Need {
    let now = datetime!(2026-11-22 08:00 UTC);
    answers.iter().fold(need_0101(), |need, answer| {
        let decision = apply_answer(Some(&need), answer, &catalogue(), now).expect("accepted");
        decision.transition.map_or(need, |t| t.need)
    })
}

fn latest(need: &Need) -> Vec<Option<(String, Decision)>> {
    let key = |l: &LatestAnswer| (l.event_id.as_ref().to_owned(), l.decision);
    need.recipients
        .iter()
        .map(|r| r.latest.as_ref().map(key))
        .collect()
}

/// Up to 12 answers from the three recipients, with times from a 4-minute range so that ties
/// are common, and distinct ids.
fn answers() -> impl Strategy<Value = Vec<Answer>> {
    let one = (0usize..3, 0usize..3, 0i64..4);
    prop::collection::vec(one, 1..12).prop_map(|picks| {
        let t0 = datetime!(2026-11-01 10:00 UTC);
        let company = [Decision::Interest, Decision::Proposal, Decision::Decline];
        let picks = picks.into_iter().enumerate();
        picks
            .map(|(i, (who, what, minute))| {
                let (sender, decision) = match who {
                    0 => ("chalmers", [Decision::Offer, Decision::Decline][what % 2]),
                    1 => ("partner-001", company[what]),
                    _ => ("partner-013", company[what]),
                };
                let id = format!("e-{:02}", (i * 7) % 13);
                answer(sender, decision, t0 + Duration::minutes(minute), &id)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any arrival order ends with the same latest answers (the greatest (time, id) of each
    /// recipient) and the same state.
    #[test]
    fn arrival_order_does_not_change_the_outcome(
        (answers, shuffled) in answers().prop_flat_map(|a| (Just(a.clone()), Just(a).prop_shuffle()))
    ) {
        let in_order = fold(&answers);
        let reordered = fold(&shuffled);
        prop_assert_eq!(latest(&in_order), latest(&reordered));
        prop_assert_eq!(in_order.state, reordered.state);
        for r in &in_order.recipients {
            let best = answers
                .iter()
                .filter(|a| a.org_id == r.org_id)
                .max_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
            prop_assert_eq!(r.latest.as_ref().map(|l| &l.event_id), best.map(|a| &a.event_id));
        }
        let positive = answers.iter().any(|a| a.decision.is_positive());
        let expected = if positive { NeedState::Answered } else { NeedState::Published };
        prop_assert_eq!(in_order.state, expected);
    }
}
