//! Savepoints: several deliveries share one transaction (the worker's group commit) and each
//! can be undone alone — its rows and the feed entries collected for the commit — without
//! touching the others'.

use samverkan::event::{EventId, Source};
use samverkan::need::{Decision, NeedState};
use samverkan::store::StoreError;
use time::macros::datetime;

use super::{answer, event, for_org, key, new_need, on_both, open, org, seed_need};

#[tokio::test]
async fn rolling_back_to_a_savepoint_undoes_one_delivery_and_keeps_the_others() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let source = Source::for_org("VGR");
        let ids: Vec<EventId> = (0..3).map(|_| EventId::new_v7()).collect();
        let mut tx = store.begin().await.expect("begin");
        tx.savepoint().await.expect("savepoint 1");
        assert!(tx.record_inbox(&source, &ids[0]).await.expect("inbox 1"));
        tx.enqueue(&for_org("VGR", &event(1), 1)).await.expect("1");
        tx.release_savepoint().await.expect("release 1");

        tx.savepoint().await.expect("savepoint 2");
        assert!(tx.record_inbox(&source, &ids[1]).await.expect("inbox 2"));
        tx.enqueue(&for_org("VGR", &event(2), 2)).await.expect("2");
        tx.enqueue(&for_org("chalmers", &event(3), 3))
            .await
            .expect("3");
        tx.insert_need(&new_need("NEED-9", NeedState::Published, None))
            .await
            .expect("need");
        tx.rollback_to_savepoint().await.expect("roll back 2");
        tx.release_savepoint().await.expect("release 2");

        tx.savepoint().await.expect("savepoint 3");
        assert!(tx.record_inbox(&source, &ids[2]).await.expect("inbox 3"));
        tx.enqueue(&for_org("VGR", &event(4), 4)).await.expect("4");
        // Replaced by the next savepoint without an explicit release: kept.
        tx.savepoint().await.expect("savepoint 4");
        tx.commit().await.expect("commit");

        let vgr = store.feed_after(&org("VGR"), 0, 10).await.expect("feed");
        let bodies: Vec<_> = vgr.iter().map(|e| (e.seq, e.body.clone())).collect();
        assert_eq!(
            bodies,
            vec![(1, b"{\"n\":1}".to_vec()), (2, b"{\"n\":4}".to_vec())],
            "{backend}: the rolled-back delivery's entry reached no feed"
        );
        assert_eq!(store.feed_head(&org("chalmers")).await.expect("head"), 0);
        assert!(store.need(&key("NEED-9")).await.expect("read").is_none());
        let mut tx = store.begin().await.expect("begin");
        assert!(!tx.record_inbox(&source, &ids[0]).await.expect("kept 1"));
        assert!(tx.record_inbox(&source, &ids[1]).await.expect("undone 2"));
        assert!(!tx.record_inbox(&source, &ids[2]).await.expect("kept 3"));
        tx.rollback().await.expect("rollback");
        store.close().await;
    })
    .await;
}

/// On PostgreSQL a failed statement aborts the whole transaction; rolling back to the
/// savepoint makes it usable again, with the writes before the savepoint intact.
#[tokio::test]
async fn a_failed_statement_behind_a_savepoint_leaves_the_transaction_usable() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        seed_need(&store, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let source = Source::for_org("VGR");
        let kept = EventId::new_v7();
        let mut tx = store.begin().await.expect("begin");
        tx.savepoint().await.expect("savepoint");
        assert!(tx.record_inbox(&source, &kept).await.expect("inbox"));
        tx.release_savepoint().await.expect("release");
        tx.savepoint().await.expect("savepoint");
        let stranger = answer(
            "NEED-1",
            "stranger",
            &event(9),
            datetime!(2027-01-01 0:00 UTC),
            Decision::Offer,
        );
        let failed = tx.record_answer(&stranger).await;
        assert!(
            matches!(failed, Err(StoreError::NotRecipient { .. })),
            "{backend}: {failed:?}"
        );
        tx.rollback_to_savepoint().await.expect("roll back");
        assert!(!tx.is_broken());
        tx.enqueue(&for_org("VGR", &event(8), 8))
            .await
            .expect("usable");
        tx.commit().await.expect("commit");
        assert_eq!(
            store.feed_head(&org("VGR")).await.expect("head"),
            1,
            "{backend}"
        );
        let mut tx = store.begin().await.expect("begin");
        assert!(!tx.record_inbox(&source, &kept).await.expect("kept"));
        tx.rollback().await.expect("rollback");
        store.close().await;
    })
    .await;
}
