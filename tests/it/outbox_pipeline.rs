//! The pipelined relay (`hub/outbox_relay/pipelined.rs`) and its one write per batch
//! (`Store::settle_and_claim`), on SQLite and PostgreSQL, with a broker stand-in that records
//! what it was given: order per organisation, an outage in the middle, a crash between the
//! broker's confirm and the sent mark.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use samverkan::hub::outbox_relay::{self, BODY_TOO_LARGE, RelayConfig};
use samverkan::store::{ClaimLimits, RowFate, Settlement, Store};
use samverkan::transport::{Outbound, Publish, Shutdown, ShutdownTrigger, TransportError};
use tokio::sync::Notify;

use crate::on_both;
use crate::outbox_retry::{enqueue, message, open};

/// A lease no test outlives.
pub(crate) const LONG: Duration = Duration::from_secs(600);

/// Every publish call: its event ids, and whether the broker confirmed them.
pub(crate) type Calls = Arc<Mutex<Vec<(Vec<String>, bool)>>>;

/// A broker stand-in: records every publish call (event ids, confirmed or not), fails the
/// calls named in `outage` as an outage, hangs for ever in the call `hang_at` (after counting
/// its messages as confirmed, as a broker that confirmed just before the relay died), and
/// notes, during each call, whether the store already holds the next batch's claim.
#[derive(Clone, Default)]
pub(crate) struct Broker {
    pub(crate) calls: Calls,
    pub(crate) outage: Vec<usize>,
    pub(crate) hang_at: Option<usize>,
    /// (store, this relay's batch size): the store to look at for claims made ahead.
    pub(crate) store: Option<Store>,
    pub(crate) claimed_ahead: Arc<Mutex<usize>>,
    /// Rows published that a commit handed to the relay (their claim is the handoff's).
    pub(crate) handed: Arc<Mutex<usize>>,
}

impl Publish for Broker {
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
            // A broker round trip, long enough for the store to claim the next batch meanwhile.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if let Some(store) = &this.store {
                // Rows claimed but not yet sent beyond this call's own: the next batch.
                let pending = store.pending_outbox(10_000).await.expect("pending");
                let claimed = pending
                    .iter()
                    .filter(|r| r.claim_token.is_some())
                    .filter(|r| !ids.contains(&r.message.event_id.to_string()))
                    .count();
                let mut most = this.claimed_ahead.lock().expect("claimed ahead");
                *most = (*most).max(claimed);
                let handed = pending
                    .iter()
                    .filter(|r| ids.contains(&r.message.event_id.to_string()))
                    .filter(|r| {
                        r.claim_token
                            .as_deref()
                            .is_some_and(|t| t.starts_with("handoff-"))
                    })
                    .count();
                *this.handed.lock().expect("handed") += handed;
            }
            let call = {
                let mut calls = this.calls.lock().expect("calls");
                let ok = !this.outage.contains(&calls.len());
                calls.push((ids.clone(), ok));
                calls.len() - 1
            };
            if this.hang_at == Some(call) {
                std::future::pending::<()>().await;
            }
            let mut results = Vec::with_capacity(ids.len());
            for id in ids {
                results.push(if this.outage.contains(&call) {
                    Err(TransportError::NotPublished {
                        event_id: id,
                        cause: "injected outage".into(),
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

impl Broker {
    /// Every event confirmed, in the order the broker confirmed them (repeats included).
    pub(crate) fn confirmed(&self) -> Vec<String> {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .filter(|(_, ok)| *ok)
            .flat_map(|(ids, _)| ids.clone())
            .collect()
    }
}

/// Three organisations' events, interleaved, written in several transactions.
async fn interleaved(store: &Store, per_org: usize) -> BTreeMap<&'static str, Vec<String>> {
    let mut expected: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for i in 0..per_org {
        let mut batch = Vec::new();
        for org in ["a", "b", "c"] {
            let id = format!("{org}{i:03}");
            let mut m = message(&id, b"{}".to_vec());
            m.routing_key = format!("{org}.se.samverkan.need.status.v1");
            batch.push(m);
            expected.entry(org).or_default().push(id);
        }
        enqueue(store, &batch).await;
    }
    expected
}

/// The relay of `store` publishing with `publisher`, until the trigger is pulled.
pub(crate) fn spawn_relay<P: Publish>(
    store: &Store,
    publisher: P,
    config: RelayConfig,
) -> (ShutdownTrigger, tokio::task::JoinHandle<()>) {
    let (trigger, shutdown) = Shutdown::new();
    let relay = tokio::spawn(outbox_relay::run(
        store.clone(),
        Arc::new(publisher),
        Arc::new(Notify::new()),
        config,
        shutdown,
    ));
    (trigger, relay)
}

/// Runs the relay until the outbox is flushed (with a deadline), then stops it.
async fn relay_until_flushed(store: &Store, broker: &Broker, config: RelayConfig) {
    let (trigger, relay) = spawn_relay(store, broker.clone(), config);
    let started = Instant::now();
    while !store.pending_outbox(1).await.expect("pending").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "not flushed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    trigger.trigger();
    relay.await.expect("relay");
}

pub(crate) fn per_org(events: &[String]) -> BTreeMap<&str, Vec<String>> {
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for id in events {
        seen.entry(&id[..1]).or_default().push(id.clone());
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipelined_relay_claims_ahead_and_keeps_each_organisations_order() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let expected = interleaved(&store, 40).await;
        let broker = Broker {
            store: Some(store.clone()),
            ..Broker::default()
        };
        let config = RelayConfig {
            batch: 16,
            lease: LONG,
            ..RelayConfig::default()
        };
        relay_until_flushed(&store, &broker, config).await;
        let confirmed = broker.confirmed();
        assert_eq!(confirmed.len(), 120, "{backend}: each event once");
        let seen = per_org(&confirmed);
        for (org, ids) in &expected {
            assert_eq!(&seen[org], ids, "{backend}: {org}'s events out of order");
        }
        let ahead = *broker.claimed_ahead.lock().expect("claimed ahead");
        assert!(
            ahead > 0 && ahead <= 16,
            "{backend}: the next batch was claimed while one was on the wire ({ahead} rows)"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_nothing_later_goes_out_before_what_was_given_back() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let expected = interleaved(&store, 30).await;
        // The second call meets a broker that is away; the third finds it back. A relay that
        // published the batch it had claimed meanwhile would put it ahead of the second's.
        let broker = Broker {
            outage: vec![1],
            ..Broker::default()
        };
        let config = RelayConfig {
            batch: 8,
            lease: LONG,
            ..RelayConfig::default()
        };
        relay_until_flushed(&store, &broker, config).await;
        let confirmed = broker.confirmed();
        assert_eq!(confirmed.len(), 90, "{backend}: each event confirmed once");
        let seen = per_org(&confirmed);
        for (org, ids) in &expected {
            assert_eq!(&seen[org], ids, "{backend}: {org}'s events out of order");
        }
        let pending = store.pending_outbox(10).await.expect("pending");
        assert!(pending.is_empty(), "{backend}");
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_dies_between_confirm_and_mark_has_its_rows_published_again() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        interleaved(&store, 10).await;
        let lease = Duration::from_secs(3);
        let config = RelayConfig {
            batch: 8,
            lease,
            ..RelayConfig::default()
        };
        // The first batch is confirmed by the broker, but its relay never returns to mark it.
        let dying = Broker {
            hang_at: Some(0),
            ..Broker::default()
        };
        let (_trigger, relay) = spawn_relay(&store, dying.clone(), config);
        let started = Instant::now();
        while dying.calls.lock().expect("calls").is_empty() {
            assert!(started.elapsed() < Duration::from_secs(10), "{backend}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        relay.abort();
        let _ = relay.await;
        let first: Vec<String> = dying.calls.lock().expect("calls")[0].0.clone();
        assert_eq!(first.len(), 8, "{backend}");
        assert_eq!(
            store.pending_outbox(100).await.expect("pending").len(),
            30,
            "{backend}: nothing marked sent without its mark"
        );
        // A new relay publishes everything, the first batch again once its lease ran out.
        let restarted = Broker::default();
        relay_until_flushed(&store, &restarted, config).await;
        let again = restarted.confirmed();
        assert_eq!(again.len(), 30, "{backend}: {again:?}");
        assert!(
            first.iter().all(|id| again.contains(id)),
            "{backend}: the confirmed but unmarked batch was published again"
        );
        assert!(
            started.elapsed() >= lease - Duration::from_millis(200),
            "{backend}: not before the lease ran out"
        );
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn one_transaction_records_every_fate_and_claims_the_next_batch() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let names = ["e1", "e2", "e3", "e4", "e5", "e6"];
        let ids = enqueue(
            &store,
            &names
                .iter()
                .map(|n| message(n, b"{}".to_vec()))
                .collect::<Vec<_>>(),
        )
        .await;
        let limits = ClaimLimits {
            rows: 4,
            bytes: i64::MAX,
            lease: LONG,
        };
        let first = store
            .settle_and_claim(&[], Some(limits))
            .await
            .expect("claim");
        assert_eq!(first.len(), 4, "{backend}");
        let token = first[0].claim_token.clone();
        let settlement = Settlement {
            claim: token,
            fates: vec![
                (ids[0], RowFate::Sent),
                (ids[1], RowFate::Release),
                (ids[2], RowFate::Retry(LONG)),
                (ids[3], RowFate::Park(BODY_TOO_LARGE, "1 byte over".into())),
            ],
        };
        let stale = Settlement {
            claim: Some("not-this-claim".into()),
            fates: vec![(ids[1], RowFate::Sent)],
        };
        let next = store
            .settle_and_claim(&[settlement, stale], Some(limits))
            .await
            .expect("settle and claim");
        let events: Vec<String> = next
            .iter()
            .map(|r| r.message.event_id.to_string())
            .collect();
        assert_eq!(
            events,
            ["e2", "e5", "e6"],
            "{backend}: e2 given back, e3 waits"
        );
        let pending: BTreeMap<String, i64> = store
            .pending_outbox(10)
            .await
            .expect("pending")
            .into_iter()
            .map(|r| (r.message.event_id.to_string(), r.attempts))
            .collect();
        let expected: BTreeMap<String, i64> = [("e2", 0), ("e3", 1), ("e5", 0), ("e6", 0)]
            .into_iter()
            .map(|(e, a)| (e.to_owned(), a))
            .collect();
        assert_eq!(pending, expected, "{backend}: e1 sent, e4 parked");
        assert_eq!(store.outbox_parked_count().await.expect("parked"), 1);
        store.close().await;
    })
    .await;
}
