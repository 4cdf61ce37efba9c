//! Retention on SQLite and PostgreSQL: sent outbox rows, inbox rows and audit entries past
//! their retention are deleted, each by its own setting; unsent and parked rows never are.

use std::time::{Duration, Instant};

use samverkan::event::{EventId, Source};
use samverkan::hub::outbox_relay::PROPERTY_TOO_LONG;
use samverkan::store::{AuditAction, AuditEntry, Pruned, Retention};
use samverkan::transport::Shutdown;
use sqlx::{AnyConnection, Connection};

use crate::on_both;
use crate::outbox_retry::{enqueue_names, open};

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
