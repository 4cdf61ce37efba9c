//! Counters of what the hub did with its deliveries, for `/metrics` (Prometheus text format).
//!
//! Plain atomics, no I/O: the worker counts each delivery's outcome once, by reason code for
//! refusals, and the HTTP surface renders them together with gauges it reads at scrape time
//! (unsent and parked outbox rows, broker link). Parked rows are a gauge read from the store,
//! not a counter of this process, so the figure survives restarts and is the same on every hub
//! instance sharing the database. Reason codes are the stable ones of
//! [`crate::event::RejectReason`], so a dashboard can alert on e.g. `personal_data` from one
//! region without ever seeing a value.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::event::RejectReason;

/// Delivery counters of one hub process.
#[derive(Debug, Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    requeued: AtomicU64,
    batches: AtomicU64,
    batched: AtomicU64,
    largest_batch: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    store_faults: Mutex<BTreeMap<&'static str, u64>>,
    /// Replayed dead letters handled, by outcome (`accepted`, `duplicate`, `refused`, …).
    replays: Mutex<BTreeMap<&'static str, u64>>,
    webhooks: WebhookCounters,
}

/// Webhook delivery attempts by outcome.
#[derive(Debug, Default)]
struct WebhookCounters {
    delivered: AtomicU64,
    retried: AtomicU64,
    parked: AtomicU64,
}

/// Gauges read when the metrics are scraped.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gauges {
    /// Outbox rows not yet confirmed by the broker, when the store answered.
    pub outbox_pending: Option<i64>,
    /// Outbox rows parked because they can never be published, when the store answered.
    pub outbox_parked: Option<i64>,
    /// Whether the consumer's broker link is up, when there is one.
    pub broker_connected: Option<bool>,
    /// Whether the hub is paused for a store fault.
    pub paused: bool,
    /// Age in seconds of the oldest outbox row not yet confirmed, when the store answered.
    pub outbox_oldest_age_secs: Option<f64>,
    /// Webhook events parked (not requeued), when the store answered.
    pub webhook_parked: Option<i64>,
}

impl Metrics {
    /// A replayed dead letter handled with this outcome (besides its delivery count).
    pub(crate) fn replayed(&self, outcome: &'static str) {
        let mut replays = self.replays.lock().unwrap_or_else(|p| p.into_inner());
        *replays.entry(outcome).or_insert(0) += 1;
    }

    /// Replayed dead letters handled with `outcome` so far.
    pub fn replays(&self, outcome: &str) -> u64 {
        let replays = self.replays.lock().unwrap_or_else(|p| p.into_inner());
        replays.get(outcome).copied().unwrap_or(0)
    }

    /// A delivery whose effects were committed.
    pub fn accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// A delivery seen before (inbox hit): acked, nothing changed.
    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    /// Duplicates so far (deliveries of events processed before).
    #[must_use]
    pub fn duplicates(&self) -> u64 {
        self.duplicates.load(Ordering::Relaxed)
    }

    /// A delivery refused with `reason` (dead-lettered, sender told).
    pub fn refused(&self, reason: RejectReason) {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        *refused.entry(reason.as_str()).or_insert(0) += 1;
    }

    /// A delivery given back to the broker after a failure that was not settled otherwise.
    pub fn requeued(&self) {
        self.requeued.fetch_add(1, Ordering::Relaxed);
    }

    /// A batch of `deliveries` deliveries committed together (group commit).
    pub(crate) fn batch_committed(&self, deliveries: usize) {
        let n = u64::try_from(deliveries).unwrap_or(u64::MAX);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.batched.fetch_add(n, Ordering::Relaxed);
        self.largest_batch.fetch_max(n, Ordering::Relaxed);
    }

    /// Deliveries committed as part of a batch so far.
    #[must_use]
    pub fn batched_deliveries(&self) -> u64 {
        self.batched.load(Ordering::Relaxed)
    }

    /// The most deliveries committed together in one batch so far (0: none yet).
    #[must_use]
    pub fn largest_batch(&self) -> u64 {
        self.largest_batch.load(Ordering::Relaxed)
    }

    /// A store failure of `kind` ([`crate::store::StoreError::kind`]).
    pub(crate) fn store_fault(&self, kind: &'static str) {
        let mut faults = self.store_faults.lock().unwrap_or_else(|p| p.into_inner());
        *faults.entry(kind).or_insert(0) += 1;
    }

    /// A webhook event answered with a 2xx.
    pub(crate) fn webhook_delivered(&self) {
        self.webhooks.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook attempt that failed and will be retried.
    pub(crate) fn webhook_retried(&self) {
        self.webhooks.retried.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook event parked.
    pub(crate) fn webhook_parked(&self) {
        self.webhooks.parked.fetch_add(1, Ordering::Relaxed);
    }

    /// Store failures so far of `kind`.
    #[must_use]
    pub fn store_faults(&self, kind: &str) -> u64 {
        let faults = self.store_faults.lock().unwrap_or_else(|p| p.into_inner());
        faults.get(kind).copied().unwrap_or(0)
    }

    /// Refusals so far with `reason`.
    #[must_use]
    pub fn refusals(&self, reason: RejectReason) -> u64 {
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        refused.get(reason.as_str()).copied().unwrap_or(0)
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4).
    #[must_use]
    pub(crate) fn render(&self, gauges: Gauges) -> String {
        let mut out = String::new();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str(
            "# HELP samverkan_deliveries_total Deliveries handled, by outcome (refused: by reason code).\n\
             # TYPE samverkan_deliveries_total counter\n",
        );
        let mut line = |outcome: &str, reason: &str, n: u64| {
            let _ = writeln!(
                out,
                "samverkan_deliveries_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        };
        line("accepted", "", load(&self.accepted));
        line("duplicate", "", load(&self.duplicates));
        line("requeued", "", load(&self.requeued));
        let refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        for (reason, n) in refused.iter() {
            line("refused", reason, *n);
        }
        drop(refused);
        out.push_str(
            "# HELP samverkan_replays_total Replayed dead letters handled, by outcome.\n\
             # TYPE samverkan_replays_total counter\n",
        );
        let replays = self.replays.lock().unwrap_or_else(|p| p.into_inner());
        for (outcome, n) in replays.iter() {
            let _ = writeln!(out, "samverkan_replays_total{{outcome=\"{outcome}\"}} {n}");
        }
        drop(replays);
        out.push_str(
            "# HELP samverkan_store_faults_total Failed store operations, by kind.\n\
             # TYPE samverkan_store_faults_total counter\n",
        );
        let faults = self.store_faults.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, n) in faults.iter() {
            let _ = writeln!(out, "samverkan_store_faults_total{{kind=\"{kind}\"}} {n}");
        }
        drop(faults);
        let _ = write!(
            out,
            "# HELP samverkan_batches_total Batches of deliveries committed in one transaction.\n\
             # TYPE samverkan_batches_total counter\nsamverkan_batches_total {}\n\
             # HELP samverkan_batched_deliveries_total Deliveries committed as part of a batch.\n\
             # TYPE samverkan_batched_deliveries_total counter\nsamverkan_batched_deliveries_total {}\n",
            load(&self.batches),
            load(&self.batched)
        );
        let _ = write!(
            out,
            "# HELP samverkan_paused Whether the hub has stopped taking deliveries until the store can write.\n\
             # TYPE samverkan_paused gauge\nsamverkan_paused {}\n",
            u8::from(gauges.paused)
        );
        if let Some(age) = gauges.outbox_oldest_age_secs {
            let _ = write!(
                out,
                "# HELP samverkan_outbox_oldest_age_seconds Age of the oldest outbound message not yet confirmed by the broker.\n\
                 # TYPE samverkan_outbox_oldest_age_seconds gauge\nsamverkan_outbox_oldest_age_seconds {age:.3}\n"
            );
        }
        if let Some(pending) = gauges.outbox_pending {
            let _ = write!(
                out,
                "# HELP samverkan_outbox_pending Outbound messages committed but not yet confirmed by the broker.\n\
                 # TYPE samverkan_outbox_pending gauge\nsamverkan_outbox_pending {pending}\n"
            );
        }
        if let Some(parked) = gauges.outbox_parked {
            let _ = write!(
                out,
                "# HELP samverkan_outbox_parked Outbound messages set aside because they can never be published (samverkan dead-letters parked).\n\
                 # TYPE samverkan_outbox_parked gauge\nsamverkan_outbox_parked {parked}\n"
            );
        }
        self.render_webhooks(&mut out, gauges.webhook_parked);
        if let Some(up) = gauges.broker_connected {
            let _ = write!(
                out,
                "# HELP samverkan_broker_connected Whether the consumer's link to RabbitMQ is up.\n\
                 # TYPE samverkan_broker_connected gauge\nsamverkan_broker_connected {}\n",
                u8::from(up)
            );
        }
        out
    }

    fn render_webhooks(&self, out: &mut String, parked: Option<i64>) {
        out.push_str(
            "# HELP samverkan_webhook_deliveries_total Webhook delivery attempts, by outcome (delivered: 2xx; retried: failed, tried again later; parked: set aside).\n\
             # TYPE samverkan_webhook_deliveries_total counter\n",
        );
        let counters = &self.webhooks;
        for (outcome, counter) in [
            ("delivered", &counters.delivered),
            ("retried", &counters.retried),
            ("parked", &counters.parked),
        ] {
            let n = counter.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "samverkan_webhook_deliveries_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        if let Some(parked) = parked {
            let _ = write!(
                out,
                "# HELP samverkan_webhook_parked Webhook events parked, waiting for an operator (samverkan webhooks parked).\n\
                 # TYPE samverkan_webhook_parked gauge\nsamverkan_webhook_parked {parked}\n"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_render_by_outcome_and_reason() {
        let metrics = Metrics::default();
        metrics.accepted();
        metrics.accepted();
        metrics.refused(RejectReason::PersonalData);
        metrics.duplicate();
        metrics.store_fault("read_only");
        metrics.replayed("accepted");
        metrics.webhook_retried();
        metrics.webhook_retried();
        metrics.webhook_delivered();
        let text = metrics.render(Gauges {
            outbox_pending: Some(3),
            outbox_parked: Some(2),
            broker_connected: Some(true),
            paused: true,
            outbox_oldest_age_secs: Some(1.5),
            webhook_parked: Some(4),
        });
        assert!(text.contains("samverkan_webhook_parked 4\n"), "{text}");
        assert!(
            text.contains("samverkan_store_faults_total{kind=\"read_only\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("samverkan_paused 1\n"), "{text}");
        assert!(
            text.contains("samverkan_replays_total{outcome=\"accepted\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("samverkan_webhook_deliveries_total{outcome=\"retried\"} 2\n")
                && text.contains("samverkan_webhook_deliveries_total{outcome=\"delivered\"} 1\n")
                && text.contains("samverkan_webhook_deliveries_total{outcome=\"parked\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("samverkan_outbox_oldest_age_seconds 1.500\n"),
            "{text}"
        );
        assert!(
            text.contains("samverkan_deliveries_total{outcome=\"accepted\",reason=\"\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("{outcome=\"refused\",reason=\"personal_data\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("{outcome=\"duplicate\",reason=\"\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("samverkan_outbox_pending 3\n"), "{text}");
        assert!(text.contains("samverkan_outbox_parked 2\n"), "{text}");
        assert!(text.contains("samverkan_broker_connected 1\n"), "{text}");
        assert_eq!(metrics.refusals(RejectReason::PersonalData), 1);
        let bare = Metrics::default().render(Gauges::default());
        assert!(!bare.contains("outbox_pending") && !bare.contains("broker_connected"));
        assert!(!bare.contains("outbox_parked"));
    }
}
