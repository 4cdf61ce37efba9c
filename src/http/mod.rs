//! The hub's HTTP surface: for operators `/healthz`, `/readyz`, `/metrics`; for partners
//! without an AMQP client the API under `/v1` (`POST /v1/events`, `GET /v1/needs`,
//! `GET /v1/needs/{id}`, `GET|PUT|DELETE /v1/webhook`, bearer tokens from `samverkan tokens`); for everyone's tools the
//! contract, `/asyncapi.json` and `/schemas/{file}` (`contract.rs`, no token).
//!
//! Orchestrators (Kubernetes, systemd, a load balancer) need to know two different things:
//! whether the process is alive (`/healthz`: restart it if not) and whether it can do its job
//! now (`/readyz`: the store can write, the consumer's and the publisher's broker links are up
//! and the hub is not paused; while it reconnects after a broker restart or waits for its
//! database, the hub is alive but not ready). Every check has a deadline, so a hung database
//! makes `/readyz` answer 503, not hang. `/metrics` gives the counters of `crate::metrics`
//! plus the outbox and pause gauges, in Prometheus text format.
//!
//! The API exists because not every university or company runs an AMQP client; it is the same
//! hub, not a second one: events go through the same pipeline (`events.rs`), needs are read
//! from the same store (`needs.rs`), a token stands for an organisation as a broker user does
//! (`auth.rs`), and every error is one `ApiError` (`error.rs`).
//!
//! Nothing served carries personal data beyond what passed the PII guard: counts, reason codes,
//! component states, and a region's own needs. The listener is off unless `[http] listen` is
//! set.

mod auth;
mod contract;
mod error;
mod events;
mod needs;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;

use crate::metrics::Gauges;
use crate::pipeline::Pipeline;
use crate::transport::Shutdown;
use crate::transport::amqp::LinkStatus;

/// What the handlers look at.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// The pipeline: its store, metrics and pause for the operators' endpoints; for the API
    /// also `handle`, the organisations and the limits.
    pub pipeline: Arc<Pipeline>,
    /// The consumer's broker link; `None` on a transport without one (the in-process broker).
    pub broker: Option<LinkStatus>,
    /// The publisher's broker link, when there is one.
    pub publisher: Option<LinkStatus>,
}

/// How long `/readyz` waits for the store's write check.
const STORE_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The router, in a function so tests can serve it on a port of their own.
pub(crate) fn router(state: HttpState) -> Router {
    let body_limit = http_body_limit(state.pipeline.limits().max_message_bytes);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/v1/events",
            post(events::post_event).layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/v1/needs", get(needs::list_needs))
        .route("/v1/needs/{id}", get(needs::show_need))
        .route(
            "/v1/webhook",
            get(webhook::show)
                .put(webhook::register)
                .delete(webhook::remove),
        )
        .merge(contract::routes())
        .with_state(state)
}

/// The most body bytes `POST /v1/events` reads: above `limits.max_message_bytes`, so a body
/// just over that limit reaches the pipeline and is refused and recorded as `too_large`
/// exactly as on AMQP; a body over this one is answered `413 too_large` without being read.
fn http_body_limit(max_message_bytes: usize) -> usize {
    max_message_bytes.saturating_add(64 * 1024)
}

/// Serve `router(state)` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: HttpState,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// 200 when the store answers and the broker link is up, else 503; the body says which part
/// is not ready (no error text: it could name hosts or users).
async fn readyz(State(state): State<HttpState>) -> Response {
    let store = state
        .pipeline
        .store()
        .probe_write(STORE_CHECK_TIMEOUT)
        .await;
    let link = |status: &Option<LinkStatus>| match status {
        None => "none",
        Some(link) if link.is_connected() => "connected",
        Some(_) => "reconnecting",
    };
    let (broker, publisher) = (link(&state.broker), link(&state.publisher));
    let paused = state.pipeline.pause().is_paused();
    let ready = store.is_ok() && broker != "reconnecting" && publisher != "reconnecting" && !paused;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": ready,
        "store": match &store {
            Ok(()) => "ok",
            Err(e) if e.kind() == "read_only" => "read_only",
            Err(_) => "unavailable",
        },
        "broker": broker,
        "publisher": publisher,
        "paused": paused,
    });
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let store = state.pipeline.store();
    let now_ms = state.pipeline.clock().now().unix_timestamp_nanos() / 1_000_000;
    let oldest = store.outbox_oldest_unsent_ms().await.ok();
    let gauges = Gauges {
        outbox_pending: store.outbox_pending_count().await.ok(),
        outbox_parked: store.outbox_parked_count().await.ok(),
        webhook_parked: store.webhook_parked_count(None).await.ok(),
        broker_connected: state.broker.as_ref().map(LinkStatus::is_connected),
        paused: state.pipeline.pause().is_paused(),
        // Zero when nothing waits.
        outbox_oldest_age_secs: oldest.map(|o| {
            o.map_or(0.0, |created| {
                (now_ms - i128::from(created)).max(0) as f64 / 1000.0
            })
        }),
    };
    let text = state.pipeline.metrics().render(gauges);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
