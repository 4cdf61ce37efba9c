//! Per-row retries, parking and byte-capped claims, on SQLite and PostgreSQL.
//!
//! These are the store's halves of "the outbox never stalls"; `outbox_parking` runs the relay
//! over them against RabbitMQ, and `retention` prunes what is old.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use samverkan::event::EventId;
use samverkan::hub::outbox_relay::{self, HEADERS_TOO_LARGE, PROPERTY_TOO_LONG, Pass, RelayConfig};
use samverkan::store::{OutboxMessage, Store};
use samverkan::transport::{Outbound, Publish, TransportError};

use crate::on_both;

/// A lease no test outlives.
const LONG: Duration = Duration::from_secs(600);

pub(crate) async fn open(url: &str) -> Store {
    Store::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

pub(crate) fn message(event: &str, body: Vec<u8>) -> OutboxMessage {
    OutboxMessage {
        event_id: EventId::parse(event).expect("event id"),
        exchange: "samverkan.egress".into(),
        routing_key: "VGR.se.samverkan.need.status.v1".into(),
        content_type: "application/cloudevents+json".into(),
        correlation_id: None,
        kind: None,
        message_id: None,
        headers: BTreeMap::new(),
        body,
        recipient: None,
    }
}

/// Writes the messages in one transaction, in order, and returns their outbox ids.
pub(crate) async fn enqueue(store: &Store, messages: &[OutboxMessage]) -> Vec<i64> {
    let mut tx = store.begin().await.expect("begin");
    let mut ids = Vec::with_capacity(messages.len());
    for m in messages {
        ids.push(tx.enqueue(m).await.expect("enqueue"));
    }
    tx.commit().await.expect("commit");
    ids
}

pub(crate) async fn enqueue_names(store: &Store, names: &[&str]) -> Vec<i64> {
    let messages: Vec<OutboxMessage> = names.iter().map(|n| message(n, b"{}".to_vec())).collect();
    enqueue(store, &messages).await
}

async fn claim(store: &Store, limit: i64, bytes: i64) -> Vec<String> {
    store
        .claim_outbox_within(limit, bytes, LONG)
        .await
        .expect("claim")
        .iter()
        .map(|r| r.message.event_id.to_string())
        .collect()
}

#[tokio::test]
async fn a_refused_row_waits_for_its_own_next_attempt_while_the_others_go_on() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue_names(&store, &["e1", "e2"]).await;
        assert_eq!(claim(&store, 10, i64::MAX).await, ["e1", "e2"], "{backend}");
        let delay = Duration::from_millis(1500);
        let failed_at = Instant::now();
        store
            .retry_later(None, ids[0], delay)
            .await
            .expect("retry later");
        // An outage gives a row back untouched: due at once, no attempt counted.
        store.release(None, &[ids[1]]).await.expect("release");
        enqueue_names(&store, &["e3"]).await;
        let next = store.claim_outbox(10, LONG).await.expect("claim");
        let seen: Vec<(String, i64)> = next
            .iter()
            .map(|r| (r.message.event_id.to_string(), r.attempts))
            .collect();
        assert_eq!(
            seen,
            [("e2".to_owned(), 0), ("e3".to_owned(), 0)],
            "{backend}: e1 is not due yet"
        );
        // Wait for e1 to become due, by asking, never longer than needed.
        let again = loop {
            let rows = store.claim_outbox(10, LONG).await.expect("claim");
            if !rows.is_empty() {
                break rows;
            }
            assert!(failed_at.elapsed() < Duration::from_secs(20), "{backend}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(
            failed_at.elapsed() >= delay - Duration::from_millis(100),
            "{backend}: e1 came back after {:?}",
            failed_at.elapsed()
        );
        assert_eq!(again.len(), 1, "{backend}");
        assert_eq!(again[0].message.event_id.as_ref(), "e1", "{backend}");
        assert_eq!(again[0].attempts, 1, "{backend}");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn parked_rows_are_never_claimed_or_pending_and_are_listed_with_their_reason() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue(
            &store,
            &[
                message("e1", vec![b'x'; 300]),
                message("e2", b"{}".to_vec()),
                message("e3", b"{}".to_vec()),
            ],
        )
        .await;
        assert_eq!(claim(&store, 10, i64::MAX).await.len(), 3, "{backend}");
        let detail = "correlation_id is 300 bytes; AMQP allows at most 255";
        store
            .park(None, ids[0], PROPERTY_TOO_LONG, detail)
            .await
            .expect("park");
        store
            .park(None, ids[1], HEADERS_TOO_LARGE, "big")
            .await
            .expect("park");
        store.release(None, &[ids[2]]).await.expect("release");
        assert_eq!(claim(&store, 10, i64::MAX).await, ["e3"], "{backend}");
        let pending = store.pending_outbox(10).await.expect("pending");
        assert_eq!(pending.len(), 1, "{backend}: parked rows are not pending");
        assert_eq!(store.outbox_pending_count().await.expect("count"), 1);
        assert_eq!(store.outbox_parked_count().await.expect("parked"), 2);
        let parked = store.parked_outbox(10).await.expect("parked rows");
        let listed: Vec<(&str, &str, i64)> = parked
            .iter()
            .map(|p| (p.event_id.as_str(), p.reason.as_str(), p.body_bytes))
            .collect();
        assert_eq!(
            listed,
            [
                ("e1", "property_too_long", 300),
                ("e2", "headers_too_large", 2)
            ],
            "{backend}"
        );
        assert_eq!(parked[0].detail.as_deref(), Some(detail));
        assert_eq!(
            store.parked_by_reason().await.expect("by reason"),
            [
                ("headers_too_large".to_owned(), 1),
                ("property_too_long".to_owned(), 1)
            ]
        );
        // A sent row cannot be parked afterwards.
        store.mark_sent(None, &[ids[2]]).await.expect("sent");
        store
            .park(None, ids[2], HEADERS_TOO_LARGE, "late")
            .await
            .expect("park");
        assert_eq!(store.outbox_parked_count().await.expect("parked"), 2);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn claims_stop_at_the_byte_budget_but_always_take_one_row() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let messages: Vec<OutboxMessage> = (1..=5)
            .map(|i| message(&format!("e{i}"), vec![b'x'; 1000]))
            .collect();
        enqueue(&store, &messages).await;
        // Each row is 1000 body bytes and 2 header bytes (`{}`).
        assert_eq!(claim(&store, 100, 2500).await, ["e1", "e2"], "{backend}");
        assert_eq!(
            claim(&store, 100, 10).await,
            ["e3"],
            "{backend}: one row at least"
        );
        assert_eq!(
            claim(&store, 1, i64::MAX).await,
            ["e4"],
            "{backend}: rows cap too"
        );
        enqueue(&store, &[message("e6", vec![b'x'; 1000])]).await;
        assert_eq!(
            claim(&store, 100, 2004).await,
            ["e5", "e6"],
            "{backend}: a budget met exactly takes both"
        );
        store.close().await;
    })
    .await;
}

/// A broker that is never there: every publish fails as an outage.
struct Down;

impl Publish for Down {
    fn publish_all(
        &self,
        messages: &[Outbound],
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send {
        let mut results = Vec::with_capacity(messages.len());
        for m in messages {
            results.push(Err(TransportError::NotPublished {
                event_id: m.message_id.clone().unwrap_or_default(),
                cause: "connection refused".into(),
                transient: true,
            }));
        }
        std::future::ready(results)
    }
}

#[tokio::test]
async fn a_broker_outage_counts_no_attempt_and_parks_nothing() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        enqueue_names(&store, &["e1", "e2", "e3"]).await;
        let config = RelayConfig {
            max_attempts: 2,
            ..RelayConfig::default()
        };
        for _ in 0..5 {
            let pass = outbox_relay::relay_once(&store, &Down, &config)
                .await
                .expect("relay");
            let expected = Pass {
                claimed: 3,
                waiting: 3,
                ..Pass::default()
            };
            assert_eq!(pass, expected, "{backend}: given back at once, every time");
        }
        let pending = store.pending_outbox(10).await.expect("pending");
        assert!(pending.iter().all(|r| r.attempts == 0), "{backend}");
        assert_eq!(store.outbox_parked_count().await.expect("parked"), 0);
        store.close().await;
    })
    .await;
}
