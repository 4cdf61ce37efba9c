//! The store prober: while the hub is paused for a store fault, ask the store whether it can
//! write again, backing off with jitter, and resume the hub when it can.
//!
//! Resuming needs no person: after a fail-over, a restart of PostgreSQL or a full disk that got
//! space again, the next successful probe flips [`crate::pause::Pause`] back and the deliveries
//! that waited are tried again. The probe is [`crate::store::Store::probe_write`], the same
//! check `/readyz` makes.

use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};

use crate::pipeline::Pipeline;
use crate::transport::Shutdown;

/// How long one probe may take before it counts as failed.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// First and longest wait between probes.
const MIN_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);

/// Probe and resume after every pause, until `shutdown`.
pub async fn run(pipeline: Arc<Pipeline>, shutdown: Shutdown) {
    loop {
        tokio::select! {
            () = pipeline.pause().until_paused() => {}
            () = shutdown.wait() => return,
        }
        let probe = || async { pipeline.store().probe_write(PROBE_TIMEOUT).await };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(MIN_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_jitter()
            .without_max_times();
        let recovered = probe
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .notify(|error, delay| {
                pipeline.metrics().store_fault(error.kind());
                tracing::debug!(error = %error, ?delay, "store still cannot write");
            });
        tokio::select! {
            result = recovered => {
                if result.is_ok() && pipeline.pause().resume() {
                    tracing::info!(
                        pauses = pipeline.pause().pauses(),
                        "the store writes again; resuming"
                    );
                }
            }
            () = shutdown.wait() => return,
        }
    }
}
