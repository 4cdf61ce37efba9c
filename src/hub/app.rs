//! The one assembly of the hub: settings in, a running hub out.
//!
//! `samverkan run`, the demo, the bench and every test helper start the hub through [`App`],
//! so what they exercise is what production runs; they differ only in the transport they hand
//! to [`App::run`] (RabbitMQ, or the in-process broker) and the clock they pass to
//! [`App::build`]. Connecting to RabbitMQ and serving HTTP is start-up, not assembly, and lives
//! in [`super::startup`]. The broker topology of the configured organisations is built here
//! too, once ([`topology`]), for the same reason.

use std::sync::Arc;

use thiserror::Error;
use tokio::sync::Notify;

use super::{outbox_relay, recover, reference, retention, timer, worker};
use crate::catalogue::{Catalogue, CatalogueError, LoadReport, check_kind};
use crate::clock::SharedClock;
use crate::pii::PiiGuard;
use crate::pipeline::{Directory, Pipeline, PipelineParts};
use crate::schema::{SchemaError, SchemaRegistry};
use crate::settings::{OrgKind, Settings};
use crate::store::{Retention, Store, StoreError};
use crate::transport::Topology;
use crate::transport::{Consume, Publish, Shutdown, TransportError};

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

/// The broker topology of the configured organisations: the one place it is derived from
/// settings (`samverkan run`, `samverkan topology`, the demo, the bench and the tests).
///
/// # Errors
///
/// When an organisation id cannot name a queue, or the delivery limit is out of range.
pub fn topology(settings: &Settings) -> Result<Topology, TransportError> {
    Topology::new(
        settings.organisations.iter().map(|o| o.id.as_str()),
        settings.amqp.delivery_limit,
    )
}

/// A hub assembled from its settings: the pipeline on its store, ready to [`run`](App::run).
pub struct App {
    pipeline: Arc<Pipeline>,
    settings: Settings,
}

impl App {
    /// Open the configured store, assemble the pipeline and re-apply the catalogue changes that
    /// earlier course and partner events recorded. `catalogue` replaces the configured files
    /// (the demo's is compiled in); `None` loads them.
    ///
    /// # Errors
    ///
    /// When the store cannot be opened or a catalogue file cannot be read.
    pub async fn build(
        settings: &Settings,
        clock: SharedClock,
        catalogue: Option<Catalogue>,
    ) -> Result<Self, HubError> {
        let store = Store::from_settings(&settings.store).await?;
        let pipeline = assemble(settings, store, clock, catalogue)?;
        let replayed = pipeline.catch_up_reference().await?;
        if replayed > 0 {
            tracing::info!(
                replayed,
                "catalogue changes from earlier course/partner events re-applied"
            );
        }
        Ok(Self {
            pipeline: Arc::new(pipeline),
            settings: settings.clone(),
        })
    }

    /// The pipeline (its store, catalogue and clock).
    #[must_use]
    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// The settings it was built from.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Run the worker loop, the relay, the close timer, the catalogue poller, the store prober,
    /// the pruning and the webhook dispatchers until the consumer ends (it ends on `shutdown`), then flush the outbox
    /// once more.
    pub async fn run<C: Consume, P: Publish>(
        self,
        consumer: C,
        publisher: Arc<P>,
        shutdown: Shutdown,
    ) {
        let Self { pipeline, settings } = self;
        // The pipeline's own, so a commit over HTTP wakes the relay as a delivery does.
        let wake = pipeline.relay_wake().clone();
        let config = outbox_relay::RelayConfig::from_settings(&settings);
        let tasks = spawn_background(&pipeline, &publisher, &settings, &wake, &shutdown);
        let hub = settings.hub.clone();
        worker::run(
            pipeline.clone(),
            consumer,
            publisher.clone(),
            hub,
            wake,
            shutdown,
        )
        .await;
        for (name, task) in tasks {
            if let Err(e) = task.await {
                tracing::error!(error = %e, task = name, "hub task failed");
            }
        }
        flush(&pipeline, publisher.as_ref(), &config).await;
    }
}

type Task = (&'static str, tokio::task::JoinHandle<()>);

/// The tasks beside the worker loop, each ending on `shutdown`: the outbox relay, the pruning,
/// the close timer, the catalogue poller, the store prober and the webhook dispatchers.
fn spawn_background<P: Publish>(
    pipeline: &Arc<Pipeline>,
    publisher: &Arc<P>,
    settings: &Settings,
    wake: &Arc<Notify>,
    shutdown: &Shutdown,
) -> [Task; 6] {
    let store = pipeline.store().clone();
    let relay = outbox_relay::run(
        store.clone(),
        publisher.clone(),
        wake.clone(),
        outbox_relay::RelayConfig::from_settings(settings),
        shutdown.clone(),
    );
    let retention = &settings.retention;
    let pruning = retention::run(
        store,
        Retention::from_settings(retention),
        retention.interval(),
        shutdown.clone(),
    );
    let timer = timer::run(
        pipeline.clone(),
        std::time::Duration::from_secs(settings.hub.timer_interval_secs),
        wake.clone(),
        shutdown.clone(),
    );
    let poller = reference::run(pipeline.clone(), reference::POLL_INTERVAL, shutdown.clone());
    let prober = recover::run(pipeline.clone(), shutdown.clone());
    let webhooks = {
        let (pipeline, settings, shutdown) = (pipeline.clone(), settings.clone(), shutdown.clone());
        async move { crate::webhook::run(pipeline, &settings, shutdown).await }
    };
    [
        ("outbox relay", tokio::spawn(relay)),
        ("pruning", tokio::spawn(pruning)),
        ("close timer", tokio::spawn(timer)),
        ("catalogue poller", tokio::spawn(poller)),
        ("store prober", tokio::spawn(prober)),
        ("webhooks", tokio::spawn(webhooks)),
    ]
}

/// What the last deliveries committed after the relay stopped. Rows that failed are not due
/// again at once and parked rows never are, so this ends; an outage ends it too.
async fn flush<P: Publish>(pipeline: &Pipeline, publisher: &P, config: &outbox_relay::RelayConfig) {
    loop {
        match outbox_relay::relay_once(pipeline.store(), publisher, config).await {
            Ok(pass) if pass.claimed == 0 || pass.waiting > 0 => break,
            Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// Build the pipeline the settings describe, on `store`, with the configured catalogue files
/// (a hub restarted on an existing store, in tests; [`App::build`] otherwise).
///
/// # Errors
///
/// As [`load_catalogue`].
pub fn build(settings: &Settings, store: Store, clock: SharedClock) -> Result<Pipeline, HubError> {
    assemble(settings, store, clock, None)
}

fn assemble(
    settings: &Settings,
    store: Store,
    clock: SharedClock,
    catalogue: Option<Catalogue>,
) -> Result<Pipeline, HubError> {
    let registry = SchemaRegistry::new()?;
    let catalogue = match catalogue {
        Some(catalogue) => catalogue,
        None => load_catalogue(settings, &registry)?,
    };
    Ok(Pipeline::new(PipelineParts {
        guard: PiiGuard::new(settings.pii.policy),
        directory: Directory::new(&settings.organisations),
        limits: settings.limits.to_limits(),
        clock,
        catalogue,
        match_options: settings.matching.clone(),
        store,
        registry,
        webhooks: settings.webhooks.clone(),
    }))
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

fn log_report(path: &std::path::Path, report: &LoadReport) {
    for error in &report.errors {
        tracing::warn!(
            file = %path.display(),
            index = error.index,
            key = error.key.as_deref(),
            error = %error.error,
            "catalogue entry skipped"
        );
    }
    tracing::info!(file = %path.display(), loaded = report.loaded, skipped = report.errors.len(), "catalogue loaded");
}
