//! The handoff (`store/handoff.rs`): a commit's outbox rows written claimed and handed to this
//! process's relay, the fall-back to unclaimed rows when the relay is behind, the rule that
//! turns handing over back on, and the relay publishing handed rows in order across an outage.

use std::time::{Duration, Instant};

use samverkan::hub::outbox_relay::RelayConfig;
use samverkan::store::{Backend, HANDOFF_CAPACITY, HandoffReceiver, Store};

use crate::on_both;
use crate::outbox_pipeline::{Broker, LONG, per_org, spawn_relay};
use crate::outbox_retry::{enqueue, message, open};

/// What the relay does to catch up: turns handing over on and claims; returns the rows the
/// claim took and whether it caught up.
async fn catch_up(store: &Store, handoff: &HandoffReceiver) -> (usize, bool) {
    handoff.reopen();
    let before = handoff.before_claim();
    let claimed = store.claim_outbox(100, LONG).await.expect("claim");
    (claimed.len(), handoff.caught_up(before))
}

/// Waits until every row is confirmed and marked sent.
pub(crate) async fn flushed(store: &Store, backend: Backend) {
    let started = Instant::now();
    while !store.pending_outbox(1).await.expect("pending").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{backend}: not flushed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The event ids a claim takes now.
async fn claimable(store: &Store) -> Vec<String> {
    let claimed = store.claim_outbox(100, LONG).await.expect("claim");
    claimed
        .iter()
        .map(|r| r.message.event_id.to_string())
        .collect()
}

#[tokio::test]
async fn a_commit_hands_its_rows_over_claimed_and_a_rolled_back_delivery_hands_nothing() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut handoff = store
            .hand_off(LONG)
            .expect("the first relay gets the handoff");
        assert!(
            store.hand_off(LONG).is_none(),
            "{backend}: one relay holds it"
        );
        assert!(
            !handoff.is_direct(),
            "{backend}: off until the relay turns it on"
        );
        assert_eq!(catch_up(&store, &handoff).await, (0, true), "{backend}");
        assert!(handoff.is_direct(), "{backend}");

        // Two deliveries in one transaction; the second is rolled back to its savepoint.
        let mut tx = store.begin().await.expect("begin");
        tx.savepoint().await.expect("savepoint");
        tx.enqueue(&message("kept", b"{}".to_vec()))
            .await
            .expect("enqueue");
        tx.savepoint().await.expect("savepoint");
        tx.enqueue(&message("undone", b"{}".to_vec()))
            .await
            .expect("enqueue");
        tx.rollback_to_savepoint()
            .await
            .expect("rollback to savepoint");
        tx.commit().await.expect("commit");

        let handed = handoff.try_take().expect("the commit handed its rows over");
        let events: Vec<String> = handed
            .rows
            .iter()
            .map(|r| r.message.event_id.to_string())
            .collect();
        assert_eq!(events, ["kept"], "{backend}");
        let token = handed.rows[0].claim_token.clone().expect("claimed");
        assert!(
            claimable(&store).await.is_empty(),
            "{backend}: no claim takes it"
        );
        let pending = store.pending_outbox(10).await.expect("pending");
        assert_eq!(pending.len(), 1, "{backend}: written, unsent");
        assert_eq!(pending[0].claim_token.as_deref(), Some(token.as_str()));

        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&message("rolled-back", b"{}".to_vec()))
            .await
            .expect("enqueue");
        tx.rollback().await.expect("rollback");
        assert!(
            handoff.try_take().is_none(),
            "{backend}: nothing handed over"
        );

        store
            .mark_sent(Some(&token), &[handed.rows[0].id])
            .await
            .expect("mark");
        assert!(
            store.pending_outbox(10).await.expect("pending").is_empty(),
            "{backend}"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_full_handoff_falls_back_to_unclaimed_rows_until_a_claim_has_caught_up() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut handoff = store.hand_off(LONG).expect("handoff");
        assert_eq!(catch_up(&store, &handoff).await, (0, true), "{backend}");
        // The relay takes nothing: the channel fills, one commit per slot.
        for i in 0..HANDOFF_CAPACITY {
            enqueue(&store, &[message(&format!("h{i}"), b"{}".to_vec())]).await;
        }
        assert!(
            claimable(&store).await.is_empty(),
            "{backend}: all handed over"
        );
        enqueue(&store, &[message("late1", b"{}".to_vec())]).await;
        assert!(
            !handoff.is_direct(),
            "{backend}: a full handoff turns itself off"
        );
        enqueue(&store, &[message("late2", b"{}".to_vec())]).await;
        let mut handed = 0;
        while handoff.try_take().is_some() {
            handed += 1;
        }
        assert_eq!(handed, HANDOFF_CAPACITY, "{backend}");

        // The relay turns it on again and claims: the unclaimed rows, oldest first, and no
        // more, so it has caught up. A commit meanwhile is handed over, after them.
        handoff.reopen();
        enqueue(&store, &[message("meanwhile", b"{}".to_vec())]).await;
        let before = handoff.before_claim();
        assert_eq!(claimable(&store).await, ["late1", "late2"], "{backend}");
        assert!(handoff.caught_up(before), "{backend}");
        let meanwhile = handoff.try_take().expect("handed over");
        assert_eq!(meanwhile.rows[0].message.event_id.to_string(), "meanwhile");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_unclaimed_write_under_way_during_a_claim_keeps_the_relay_from_catching_up() {
    on_both(|backend, url| async move {
        if backend == Backend::Sqlite {
            // One writer: a claim cannot run while a transaction writes.
            return;
        }
        let store = open(&url).await;
        let handoff = store.hand_off(LONG).expect("handoff");
        // Handing over is off at the start, so this write is unclaimed; it is not committed
        // while the relay claims, so the claim cannot see it.
        let mut tx = store.begin().await.expect("begin");
        tx.enqueue(&message("unseen", b"{}".to_vec()))
            .await
            .expect("enqueue");
        assert_eq!(
            catch_up(&store, &handoff).await,
            (0, false),
            "{backend}: a row committed later would be overtaken"
        );
        tx.commit().await.expect("commit");
        assert_eq!(catch_up(&store, &handoff).await, (1, true), "{backend}");
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_committed_while_the_relay_runs_go_out_handed_over_in_order_across_an_outage() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        // The fourth publish call meets a broker that is away: the rows handed over then go back
        // and out again after the ones before them.
        let broker = Broker {
            outage: vec![3],
            store: Some(store.clone()),
            ..Broker::default()
        };
        let config = RelayConfig {
            batch: 4,
            lease: LONG,
            ..RelayConfig::default()
        };
        let (trigger, relay) = spawn_relay(&store, broker.clone(), config);
        // Once the relay has published the first batch, its claims have caught up, so the
        // commits after it are handed over (the first of them at least, into an empty channel).
        let mut expected: Vec<String> = Vec::new();
        for i in 0..60 {
            let batch: Vec<_> = ["a", "b", "c"]
                .iter()
                .map(|org| {
                    let mut m = message(&format!("{org}{i:03}"), b"{}".to_vec());
                    m.routing_key = format!("{org}.se.samverkan.need.status.v1");
                    m
                })
                .collect();
            expected.extend(batch.iter().map(|m| m.event_id.to_string()));
            enqueue(&store, &batch).await;
            if i == 0 {
                flushed(&store, backend).await;
            } else {
                // Paces the stream so that it goes on through the outage and the catching up
                // after it (what is tested does not depend on the pace).
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        flushed(&store, backend).await;
        trigger.trigger();
        relay.await.expect("relay");
        let confirmed = broker.confirmed();
        assert_eq!(confirmed.len(), 180, "{backend}: each event confirmed once");
        let seen = per_org(&confirmed);
        for (org, ids) in &per_org(&expected) {
            assert_eq!(&seen[org], ids, "{backend}: {org}'s events out of order");
        }
        let handed = *broker.handed.lock().expect("handed");
        assert!(handed > 0, "{backend}: no row was handed over");
        store.close().await;
    })
    .await;
}
