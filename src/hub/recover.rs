//! The store prober: while the hub is paused for a store fault, ask the store whether it can
//! write again, backing off with jitter, and resume the hub when it can.
//!
//! Resuming needs no person: after a fail-over, a restart of PostgreSQL or a full disk that got
//! space again, the next successful probe flips [`crate::pause::Pause`] back and the deliveries
//! that waited are tried again. The probe is [`crate::store::Store::probe_write`], the same
//! check `/readyz` makes. A probe can pass while real work still fails (SQLite takes its write
//! lock on a full disk; only the commit needs space): then the hub pauses again at once, and a
//! pause that soon after a resume continues the previous backoff instead of starting over, so
//! such a store is retried ever less often, not in a tight loop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::pipeline::Pipeline;
use crate::transport::Shutdown;

/// How long one probe may take before it counts as failed.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest wait between probes.
const MIN_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// A pause this soon after a resume means the store is not really back.
const SETTLED_AFTER: Duration = Duration::from_secs(10);

fn delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(MIN_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Probe and resume after every pause, until `shutdown`.
pub(crate) async fn run(pipeline: Arc<Pipeline>, shutdown: Shutdown) {
    let mut backoff = delays();
    let mut resumed_at: Option<Instant> = None;
    loop {
        tokio::select! {
            () = pipeline.pause().until_paused() => {}
            () = shutdown.wait() => return,
        }
        let relapse = resumed_at.is_some_and(|at| at.elapsed() < SETTLED_AFTER);
        if !relapse {
            backoff = delays();
        }
        tokio::select! {
            () = probe_until_writable(&pipeline, &mut backoff, relapse) => {}
            () = shutdown.wait() => return,
        }
        if pipeline.pause().resume() {
            resumed_at = Some(Instant::now());
            tracing::info!(
                pauses = pipeline.pause().pauses(),
                "the store writes again; resuming"
            );
        }
    }
}

/// Probe until the store can write, waiting the next `backoff` delay between probes (and
/// before the first one after a relapse).
async fn probe_until_writable(
    pipeline: &Pipeline,
    backoff: &mut impl Iterator<Item = Duration>,
    mut wait_first: bool,
) {
    loop {
        if wait_first {
            tokio::time::sleep(backoff.next().unwrap_or(MAX_DELAY)).await;
        }
        wait_first = true;
        match pipeline.store().probe_write(PROBE_TIMEOUT).await {
            Ok(()) => return,
            Err(error) => {
                pipeline.metrics().store_fault(error.kind());
                tracing::debug!(error = %error, "the store still cannot write");
            }
        }
    }
}
