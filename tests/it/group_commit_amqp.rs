//! Group commit on the real RabbitMQ: the acks after a commit go out together (one
//! `multiple = true` ack for a run of contiguous deliveries), and a batch with a refusal and a
//! delivery set aside for the single-delivery path in the middle still settles every delivery
//! exactly once, with exactly the effects it has on its own.

use std::time::{Duration, Instant};

use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::transport::{HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE, REASON_HEADER, Topology};
use serde_json::json;

use crate::hub_amqp::{header, json, spawn_rabbit_app_with};
use crate::need_event;

/// The broker's consumer tags on the hub's ingress queue in `vhost` (a new channel after a
/// reconnect gets a new tag).
fn ingress_consumers(vhost: &str) -> Vec<String> {
    let listed = crate::rabbitmqctl(&[
        "list_consumers",
        "-p",
        vhost,
        "-q",
        "--no-table-headers",
        "queue_name",
        "consumer_tag",
    ])
    .unwrap_or_else(|out| panic!("list_consumers: {out}"));
    listed
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(queue, _)| *queue == HUB_INGRESS_QUEUE)
        .map(|(_, tag)| tag.trim().to_owned())
        .collect()
}

/// The hub's consumer tags on its ingress queue in `vhost`, once it has one: the test helper
/// returns once the topology is declared, which can be before the hub starts consuming (CI
/// once caught the list empty on RabbitMQ 4.0.5).
async fn wait_ingress_consumers(vhost: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let consumers = ingress_consumers(vhost);
        if !consumers.is_empty() {
            return consumers;
        }
        assert!(
            Instant::now() < deadline,
            "the hub did not consume its ingress queue within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the hub's ingress queue on `vhost` holds nothing, ready or unacknowledged.
async fn wait_ingress_settled(vhost: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = crate::rabbitmqctl(&[
            "list_queues",
            "-p",
            vhost,
            "-q",
            "--no-table-headers",
            "name",
            "messages_ready",
            "messages_unacknowledged",
        ])
        .unwrap_or_else(|out| panic!("list_queues: {out}"));
        let counts = listed
            .lines()
            .find(|line| line.split('\t').next() == Some(HUB_INGRESS_QUEUE))
            .map(|line| line.split('\t').skip(1).map(str::trim).collect::<Vec<_>>());
        if counts.as_deref() == Some(&["0", "0"][..]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "ingress not settled within 60 s: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_refusal_and_a_delivery_aside_settles_every_delivery_once() {
    // One worker, batches of six, a window far longer than publishing the six takes, waited
    // although no other batch is in flight.
    let app = spawn_rabbit_app_with(&[
        ("SAMVERKAN__HUB__WORKERS", "1".to_owned()),
        ("SAMVERKAN__HUB__BATCH_MAX", "6".to_owned()),
        ("SAMVERKAN__HUB__BATCH_WINDOW_MS", "5000".to_owned()),
        ("SAMVERKAN__HUB__BATCH_WINDOW_WHEN_IDLE", "true".to_owned()),
    ])
    .await;
    let consumers = wait_ingress_consumers(&app.vhost).await;
    assert_eq!(consumers.len(), 1, "{consumers:?}");
    let submitted = EventType::NeedSubmitted.as_str().to_owned();
    let need = |id: &str| (submitted.clone(), need_event(id).to_json_bytes());
    let twice = need("NEED-2026-0102");
    // Removing a course Chalmers never had: a course change goes to the single-delivery path
    // (refused there as unknown_course), between deliveries committed together.
    let removal = CloudEvent::new(
        EventType::CourseRemoved,
        Source::for_org("chalmers"),
        None,
        json!({"courseCode": "TEK000", "reason": "Not given next year."}),
    );
    // In this order on the queue: 0102, 0109 (personal data: refused inside the batch), the
    // removal, 0103, 0102 again (a duplicate inside the batch), 0104.
    app.publish_as("vgr", &[twice.clone(), need("NEED-2026-0109")])
        .await;
    app.send("chalmers", &removal).await;
    app.publish_as("vgr", &[need("NEED-2026-0103"), twice])
        .await;
    app.publish_as("rv", &[need("NEED-2026-0104")]).await;

    wait_ingress_settled(&app.vhost).await;
    let dead = app.take(HUB_DEAD_QUEUE, |got| got.len() >= 2).await;
    let mut reasons: Vec<String> = dead
        .iter()
        .filter_map(|m| header(m, REASON_HEADER))
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["personal_data", "unknown_course"]);
    // VGR: one status per accepted need (the duplicate adds none) and the refusal.
    let vgr = app
        .take(&Topology::org_queue_name("VGR"), |got| got.len() >= 3)
        .await;
    let mut seen: Vec<String> = vgr
        .iter()
        .map(|m| {
            let event = json(m);
            if event["type"] == EventType::NeedStatus.as_str() {
                format!("{} {}", event["subject"], event["data"]["state"])
            } else {
                format!("{} {}", event["type"], event["data"]["reason"])
            }
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "\"NEED-2026-0102\" \"published\"",
            "\"NEED-2026-0103\" \"published\"",
            "\"se.samverkan.message.rejected.v1\" \"personal_data\"",
        ]
    );
    let rv = app
        .take(&Topology::org_queue_name("RV"), |got| !got.is_empty())
        .await;
    assert_eq!(json(&rv[0])["subject"], "NEED-2026-0104");
    // One more need afterwards, on its own: when it is through, any ack the broker refused
    // (a tag settled twice closes the channel) has closed the channel before it. The channel
    // is still the first one.
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    let status = app
        .take(&Topology::org_queue_name("VGR"), |got| !got.is_empty())
        .await;
    assert_eq!(json(&status[0])["subject"], "NEED-2026-0101");
    wait_ingress_settled(&app.vhost).await;
    assert_eq!(ingress_consumers(&app.vhost), consumers, "no reconnect");
    app.stop().await;
}
