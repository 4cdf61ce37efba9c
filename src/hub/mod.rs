//! The running hub: a pipeline, a worker loop over the ingress queue, the outbox relay, the
//! close timer, the catalogue poller and the pruning of old rows.
//!
//! `build` turns [`Settings`] into a [`Pipeline`] (schemas compiled, catalogue loaded, store
//! connected and migrated); [`run`] drives it over any transport until the shutdown future
//! fires: RabbitMQ for `samverkan run`, the in-process broker for the demo and fast tests.
//! Shutdown stops taking deliveries, lets the ones in flight finish and settle, then lets the
//! relay publish what they committed.

pub mod outbox_relay;
pub mod recover;
pub mod reference;
pub mod retention;
pub mod service;
pub mod timer;
pub mod worker;

use std::sync::Arc;

use thiserror::Error;
use tokio::sync::Notify;

use crate::catalogue::{Catalogue, CatalogueError, check_kind};
use crate::clock::SharedClock;
use crate::pii::PiiGuard;
use crate::pipeline::{Directory, Pipeline, PipelineParts};
use crate::schema::{SchemaError, SchemaRegistry};
use crate::settings::{OrgKind, Settings};
use crate::store::{Store, StoreError};
use crate::transport::{Consume, Publish, Shutdown};

/// Why the hub could not start.
#[derive(Debug, Error)]
pub enum HubError {
    /// The embedded schemas do not compile (a build defect).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A configured catalogue file could not be read at all.
    #[error("catalogue: {0}")]
    Catalogue(#[from] CatalogueError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Load the configured catalogue files; bad entries (a partner that is not a configured
/// company among them) are logged and skipped.
///
/// # Errors
///
/// When a file cannot be read, or a course file's owner is not a configured university: its
/// courses would be offered in the name of an organisation that cannot answer for them.
pub fn load_catalogue(
    settings: &Settings,
    schemas: &SchemaRegistry,
) -> Result<Catalogue, HubError> {
    let kind_of = |id: &str| settings.organisation(id).map(|o| o.kind);
    let mut catalogue = Catalogue::new();
    for file in &settings.catalogue.courses {
        check_kind(file.org.as_str(), OrgKind::University, &kind_of)?;
        let report = catalogue.load_course_file(schemas, file.org.as_str(), &file.path)?;
        log_report(&file.path, &report);
    }
    for path in &settings.catalogue.partner_registries {
        let report = catalogue.load_partner_registry(schemas, path, &kind_of)?;
        log_report(path, &report);
    }
    Ok(catalogue)
}

fn log_report(path: &std::path::Path, report: &crate::catalogue::LoadReport) {
    for error in &report.errors {
        tracing::warn!(file = %path.display(), error = ?error, "catalogue entry skipped");
    }
    tracing::info!(file = %path.display(), loaded = report.loaded, skipped = report.errors.len(), "catalogue loaded");
}

/// Build the pipeline the settings describe, on `store`.
pub fn build(settings: &Settings, store: Store, clock: SharedClock) -> Result<Pipeline, HubError> {
    let registry = SchemaRegistry::new()?;
    let catalogue = load_catalogue(settings, &registry)?;
    Ok(Pipeline::new(PipelineParts {
        guard: PiiGuard::new(settings.pii.policy),
        directory: Directory::new(&settings.organisations),
        limits: settings.limits.to_limits(),
        clock,
        catalogue,
        match_options: settings.matching.clone(),
        store,
        registry,
    }))
}

/// Run the worker loop and the relay until the consumer ends (it ends on `shutdown`), then
/// flush the outbox once more.
pub async fn run<C: Consume, P: Publish>(
    pipeline: Arc<Pipeline>,
    consumer: C,
    publisher: Arc<P>,
    settings: &Settings,
    shutdown: Shutdown,
) {
    let wake = Arc::new(Notify::new());
    let config = outbox_relay::RelayConfig::from_settings(settings);
    let relay = tokio::spawn(outbox_relay::run(
        pipeline.store().clone(),
        publisher.clone(),
        wake.clone(),
        config,
        shutdown.clone(),
    ));
    let pruner = tokio::spawn(retention::run(
        pipeline.store().clone(),
        settings.retention.to_retention(),
        settings.retention.interval(),
        shutdown.clone(),
    ));
    let timer = tokio::spawn(timer::run(
        pipeline.clone(),
        std::time::Duration::from_secs(settings.hub.timer_interval_secs),
        wake.clone(),
        shutdown.clone(),
    ));
    let poller = tokio::spawn(reference::run(
        pipeline.clone(),
        reference::POLL_INTERVAL,
        shutdown.clone(),
    ));
    let recover = tokio::spawn(recover::run(pipeline.clone(), shutdown.clone()));
    worker::run(
        pipeline.clone(),
        consumer,
        publisher.clone(),
        settings.hub.clone(),
        wake,
        shutdown.clone(),
    )
    .await;
    if let Err(e) = recover.await {
        tracing::error!(error = %e, "store prober task failed");
    }
    if let Err(e) = poller.await {
        tracing::error!(error = %e, "catalogue poller task failed");
    }
    if let Err(e) = timer.await {
        tracing::error!(error = %e, "close timer task failed");
    }
    if let Err(e) = relay.await {
        tracing::error!(error = %e, "outbox relay task failed");
    }
    if let Err(e) = pruner.await {
        tracing::error!(error = %e, "pruning task failed");
    }
    // What the last deliveries committed after the relay stopped. Rows that failed are not
    // due again at once and parked rows never are, so this ends; an outage ends it too.
    loop {
        match outbox_relay::relay_once(pipeline.store(), publisher.as_ref(), &config).await {
            Ok(pass) if pass.claimed == 0 || pass.waiting > 0 => break,
            Err(_) => break,
            Ok(_) => {}
        }
    }
}
