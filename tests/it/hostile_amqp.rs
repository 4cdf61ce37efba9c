//! A hostile partner on the real RabbitMQ: oversized headers, a body far over the limit and
//! hundreds of events whose subject cannot be an AMQP short string, all from one organisation,
//! must not stop the hub publishing for anyone. (On the in-process broker the same inputs are
//! checked in `hostile.rs`; only RabbitMQ enforces frame and short-string limits.)

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Confirmation};
use samverkan::event::{CloudEvent, EventType};
use samverkan::onboard::Management;
use samverkan::onboard::policy::{DEAD_LETTER_POLICY, ORG_QUEUE_POLICY};
use samverkan::transport::amqp::peek;
use samverkan::transport::{BODY_BYTES_HEADER, BODY_HEADER, MAX_KEPT_HEADER_BYTES, REASON_HEADER};
use samverkan::transport::{HUB_DEAD_QUEUE, INGRESS_EXCHANGE, Topology};
use serde_json::Value;

use crate::hub_amqp::{
    ORG_PASSWORD, RabbitApp, header, json, spawn_rabbit_app, spawn_rabbit_app_with,
};
use crate::need_event;

/// How many long-subject events the partner sends.
const LONG_SUBJECTS: usize = 300;

/// Publish `body` as VGR with `headers`, confirmed.
async fn publish_with_headers(app: &RabbitApp, body: &[u8], headers: FieldTable) {
    let (connection, channel) = app.channel_as("vgr", ORG_PASSWORD).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let properties = BasicProperties::default()
        .with_content_type("application/cloudevents+json".into())
        .with_user_id("vgr".into())
        .with_headers(headers);
    let confirm = channel
        .basic_publish(
            INGRESS_EXCHANGE.into(),
            EventType::NeedSubmitted.as_str().into(),
            BasicPublishOptions::default(),
            body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert_eq!(confirm, Confirmation::Ack(None));
    connection.close(200, "done".into()).await.ok();
}

fn withdrawal_with_long_subject(i: usize) -> (String, Vec<u8>) {
    let mut event = need_event("NEED-2026-0101");
    event.event_type = EventType::NeedWithdrawn;
    event.dataschema = EventType::NeedWithdrawn.dataschema();
    event.data = serde_json::json!({"needId": "NEED-2026-0101", "reason": "Solved internally"});
    event.subject = Some(format!("NEED-{i:04}-{}", "8".repeat(300)));
    (event.event_type.as_str().to_owned(), event.to_json_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_partner_cannot_stop_outbound_traffic_on_rabbitmq() {
    let app = spawn_rabbit_app().await;
    // ~126 KB of headers: fits RabbitMQ's 128 KiB frame on the way in, but a dead letter that
    // kept them (typed values rendered as longer strings) would not on the way out.
    let mut headers = FieldTable::default();
    for i in 0..40 {
        headers.insert(
            format!("x-junk-{i}").into(),
            AMQPValue::LongString("j".repeat(3150).into()),
        );
    }
    publish_with_headers(&app, &need_event("NEED-2026-0102").to_json_bytes(), headers).await;
    // 12 MiB: far over the hub's 1 MiB limit, under RabbitMQ 4's 16 MiB message size limit.
    let mut big = need_event("NEED-2026-0103").to_json_bytes();
    big.resize(12 * 1024 * 1024, b' ');
    publish_with_headers(&app, &big, FieldTable::default()).await;
    let long: Vec<_> = (0..LONG_SUBJECTS)
        .map(withdrawal_with_long_subject)
        .collect();
    app.publish_as("vgr", &long).await;
    app.send("vgr", &need_event("NEED-2026-0101")).await;

    let expected = LONG_SUBJECTS + 2;
    let is_status =
        |m: &lapin::message::BasicGetMessage| json(m)["type"] == EventType::NeedStatus.as_str();
    let to_vgr = app
        .take(&Topology::org_queue_name("VGR"), |got| {
            got.iter().any(is_status) && got.len() > expected
        })
        .await;
    let status = to_vgr
        .iter()
        .find(|m| is_status(m))
        .map(json)
        .expect("a status");
    assert_eq!(status["subject"], "NEED-2026-0101");
    assert_eq!(status["data"]["state"], "published");
    let mut reasons: Vec<String> = to_vgr
        .iter()
        .filter(|m| !is_status(m))
        .map(|m| {
            json(m)["data"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    reasons.sort();
    reasons.dedup();
    assert_eq!(reasons, ["invalid_attribute", "too_large"]);

    let dead = app.take(HUB_DEAD_QUEUE, |got| got.len() >= expected).await;
    assert_eq!(dead.len(), expected);
    for d in &dead {
        let table = d.delivery.properties.headers().clone().unwrap_or_default();
        let size: usize = table
            .inner()
            .iter()
            .map(|(k, v)| k.as_str().len() + format!("{v:?}").len())
            .sum();
        assert!(
            size < 2 * MAX_KEPT_HEADER_BYTES,
            "{size} bytes of headers kept"
        );
        if header(d, BODY_HEADER).as_deref() == Some("withheld") {
            assert!(d.delivery.data.is_empty());
            assert_eq!(header(d, BODY_BYTES_HEADER), Some(big.len().to_string()));
        }
    }
    let withheld = dead
        .iter()
        .filter(|d| header(d, BODY_HEADER).as_deref() == Some("withheld"))
        .count();
    assert_eq!(withheld, 1);
    let too_large = dead
        .iter()
        .filter(|d| header(d, REASON_HEADER).as_deref() == Some("too_large"))
        .count();
    assert_eq!(too_large, 2);
    app.stop().await;
}

/// Five schema-invalid needs from VGR, each with its own need id.
fn invalid_needs() -> Vec<CloudEvent> {
    (1..=5)
        .map(|i| {
            let id = format!("NEED-2026-090{i}");
            let mut event = need_event("NEED-2026-0101");
            event.subject = Some(id.clone());
            event.data["id"] = Value::String(id);
            event.data["title"] = Value::Null;
            event
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_name_the_refused_event_and_are_kept_within_the_retention() {
    let app =
        spawn_rabbit_app_with(&[("SAMVERKAN__AMQP__DEAD_LETTER_MAX_MESSAGES", "3".to_owned())])
            .await;
    // The hub sets the policy in the background as it starts.
    let management = Management::new(&app.settings.amqp.management_url, &app.settings.amqp.url)
        .expect("management");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let policy = loop {
        if let Some(policy) = management
            .get_policy(&app.vhost, DEAD_LETTER_POLICY)
            .await
            .expect("management API")
        {
            break policy;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no retention policy within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(policy["definition"]["max-length"], 3);
    assert_eq!(policy["definition"]["message-ttl"], 720 * 3_600_000_u64);
    let needs = invalid_needs();
    for need in &needs {
        app.send("vgr", need).await;
    }
    app.take(&Topology::org_queue_name("VGR"), |got| {
        got.len() >= needs.len()
    })
    .await;
    // A dead letter may reach its queue a moment after the rejection reached VGR's (two quorum
    // queues), and what a closed peek channel held is ready again a moment after the close.
    let newest: Vec<_> = needs[2..].iter().map(|n| Some(n.id.to_string())).collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let seen = loop {
        let (connection, channel) = app.channel_as("guest", "guest").await;
        let seen = peek(&channel, 10).await.expect("peek");
        connection.close(200, "looked".into()).await.ok();
        let ids: Vec<_> = seen.messages.iter().map(|m| m.event_id.clone()).collect();
        if ids.last() == newest.last() && seen.messages.len() == 3 {
            break seen;
        }
        assert!(std::time::Instant::now() < deadline, "{seen:#?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(seen.total, 3, "{seen:#?}");
    let kept: Vec<_> = seen.messages.iter().map(|m| m.event_id.clone()).collect();
    assert_eq!(kept, newest, "the oldest are dropped first");
    for (m, need) in seen.messages.iter().zip(&needs[2..]) {
        assert_eq!(m.reason, "schema_invalid");
        assert_eq!(m.sender.as_deref(), Some("VGR"));
        assert_eq!(m.need_id.as_deref(), need.subject.as_deref());
        assert_eq!(m.message_id.as_deref(), Some(need.id.as_ref()));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_organisation_queue_makes_the_hub_wait_and_drops_nothing() {
    let app =
        spawn_rabbit_app_with(&[("SAMVERKAN__AMQP__ORG_QUEUE_MAX_MESSAGES", "2".to_owned())]).await;
    let management = Management::new(&app.settings.amqp.management_url, &app.settings.amqp.url)
        .expect("management");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while management
        .get_policy(&app.vhost, ORG_QUEUE_POLICY)
        .await
        .expect("management API")
        .is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no queue bounds within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Five refusals for VGR while nobody reads its queue: the first two fill it (quorum queues
    // apply the bound a little late to messages in flight, so they go first, on their own).
    let needs = invalid_needs();
    let store = samverkan::store::Store::connect(&app.settings.store.url)
        .await
        .expect("the hub's store");
    let queued = async || {
        let (connection, channel) = app.channel_as("guest", "guest").await;
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let queue = Topology::org_queue_name("VGR");
        let vgr = channel
            .queue_declare(queue.as_str().into(), passive, Default::default())
            .await
            .expect("VGR's queue");
        connection.close(200, "done".into()).await.ok();
        vgr.message_count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for need in &needs[..2] {
        app.send("vgr", need).await;
    }
    while queued().await < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "VGR's queue never filled"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The other three wait in the outbox, retried on their own backoff, however long it takes.
    for need in &needs[2..] {
        app.send("vgr", need).await;
    }
    // (A quorum queue marks itself full once over its bound, so one more gets in; and a
    // publish it nacked may still have been enqueued, so the retry can duplicate it — receivers
    // dedupe by event id. What matters: the overflow waits, and nothing is lost.)
    let mut waiting = 0;
    while waiting == 0 || queued().await >= needs.len() as u32 {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox never held the overflow"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waiting = store.outbox_pending_count().await.expect("outbox");
    }
    // Once VGR reads, everything arrives: nothing was dropped, nothing parked.
    let rejected = |got: &[lapin::message::BasicGetMessage]| {
        let mut ids: Vec<String> = got
            .iter()
            .map(|m| {
                json(m)["data"]["rejectedEventId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let got = app
        .take(&Topology::org_queue_name("VGR"), |got| {
            rejected(got).len() >= needs.len()
        })
        .await;
    let ids = rejected(&got);
    let mut sent: Vec<String> = needs.iter().map(|n| n.id.to_string()).collect();
    sent.sort();
    assert_eq!(ids, sent);
    assert_eq!(store.outbox_parked_count().await.expect("parked"), 0);
    store.close().await;
    app.stop().await;
}
