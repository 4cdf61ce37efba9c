//! Start-up of `samverkan run` (and the bench): the assembled [`App`] on RabbitMQ connections,
//! with the HTTP surface and the queue policies, until the shutdown fires.
//!
//! Assembly is [`App::build`]'s job; this file only opens what production adds around it.
//! Start-up fails fast and loudly (broker unreachable, store unreachable, bad catalogue file);
//! after that, broker outages are absorbed by the reconnecting consumer and publisher, and the
//! process never needs a restart.

use std::sync::Arc;

use super::{App, HubError, topology};
use crate::catalogue::Catalogue;
use crate::clock::SharedClock;
use crate::console::{Console, HashError};
use crate::http::HttpState;
use crate::pipeline::Pipeline;
use crate::settings::Settings;
use crate::transport::HUB_INGRESS_QUEUE;
use crate::transport::amqp::AmqpDeadLetters;
use crate::transport::amqp::{
    AmqpConsumer, AmqpPublisher, ConsumerConfig, Endpoint, PublisherConfig,
};
use crate::transport::{DeadLetterAdmin, Shutdown, TransportError};

/// Why `run` stopped before it started.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Assembling the hub failed.
    #[error(transparent)]
    Hub(#[from] HubError),
    /// The broker could not be reached or set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The console could not be set up.
    #[error("console: {0}")]
    Console(#[from] HashError),
    /// The HTTP listener could not be opened.
    #[error("cannot listen on {address} (http.listen): {source}")]
    Http {
        /// The configured address.
        address: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Open the HTTP listener now (so a taken port fails the start) and serve it until shutdown.
async fn spawn_http(
    address: std::net::SocketAddr,
    pipeline: &Arc<Pipeline>,
    links: (&AmqpConsumer, &AmqpPublisher),
    console: Option<Arc<Console>>,
    shutdown: &Shutdown,
) -> Result<tokio::task::JoinHandle<()>, StartupError> {
    let (consumer, publisher) = links;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| StartupError::Http { address, source })?;
    let state = HttpState {
        pipeline: pipeline.clone(),
        broker: Some(consumer.status()),
        publisher: Some(publisher.status()),
        console,
    };
    // The bound address: with port 0 (`127.0.0.1:0`) the system chose it, and this says which.
    let address = listener.local_addr().unwrap_or(address);
    tracing::info!(%address, "serving /healthz, /readyz, /metrics and the /v1 API");
    let shutdown = shutdown.clone();
    Ok(tokio::spawn(async move {
        if let Err(e) = crate::http::serve(listener, state, shutdown).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    }))
}

/// Set the queues' bounds (dead-letter retention, organisation queue limits). In the
/// background: the management API may be slow or firewalled off from the hub, which must not
/// delay or stop it; the operator is told and can set the policies from elsewhere with
/// `samverkan topology --declare`.
async fn apply_policies(settings: Settings) {
    match crate::onboard::policy::apply_configured(&settings).await {
        Ok(policies) => tracing::debug!(?policies, "queue bound policies set"),
        Err(e) => tracing::warn!(
            error = %e,
            "queue bounds not applied; the hub's queues are unbounded until they are \
             (run `samverkan topology --declare` where the management API is reachable)"
        ),
    }
}

/// The broker endpoint for the configured organisations.
pub fn endpoint(settings: &Settings, role: &str) -> Result<Endpoint, TransportError> {
    let name = format!("{}-{role}", settings.amqp.connection_name);
    Ok(Endpoint::new(
        settings.amqp.url.clone(),
        name,
        topology(settings)?,
    ))
}

/// Run the hub until `shutdown` fires.
pub async fn serve(
    settings: &Settings,
    clock: SharedClock,
    shutdown: Shutdown,
) -> Result<(), StartupError> {
    serve_with(settings, clock, None, shutdown).await
}

/// [`serve`] with `catalogue` in place of the configured catalogue files (`None`: load them),
/// as `samverkan bench --catalogue N` runs it.
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_with(
    settings: &Settings,
    clock: SharedClock,
    catalogue: Option<Catalogue>,
    shutdown: Shutdown,
) -> Result<(), StartupError> {
    let app = App::build(settings, clock, catalogue).await?;
    let pipeline = app.pipeline().clone();
    let publisher = Arc::new(
        AmqpPublisher::connect(PublisherConfig {
            endpoint: endpoint(settings, "publisher")?,
            confirm_window: settings.amqp.confirm_window,
            confirm_timeout: std::time::Duration::from_millis(settings.amqp.confirm_timeout_ms),
            max_message_bytes: settings.hub.relay_max_message_bytes,
        })
        .await?,
    );
    let consumer = AmqpConsumer::connect(
        ConsumerConfig {
            endpoint: endpoint(settings, "consumer")?,
            queue: HUB_INGRESS_QUEUE.to_owned(),
            prefetch: settings.amqp.prefetch,
        },
        shutdown.clone(),
    )
    .await?;
    tokio::spawn(apply_policies(settings.clone()));
    let http = match settings.http.address() {
        Some(address) => {
            let links = (&consumer, publisher.as_ref());
            let dead_letters: Arc<dyn DeadLetterAdmin> = Arc::new(AmqpDeadLetters::new(
                settings.amqp.url.clone(),
                format!("{}-console", settings.amqp.connection_name),
            ));
            let console =
                Console::from_settings(&settings.console, Some(dead_letters))?.map(Arc::new);
            Some(spawn_http(address, &pipeline, links, console, &shutdown).await?)
        }
        None => None,
    };
    tracing::info!(
        amqp = %settings.amqp.redacted_url(),
        store = %settings.store.redacted_url(),
        organisations = settings.organisations.len(),
        "hub running"
    );
    app.run(consumer, publisher.clone(), shutdown).await;
    if let Some(http) = http
        && let Err(e) = http.await
    {
        tracing::error!(error = %e, "HTTP task failed");
    }
    publisher.close().await;
    pipeline.store().close().await;
    tracing::info!("hub stopped");
    Ok(())
}
