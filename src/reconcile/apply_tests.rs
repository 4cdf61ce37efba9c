//! One test per rule of [`super::apply_answer`].

use time::Duration;
use time::macros::datetime;

use super::*;
use crate::event::EventType;
use crate::need::Decision;
use crate::reconcile::fixture::{NOW, answer, assert_valid, catalogue, need};

fn apply(need: &Need, answer: &Answer) -> Result<AnswerDecision, Rejection> {
    apply_answer(Some(need), answer, &catalogue(), NOW)
}

fn reason(need: &Need, answer: &Answer) -> (RejectReason, Vec<String>) {
    let err = apply(need, answer).unwrap_err();
    let pointers = err.errors.iter().map(|i| i.instance_path.clone()).collect();
    (err.reason, pointers)
}

const T: OffsetDateTime = datetime!(2026-10-20 12:30 UTC);

#[test]
fn the_first_positive_answer_moves_published_to_answered() {
    let decision = apply(
        &need(NeedState::Published),
        &answer("chalmers", Decision::Offer, T, "e-1"),
    )
    .unwrap();
    assert_eq!(decision.applied, AnswerApplied::Latest);
    let t = decision.transition.unwrap();
    assert_eq!(
        (t.from, t.state(), t.state_changed()),
        (NeedState::Published, NeedState::Answered, true)
    );
    assert_eq!(t.changed, "offer from chalmers (TEK901-2026-2027-LP3)");
    assert_eq!(t.status["counts"]["offers"], 1);
    assert_eq!(t.status["recipients"][0]["latestAnswer"]["eventId"], "e-1");
    assert_valid(EventType::NeedStatus, &t.status);
}

#[test]
fn a_decline_alone_keeps_the_need_published_but_is_reported() {
    let decision = apply(
        &need(NeedState::Published),
        &answer("partner-013", Decision::Decline, T, "e-1"),
    )
    .unwrap();
    let t = decision.transition.unwrap();
    assert!(!t.state_changed());
    assert_eq!(t.state(), NeedState::Published);
    assert_eq!(t.status["counts"]["declines"], 1);
    assert_eq!(t.changed, "decline from partner-013");
    assert_valid(EventType::NeedStatus, &t.status);
}

#[test]
fn a_need_the_hub_does_not_know_cannot_be_answered() {
    let a = answer("chalmers", Decision::Offer, T, "e-1");
    let err = apply_answer(None, &a, &catalogue(), NOW).unwrap_err();
    assert_eq!(err.reason, RejectReason::UnknownNeed);
    let mut other = need(NeedState::Published);
    other.need_id = crate::need::NeedId::parse("NEED-2026-0199").unwrap();
    assert_eq!(reason(&other, &a).0, RejectReason::UnknownNeed);
}

#[test]
fn a_need_not_sent_to_the_sender_is_refused_like_one_that_does_not_exist() {
    let published = need(NeedState::Published);
    let stranger = answer("partner-099", Decision::Proposal, T, "e-1");
    let nowhere = apply_answer(None, &stranger, &catalogue(), NOW).unwrap_err();
    assert_eq!(apply(&published, &stranger).unwrap_err(), nowhere);
    assert_eq!(nowhere.reason, RejectReason::UnknownNeed);
    assert!(
        nowhere.detail.contains("NEED-2026-0101"),
        "{}",
        nowhere.detail
    );
    // A recipient naming another region than the need's finds no need either.
    let mut elsewhere = answer("partner-001", Decision::Proposal, T, "e-2");
    elsewhere.region = Some("RV".parse().unwrap());
    assert_eq!(apply(&published, &elsewhere).unwrap_err(), nowhere);
    elsewhere.region = Some("VGR".parse().unwrap());
    let recorded = apply(&published, &elsewhere).unwrap().answer;
    assert_eq!(recorded.region.as_str(), "VGR");
    let unmatched = need(NeedState::Unmatched);
    let a = answer("partner-001", Decision::Proposal, T, "e-4");
    assert_eq!(reason(&unmatched, &a).0, RejectReason::UnknownNeed);
}

#[test]
fn only_recipients_of_the_right_kind_may_answer() {
    let published = need(NeedState::Published);
    let mut university_proposes = answer("chalmers", Decision::Proposal, T, "e-2");
    university_proposes.kind = RecipientKind::Company;
    assert_eq!(
        reason(&published, &university_proposes),
        (RejectReason::Unauthorized, vec!["/type".into()])
    );
    let mut company_offers = answer("partner-001", Decision::Offer, T, "e-3");
    company_offers.kind = RecipientKind::University;
    assert_eq!(
        reason(&published, &company_offers).0,
        RejectReason::Unauthorized
    );
}

#[test]
fn a_withdrawn_need_refuses_answers_but_tells_strangers_nothing() {
    let withdrawn = need(NeedState::Withdrawn);
    let a = answer("partner-001", Decision::Proposal, T, "e-1");
    assert_eq!(reason(&withdrawn, &a), (RejectReason::Withdrawn, vec![]));
    let stranger = answer("partner-099", Decision::Proposal, T, "e-2");
    assert_eq!(reason(&withdrawn, &stranger).0, RejectReason::UnknownNeed);
}

#[test]
fn answers_after_the_respond_by_day_are_late() {
    let published = need(NeedState::Published);
    // respondBy 2026-11-27 ends at midnight Stockholm time, 23:00 UTC.
    let last_minute = answer(
        "partner-001",
        Decision::Proposal,
        datetime!(2026-11-27 22:59 UTC),
        "e-1",
    );
    let end = datetime!(2026-11-27 23:00 UTC);
    assert!(
        apply_answer(
            Some(&published),
            &last_minute,
            &catalogue(),
            end - Duration::SECOND
        )
        .is_ok()
    );
    let too_late = answer("partner-001", Decision::Proposal, end, "e-2");
    assert_eq!(
        reason(&published, &too_late),
        (RejectReason::Late, vec!["/time".into()])
    );
    let err = apply_answer(Some(&published), &last_minute, &catalogue(), end).unwrap_err();
    assert_eq!((err.reason, err.errors.len()), (RejectReason::Late, 0));
    assert!(err.detail.contains("2026-11-27"), "{}", err.detail);
    let closed = need(NeedState::Closed);
    let in_time = answer("partner-001", Decision::Proposal, T, "e-3");
    assert_eq!(reason(&closed, &in_time).0, RejectReason::Late);
}

#[test]
fn a_named_course_must_be_matched_or_in_the_catalogue() {
    let published = need(NeedState::Published);
    let with_course = |code: &str, instance: Option<&str>, decision| {
        let mut a = answer("chalmers", decision, T, "e-1");
        a.course_code = Some(code.to_owned());
        a.instance_id = instance.map(str::to_owned);
        a
    };
    let unknown = with_course("TEK999", Some("TEK999-1"), Decision::Offer);
    assert_eq!(
        reason(&published, &unknown),
        (RejectReason::UnknownCourse, vec!["/data/courseCode".into()])
    );
    let catalogued = with_course("TEK902", Some("TEK902-2027-2028-LP2"), Decision::Offer);
    assert!(apply(&published, &catalogued).is_ok());
    let no_instance = with_course("TEK902", Some("TEK902-2030-2031-LP2"), Decision::Offer);
    assert_eq!(
        reason(&published, &no_instance),
        (RejectReason::UnknownCourse, vec!["/data/instanceId".into()])
    );
    let matched_wrong_instance = with_course("TEK901", Some("TEK901-2030"), Decision::Offer);
    assert_eq!(
        reason(&published, &matched_wrong_instance).0,
        RejectReason::UnknownCourse
    );
    let decline_matched = with_course("TEK901", None, Decision::Decline);
    assert!(apply(&published, &decline_matched).is_ok());
    let decline_unknown = with_course("IMS999", None, Decision::Decline);
    assert_eq!(
        reason(&published, &decline_unknown).0,
        RejectReason::UnknownCourse
    );
}

/// `need` with `org`'s latest answer set by applying `a`.
fn after(need: &Need, a: &Answer) -> Need {
    apply(need, a).unwrap().transition.unwrap().need
}

#[test]
fn the_latest_answer_wins_with_ties_broken_by_id() {
    let first = after(
        &need(NeedState::Published),
        &answer("partner-001", Decision::Interest, T, "e-5"),
    );
    let later = answer("partner-001", Decision::Proposal, T + Duration::HOUR, "e-1");
    assert_eq!(
        apply(&first, &later).unwrap().applied,
        AnswerApplied::Latest
    );
    let tie_higher = answer("partner-001", Decision::Decline, T, "e-6");
    assert_eq!(
        apply(&first, &tie_higher).unwrap().applied,
        AnswerApplied::Latest
    );
    // Times compare at the store's millisecond precision: half a millisecond later is a tie.
    let tie_lower = answer(
        "partner-001",
        Decision::Decline,
        T + Duration::microseconds(500),
        "e-4",
    );
    let decision = apply(&first, &tie_lower).unwrap();
    assert_eq!(decision.applied, AnswerApplied::Superseded);
    assert_eq!(decision.transition, None);
    assert_eq!(decision.answer.event_id.as_ref(), "e-4");
    let again = answer("partner-001", Decision::Interest, T, "e-5");
    let decision = apply(&first, &again).unwrap();
    assert_eq!(
        (decision.applied, decision.transition),
        (AnswerApplied::Duplicate, None)
    );
}

#[test]
fn a_superseded_positive_answer_still_moves_published_to_answered() {
    let declined = after(
        &need(NeedState::Published),
        &answer("chalmers", Decision::Decline, T, "e-2"),
    );
    let older_offer = answer("chalmers", Decision::Offer, T - Duration::HOUR, "e-1");
    let decision = apply(&declined, &older_offer).unwrap();
    assert_eq!(decision.applied, AnswerApplied::Superseded);
    let t = decision.transition.unwrap();
    assert_eq!(t.state(), NeedState::Answered);
    assert_eq!(
        t.need.recipients[0].latest.as_ref().map(|l| l.decision),
        Some(Decision::Decline)
    );
    assert_eq!(t.status["counts"]["offers"], 0);
    assert!(
        t.changed
            .ends_with("older than its latest answer, which still counts")
    );
    assert_valid(EventType::NeedStatus, &t.status);
}
