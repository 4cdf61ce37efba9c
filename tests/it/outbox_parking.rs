//! The relay on the real RabbitMQ and both stores: rows that can never be published are parked,
//! never retried, and never hold back the rows behind them; `samverkan dead-letters parked`
//! lists them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::BasicGetOptions;
use samverkan::hub::outbox_relay::{self, RelayConfig};
use samverkan::store::{OutboxMessage, Store};
use samverkan::transport::Backoff;
use samverkan::transport::amqp::{
    AmqpPublisher, Endpoint, PublisherConfig, connect, frame_limit, header_frame_bytes,
};
use samverkan::transport::{EGRESS_EXCHANGE, Topology};
use samverkan::transport::{Outbound, Publish, Shutdown, TransportError};
use tokio::sync::Notify;

use crate::hub_faults::Vhost;
use crate::on_both;
use crate::outbox_retry::{enqueue, message, open};
use crate::samverkan_with;

const STATUS_KEY: &str = "VGR.se.samverkan.need.status.v1";

async fn publisher(vhost: &Vhost) -> AmqpPublisher {
    let topology = Topology::new(["VGR"], 5).expect("topology");
    let endpoint = Endpoint::new(vhost.url("guest", "guest"), "it-outbox-parking", topology);
    AmqpPublisher::connect(PublisherConfig::new(endpoint))
        .await
        .expect("publisher")
}

fn valid(event: &str) -> OutboxMessage {
    OutboxMessage {
        exchange: EGRESS_EXCHANGE.into(),
        routing_key: STATUS_KEY.into(),
        correlation_id: Some("NEED-2026-0101".into()),
        ..message(event, br#"{"ok":true}"#.to_vec())
    }
}

fn long_correlation(event: &str) -> OutboxMessage {
    OutboxMessage {
        correlation_id: Some("N".repeat(300)),
        ..valid(event)
    }
}

fn huge_headers(event: &str) -> OutboxMessage {
    let mut m = valid(event);
    m.headers = BTreeMap::from([("x-copied".to_owned(), "h".repeat(140_000))]);
    m
}

/// The message ids in `queue`, taken off it.
async fn drain_ids(vhost: &Vhost, queue: &str) -> Vec<String> {
    let (connection, channel) = vhost.channel().await;
    let mut ids = Vec::new();
    while let Some(m) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .expect("basic.get")
    {
        let id = m.delivery.properties.message_id().as_ref();
        ids.push(id.map(|s| s.to_string()).unwrap_or_default());
    }
    connection.close(200, "done".into()).await.ok();
    ids
}

/// Runs the relay until `done` says the store is where the test wants it; returns how long.
async fn relay_until<F, Fut>(store: &Store, publisher: Arc<AmqpPublisher>, done: F) -> Duration
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = bool>,
{
    let (trigger, shutdown) = Shutdown::new();
    let config = RelayConfig {
        max_attempts: 3,
        retry: Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        },
        ..RelayConfig::default()
    };
    let started = Instant::now();
    let task = tokio::spawn(outbox_relay::run(
        store.clone(),
        publisher,
        Arc::new(Notify::new()),
        config,
        shutdown,
    ));
    while !done(store.clone()).await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the relay did not get there within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    trigger.trigger();
    task.await.expect("relay task");
    took
}

async fn flushed(store: Store) -> bool {
    store.outbox_pending_count().await.expect("pending") == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsendable_rows_are_parked_and_the_valid_row_behind_them_goes_out_promptly() {
    on_both(|backend, url| async move {
        let vhost = Vhost::create().await;
        let publisher = Arc::new(publisher(&vhost).await);
        let store = open(&url).await;
        // The oldest rows can never be sent: a 300-byte correlation_id, 140 kB of headers
        // (over RabbitMQ's 128 KiB frame), then a few hundred more long subjects.
        let mut rows = vec![long_correlation("bad-subject"), huge_headers("bad-headers")];
        rows.extend((0..300).map(|i| long_correlation(&format!("bad-{i}"))));
        rows.push(valid("good"));
        enqueue(&store, &rows).await;
        let took = relay_until(&store, publisher.clone(), flushed).await;
        eprintln!("{backend}: outbox flushed in {took:?}");
        assert!(took < Duration::from_secs(10), "{backend}: took {took:?}");
        let queue = Topology::org_queue_name("VGR");
        assert_eq!(drain_ids(&vhost, &queue).await, ["good"], "{backend}");
        assert_eq!(
            publisher.reconnects(),
            0,
            "{backend}: no connection was lost"
        );
        let by_reason = store.parked_by_reason().await.expect("parked");
        assert_eq!(
            by_reason,
            [
                ("headers_too_large".to_owned(), 1),
                ("property_too_long".to_owned(), 301)
            ],
            "{backend}"
        );
        let parked = store.parked_outbox(2).await.expect("parked rows");
        assert!(
            parked.iter().all(|p| p.attempts == 0),
            "{backend}: never retried"
        );
        let details: Vec<String> = parked.iter().filter_map(|p| p.detail.clone()).collect();
        assert!(
            details
                .iter()
                .all(|d| !d.contains("NNN") && !d.contains("hhh")),
            "{backend}: a detail carries a value: {details:?}"
        );
        listed_by_the_cli(&url, backend.to_string()).await;
        publisher.close().await;
        store.close().await;
    })
    .await;
}

/// `samverkan dead-letters parked` shows what the test above parked.
async fn listed_by_the_cli(url: &str, backend: String) {
    let env = [("SAMVERKAN__STORE__URL", url)];
    let json = samverkan_with(&["dead-letters", "parked", "--format", "json"], b"", &env);
    let err = String::from_utf8_lossy(&json.stderr);
    assert!(json.status.success(), "{backend}: {err}");
    let listed: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(listed["total"], 302, "{backend}");
    assert_eq!(listed["byReason"]["headers_too_large"], 1, "{backend}");
    assert_eq!(
        listed["rows"].as_array().map(Vec::len),
        Some(100),
        "{backend}"
    );
    assert_eq!(listed["rows"][0]["eventId"], "bad-subject", "{backend}");
    assert_eq!(
        listed["rows"][0]["reason"], "property_too_long",
        "{backend}"
    );
    let text = samverkan_with(&["dead-letters", "parked", "--limit", "2"], b"", &env);
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{backend}: {shown}");
    assert!(
        shown.contains("parked outbox rows: 302, showing 2"),
        "{shown}"
    );
    assert!(shown.contains("bad-headers") && shown.contains("headers_too_large"));
    assert!(shown.contains("frame_max is 131072"), "{shown}");
    assert!(shown.contains("at most 126976 may be used"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_row_is_retried_alone_then_parked_while_the_others_go_on() {
    on_both(|backend, url| async move {
        let vhost = Vhost::create().await;
        let publisher = Arc::new(publisher(&vhost).await);
        let store = open(&url).await;
        let nowhere = OutboxMessage {
            routing_key: "nobody.se.samverkan.need.status.v1".into(),
            ..valid("lost")
        };
        enqueue(&store, &[nowhere, valid("a"), valid("b")]).await;
        let parked_one = |store: Store| async move {
            store.outbox_parked_count().await.expect("parked") == 1 && flushed(store).await
        };
        relay_until(&store, publisher.clone(), parked_one).await;
        let queue = Topology::org_queue_name("VGR");
        assert_eq!(drain_ids(&vhost, &queue).await, ["a", "b"], "{backend}");
        let parked = store.parked_outbox(10).await.expect("parked");
        assert_eq!(parked.len(), 1, "{backend}");
        assert_eq!(parked[0].reason, "unroutable", "{backend}");
        assert_eq!(
            parked[0].attempts, 2,
            "{backend}: two retries counted before the third"
        );
        let detail = parked[0].detail.as_deref().unwrap_or_default();
        assert!(detail.starts_with("3 attempts; last:"), "{detail}");
        publisher.close().await;
        store.close().await;
    })
    .await;
}

/// A message exactly at the frame limit (the negotiated frame size less the headroom) goes
/// through and can be consumed; one byte more is refused before it is sent, and the connection
/// survives both. Proves the size computation is an upper bound of what lapin writes.
#[tokio::test]
async fn headers_up_to_the_negotiated_frame_size_are_published_and_beyond_it_refused() {
    let vhost = Vhost::create().await;
    let connection = connect(&vhost.url("guest", "guest"), "it-frame-max")
        .await
        .expect("connect");
    let frame_max = usize::try_from(connection.configuration().frame_max()).expect("size");
    connection.close(200, "done".into()).await.ok();
    let limit = frame_limit(u32::try_from(frame_max).expect("frame max"));
    let publisher = publisher(&vhost).await;
    let sized = |id: &str, frame: usize| {
        let mut m = Outbound {
            exchange: EGRESS_EXCHANGE.into(),
            routing_key: STATUS_KEY.into(),
            body: b"{}".to_vec(),
            content_type: Some("application/cloudevents+json".into()),
            message_id: Some(id.into()),
            correlation_id: Some("NEED-2026-0101".into()),
            kind: None,
            headers: BTreeMap::from([("x-pad".to_owned(), String::new())]),
        };
        let pad = frame - header_frame_bytes(&m);
        m.headers.insert("x-pad".to_owned(), "p".repeat(pad));
        assert_eq!(header_frame_bytes(&m), frame);
        m
    };
    let batch = [sized("fits", limit), sized("over", limit + 1)];
    let results = publisher.publish_all(&batch).await;
    assert!(results[0].is_ok(), "{:?}", results[0]);
    assert!(
        matches!(&results[1], Err(TransportError::Unsendable { event_id, .. }) if event_id == "over"),
        "{:?}",
        results[1]
    );
    let again = publisher.publish_all(&[sized("after", 1000)]).await;
    assert!(again[0].is_ok(), "{:?}", again[0]);
    assert_eq!(publisher.reconnects(), 0);
    let queue = Topology::org_queue_name("VGR");
    assert_eq!(drain_ids(&vhost, &queue).await, ["fits", "after"]);
    publisher.close().await;
}

/// Behind the check, in case a limit is missed: a publish the broker closes the connection for
/// (FRAME_ERROR) fails as a refusal of that message, which counts against it, not as an outage,
/// which would make it wait for ever and pause the relay.
#[tokio::test]
async fn a_frame_error_is_the_messages_fault_not_an_outage() {
    use samverkan::transport::amqp::Publisher;
    let vhost = Vhost::create().await;
    publisher(&vhost).await.close().await; // declares the topology
    let connection = connect(&vhost.url("guest", "guest"), "it-frame-error")
        .await
        .expect("connect");
    // The bare publisher, which does not check limits.
    let bare = Publisher::open(&connection).await.expect("publisher");
    let mut headers = BTreeMap::new();
    headers.insert("x-big".to_owned(), "h".repeat(200_000));
    let message = Outbound {
        exchange: EGRESS_EXCHANGE.into(),
        routing_key: STATUS_KEY.into(),
        body: b"{}".to_vec(),
        content_type: None,
        message_id: Some("big".into()),
        correlation_id: None,
        kind: None,
        headers,
    };
    let result = match bare.send(&message).await {
        Ok(confirm) => tokio::time::timeout(Duration::from_secs(30), confirm)
            .await
            .expect("the confirm fails within 30 s"),
        Err(e) => Err(e),
    };
    let err = result.expect_err("the broker refuses the frame");
    assert!(!err.is_outage(), "{err:?}");
    assert!(format!("{err:?}").contains("FRAMEERROR"), "{err:?}");
}
