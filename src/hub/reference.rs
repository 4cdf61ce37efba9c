//! The catalogue poller: reference-data changes taken by other hub instances reach this one.
//!
//! A `course.upserted` consumed by one instance is recorded in the shared store and applied
//! there at once; every other instance applies it here, within one poll interval, in the
//! order the store recorded it (see [`crate::pipeline`]'s reference module). With a single
//! hub the poll finds nothing; it costs one indexed query per interval.

use std::sync::Arc;
use std::time::Duration;

use crate::pipeline::Pipeline;
use crate::transport::Shutdown;

/// How often the poller looks for reference events recorded by other instances.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Catch the catalogue up every `interval` until `shutdown`.
pub(crate) async fn run(pipeline: Arc<Pipeline>, interval: Duration, shutdown: Shutdown) {
    while !shutdown.is_triggered() {
        match pipeline.catch_up_reference().await {
            Ok(0) => {}
            Ok(applied) => {
                tracing::debug!(
                    applied,
                    "catalogue changes from other hub instances applied"
                );
            }
            Err(e) => tracing::warn!(error = %e, "catalogue catch-up failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.wait() => {}
        }
    }
}
