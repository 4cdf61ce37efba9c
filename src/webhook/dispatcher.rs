//! One organisation's webhook delivery: handshake, then its feed in order, one event at a time.
//!
//! Each organisation with a webhook gets a task of its own (`mod.rs` spawns them), so a slow or
//! dead receiver only ever holds up its own organisation; the request timeout bounds every
//! attempt. The task first takes the lease on the organisation's delivery state (only one hub
//! instance delivers it; `store/webhook_state.rs`), then loops: renew the lease, re-read the
//! organisation's webhook (it may have been removed or changed through the API), handshake if
//! the URL is not validated, pick the next event — a requeued parked one first, else the feed
//! after the delivered position — wait for its next attempt time, POST it, and record the
//! outcome before anything else happens. Every write carries the lease's token; a refused write
//! means another instance has taken over, and this one stops.
//!
//! An event is retried until `retry_horizon_secs` after its first failure and then parked, so
//! one broken event delays its organisation's later events by at most the horizon. Times are
//! the real clock's, whatever `hub.fixed_date` pins.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::watch;

use super::Shared;
use super::deliver::{Outcome, deliver};
use super::handshake::{Handshake, handshake};
use super::target::{Target, shown_url, target_of};
use crate::settings::Organisation;
use crate::store::{FeedEvent, ParkedWebhookEvent, StoreError, WebhookState};
use crate::transport::Shutdown;

/// Shortest and longest pause after the store failed.
const MIN_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// Why a leased stretch of delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The hub is stopping.
    Shutdown,
    /// The organisation has no webhook any more.
    Gone,
    /// Another instance holds the lease now.
    LostLease,
}

/// The next event to send and whether it is a requeued parked one.
struct Item {
    event: FeedEvent,
    requeued: bool,
}

/// Deliver `org`'s webhooks until shutdown or until it has none.
pub(super) async fn run(shared: std::sync::Arc<Shared>, org: Organisation, shutdown: Shutdown) {
    let store = shared.pipeline.store();
    while !shutdown.is_triggered() {
        let target = match target_of(store, &org).await {
            Ok(Some(target)) => target,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(org = %org.id, error = %e, "webhooks cannot read the store; retrying");
                pause(shared.wait_cap(), &shutdown).await;
                continue;
            }
        };
        match store
            .lease_webhook(&org.id, &target.url, shared.settings.lease())
            .await
        {
            Ok(Some(lease)) => {
                let mut worker = Worker {
                    shared: &shared,
                    org: &org,
                    token: lease.token,
                    state: lease.state,
                    renewed: Some(Instant::now()),
                    feed: store.feed_changes(),
                };
                let stop = worker.work(&shutdown).await;
                if stop != Stop::LostLease {
                    if let Err(e) = store.release_webhook_lease(&org.id, &worker.token).await {
                        tracing::debug!(org = %org.id, error = %e, "webhook lease not released");
                    }
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(org = %org.id, error = %e, "webhooks cannot lease; retrying"),
        }
        pause(shared.wait_cap(), &shutdown).await;
    }
}

/// A dispatcher holding the lease.
struct Worker<'a> {
    shared: &'a Shared,
    org: &'a Organisation,
    token: String,
    state: WebhookState,
    /// When the lease was last taken or renewed; `None`: renew it first thing.
    renewed: Option<Instant>,
    feed: watch::Receiver<u64>,
}

impl Worker<'_> {
    async fn work(&mut self, shutdown: &Shutdown) -> Stop {
        let mut trouble = 0u32;
        loop {
            if shutdown.is_triggered() {
                return Stop::Shutdown;
            }
            match self.step(shutdown).await {
                Ok(None) => trouble = 0,
                Ok(Some(stop)) => return stop,
                Err(e) => {
                    trouble = trouble.saturating_add(1);
                    tracing::warn!(org = %self.org.id, error = %e, "webhook delivery cannot use the store; retrying");
                    // Renew first thing after the pause: the lease may be all that is left.
                    self.renewed = None;
                    let wait = MIN_PAUSE.saturating_mul(1 << trouble.min(6)).min(MAX_PAUSE);
                    pause(wait, shutdown).await;
                }
            }
        }
    }

    /// One turn: `Some` when delivery must stop.
    async fn step(&mut self, shutdown: &Shutdown) -> Result<Option<Stop>, StoreError> {
        if !self.renew_if_due().await? {
            return Ok(Some(Stop::LostLease));
        }
        let store = self.shared.pipeline.store();
        let Some(target) = target_of(store, self.org).await? else {
            return Ok(Some(Stop::Gone));
        };
        if self.state.url != target.url {
            // A new URL must pass a handshake of its own; the feed position stays.
            self.state.url.clone_from(&target.url);
            self.state.validated_at = None;
            self.state.current_seq = 0;
            self.state.clear_failures();
            return self.save().await;
        }
        if self.state.validated_at.is_none() {
            return self.validate(&target, shutdown).await;
        }
        let Some(item) = self.next_item().await? else {
            self.idle(shutdown).await;
            return Ok(None);
        };
        if self.state.current_seq != item.event.seq {
            self.state.current_seq = item.event.seq;
            self.state.clear_failures();
        }
        if self.wait_until_due(shutdown).await {
            return Ok(None);
        }
        self.attempt(&target, item, shutdown).await
    }

    async fn renew_if_due(&mut self) -> Result<bool, StoreError> {
        let lease = self.shared.settings.lease();
        if self.renewed.is_some_and(|at| at.elapsed() < lease / 3) {
            return Ok(true);
        }
        let renewed = self
            .shared
            .pipeline
            .store()
            .renew_webhook_lease(&self.org.id, &self.token, lease)
            .await?;
        self.renewed = Some(Instant::now());
        Ok(renewed)
    }

    /// Write the state; a refused write means the lease is gone.
    async fn save(&self) -> Result<Option<Stop>, StoreError> {
        let store = self.shared.pipeline.store();
        let saved = store.save_webhook_state(&self.token, &self.state).await?;
        Ok((!saved).then_some(Stop::LostLease))
    }

    async fn validate(
        &mut self,
        target: &Target,
        shutdown: &Shutdown,
    ) -> Result<Option<Stop>, StoreError> {
        if self.wait_until_due(shutdown).await {
            return Ok(None);
        }
        let outcome = match self.shared.clients.for_target(target) {
            Err(kind) => Handshake::Failed {
                error: kind.to_owned(),
                after: None,
            },
            Ok(client) => tokio::select! {
                outcome = handshake(client, &target.url, &self.shared.settings.origin) => outcome,
                () = shutdown.wait() => return Ok(Some(Stop::Shutdown)),
            },
        };
        let now = OffsetDateTime::now_utc();
        match outcome {
            Handshake::Validated => {
                self.state.validated_at = Some(now);
                self.state.clear_failures();
            }
            Handshake::Failed { error, after } => {
                self.state.attempts += 1;
                self.state.first_failure.get_or_insert(now);
                let delay = self.shared.schedule.delay(self.state.attempts, after);
                self.state.next_attempt = later(now, delay);
                if self.state.attempts == 1 {
                    tracing::warn!(
                        org = %self.org.id, url = %shown_url(&target.url), status = %error,
                        "webhook handshake failed; no events are sent until the endpoint \
                         answers it (README \"Webhooks\"); retrying"
                    );
                }
                self.state.last_error = Some(error);
            }
        }
        self.save().await
    }

    /// A requeued parked event first, else the feed's next one after the delivered position.
    async fn next_item(&self) -> Result<Option<Item>, StoreError> {
        let store = self.shared.pipeline.store();
        let org = &self.org.id;
        if let Some(seq) = store.next_requeued_webhook_event(org).await? {
            let event = store.feed_after(org, seq - 1, 1).await?.into_iter().next();
            if let Some(event) = event.filter(|e| e.seq == seq) {
                return Ok(Some(Item {
                    event,
                    requeued: true,
                }));
            }
            tracing::warn!(org = %org, seq, "a requeued webhook event is no longer in the feed; dropped");
            store
                .unpark_webhook_event(&self.token, &self.state, seq)
                .await?;
            return Ok(None);
        }
        let next = store.feed_after(org, self.state.delivered_seq, 1).await?;
        Ok(next.into_iter().next().map(|event| Item {
            event,
            requeued: false,
        }))
    }

    async fn attempt(
        &mut self,
        target: &Target,
        item: Item,
        shutdown: &Shutdown,
    ) -> Result<Option<Stop>, StoreError> {
        let outcome = match (self.shared.clients.for_target(target), target.secret.key()) {
            (Err(kind), _) => Outcome::Retry {
                after: None,
                error: kind.to_owned(),
            },
            (_, Err(_)) => Outcome::Park {
                error: "unsignable".to_owned(),
            },
            (Ok(client), Ok(key)) => tokio::select! {
                outcome = deliver(client, &target.url, &key, &item.event) => outcome,
                // Not recorded: the event is sent again after the restart (at-least-once).
                () = shutdown.wait() => return Ok(Some(Stop::Shutdown)),
            },
        };
        self.settle(item, outcome).await
    }

    async fn settle(&mut self, item: Item, outcome: Outcome) -> Result<Option<Stop>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let metrics = self.shared.pipeline.metrics();
        match outcome {
            Outcome::Delivered => {
                metrics.webhook_delivered();
                self.state.clear_failures();
                if item.requeued {
                    let store = self.shared.pipeline.store();
                    let seq = item.event.seq;
                    let done = store.unpark_webhook_event(&self.token, &self.state, seq);
                    return Ok((!done.await?).then_some(Stop::LostLease));
                }
                self.state.delivered_seq = item.event.seq;
            }
            Outcome::Retry { after, error } => {
                self.state.attempts += 1;
                let first = *self.state.first_failure.get_or_insert(now);
                if (now - first).whole_milliseconds() >= self.shared.horizon_ms() {
                    return self.park(item, error, now).await;
                }
                metrics.webhook_retried();
                let delay = self.shared.schedule.delay(self.state.attempts, after);
                self.state.next_attempt = later(now, delay);
                self.state.last_error = Some(error);
            }
            Outcome::Park { error } => {
                self.state.attempts += 1;
                return self.park(item, error, now).await;
            }
        }
        self.save().await
    }

    async fn park(
        &mut self,
        item: Item,
        error: String,
        now: OffsetDateTime,
    ) -> Result<Option<Stop>, StoreError> {
        let event = &item.event;
        self.shared.pipeline.metrics().webhook_parked();
        tracing::warn!(
            org = %self.org.id, event_id = %event.event_id, event_type = %event.event_type,
            status = %error, attempts = self.state.attempts,
            "webhook event parked; delivery moves on (samverkan webhooks parked)"
        );
        let parked = ParkedWebhookEvent {
            org_id: self.org.id.clone(),
            seq: event.seq,
            event_id: event.event_id.as_ref().to_owned(),
            event_type: event.event_type.clone(),
            last_error: error,
            attempts: self.state.attempts,
            parked_at: now,
        };
        if !item.requeued {
            self.state.delivered_seq = event.seq;
        }
        self.state.clear_failures();
        let store = self.shared.pipeline.store();
        let done = store.park_webhook_event(&self.token, &self.state, &parked);
        Ok((!done.await?).then_some(Stop::LostLease))
    }

    /// Sleeps (at most the wait cap) when the current attempt is not due yet; `true` if it did.
    async fn wait_until_due(&self, shutdown: &Shutdown) -> bool {
        let now = OffsetDateTime::now_utc();
        if self.state.next_attempt <= now {
            return false;
        }
        let left = Duration::try_from(self.state.next_attempt - now).unwrap_or_default();
        pause(left.min(self.shared.wait_cap()), shutdown).await;
        true
    }

    /// Nothing to send: wait for a commit in this process, the poll interval or shutdown.
    async fn idle(&mut self, shutdown: &Shutdown) {
        let cap = self.shared.wait_cap();
        tokio::select! {
            changed = self.feed.changed() => {
                if changed.is_err() {
                    pause(cap, shutdown).await;
                }
            }
            () = pause(cap, shutdown) => {}
        }
    }
}

/// `now` plus `delay` (`now` itself should that leave the calendar).
fn later(now: OffsetDateTime, delay: Duration) -> OffsetDateTime {
    time::Duration::try_from(delay)
        .ok()
        .and_then(|d| now.checked_add(d))
        .unwrap_or(now)
}

async fn pause(wait: Duration, shutdown: &Shutdown) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = shutdown.wait() => {}
    }
}
