//! Retention on SQLite and PostgreSQL: sent outbox rows, inbox rows, audit entries and feed
//! events past their retention are deleted, each by its own setting; unsent and parked rows
//! never are, nor feed heads (a feed's numbering goes on after its oldest events are gone).

use std::time::{Duration, Instant};

use samverkan::event::{EventId, Source};
use samverkan::hub::outbox_relay::PROPERTY_TOO_LONG;
use samverkan::settings::OrgId;
use samverkan::store::{AuditAction, AuditEntry, OutboxMessage, Pruned, Retention, Store};
use samverkan::transport::Shutdown;
use sqlx::{AnyConnection, Connection};

use crate::on_both;
use crate::outbox_retry::{enqueue, enqueue_names, message, open};

const DAY: Duration = Duration::from_secs(86_400);

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
        store.mark_sent(None, &ids[..2]).await.expect("sent");
        store
            .park(None, ids[3], PROPERTY_TOO_LONG, "x")
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
            feed: None,
            batch: 1,
        };
        let now = time::OffsetDateTime::now_utc();
        let pruned = store.prune(&keep_inbox, now).await.expect("prune");
        let only_outbox = Pruned {
            outbox: 1,
            inbox: 0,
            audit: 0,
            feed: 0,
        };
        assert_eq!(pruned, only_outbox, "{backend}");
        let defaults = Retention {
            outbox_sent: Some(7 * DAY),
            inbox: Some(30 * DAY),
            audit: Some(365 * DAY),
            feed: None,
            batch: 1,
        };
        let pruned = store.prune(&defaults, now).await.expect("prune");
        let rest = Pruned {
            outbox: 0,
            inbox: 2,
            audit: 2,
            feed: 0,
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

/// A status event for `to`'s feed.
fn for_feed(to: &str, event: &str) -> OutboxMessage {
    OutboxMessage {
        kind: Some("se.samverkan.need.status.v1".into()),
        recipient: Some(OrgId::parse(to).expect("org id")),
        ..message(event, format!("{{\"id\":\"{event}\"}}").into_bytes())
    }
}

/// (seq, event id) of `org`'s feed after `after`.
async fn feed(store: &Store, org: &str, after: i64) -> Vec<(i64, String)> {
    let org = OrgId::parse(org).expect("org id");
    let events = store.feed_after(&org, after, 100).await.expect("feed");
    events
        .into_iter()
        .map(|e| (e.seq, e.event_id.to_string()))
        .collect()
}

#[tokio::test]
async fn old_feed_events_are_pruned_but_positions_are_never_reused() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let first = ["f1", "f2", "f3"].map(|id| for_feed("VGR", id));
        enqueue(&store, &first).await;
        enqueue(&store, &[for_feed("chalmers", "c1")]).await;
        age(
            &url,
            ("org_feed", "created_at_ms"),
            "event_id IN ('f1', 'f2')",
            31 * DAY,
        )
        .await;
        let now = time::OffsetDateTime::now_utc();
        let keep_feed = Retention {
            outbox_sent: None,
            inbox: None,
            audit: None,
            feed: None,
            batch: 1,
        };
        assert_eq!(
            store.prune(&keep_feed, now).await.expect("prune"),
            Pruned::default(),
            "{backend}: 0 days keeps feed events for ever"
        );
        let month = Retention {
            feed: Some(30 * DAY),
            ..keep_feed
        };
        let pruned = store.prune(&month, now).await.expect("prune");
        assert_eq!(pruned.feed, 2, "{backend}: {pruned:?}");
        assert_eq!(pruned.total(), 2, "{backend}");
        assert_eq!(count(&url, "org_feed").await, 2, "{backend}: f3 and c1");
        assert_eq!(count(&url, "org_feed_heads").await, 2, "{backend}");
        // A reader from the start, or from a pruned position, continues at the oldest kept.
        let kept = vec![(3, "f3".to_owned())];
        assert_eq!(feed(&store, "VGR", 0).await, kept, "{backend}");
        assert_eq!(feed(&store, "VGR", 1).await, kept, "{backend}");
        assert_eq!(feed(&store, "chalmers", 0).await.len(), 1, "{backend}");
        // The numbering goes on: no new event takes a pruned event's position.
        enqueue(&store, &[for_feed("VGR", "f4")]).await;
        assert_eq!(
            feed(&store, "VGR", 3).await,
            [(4, "f4".to_owned())],
            "{backend}"
        );
        assert_eq!(
            store
                .feed_head(&OrgId::parse("VGR").expect("org id"))
                .await
                .expect("head"),
            4,
            "{backend}"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_hub_prunes_old_rows_as_soon_as_it_starts() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue_names(&store, &["old", "new"]).await;
        store.mark_sent(None, &ids).await.expect("sent");
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
            feed: None,
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

#[tokio::test]
async fn a_live_webhooks_backlog_is_kept_past_the_feed_retention() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let backlog = ["w1", "w2"].map(|id| for_feed("partner-001", id));
        enqueue(&store, &backlog).await;
        enqueue(&store, &[for_feed("VGR", "v1")]).await;
        age(&url, ("org_feed", "created_at_ms"), "1 = 1", 31 * DAY).await;
        // partner-001's webhook task holds its lease: nothing delivered yet.
        let partner = OrgId::parse("partner-001").expect("org id");
        let lease = store
            .lease_webhook(
                &partner,
                "http://127.0.0.1:1/hook",
                60 * std::time::Duration::from_secs(1),
            )
            .await
            .expect("lease");
        assert!(lease.is_some(), "{backend}: the lease is free");
        let month = Retention {
            outbox_sent: None,
            inbox: None,
            audit: None,
            feed: Some(30 * DAY),
            batch: 10,
        };
        let pruned = store
            .prune(&month, time::OffsetDateTime::now_utc())
            .await
            .expect("prune");
        assert_eq!(
            pruned.feed, 1,
            "{backend}: only VGR's old event goes: {pruned:?}"
        );
        assert_eq!(feed(&store, "partner-001", 0).await.len(), 2, "{backend}");
        assert_eq!(feed(&store, "VGR", 0).await, [], "{backend}");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_sent_outbox_row_is_kept_while_its_feed_event_reads_the_body_from_it() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue(
            &store,
            &[for_feed("VGR", "f1"), message("plain", b"{}".to_vec())],
        )
        .await;
        store.mark_sent(None, &ids).await.expect("sent");
        age(&url, ("outbox", "sent_at_ms"), "1 = 1", 8 * DAY).await;
        let now = time::OffsetDateTime::now_utc();
        let week = Retention {
            outbox_sent: Some(7 * DAY),
            inbox: None,
            audit: None,
            feed: Some(30 * DAY),
            batch: 10,
        };
        let pruned = store.prune(&week, now).await.expect("prune");
        assert_eq!(
            (pruned.outbox, pruned.feed),
            (1, 0),
            "{backend}: {pruned:?}"
        );
        // The feed stores no body of its own: it is read from the kept outbox row.
        let org = OrgId::parse("VGR").expect("org id");
        let events = store.feed_after(&org, 0, 10).await.expect("feed");
        assert_eq!(events.len(), 1, "{backend}");
        assert_eq!(events[0].body, b"{\"id\":\"f1\"}", "{backend}");
        // Once the feed event is gone, so is the row.
        age(&url, ("org_feed", "created_at_ms"), "1 = 1", 31 * DAY).await;
        let pruned = store.prune(&week, now).await.expect("prune");
        assert_eq!(
            (pruned.outbox, pruned.feed),
            (1, 1),
            "{backend}: {pruned:?}"
        );
        assert_eq!(count(&url, "outbox").await, 0, "{backend}");
        store.close().await;
    })
    .await;
}
