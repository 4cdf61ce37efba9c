//! The hub's HTTP surface for operators: `/healthz`, `/readyz`, `/metrics`.
//!
//! Orchestrators (Kubernetes, systemd, a load balancer) need to know two different things:
//! whether the process is alive (`/healthz`: restart it if not) and whether it can do its job
//! now (`/readyz`: the store answers and the broker link is up; while the consumer reconnects
//! after a broker restart, the hub is alive but not ready). `/metrics` gives the delivery
//! counters of [`crate::metrics`] plus the unsent outbox rows, in Prometheus text format.
//!
//! Nothing here carries personal data: counts, reason codes and component states only. The
//! listener is off unless `[http] listen` is set, and is meant for the operators' network.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;

use crate::metrics::Gauges;
use crate::pipeline::Pipeline;
use crate::transport::Shutdown;
use crate::transport::amqp::LinkStatus;

/// What the handlers look at.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// The pipeline: its store and its metrics.
    pub pipeline: Arc<Pipeline>,
    /// The consumer's broker link; `None` on a transport without one (the in-process broker).
    pub broker: Option<LinkStatus>,
}

/// The router, in a function so tests can serve it on a port of their own.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
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
    let store = state.pipeline.store().ping().await.is_ok();
    let broker = state.broker.as_ref().is_none_or(LinkStatus::is_connected);
    let status = if store && broker {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": store && broker,
        "store": if store { "ok" } else { "unavailable" },
        "broker": match &state.broker {
            None => "none",
            Some(link) if link.is_connected() => "connected",
            Some(_) => "reconnecting",
        },
    });
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let gauges = Gauges {
        outbox_pending: state.pipeline.store().outbox_pending_count().await.ok(),
        outbox_parked: state.pipeline.store().outbox_parked_count().await.ok(),
        broker_connected: state.broker.as_ref().map(LinkStatus::is_connected),
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
