//! `dead-letters show|replay` on the real RabbitMQ, through the hub's own [`DeadLetterAdmin`]:
//! a refused event replayed once its cause is fixed is processed as its original sender and
//! audited; unchanged it is refused again with the same code; what the hub did not refuse
//! itself, or whose body it did not keep, is not replayable; partners cannot write to the
//! replay queue; and a replay tool that dies between publish and ack loses nothing.

use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::options::{BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::need::NeedId;
use samverkan::store::{AuditAction, Store};
use samverkan::transport::amqp::AmqpDeadLetters;
use samverkan::transport::{
    DEAD_LETTER_EXCHANGE, DeadLetter, DeadLetterAdmin, HUB_DEAD_QUEUE, HUB_REPLAY_QUEUE,
    ReplayOutcome, Selector,
};
use serde_json::json;

use crate::hub_amqp::{ORG_PASSWORD, RabbitApp, spawn_rabbit_app};
use crate::need_event;

const NEED: &str = "NEED-2026-0101";

/// VGR withdraws `id` (before the need has arrived, it is refused as `unknown_need`).
fn withdrawal(id: &str) -> CloudEvent {
    CloudEvent::new(
        EventType::NeedWithdrawn,
        Source::for_org("VGR"),
        Some(id.to_owned()),
        json!({"needId": id, "reason": "Solved internally."}),
    )
}

fn admin(app: &RabbitApp) -> AmqpDeadLetters {
    AmqpDeadLetters::new(app.settings.amqp.url.clone(), "it-replay")
}

/// Poll the dead letters until `done` holds (30 s at most).
async fn dead_until(app: &RabbitApp, done: impl Fn(&[DeadLetter]) -> bool) -> Vec<DeadLetter> {
    let admin = admin(app);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = admin.list(100).await.expect("list").messages;
        if done(&seen) {
            return seen;
        }
        assert!(Instant::now() < deadline, "dead letters: {seen:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn with_reason<'a>(seen: &'a [DeadLetter], reason: &str) -> Vec<&'a DeadLetter> {
    seen.iter().filter(|d| d.reason == reason).collect()
}

/// The audit actions recorded for the need, polled until `done` holds (30 s at most).
async fn audit_until(app: &RabbitApp, done: impl Fn(&[AuditAction]) -> bool) -> Vec<AuditAction> {
    let store = Store::from_settings(&app.settings.store)
        .await
        .expect("store");
    let need = NeedId::parse(NEED).expect("need id");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let trail = store.audit_trail(&need).await.expect("audit");
        let actions: Vec<AuditAction> = trail.iter().map(|r| r.action).collect();
        if done(&actions) {
            store.close().await;
            return actions;
        }
        assert!(Instant::now() < deadline, "audit trail: {actions:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(actions: &[AuditAction], action: AuditAction) -> usize {
    actions.iter().filter(|a| **a == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_withdrawal_is_refused_again_unchanged_and_processed_after_its_need_arrives() {
    let app = spawn_rabbit_app().await;
    let admin = admin(&app);
    app.send("vgr", &withdrawal(NEED)).await;
    // Not replayable: a redacted body (personal data) and one the broker dead-lettered.
    app.send("vgr", &need_event("NEED-2026-0109")).await;
    let seen = dead_until(&app, |s| s.len() >= 2).await;
    let first = with_reason(&seen, "unknown_need")[0].clone();
    assert_eq!(first.id_kind, "dead_letter");
    assert_eq!(first.sender.as_deref(), Some("VGR"));
    let shown = admin.show(&first.id).await.expect("show").expect("found");
    assert_eq!(shown.not_replayable, None);
    assert!(shown.dead_lettered_at.is_some());
    let pii = with_reason(&seen, "personal_data")[0].clone();

    // Nothing changed: refused again with the same code, as a new dead letter, counted.
    let report = admin
        .replay(&Selector::Reason("unknown_need".into()))
        .await
        .expect("replay");
    assert_eq!(report.replayed(), 1, "{report:?}");
    let seen = dead_until(&app, |s| {
        with_reason(s, "unknown_need")
            .iter()
            .any(|d| d.replays == 1)
    })
    .await;
    let again = with_reason(&seen, "unknown_need");
    assert_eq!(
        again.len(),
        1,
        "the replayed dead letter is gone: {seen:#?}"
    );
    assert_ne!(again[0].id, first.id);
    assert_eq!(
        again[0].sender.as_deref(),
        Some("VGR"),
        "still the original sender"
    );
    let actions = audit_until(&app, |a| count(a, AuditAction::Replayed) == 1).await;
    assert_eq!(count(&actions, AuditAction::Rejected), 2, "{actions:?}");

    // The cause fixed: the need arrives, and the replay withdraws it.
    app.send("vgr", &need_event(NEED)).await;
    audit_until(&app, |a| a.contains(&AuditAction::Routed)).await;
    let dry = admin
        .check(&Selector::Ids(vec![again[0].id.clone()]))
        .await
        .expect("dry run");
    assert_eq!(dry.items[0].outcome, ReplayOutcome::Replayable);
    let selector = Selector::Ids(vec![
        again[0].id.clone(),
        pii.id.clone(),
        "no-such-id".into(),
    ]);
    let report = admin.replay(&selector).await.expect("replay");
    let outcome = |id: &str| {
        let item = report.items.iter().find(|i| i.id == id);
        item.map(|i| i.outcome.clone()).expect("reported")
    };
    assert_eq!(outcome(&again[0].id), ReplayOutcome::Replayed, "{report:?}");
    let ReplayOutcome::NotReplayable { why } = outcome(&pii.id) else {
        panic!("personal data: {report:?}");
    };
    assert!(why.contains("ask the sender"), "{why}");
    assert_eq!(outcome("no-such-id"), ReplayOutcome::NotFound);
    assert_eq!(report.items.len(), 3);
    let actions = audit_until(&app, |a| a.contains(&AuditAction::StateChanged)).await;
    assert_eq!(count(&actions, AuditAction::Replayed), 2, "{actions:?}");
    let store = Store::from_settings(&app.settings.store)
        .await
        .expect("store");
    let key = crate::need_key("VGR", NEED);
    let need = store.need(&key).await.expect("read").expect("need");
    assert_eq!(need.need.state.as_str(), "withdrawn");
    store.close().await;
    let left = admin.list(100).await.expect("list");
    assert!(
        with_reason(&left.messages, "unknown_need").is_empty(),
        "{left:#?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_dead_letters_are_not_replayable_and_partners_cannot_write_the_replay_queue() {
    let app = spawn_rabbit_app().await;
    let (connection, channel) = app.channel_as("guest", "guest").await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let mut headers = FieldTable::default();
    headers.insert(
        "x-first-death-reason".into(),
        AMQPValue::LongString("delivery_limit".into()),
    );
    let confirm = channel
        .basic_publish(
            DEAD_LETTER_EXCHANGE.into(),
            "se.samverkan.need.submitted.v1".into(),
            BasicPublishOptions::default(),
            b"{}",
            BasicProperties::default()
                .with_message_id("evt-poison".into())
                .with_headers(headers),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack());
    connection.close(200, "done".into()).await.ok();
    let admin = admin(&app);
    let report = admin
        .replay(&Selector::Ids(vec!["evt-poison".into()]))
        .await
        .expect("replay");
    let ReplayOutcome::NotReplayable { why } = &report.items[0].outcome else {
        panic!("{report:?}");
    };
    assert!(why.contains("broker"), "{why}");
    assert_eq!(
        admin.list(10).await.expect("list").messages.len(),
        1,
        "left in place"
    );

    // A partner publishing straight to the replay queue is refused by RabbitMQ.
    let (connection, channel) = app.channel_as("vgr", ORG_PASSWORD).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let published = async {
        channel
            .basic_publish(
                "".into(),
                HUB_REPLAY_QUEUE.into(),
                BasicPublishOptions::default(),
                &withdrawal(NEED).to_json_bytes(),
                BasicProperties::default().with_user_id("vgr".into()),
            )
            .await?
            .await
    };
    let published = crate::refused_publish(&channel, async {
        published.await.map_err(|e| e.to_string())
    })
    .await;
    let error = published.expect_err("the default exchange is not the partners'");
    assert!(
        error.contains("ACCESS_REFUSED")
            || error.contains("403")
            || error == crate::CLOSED_BY_BROKER,
        "{error}"
    );
    connection.close(200, "done".into()).await.ok();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_tool_dying_between_publish_and_ack_loses_nothing_and_the_inbox_dedupes() {
    let app = spawn_rabbit_app().await;
    app.send("vgr", &withdrawal(NEED)).await;
    dead_until(&app, |s| !s.is_empty()).await;
    app.send("vgr", &need_event(NEED)).await;
    audit_until(&app, |a| a.contains(&AuditAction::Routed)).await;

    // What `replay` does up to the confirm, and then the process dies: no ack.
    let (connection, channel) = app.channel_as("guest", "guest").await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let dead = channel
        .basic_get(HUB_DEAD_QUEUE.into(), BasicGetOptions { no_ack: false })
        .await
        .expect("get")
        .expect("the dead letter");
    let mut properties = dead.delivery.properties.clone();
    let mut headers = properties.headers().clone().unwrap_or_default();
    headers.insert(
        "x-samverkan-replays".into(),
        AMQPValue::LongString("1".into()),
    );
    properties = properties.with_headers(headers);
    let confirm = channel
        .basic_publish(
            "".into(),
            HUB_REPLAY_QUEUE.into(),
            BasicPublishOptions::default(),
            &dead.delivery.data,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack());
    // The tool dies: its connection goes away with the dead letter unacknowledged.
    connection.close(200, "died".into()).await.ok();
    let actions = audit_until(&app, |a| a.contains(&AuditAction::StateChanged)).await;
    assert_eq!(count(&actions, AuditAction::Replayed), 1, "{actions:?}");

    // The dead letter is still there; replaying it again is a duplicate, nothing more.
    let seen = dead_until(&app, |s| s.len() == 1).await;
    let report = admin(&app)
        .replay(&Selector::Ids(vec![seen[0].id.clone()]))
        .await
        .expect("replay");
    assert_eq!(report.replayed(), 1, "{report:?}");
    let actions = audit_until(&app, |a| count(a, AuditAction::Replayed) == 2).await;
    assert_eq!(count(&actions, AuditAction::StateChanged), 1, "{actions:?}");
    assert_eq!(count(&actions, AuditAction::Rejected), 1, "{actions:?}");
    dead_until(&app, <[DeadLetter]>::is_empty).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_a_dead_letter_with_its_pointers_and_replays_it() {
    let app = spawn_rabbit_app().await;
    let mut invalid = need_event(NEED);
    invalid
        .data
        .as_object_mut()
        .expect("object")
        .remove("title");
    app.send("vgr", &invalid).await;
    let seen = dead_until(&app, |s| !s.is_empty()).await;
    let id = seen[0].id.clone();
    let url = app.settings.amqp.url.clone();
    let cli = |args: &[&str]| {
        let out = crate::samverkan_with(args, b"", &[("SAMVERKAN__AMQP__URL", &url)]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.code(),
            text,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text, err) = cli(&["dead-letters", "show", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("schema_invalid") && text.contains("VGR"),
        "{text}"
    );
    assert!(
        text.contains("error             /data"),
        "the pointers: {text}"
    );
    assert!(text.contains("replayable        yes"), "{text}");
    assert!(!text.contains("description"), "never the body: {text}");
    let (code, _, err) = cli(&["dead-letters", "show", "no-such-id"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("no such dead letter"), "{err}");

    let (code, text, _) = cli(&[
        "dead-letters",
        "replay",
        "--reason",
        "schema_invalid",
        "--dry-run",
    ]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains("would replay") && text.contains(&id),
        "{text}"
    );
    assert_eq!(
        dead_until(&app, |s| s.len() == 1).await[0].id,
        id,
        "a dry run changes nothing"
    );
    let (code, text, err) = cli(&["dead-letters", "replay", &id, "--format", "json"]);
    assert_eq!(code, Some(0), "{text}{err}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(report["items"][0]["outcome"], "replayed", "{report}");
    // Unchanged, so refused again as VGR's, with the same code.
    let again = dead_until(&app, |s| s.len() == 1 && s[0].replays == 1).await;
    assert_eq!(again[0].reason, "schema_invalid");
    assert_eq!(again[0].sender.as_deref(), Some("VGR"));
    let (code, text, _) = cli(&["dead-letters", "replay", &id]);
    assert_eq!(code, Some(1), "the old id is gone");
    assert!(text.contains("not found"), "{text}");
    app.stop().await;
}
