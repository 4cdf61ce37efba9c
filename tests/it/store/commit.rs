//! Connecting, migrations, the inbox, one transaction per event, and the outbox.

use super::*;

#[tokio::test]
async fn migrations_run_at_every_connect_and_are_idempotent() {
    on_both(|backend, url| async move {
        let first = open(&url).await;
        assert_eq!(first.backend(), backend);
        seed_need(&first, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let second = open(&url).await;
        second.ping().await.expect("ping");
        let need = second.need(&key("NEED-1")).await.expect("read");
        assert_eq!(need.map(|n| n.recipients.len()), Some(2), "{backend}");
        if backend == Backend::Sqlite {
            let mut raw = AnyConnection::connect(&url).await.expect("raw connection");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut raw)
                .await
                .expect("journal mode");
            assert_eq!(mode, "wal");
            raw.close().await.expect("close");
        } else {
            // Outbox bodies are compressed with lz4 (migration 14), which Debian's and the
            // official PostgreSQL builds support.
            let mut raw = AnyConnection::connect(&url).await.expect("raw connection");
            let method: String = sqlx::query_scalar(
                "SELECT attcompression::text FROM pg_attribute \
                 WHERE attrelid = 'outbox'::regclass AND attname = 'body'",
            )
            .fetch_one(&mut raw)
            .await
            .expect("outbox.body's compression");
            assert_eq!(method, "l", "lz4");
            raw.close().await.expect("close");
        }
        first.close().await;
        second.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_inbox_dedupes_inside_the_transaction() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let source = Source::for_org("VGR");
        let (a, b) = (EventId::new_v7(), EventId::new_v7());

        let mut tx = store.begin().await.expect("begin");
        assert!(
            tx.record_inbox(&source, &a).await.expect("first"),
            "{backend}"
        );
        assert!(
            !tx.record_inbox(&source, &a).await.expect("again"),
            "{backend}"
        );
        tx.commit().await.expect("commit");
        let mut tx = store.begin().await.expect("begin");
        assert!(!tx.record_inbox(&source, &a).await.expect("redelivery"));
        assert!(
            tx.record_inbox(&Source::for_org("SLL"), &a)
                .await
                .expect("other source")
        );
        assert!(tx.record_inbox(&source, &b).await.expect("b"));
        drop(tx); // a failure before commit: nothing of it stays

        let mut tx = store.begin().await.expect("begin");
        assert!(
            tx.record_inbox(&source, &b).await.expect("retry"),
            "{backend}"
        );
        tx.rollback().await.expect("rollback");
        store.close().await;
    })
    .await;
}

/// Two hub instances got the same event (a redelivery after a lost ack): the one that records
/// it second waits for the first to commit, then skips it — or takes over if the first failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_competing_instance_skips_an_event_the_first_is_committing() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let source = Source::for_org("chalmers");
        for first_commits in [true, false] {
            let event = EventId::new_v7();
            let mut first = store.begin().await.expect("begin");
            assert!(first.record_inbox(&source, &event).await.expect("first"));
            let second = tokio::spawn({
                let (store, source, event) = (store.clone(), source.clone(), event.clone());
                async move {
                    let mut tx = store.begin().await.expect("begin");
                    let fresh = tx.record_inbox(&source, &event).await.expect("second");
                    tx.commit().await.expect("commit");
                    fresh
                }
            });
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert!(!second.is_finished(), "{backend}: the second must wait");
            if first_commits {
                first.commit().await.expect("commit");
            } else {
                first.rollback().await.expect("rollback");
            }
            let fresh = second.await.expect("second instance");
            assert_eq!(
                fresh, !first_commits,
                "{backend}, first commits: {first_commits}"
            );
        }
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn need_recipients_outbox_and_audit_commit_together_or_not_at_all() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = need_id("NEED-2026-0101");
        let deadline = datetime!(2027-06-05 12:00 UTC);
        let work = async |commit: bool| {
            let mut tx = store.begin().await.expect("begin");
            let event = EventId::parse("evt-need-1").expect("id");
            assert!(
                tx.record_inbox(&Source::for_org("VGR"), &event)
                    .await
                    .expect("inbox")
            );
            let mut need = new_need(id.as_str(), NeedState::Published, Some(deadline));
            need.state_reason = Some("matched".into());
            tx.insert_need(&need).await.expect("need");
            let recipients = [
                recipient("acme", RecipientKind::Company, 0.25),
                recipient("chalmers", RecipientKind::University, 0.75),
            ];
            tx.insert_recipients(&key(id.as_str()), &recipients)
                .await
                .expect("recipients");
            tx.enqueue(&message("evt-out-1", "chalmers.challenge"))
                .await
                .expect("outbox");
            let routed = AuditEntry {
                need_id: Some(id.clone()),
                event_id: Some(event),
                ..AuditEntry::new(AuditAction::Routed)
            };
            tx.audit(&routed).await.expect("audit");
            if commit {
                tx.commit().await.expect("commit");
            }
        };

        work(false).await;
        assert_eq!(
            store.need(&key(id.as_str())).await.expect("read"),
            None,
            "{backend}"
        );
        assert!(store.pending_outbox(10).await.expect("outbox").is_empty());
        assert!(store.audit_trail(&id).await.expect("audit").is_empty());

        work(true).await;
        let need = store
            .need(&key(id.as_str()))
            .await
            .expect("read")
            .expect("stored");
        assert_eq!((need.state, need.version()), (NeedState::Published, 1));
        assert_eq!(need.state_reason.as_deref(), Some("matched"));
        assert_eq!(need.respond_by, Some(deadline));
        assert_eq!(need.view["tags"], json!(["lean"]));
        let orgs: Vec<&str> = need.recipients.iter().map(|r| r.org_id.as_str()).collect();
        assert_eq!(orgs, ["chalmers", "acme"], "best match first");
        let chalmers = &need.recipients[0];
        assert_eq!(
            (chalmers.kind, chalmers.score),
            (RecipientKind::University, 0.75)
        );
        assert_eq!(chalmers.reasons, ["topics: lean (chalmers)"]);
        assert_eq!(
            (chalmers.courses.clone(), chalmers.latest.clone()),
            (json!([{"code": "IMS902"}]), None)
        );
        let pending = store.pending_outbox(10).await.expect("outbox");
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].message,
            message("evt-out-1", "chalmers.challenge")
        );
        assert_eq!(store.audit_trail(&id).await.expect("audit").len(), 1);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_relay_sees_unsent_rows_oldest_first_until_marked_sent() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut ids = Vec::new();
        for batch in [["e1", "e2", "e3"].as_slice(), &["e4", "e5"]] {
            let mut tx = store.begin().await.expect("begin");
            for event in batch {
                ids.push(
                    tx.enqueue(&message(event, "acme.call"))
                        .await
                        .expect("enqueue"),
                );
            }
            tx.commit().await.expect("commit");
        }
        let events = |rows: &[samverkan::store::OutboxRow]| -> Vec<String> {
            rows.iter()
                .map(|r| r.message.event_id.to_string())
                .collect()
        };
        let all = store.pending_outbox(10).await.expect("pending");
        assert_eq!(events(&all), ["e1", "e2", "e3", "e4", "e5"], "{backend}");
        assert_eq!(
            events(&store.pending_outbox(2).await.expect("limit")),
            ["e1", "e2"]
        );

        store
            .mark_sent(None, &[ids[0], ids[2]])
            .await
            .expect("mark");
        store.mark_sent(None, &[ids[0]]).await.expect("again");
        store.mark_sent(None, &[]).await.expect("nothing");
        store.record_attempt(None, ids[1]).await.expect("attempt");
        store.close().await;

        // A restart: what was not confirmed is still there, in order.
        let restarted = open(&url).await;
        let left = restarted.pending_outbox(10).await.expect("pending");
        assert_eq!(events(&left), ["e2", "e4", "e5"], "{backend}");
        assert_eq!(left[0].attempts, 1);
        restarted.mark_sent(None, &ids).await.expect("mark all");
        assert!(
            restarted
                .pending_outbox(10)
                .await
                .expect("pending")
                .is_empty()
        );
        restarted.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works_for_tests_and_demo() {
    let store = open("sqlite::memory:").await;
    assert_eq!(store.backend(), Backend::Sqlite);
    seed_need(&store, "NEED-MEM", datetime!(2027-06-05 0:00 UTC)).await;
    let need = store.need(&key("NEED-MEM")).await.expect("read");
    assert_eq!(need.map(|n| n.recipients.len()), Some(2));
}

#[tokio::test]
async fn connect_errors_name_the_url_without_its_password() {
    let err = Store::connect("postgres://hub:s3cret@127.0.0.1:1/samverkan")
        .await
        .expect_err("nothing listens on port 1");
    let message = err.to_string();
    assert!(
        message.contains("postgres://hub:***@127.0.0.1:1/samverkan"),
        "{message}"
    );
    assert!(
        message.contains("pg_ctlcluster") && !message.contains("s3cret"),
        "{message}"
    );
    assert!(err.is_transient(), "a refused connection may succeed later");

    let err = Store::connect("mysql://root:s3cret@db/x")
        .await
        .expect_err("unsupported");
    assert!(matches!(err, StoreError::InvalidUrl { .. }) && !err.to_string().contains("s3cret"));
    let missing_dir = "sqlite:///nonexistent-dir/for/samverkan.db";
    let err = Store::connect(missing_dir)
        .await
        .expect_err("no such directory");
    assert!(err.to_string().contains("nonexistent-dir"), "{err}");
}
