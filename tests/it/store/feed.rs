//! Organisations' feeds: what a transaction enqueues for an organisation is appended to its
//! feed at the commit, numbered 1, 2, 3, … per organisation, and nothing is appended by a
//! transaction that rolls back.

use samverkan::store::Store;

use super::{event, for_org, message, on_both, open, org};

async fn bodies(store: &Store, to: &str, after: i64, limit: u32) -> Vec<(i64, String)> {
    store
        .feed_after(&org(to), after, limit)
        .await
        .expect("feed")
        .into_iter()
        .map(|e| (e.seq, String::from_utf8(e.body).expect("utf-8")))
        .collect()
}

#[tokio::test]
async fn each_organisation_reads_its_own_events_in_order_after_a_position() {
    on_both(|_, url| async move {
        let store = open(&url).await;
        let mut changes = store.feed_changes();
        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&for_org("VGR", &event(1), 1))
            .await
            .expect("one");
        tx.enqueue(&for_org("chalmers", &event(2), 2))
            .await
            .expect("two");
        tx.enqueue(&for_org("VGR", &event(3), 3))
            .await
            .expect("three");
        // Not addressed to an organisation: in the outbox, not in any feed.
        tx.enqueue(&message(&event(4), "dead"))
            .await
            .expect("dead letter");
        tx.commit().await.expect("commit");
        assert!(
            changes.has_changed().expect("signal"),
            "the commit ticks the signal"
        );
        changes.mark_unchanged();

        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&for_org("VGR", &event(5), 5))
            .await
            .expect("three");
        tx.commit().await.expect("commit");

        let vgr = bodies(&store, "VGR", 0, 10).await;
        let expected = [(1, r#"{"n":1}"#), (2, r#"{"n":3}"#), (3, r#"{"n":5}"#)];
        let expected: Vec<(i64, String)> = expected
            .iter()
            .map(|(s, b)| (*s, (*b).to_owned()))
            .collect();
        assert_eq!(vgr, expected);
        assert_eq!(bodies(&store, "VGR", 1, 1).await, expected[1..2]);
        assert_eq!(bodies(&store, "VGR", 3, 10).await, []);
        assert_eq!(
            bodies(&store, "chalmers", 0, 10).await,
            [(1, r#"{"n":2}"#.to_owned())]
        );
        assert_eq!(store.feed_head(&org("VGR")).await.expect("head"), 3);
        assert_eq!(store.feed_head(&org("acme")).await.expect("head"), 0);
        let first = &store.feed_after(&org("VGR"), 0, 1).await.expect("feed")[0];
        assert_eq!(first.event_id.as_ref(), event(1));
        assert_eq!(first.event_type, "se.samverkan.need.status.v1");
    })
    .await;
}

#[tokio::test]
async fn a_rolled_back_transaction_appends_nothing_and_takes_no_number() {
    on_both(|_, url| async move {
        let store = open(&url).await;
        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&for_org("VGR", &event(1), 1))
            .await
            .expect("one");
        tx.rollback().await.expect("rollback");
        let changes = store.feed_changes();

        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&for_org("VGR", &event(2), 2))
            .await
            .expect("two");
        drop(tx);
        assert!(
            !changes.has_changed().expect("signal"),
            "no commit, no tick"
        );

        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&for_org("VGR", &event(3), 3))
            .await
            .expect("three");
        tx.commit().await.expect("commit");
        assert_eq!(
            bodies(&store, "VGR", 0, 10).await,
            [(1, r#"{"n":3}"#.to_owned())]
        );
    })
    .await;
}
