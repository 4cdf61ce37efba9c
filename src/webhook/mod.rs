//! Webhooks: every event of an organisation's feed POSTed to its URL, signed, in order, for
//! organisations that run no AMQP client.
//!
//! The feed (`store/feed.rs`) is written in the same transaction as the outbox row of each
//! event addressed to an organisation, so a webhook delivers exactly what the organisation's
//! queue receives, in the same order. The webhook comes from the operator's configuration or
//! from the organisation itself (`PUT /v1/webhook`, `http/webhook.rs`); `target.rs` says which.
//!
//! One concern per file, in the order a delivery needs them:
//!
//! | file           | does                                                                  |
//! |----------------|-----------------------------------------------------------------------|
//! | `sign.rs`      | Standard Webhooks signatures; generated and registered secrets (pure) |
//! | `guard.rs`     | which registered URLs may be used: no credentials, global addresses    |
//! | `target.rs`    | an organisation's webhook: configured, else registered                 |
//! | `client.rs`    | the hub's two HTTP clients (configured / guarded), error kinds         |
//! | `backoff.rs`   | retry delays: full jitter, `Retry-After`                               |
//! | `handshake.rs` | the CloudEvents abuse-protection handshake (`OPTIONS`)                 |
//! | `deliver.rs`   | one POST → delivered, retry, or park                                   |
//! | `dispatcher.rs`| one organisation's loop, under its lease                               |
//!
//! [`run`] (started by `App::run` beside the outbox relay, stopped by the same shutdown) keeps
//! one dispatcher task per configured organisation with a webhook, and starts new ones as
//! organisations register, within `[webhooks] poll_interval_ms`. A dispatcher ends when its
//! organisation's webhook is removed.

mod backoff;
mod client;
mod deliver;
mod dispatcher;
pub(crate) mod guard;
mod handshake;
pub(crate) mod sign;
pub(crate) mod target;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use backoff::RetrySchedule;
use client::Clients;

use crate::pipeline::Pipeline;
use crate::settings::{OrgId, Organisation, Settings, WebhooksSettings};
use crate::transport::Shutdown;

/// What every dispatcher of one hub shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The store, and the metrics the outcomes are counted in.
    pipeline: Arc<Pipeline>,
    clients: Clients,
    settings: WebhooksSettings,
    schedule: RetrySchedule,
}

impl Shared {
    /// The longest a dispatcher waits before looking again: the poll interval, and a third of
    /// the lease, so it renews in time.
    fn wait_cap(&self) -> Duration {
        self.settings.poll_interval().min(self.settings.lease() / 3)
    }

    /// The retry horizon in milliseconds.
    fn horizon_ms(&self) -> i128 {
        i128::from(self.settings.retry_horizon_secs) * 1000
    }
}

/// Deliver the webhooks of the configured organisations until `shutdown`.
pub(crate) async fn run(pipeline: Arc<Pipeline>, settings: &Settings, shutdown: Shutdown) {
    let config = settings.webhooks.clone();
    let clients = match Clients::new(&config) {
        Ok(clients) => clients,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; no webhooks are delivered");
            return;
        }
    };
    let shared = Arc::new(Shared {
        pipeline,
        clients,
        schedule: RetrySchedule::from_settings(&config),
        settings: config,
    });
    let organisations = settings.organisations.clone();
    let mut tasks: HashMap<OrgId, tokio::task::JoinHandle<()>> = HashMap::new();
    while !shutdown.is_triggered() {
        tasks.retain(|_, task| !task.is_finished());
        match target::with_webhooks(shared.pipeline.store(), &organisations).await {
            Ok(orgs) => {
                for org in orgs {
                    if !tasks.contains_key(&org.id) {
                        tasks.insert(org.id.clone(), spawn(&shared, org, &shutdown));
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "webhooks cannot read the store; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(shared.settings.poll_interval()) => {}
            () = shutdown.wait() => {}
        }
    }
    for (org, task) in tasks {
        if let Err(e) = task.await {
            tracing::error!(org = %org, error = %e, "webhook dispatcher failed");
        }
    }
}

fn spawn(
    shared: &Arc<Shared>,
    org: &Organisation,
    shutdown: &Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(dispatcher::run(
        shared.clone(),
        org.clone(),
        shutdown.clone(),
    ))
}
