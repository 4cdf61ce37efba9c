//! Rows committed while the relay's batch awaits its confirms go out with that batch
//! (`hub/outbox_relay/handed.rs`, `Publish::publish_train`), on SQLite and PostgreSQL: a
//! broker stand-in holds a batch's confirms until a commit hands a row over, and the row
//! joins the batch instead of waiting for the next one.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use samverkan::hub::outbox_relay::RelayConfig;
use samverkan::store::Store;
use samverkan::transport::{More, Outbound, Publish, TransportError};
use tokio::sync::Notify;

use crate::on_both;
use crate::outbox_handoff::flushed;
use crate::outbox_pipeline::{LONG, spawn_relay};
use crate::outbox_retry::{enqueue_names, open};

/// How long a held batch waits for a row to be handed over before it gives up.
const HOLD: Duration = Duration::from_secs(10);

/// Records each batch (its event ids, the ones handed over while it was held after `+`) and
/// whether its rows had been handed over by a commit; while `hold` is set, a batch awaits
/// its confirms until `more` hands something over (at most [`HOLD`]).
#[derive(Clone)]
struct HeldConfirms {
    store: Store,
    batches: Arc<Mutex<Vec<Vec<String>>>>,
    handed_seen: Arc<AtomicBool>,
    hold: Arc<AtomicBool>,
    holding: Arc<Notify>,
}

fn ids(messages: &[Outbound]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m.message_id.clone().unwrap_or_default())
        .collect()
}

impl HeldConfirms {
    /// Notes whether a row of `ids` was handed over by its commit (its claim is the handoff's).
    async fn note_handed(&self, ids: &[String]) {
        let pending = self.store.pending_outbox(1_000).await.expect("pending");
        let handed = pending.iter().any(|r| {
            ids.contains(&r.message.event_id.to_string())
                && r.claim_token
                    .as_deref()
                    .is_some_and(|t| t.starts_with("handoff-"))
        });
        if handed {
            self.handed_seen.store(true, Ordering::SeqCst);
        }
    }

    fn batches(&self) -> Vec<Vec<String>> {
        self.batches.lock().expect("batches").clone()
    }
}

impl Publish for HeldConfirms {
    async fn publish_all(&self, messages: &[Outbound]) -> Vec<Result<(), TransportError>> {
        let mut more = samverkan::transport::NoMore;
        self.publish_train(messages, &mut more).await
    }

    async fn publish_train<M: More>(
        &self,
        first: &[Outbound],
        more: &mut M,
    ) -> Vec<Result<(), TransportError>> {
        let mut batch = ids(first);
        self.note_handed(&batch).await;
        if self.hold.load(Ordering::SeqCst) {
            self.holding.notify_one();
            if let Ok(joined) = tokio::time::timeout(HOLD, more.more()).await {
                batch.push("+".to_owned());
                batch.extend(ids(&joined));
            }
        }
        let sent = batch.iter().filter(|id| *id != "+").count();
        self.batches.lock().expect("batches").push(batch);
        let mut results = Vec::with_capacity(sent);
        for _ in 0..sent {
            results.push(Ok(()));
        }
        results
    }
}

#[tokio::test]
async fn a_row_committed_while_a_batch_awaits_its_confirms_goes_out_with_that_batch() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let broker = HeldConfirms {
            store: store.clone(),
            batches: Arc::default(),
            handed_seen: Arc::default(),
            hold: Arc::default(),
            holding: Arc::default(),
        };
        let config = RelayConfig {
            lease: LONG,
            ..RelayConfig::default()
        };
        let (trigger, relay) = spawn_relay(&store, broker.clone(), config);
        // Until the relay publishes a row a commit handed over, it has not caught up with the
        // backlog (its claims take the rows): one row at a time until then.
        for i in 0.. {
            assert!(i < 100, "{backend}: the relay never took a handed-over row");
            enqueue_names(&store, &[&format!("warm-{i}")]).await;
            flushed(&store, backend).await;
            if broker.handed_seen.load(Ordering::SeqCst) {
                break;
            }
        }
        broker.hold.store(true, Ordering::SeqCst);
        let holding = broker.holding.notified();
        enqueue_names(&store, &["held"]).await;
        tokio::time::timeout(HOLD, holding)
            .await
            .unwrap_or_else(|_| panic!("{backend}: the batch with `held` was never published"));
        // Its confirms are outstanding: a row committed now is handed over and joins it.
        enqueue_names(&store, &["joined"]).await;
        flushed(&store, backend).await;
        trigger.trigger();
        relay.await.expect("relay");

        let batches = broker.batches();
        let held = batches
            .iter()
            .find(|b| b.first().is_some_and(|id| id == "held"))
            .unwrap_or_else(|| panic!("{backend}: {batches:?}"));
        assert_eq!(held, &["held", "+", "joined"], "{backend}: {batches:?}");
        let joined_alone = batches
            .iter()
            .filter(|b| b.contains(&"joined".to_owned()))
            .count();
        assert_eq!(joined_alone, 1, "{backend}: published once: {batches:?}");
        store.close().await;
    })
    .await;
}
