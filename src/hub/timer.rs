//! The close timer: needs whose respond-by date has passed are closed, and their region gets
//! the final summary.
//!
//! It is driven from the store (`needs_due`), not from in-memory timers, so a restart loses
//! nothing: whatever fell due while the hub was down is closed on the first tick. Each need is
//! closed in its own transaction with the need row locked, like an answer, so competing hub
//! instances close it once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::pipeline::Pipeline;
use crate::store::StoreError;
use crate::transport::Shutdown;

/// Needs closed per transaction batch.
const BATCH: i64 = 100;

/// Close due needs every `interval` until `shutdown`.
pub async fn run(
    pipeline: Arc<Pipeline>,
    interval: Duration,
    relay: Arc<Notify>,
    shutdown: Shutdown,
) {
    while !shutdown.is_triggered() {
        match close_due(&pipeline).await {
            Ok(0) => {}
            Ok(closed) => {
                tracing::info!(closed, "needs closed after their respond-by date");
                relay.notify_one();
            }
            Err(e) => tracing::warn!(error = %e, "close timer failed; retrying next tick"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.wait() => {}
        }
    }
}

/// Close every need that is due now; returns how many were closed.
pub async fn close_due(pipeline: &Pipeline) -> Result<usize, StoreError> {
    let mut closed = 0;
    loop {
        let now = pipeline.clock().now();
        let due = pipeline.store().needs_due(now, BATCH).await?;
        let mut progressed = false;
        for key in &due {
            if pipeline.close_need(key).await? {
                closed += 1;
                progressed = true;
            }
        }
        if due.len() < usize::try_from(BATCH).unwrap_or(usize::MAX) || !progressed {
            return Ok(closed);
        }
    }
}
