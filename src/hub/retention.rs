//! The pruning task: deletes sent outbox rows, inbox rows, audit entries and feed events past
//! their retention (`[retention]`), once at start and then every `retention.interval_secs`.
//!
//! It runs beside the relay in every hub instance. Pruning is idempotent and works in small
//! batches ([`Store::prune`]), so instances sharing a PostgreSQL database may prune at the
//! same time without harm, and a large backlog never blocks the pipeline for long. A failure
//! is logged and tried again at the next interval: nothing depends on pruning being prompt.

use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{Retention, Store};
use crate::transport::Shutdown;

/// Prune what `retention` no longer keeps, every `interval`, until `shutdown`.
pub async fn run(store: Store, retention: Retention, interval: Duration, shutdown: Shutdown) {
    while !shutdown.is_triggered() {
        // Row times are written from the system clock, so they are compared with it too
        // (never with a pinned demonstration clock).
        match store.prune(&retention, OffsetDateTime::now_utc()).await {
            Ok(pruned) if pruned.total() > 0 => tracing::info!(
                outbox = pruned.outbox,
                inbox = pruned.inbox,
                audit = pruned.audit,
                feed = pruned.feed,
                "pruned rows past their retention"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning old rows failed; trying again later"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.wait() => {}
        }
    }
}
