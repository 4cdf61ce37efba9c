//! Per-row retries, parking, byte-capped claims and retention, on SQLite and PostgreSQL.
//!
//! These are the store's halves of "the outbox never stalls"; `outbox_parking` runs the relay
//! over them against RabbitMQ.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use samverkan::event::{EventId, Source};
use samverkan::hub::relay::{self, HEADERS_TOO_LARGE, PROPERTY_TOO_LONG, Pass, RelayConfig};
use samverkan::store::{AuditAction, AuditEntry, OutboxMessage, Pruned, Retention, Store};
use samverkan::transport::{Outbound, Publish, Shutdown, TransportError};
use sqlx::{AnyConnection, Connection};

use crate::store::on_both;

/// A lease no test outlives.
const LONG: Duration = Duration::from_secs(600);
const DAY: Duration = Duration::from_secs(86_400);

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
        headers: BTreeMap::new(),
        body,
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

async fn enqueue_names(store: &Store, names: &[&str]) -> Vec<i64> {
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
        store.retry_later(ids[0], delay).await.expect("retry later");
        // An outage gives a row back untouched: due at once, no attempt counted.
        store.release(&[ids[1]]).await.expect("release");
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
            .park(ids[0], PROPERTY_TOO_LONG, detail)
            .await
            .expect("park");
        store
            .park(ids[1], HEADERS_TOO_LARGE, "big")
            .await
            .expect("park");
        store.release(&[ids[2]]).await.expect("release");
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
        store.mark_sent(&[ids[2]]).await.expect("sent");
        store
            .park(ids[2], HEADERS_TOO_LARGE, "late")
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

/// Moves a row's time column `by` into the past, as if it had been written that long ago.
async fn age(url: &str, table_column: (&str, &str), key: &str, by: Duration) {
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    let (table, column) = table_column;
    let ms = i64::try_from(by.as_millis()).expect("ms");
    let sql = format!("UPDATE {table} SET {column} = {column} - {ms} WHERE {key}");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("age");
    conn.close().await.ok();
}

async fn count(url: &str, table: &str) -> i64 {
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    let sql = format!("SELECT count(*) FROM {table}");
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut conn)
        .await
        .expect("count");
    conn.close().await.ok();
    n
}

#[tokio::test]
async fn pruning_removes_only_old_sent_outbox_rows_old_inbox_rows_and_old_audit_entries() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut tx = store.begin().await.expect("begin");
        let source = Source::for_org("VGR");
        for id in ["i1", "i2", "i3"] {
            let id = EventId::parse(id).expect("id");
            assert!(tx.record_inbox(&source, &id).await.expect("inbox"));
            tx.audit(&AuditEntry {
                event_id: Some(id),
                ..AuditEntry::new(AuditAction::Received)
            })
            .await
            .expect("audit");
        }
        tx.commit().await.expect("commit");
        let ids = enqueue_names(&store, &["sent-old", "sent-new", "unsent", "parked"]).await;
        store.mark_sent(&ids[..2]).await.expect("sent");
        store
            .park(ids[3], PROPERTY_TOO_LONG, "x")
            .await
            .expect("park");
        // Old enough to go: one sent row (8 days), two inbox rows (31), two audit entries (366).
        age(
            &url,
            ("outbox", "sent_at_ms"),
            &format!("id = {}", ids[0]),
            8 * DAY,
        )
        .await;
        age(
            &url,
            ("inbox", "received_at_ms"),
            "event_id <> 'i3'",
            31 * DAY,
        )
        .await;
        age(&url, ("audit", "at_ms"), "event_id <> 'i3'", 366 * DAY).await;
        // Never to go, however old: unsent and parked rows.
        for column in ["created_at_ms", "parked_at_ms"] {
            age(&url, ("outbox", column), "sent_at_ms IS NULL", 400 * DAY).await;
        }
        // Kept by its own, longer retention: the inbox row of 31 days under 60 days.
        let keep_inbox = Retention {
            outbox_sent: Some(7 * DAY),
            inbox: Some(60 * DAY),
            audit: None,
            batch: 1,
        };
        let now = time::OffsetDateTime::now_utc();
        let pruned = store.prune(&keep_inbox, now).await.expect("prune");
        let only_outbox = Pruned {
            outbox: 1,
            inbox: 0,
            audit: 0,
        };
        assert_eq!(pruned, only_outbox, "{backend}");
        let defaults = Retention {
            outbox_sent: Some(7 * DAY),
            inbox: Some(30 * DAY),
            audit: Some(365 * DAY),
            batch: 1,
        };
        let pruned = store.prune(&defaults, now).await.expect("prune");
        let rest = Pruned {
            outbox: 0,
            inbox: 2,
            audit: 2,
        };
        assert_eq!(pruned, rest, "{backend}");
        assert_eq!(
            count(&url, "outbox").await,
            3,
            "{backend}: sent-new, unsent, parked"
        );
        assert_eq!(count(&url, "inbox").await, 1, "{backend}");
        assert_eq!(count(&url, "audit").await, 1, "{backend}");
        assert_eq!(
            store.prune(&defaults, now).await.expect("prune"),
            Pruned::default()
        );
        // The kept inbox row still dedupes.
        let mut tx = store.begin().await.expect("begin");
        let i3 = EventId::parse("i3").expect("id");
        assert!(
            !tx.record_inbox(&source, &i3).await.expect("inbox"),
            "{backend}"
        );
        tx.rollback().await.expect("rollback");
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
            let pass = relay::relay_once(&store, &Down, &config)
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

#[tokio::test]
async fn the_hub_prunes_old_rows_as_soon_as_it_starts() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue_names(&store, &["old", "new"]).await;
        store.mark_sent(&ids).await.expect("sent");
        age(
            &url,
            ("outbox", "sent_at_ms"),
            &format!("id = {}", ids[0]),
            8 * DAY,
        )
        .await;
        let retention = Retention {
            outbox_sent: Some(7 * DAY),
            inbox: None,
            audit: None,
            batch: 100,
        };
        let (trigger, shutdown) = Shutdown::new();
        let task = tokio::spawn(samverkan::hub::retention::run(
            store.clone(),
            retention,
            Duration::from_secs(3600),
            shutdown,
        ));
        let started = Instant::now();
        while count(&url, "outbox").await != 1 {
            assert!(started.elapsed() < Duration::from_secs(20), "{backend}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        trigger.trigger();
        task.await.expect("pruning task");
        assert_eq!(
            count(&url, "outbox").await,
            1,
            "{backend}: only the old row went"
        );
        store.close().await;
    })
    .await;
}
