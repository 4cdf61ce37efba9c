use super::*;
use crate::event::{EventId, RejectReason};
use crate::transport::{KeptBody, Origin};

/// `out` as a consumer of the dead-letter queue reads it.
fn as_taken(out: &Outbound) -> Inbound {
    Inbound {
        body: out.body.clone(),
        content_type: out.content_type.clone(),
        headers: out.headers.clone(),
        message_id: out.message_id.clone(),
        routing_key: out.routing_key.clone(),
        ..Inbound::default()
    }
}

fn refused(sender: Option<&str>, kept: KeptBody) -> Inbound {
    let original = Inbound {
        body: b"{\"id\":\"e-1\"}".to_vec(),
        content_type: Some("application/cloudevents+json".into()),
        headers: [("ce-id".to_owned(), "e-1".to_owned())].into(),
        user_id: Some("vgr-user".into()),
        message_id: Some("e-1".into()),
        routing_key: "se.samverkan.need.submitted.v1".into(),
        ..Inbound::default()
    };
    let origin = Origin {
        event_id: EventId::parse("e-1").ok(),
        sender: sender.map(str::to_owned),
        need_id: Some("NEED-2026-0101".into()),
        ..Origin::default()
    };
    let dead = Outbound::dead_letter(
        &original,
        RejectReason::UnknownNeed,
        "no such need",
        &origin,
        kept,
    );
    as_taken(&dead)
}

#[test]
fn a_hub_dead_letter_has_its_own_id_and_replays_as_its_sender() {
    let dead = refused(Some("VGR"), KeptBody::Original);
    let letter = describe(&dead);
    assert_eq!(letter.id_kind, "dead_letter");
    assert!(uuid::Uuid::parse_str(&letter.id).is_ok(), "{}", letter.id);
    assert_ne!(
        letter.id,
        describe(&refused(Some("VGR"), KeptBody::Original)).id
    );
    assert_eq!(letter.reason, "unknown_need");
    assert_eq!(letter.replays, 0);
    assert_eq!(not_replayable(&dead), None);

    let replay = replay_message(&dead);
    assert_eq!(
        (replay.exchange.as_str(), replay.routing_key.as_str()),
        ("", HUB_REPLAY_QUEUE)
    );
    assert_eq!(replay.body, dead.body);
    assert!(!replay.headers.contains_key(REASON_HEADER));
    let delivered = Inbound {
        user_id: Some("operator".into()),
        ..as_taken(&replay)
    }
    .replayed();
    assert_eq!(delivered.user_id, None, "the publisher is not the sender");
    assert_eq!(delivered.routing_key, "se.samverkan.need.submitted.v1");
    let mark = delivered.replay.clone().expect("marked as a replay");
    assert_eq!(mark.sender.as_deref(), Some("VGR"));
    assert_eq!(mark.dead_letter_id.as_deref(), Some(letter.id.as_str()));
    assert_eq!(mark.replays, 1);
    assert_eq!(
        delivered.headers.get("ce-id").map(String::as_str),
        Some("e-1")
    );

    // Refused again: a new dead letter, the replay counted.
    let origin = Origin {
        sender: Some("VGR".into()),
        ..Origin::default()
    };
    let again = Outbound::dead_letter(
        &delivered,
        RejectReason::UnknownNeed,
        "d",
        &origin,
        KeptBody::Original,
    );
    let again = describe(&as_taken(&again));
    assert_eq!(again.replays, 1);
    assert_ne!(again.id, letter.id);
    assert_eq!(again.routing_key, "se.samverkan.need.submitted.v1");
}

#[test]
fn only_what_the_hub_refused_with_the_body_and_a_sender_is_replayable() {
    let withheld = refused(Some("VGR"), KeptBody::Withheld);
    let why = not_replayable(&withheld).expect("withheld");
    assert!(why.contains("the body was not kept"), "{why}");
    let redacted = refused(Some("VGR"), KeptBody::Redacted(b"{}".to_vec()));
    assert!(not_replayable(&redacted).is_some());
    let anonymous = refused(None, KeptBody::Original);
    assert!(
        not_replayable(&anonymous)
            .expect("no sender")
            .contains("sender")
    );
    let broker = Inbound {
        headers: [(
            "x-first-death-reason".to_owned(),
            "delivery_limit".to_owned(),
        )]
        .into(),
        message_id: Some("m-1".into()),
        ..Inbound::default()
    };
    assert!(not_replayable(&broker).expect("broker").contains("broker"));
    let letter = describe(&broker);
    assert_eq!((letter.id.as_str(), letter.id_kind), ("m-1", "message_id"));
    assert_eq!(letter.reason, "broker:delivery_limit");
}

#[test]
fn a_selector_picks_by_id_or_reason_and_reports_unknown_ids() {
    let dead = refused(Some("VGR"), KeptBody::Original);
    let id = describe(&dead).id;
    let by_id = Selector::Ids(vec![id.clone(), "nope".into()]);
    let (item, go) = decide(&dead, &by_id, false).expect("picked");
    assert!(go);
    assert_eq!(item.outcome, ReplayOutcome::Replayed);
    let report = ReplayReport::of(&by_id, false, vec![item]);
    assert_eq!(report.items[1].outcome, ReplayOutcome::NotFound);
    assert_eq!(report.replayed(), 1);
    let (dry, go) = decide(&dead, &by_id, true).expect("picked");
    assert!(!go);
    assert_eq!(dry.outcome, ReplayOutcome::Replayable);
    assert!(decide(&dead, &Selector::Reason("schema_invalid".into()), false).is_none());
    assert!(decide(&dead, &Selector::Reason("unknown_need".into()), false).is_some());
}

#[test]
fn the_errors_of_a_refusal_are_kept_as_pointers_and_shown() {
    let issues: Vec<crate::event::Issue> = (0..200)
        .map(|i| crate::event::Issue::new(format!("/data/items/{i}"), "is not a string"))
        .collect();
    let original = Inbound {
        body: b"{}".to_vec(),
        ..Inbound::default()
    };
    let dead = Outbound::dead_letter(
        &original,
        RejectReason::SchemaInvalid,
        "data does not match need.v1: 200 error(s)",
        &Origin::default(),
        KeptBody::Original,
    )
    .with_errors(&issues);
    assert!(dead.headers[ERRORS_HEADER].len() <= crate::transport::MAX_ERRORS_HEADER_BYTES);
    let shown = detail(&as_taken(&dead));
    assert!(
        shown.errors.len() > 10 && shown.errors.len() < 200,
        "{}",
        shown.errors.len()
    );
    assert_eq!(shown.errors[0].instance_path, "/data/items/0");
    assert_eq!(shown.errors[0].message, "is not a string");
}
