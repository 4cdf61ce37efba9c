//! Rows written behind (recipients, outbox rows, audit entries): kept in memory and written
//! together, yet in the database before the transaction reads them, in the order given, and
//! undone with the delivery that wrote them.

use samverkan::event::{EventId, Source};
use samverkan::need::{AnswerApplied, Decision, NeedState, RecipientKind};
use samverkan::store::{AuditAction, AuditEntry, Store, StoreError};
use time::macros::datetime;

use super::{
    answer, event, for_org, key, need_id, new_need, on_both, open, org, recipient, seed_need,
};

/// The bodies of `to`'s feed, in order.
async fn feed(store: &Store, to: &str) -> Vec<String> {
    let entries = store.feed_after(&org(to), 0, 10).await.expect("feed");
    entries
        .into_iter()
        .map(|e| String::from_utf8(e.body).expect("utf-8"))
        .collect()
}

fn routed(need: &str) -> AuditEntry {
    AuditEntry {
        need_id: Some(need_id(need)),
        ..AuditEntry::new(AuditAction::Routed)
    }
}

#[tokio::test]
async fn rows_written_behind_are_in_place_before_the_transaction_reads_them() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut tx = store.begin().await.expect("begin");
        tx.without_savepoints();
        tx.insert_need(&new_need("NEED-1", NeedState::Published, None))
            .await
            .expect("need");
        let recipients = [
            recipient("chalmers", RecipientKind::University, 0.9),
            recipient("acme", RecipientKind::Company, 0.4),
        ];
        tx.insert_recipients(&key("NEED-1"), &recipients)
            .await
            .expect("recipients");
        tx.enqueue_all(vec![
            for_org("VGR", &event(1), 1),
            for_org("chalmers", &event(2), 2),
        ])
        .await
        .expect("outbox");
        tx.audit(&routed("NEED-1")).await.expect("audit");

        // An answer's foreign key names its recipient row.
        let offer = answer(
            "NEED-1",
            "chalmers",
            &event(7),
            datetime!(2027-01-01 0:00 UTC),
            Decision::Offer,
        );
        let applied = tx.record_answer(&offer).await.expect("answer");
        assert_eq!(applied, AnswerApplied::Latest, "{backend}");
        tx.insert_need(&new_need("NEED-5", NeedState::Published, None))
            .await
            .expect("need");
        let acme = [recipient("acme", RecipientKind::Company, 0.4)];
        tx.insert_recipients(&key("NEED-5"), &acme)
            .await
            .expect("recipients");
        let loaded = tx.load_need_for_update(&key("NEED-5")).await;
        let loaded = loaded.expect("read").expect("the need");
        assert_eq!(
            loaded.recipients.len(),
            1,
            "{backend}: recipients read back"
        );
        // Written at once, after what was written behind.
        let third = tx.enqueue(&for_org("VGR", &event(3), 3)).await;
        let third = third.expect("enqueue");
        tx.commit().await.expect("commit");

        let pending = store.pending_outbox(10).await.expect("outbox");
        let order: Vec<_> = pending
            .iter()
            .map(|r| r.message.event_id.to_string())
            .collect();
        assert_eq!(order, [event(1), event(2), event(3)], "{backend}: id order");
        assert_eq!(pending.last().map(|r| r.id), Some(third));
        assert_eq!(feed(&store, "VGR").await, [r#"{"n":1}"#, r#"{"n":3}"#]);
        assert_eq!(feed(&store, "chalmers").await, [r#"{"n":2}"#]);
        let trail = store.audit_trail(&need_id("NEED-1")).await.expect("audit");
        assert_eq!(trail.len(), 1, "{backend}: the audit entry was written");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_delivery_undone_at_its_savepoint_leaves_nothing_it_wrote_behind() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut tx = store.begin().await.expect("begin");
        tx.savepoint().await.expect("savepoint 1");
        tx.enqueue_all(vec![for_org("VGR", &event(1), 1)])
            .await
            .expect("1");
        tx.audit(&routed("NEED-1")).await.expect("audit 1");
        tx.end_delivery().await.expect("end 1");
        tx.release_savepoint().await.expect("release 1");

        tx.savepoint().await.expect("savepoint 2");
        tx.insert_need(&new_need("NEED-2", NeedState::Published, None))
            .await
            .expect("need");
        let chalmers = [recipient("chalmers", RecipientKind::University, 0.9)];
        tx.insert_recipients(&key("NEED-2"), &chalmers)
            .await
            .expect("recipients");
        tx.enqueue_all(vec![for_org("chalmers", &event(2), 2)])
            .await
            .expect("2");
        tx.audit(&routed("NEED-2")).await.expect("audit 2");
        tx.rollback_to_savepoint().await.expect("roll back 2");
        tx.release_savepoint().await.expect("release 2");
        tx.commit().await.expect("commit");

        assert_eq!(feed(&store, "VGR").await, [r#"{"n":1}"#], "{backend}");
        assert!(feed(&store, "chalmers").await.is_empty(), "{backend}");
        let pending = store.pending_outbox(10).await.expect("outbox");
        assert_eq!(pending.len(), 1, "{backend}: only the kept delivery's row");
        assert!(store.need(&key("NEED-2")).await.expect("read").is_none());
        let undone = store.audit_trail(&need_id("NEED-2")).await.expect("audit");
        assert!(undone.is_empty(), "{backend}");
        let kept = store.audit_trail(&need_id("NEED-1")).await.expect("audit");
        assert_eq!(kept.len(), 1, "{backend}");
        store.close().await;
    })
    .await;
}

/// A row written behind that the database refuses fails where it is written: at the end of a
/// delivery with a savepoint (which is then undone alone), else at the commit.
#[tokio::test]
async fn a_row_written_behind_that_fails_fails_its_delivery_or_the_commit() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        // The same recipient twice: the primary key refuses the second.
        let twice = [
            recipient("chalmers", RecipientKind::University, 0.9),
            recipient("chalmers", RecipientKind::University, 0.9),
        ];
        let source = Source::for_org("VGR");
        let kept = EventId::new_v7();
        let mut tx = store.begin().await.expect("begin");
        tx.savepoint().await.expect("savepoint");
        assert!(tx.record_inbox(&source, &kept).await.expect("inbox"));
        tx.end_delivery().await.expect("end");
        tx.savepoint().await.expect("savepoint");
        tx.insert_need(&new_need("NEED-3", NeedState::Published, None))
            .await
            .expect("need");
        tx.insert_recipients(&key("NEED-3"), &twice)
            .await
            .expect("kept in memory");
        assert!(tx.end_delivery().await.is_err(), "{backend}");
        tx.rollback_to_savepoint().await.expect("roll back");
        assert!(!tx.is_broken(), "{backend}");
        tx.commit().await.expect("commit");
        assert!(store.need(&key("NEED-3")).await.expect("read").is_none());
        let mut tx = store.begin().await.expect("begin");
        assert!(!tx.record_inbox(&source, &kept).await.expect("kept"));
        tx.rollback().await.expect("rollback");

        let mut tx = store.begin().await.expect("begin");
        tx.without_savepoints();
        tx.insert_need(&new_need("NEED-4", NeedState::Published, None))
            .await
            .expect("need");
        tx.insert_recipients(&key("NEED-4"), &twice)
            .await
            .expect("kept in memory");
        tx.end_delivery()
            .await
            .expect("without savepoints: left for the commit");
        assert!(tx.write_pending().await.is_err(), "{backend}");
        assert!(
            tx.is_broken(),
            "{backend}: never committed short of its rows"
        );
        assert!(tx.commit().await.is_err(), "{backend}");
        assert!(store.need(&key("NEED-4")).await.expect("read").is_none());
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_need_id_in_use_written_behind_breaks_a_transaction_without_savepoints() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        seed_need(&store, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let mut tx = store.begin().await.expect("begin");
        tx.without_savepoints();
        tx.insert_need(&new_need("NEED-2", NeedState::Published, None))
            .await
            .expect("kept in memory");
        tx.insert_need(&new_need("NEED-1", NeedState::Published, None))
            .await
            .expect("kept in memory");
        let written = tx.write_pending().await;
        assert!(
            matches!(written, Err(StoreError::NoSavepoint)),
            "{backend}: {written:?}"
        );
        assert!(tx.is_broken(), "{backend}");
        tx.rollback().await.expect("rollback");
        assert!(store.need(&key("NEED-2")).await.expect("read").is_none());
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn events_recorded_ahead_are_answered_from_memory_and_must_all_be_handled() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let source = Source::for_org("VGR");
        let (a, b, c) = (EventId::new_v7(), EventId::new_v7(), EventId::new_v7());
        let mut tx = store.begin().await.expect("begin");
        assert!(tx.record_inbox(&source, &b).await.expect("b before"));
        tx.commit().await.expect("commit");

        let mut tx = store.begin().await.expect("begin");
        tx.without_savepoints();
        let events = [
            (source.clone(), a.clone()),
            (source.clone(), a.clone()),
            (source.clone(), b.clone()),
        ];
        tx.record_inbox_ahead(&events).await.expect("ahead");
        assert!(tx.record_inbox(&source, &a).await.expect("a"), "{backend}");
        assert!(!tx.record_inbox(&source, &a).await.expect("a again"));
        assert!(!tx.record_inbox(&source, &b).await.expect("b"), "{backend}");
        tx.commit().await.expect("commit");

        // Recorded ahead but never handled: the commit refuses to claim it processed.
        let mut tx = store.begin().await.expect("begin");
        tx.without_savepoints();
        tx.record_inbox_ahead(&[(source.clone(), c.clone())])
            .await
            .expect("ahead");
        let committed = tx.commit().await;
        assert!(
            matches!(committed, Err(StoreError::NoSavepoint)),
            "{backend}: {committed:?}"
        );
        let mut tx = store.begin().await.expect("begin");
        assert!(
            tx.record_inbox(&source, &c).await.expect("c"),
            "{backend}: c is new"
        );
        assert!(!tx.record_inbox(&source, &a).await.expect("a kept"));
        tx.rollback().await.expect("rollback");
        store.close().await;
    })
    .await;
}
