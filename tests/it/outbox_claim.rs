//! Outbox claims: relays sharing one database hand each unsent row to one of them at a time.
//!
//! Every test runs on SQLite (a temporary file) and on PostgreSQL (a fresh database per test,
//! dropped afterwards, pass or fail; see `hub_faults::PgDatabase`). Concurrent claimers are
//! separate [`Store`]s, so they share nothing but the database, like two hub processes.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use samverkan::event::EventId;
use samverkan::hub::outbox_relay::{self, RelayConfig};
use samverkan::store::{OutboxMessage, OutboxRow, Store};
use samverkan::transport::{Outbound, Publish, TransportError};

use crate::on_both;

/// A lease no test outlives.
const LONG: Duration = Duration::from_secs(600);

async fn open(url: &str) -> Store {
    Store::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

/// Writes one outbox row per event, in order, and returns their ids.
async fn enqueue(store: &Store, events: &[String]) -> Vec<i64> {
    let mut tx = store.begin().await.expect("begin");
    let mut ids = Vec::with_capacity(events.len());
    for event in events {
        let message = OutboxMessage {
            event_id: EventId::parse(event).expect("event id"),
            exchange: "samverkan.egress".into(),
            routing_key: "acme.call".into(),
            content_type: "application/cloudevents+json".into(),
            correlation_id: None,
            kind: None,
            message_id: None,
            headers: BTreeMap::new(),
            body: b"{}".to_vec(),
            recipient: None,
        };
        ids.push(tx.enqueue(&message).await.expect("enqueue"));
    }
    tx.commit().await.expect("commit");
    ids
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}{i}")).collect()
}

fn events(rows: &[OutboxRow]) -> Vec<String> {
    rows.iter()
        .map(|r| r.message.event_id.to_string())
        .collect()
}

async fn claim(store: &Store, limit: i64, lease: Duration) -> Vec<String> {
    events(&store.claim_outbox(limit, lease).await.expect("claim"))
}

/// Claims batches of `limit` until nothing is left for this claimer; every batch comes in id
/// order and within the limit.
async fn drain(store: Store, limit: usize) -> Vec<i64> {
    let mut taken = Vec::new();
    loop {
        let rows = store
            .claim_outbox(i64::try_from(limit).expect("limit"), LONG)
            .await
            .expect("claim");
        if rows.is_empty() {
            store.close().await;
            return taken;
        }
        assert!(
            rows.len() <= limit,
            "{} rows over a limit of {limit}",
            rows.len()
        );
        assert!(rows.is_sorted_by_key(|r| r.id), "a batch out of id order");
        taken.extend(rows.iter().map(|r| r.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_take_disjoint_rows_that_cover_the_outbox() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let all: BTreeSet<i64> = enqueue(&store, &names("e", 400))
            .await
            .into_iter()
            .collect();
        let mut claimers = Vec::new();
        for _ in 0..4 {
            claimers.push(tokio::spawn(drain(open(&url).await, 16)));
        }
        let mut taken = Vec::new();
        let mut busy = 0;
        for claimer in claimers {
            let ids = claimer.await.expect("claimer");
            busy += usize::from(!ids.is_empty());
            taken.extend(ids);
        }
        let distinct: BTreeSet<i64> = taken.iter().copied().collect();
        assert_eq!(
            taken.len(),
            distinct.len(),
            "{backend}: a row was handed out twice"
        );
        assert_eq!(distinct, all, "{backend}: every unsent row was handed out");
        eprintln!("{backend}: {busy} of 4 claimers got rows");
        assert!(claim(&store, 1000, LONG).await.is_empty(), "{backend}");
        assert_eq!(
            store.pending_outbox(1000).await.expect("pending").len(),
            400
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_claimed_row_is_handed_out_again_only_when_its_lease_runs_out() {
    on_both(|backend, url| async move {
        let short = Duration::from_millis(1500);
        let first = open(&url).await;
        enqueue(&first, &names("e", 3)).await;
        assert_eq!(claim(&first, 2, short).await, ["e1", "e2"], "{backend}");
        // The hub holding e1 and e2 dies; its successor (another store) sees only e3.
        first.close().await;
        let next = open(&url).await;
        assert_eq!(claim(&next, 10, LONG).await, ["e3"], "{backend}");
        assert!(
            claim(&next, 10, LONG).await.is_empty(),
            "{backend}: all held"
        );
        tokio::time::sleep(short + Duration::from_millis(200)).await;
        assert_eq!(
            claim(&next, 10, LONG).await,
            ["e1", "e2"],
            "{backend}: expired"
        );
        assert!(
            claim(&next, 10, LONG).await.is_empty(),
            "{backend}: all held again"
        );
        next.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_failed_row_is_handed_out_again_at_once() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue(&store, &names("e", 3)).await;
        assert_eq!(
            claim(&store, 10, LONG).await,
            ["e1", "e2", "e3"],
            "{backend}"
        );
        store.record_attempt(None, ids[1]).await.expect("attempt");
        let again = store.claim_outbox(10, LONG).await.expect("claim");
        assert_eq!(events(&again), ["e2"], "{backend}");
        assert_eq!(again[0].attempts, 1, "{backend}");
        assert!(claim(&store, 10, LONG).await.is_empty(), "{backend}");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn sent_rows_are_never_handed_out() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue(&store, &names("e", 3)).await;
        // Sent while unclaimed, and sent while claimed with a lease that runs out at once.
        store.mark_sent(None, &[ids[1]]).await.expect("mark");
        assert_eq!(
            claim(&store, 10, Duration::ZERO).await,
            ["e1", "e3"],
            "{backend}"
        );
        store.mark_sent(None, &[ids[0]]).await.expect("mark");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(claim(&store, 10, Duration::ZERO).await, ["e3"], "{backend}");
        store.mark_sent(None, &[ids[2]]).await.expect("mark");
        // A failure recorded late (after the row was sent) does not bring it back.
        store.record_attempt(None, ids[2]).await.expect("attempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(claim(&store, 10, LONG).await.is_empty(), "{backend}");
        assert!(store.pending_outbox(10).await.expect("pending").is_empty());
        store.close().await;
    })
    .await;
}

/// A broker stand-in shared by several relays: records every publish, fails chosen events once.
#[derive(Clone, Default)]
struct Recorder {
    /// (event id, confirmed) for every publish, in order.
    log: Arc<Mutex<Vec<(String, bool)>>>,
    fail_once: Arc<Mutex<BTreeSet<String>>>,
}

impl Publish for Recorder {
    fn publish_all(
        &self,
        messages: &[Outbound],
    ) -> impl Future<Output = Vec<Result<(), TransportError>>> + Send {
        let ids: Vec<String> = messages
            .iter()
            .map(|m| m.message_id.clone().unwrap_or_default())
            .collect();
        let this = self.clone();
        async move {
            // A broker round trip, so that the relays' batches overlap in time.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let mut fail = this.fail_once.lock().expect("fail set");
            let mut log = this.log.lock().expect("log");
            let mut results = Vec::with_capacity(ids.len());
            for event_id in ids {
                let failed = fail.remove(&event_id);
                log.push((event_id.clone(), !failed));
                results.push(if failed {
                    Err(TransportError::NotPublished {
                        event_id,
                        cause: "injected".into(),
                        transient: true,
                    })
                } else {
                    Ok(())
                });
            }
            results
        }
    }
}

async fn relay_until_flushed(store: Store, broker: Recorder) {
    let config = RelayConfig {
        batch: 8,
        lease: LONG,
        ..RelayConfig::default()
    };
    loop {
        let pass = outbox_relay::relay_once(&store, &broker, &config)
            .await
            .expect("relay");
        if pass.claimed == 0 {
            if store.pending_outbox(1).await.expect("pending").is_empty() {
                break;
            }
            // The other relay holds what is left.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_publish_every_row_once_and_retry_a_failed_one() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let all = names("e", 120);
        enqueue(&store, &all).await;
        let broker = Recorder::default();
        broker
            .fail_once
            .lock()
            .expect("fail set")
            .extend(["e7".into(), "e60".into()]);
        let relays = [
            tokio::spawn(relay_until_flushed(open(&url).await, broker.clone())),
            tokio::spawn(relay_until_flushed(open(&url).await, broker.clone())),
        ];
        for relay in relays {
            relay.await.expect("relay");
        }
        let log = broker.log.lock().expect("log").clone();
        let confirmed: Vec<&str> = log
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(e, _)| e.as_str())
            .collect();
        let distinct: BTreeSet<&str> = confirmed.iter().copied().collect();
        assert_eq!(
            confirmed.len(),
            distinct.len(),
            "{backend}: an event published twice"
        );
        assert_eq!(
            distinct.len(),
            all.len(),
            "{backend}: an event not published"
        );
        assert_eq!(
            log.len(),
            all.len() + 2,
            "{backend}: one retry each for e7 and e60"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_relay_whose_lease_ran_out_cannot_mark_rows_another_relay_claimed() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let ids = enqueue(&store, &names("e", 2)).await;
        // Relay A claims with a lease that runs out at once; relay B claims the same rows.
        let stale = store
            .claim_outbox(10, Duration::ZERO)
            .await
            .expect("claim A");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let current = store.claim_outbox(10, LONG).await.expect("claim B");
        assert_eq!(events(&current), ["e1", "e2"], "{backend}");
        let (a, b) = (stale[0].claim_token.clone(), current[0].claim_token.clone());
        assert!(
            a.is_some() && b.is_some() && a != b,
            "{backend}: {a:?} {b:?}"
        );
        // A's late writes change nothing: not sent, no attempt counted, not parked.
        store
            .mark_sent(a.as_deref(), &[ids[0]])
            .await
            .expect("A marks");
        store
            .record_attempt(a.as_deref(), ids[1])
            .await
            .expect("A fails");
        store
            .park(
                a.as_deref(),
                ids[1],
                samverkan::hub::outbox_relay::BODY_TOO_LARGE,
                "late",
            )
            .await
            .expect("A parks");
        let pending = store.pending_outbox(10).await.expect("pending");
        assert_eq!(events(&pending), ["e1", "e2"], "{backend}");
        assert!(pending.iter().all(|row| row.attempts == 0), "{backend}");
        assert_eq!(store.outbox_parked_count().await.expect("parked"), 0);
        // B's writes apply.
        store.mark_sent(b.as_deref(), &ids).await.expect("B marks");
        assert!(
            store.pending_outbox(10).await.expect("pending").is_empty(),
            "{backend}"
        );
        store.close().await;
    })
    .await;
}
