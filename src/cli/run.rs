//! `samverkan run`: the hub service. Stops cleanly on Ctrl-C or SIGTERM: no new deliveries,
//! the ones in flight finish and settle, the outbox is flushed.

use std::sync::Arc;

use anyhow::Context;

use super::Status;
use crate::clock::{FixedClock, SharedClock, SystemClock};
use crate::hub::startup::serve;
use crate::settings::Settings;
use crate::transport::Shutdown;

/// Run until a signal.
pub(super) fn run(settings: &Settings) -> anyhow::Result<Status> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            trigger.trigger();
        });
        let clock: SharedClock = match settings.hub.pinned_date() {
            Some(date) => {
                tracing::warn!(%date, "clock pinned by hub.fixed_date; not for production");
                Arc::new(FixedClock::at_noon(date))
            }
            None => Arc::new(SystemClock),
        };
        serve(settings, clock, shutdown).await
    })?;
    Ok(Status::Ok)
}

/// Ctrl-C or SIGTERM (also what ends `demo --serve`).
pub(super) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
