//! `samverkan bench-worker` (hidden): one worker of `samverkan bench` in a process of its own
//! (see [`crate::loadgen::WorkerSpec`]). Not for people: the bench starts it.
//!
//! It reads its spec as one JSON line from stdin, then serves on a multi-threaded runtime, as
//! `samverkan run` does, until stdin closes (the bench is done, or gone) or a signal arrives,
//! and then shuts down the way `samverkan run` does: it settles what it holds, the hub flushes
//! its outbox. Its log goes to stderr, which the bench copies to its own.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::Context;

use super::Status;
use crate::loadgen::{self, WorkerSpec};
use crate::settings::Settings;
use crate::transport::Shutdown;

/// Serve the spec on stdin until stdin closes or a signal.
pub(super) fn run(settings: &Settings) -> anyhow::Result<Status> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the worker's spec from stdin")?;
    let spec: WorkerSpec = serde_json::from_str(&line)
        .context("the worker's spec on stdin is not what `samverkan bench` writes")?;
    let (trigger, shutdown) = Shutdown::new();
    let trigger = Arc::new(trigger);
    let on_eof = trigger.clone();
    std::thread::Builder::new()
        .name("bench-worker-stdin".to_owned())
        .spawn(move || {
            // The rest of stdin is nothing; its end is the order to stop.
            std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink()).ok();
            on_eof.trigger();
        })
        .context("cannot watch stdin")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let run = spec.run();
    runtime.block_on(async {
        tokio::spawn(async move {
            super::run::wait_for_signal().await;
            trigger.trigger();
        });
        tracing::info!(run, pid = std::process::id(), "bench worker starting");
        loadgen::serve_worker(settings, spec, shutdown).await
    })?;
    tracing::info!(run, "bench worker stopped");
    Ok(Status::Ok)
}
