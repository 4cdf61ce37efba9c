//! `POST /v1/events`: an organisation without an AMQP client sends an event over HTTP.
//!
//! The CloudEvents HTTP binding in structured mode (`Content-Type:
//! application/cloudevents+json`, the event is the body) or binary mode (`ce-*` headers, the
//! data is the body); batch mode is not offered. The request becomes the same [`Inbound`] an
//! AMQP delivery is, with the token's organisation's broker user as `user_id`, and runs through
//! the same [`Pipeline::handle`], so authentication, authorization, validation, the PII guard,
//! deduplication by `source` + `id` and the recording of refusals (dead letter,
//! `message.rejected`, audit) are exactly those of AMQP. The answer comes after the commit:
//! `202` accepted, `200` duplicate, a refusal's status from [`super::error::status_of`]. A
//! commit wakes the outbox relay, as an AMQP delivery's does, so what it caused is published at
//! once rather than at the relay's next poll.
//!
//! OpenTelemetry-instrumented clients send the trace context as the plain W3C `traceparent` /
//! `tracestate` headers, not as the CloudEvents extension (`ce-traceparent` or a
//! `traceparent` attribute in the body). Those headers become the event's trace context when
//! the event carries no valid one of its own ([`crate::event::Trace::fill`]), validated as the
//! extension is: an invalid header is ignored like an invalid `ce-traceparent` — the event is
//! processed, its trace is not continued — since a trace header is telemetry, not the event.
//! More than one `traceparent` header is invalid (W3C Trace Context); several `tracestate`
//! headers are joined into one list.
//!
//! Requests without a valid token are answered `401` here and not recorded: over HTTP anyone
//! can call, and recording anonymous requests would let anyone fill the dead-letter queue.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::json;

use super::HttpState;
use super::auth::Caller;
use super::error::ApiError;
use crate::event::{PREFIXES, RejectReason, STRUCTURED_CONTENT_TYPE, Trace};
use crate::pipeline::{Outcome, Pipeline};
use crate::rejection::Rejection;
use crate::settings::Organisation;
use crate::store::{Fault, StoreError};
use crate::transport::Inbound;

/// The routing key an HTTP event's dead letter names (AMQP ones name the publisher's key).
const HTTP_ROUTING_KEY: &str = "http";

/// The handler.
pub(crate) async fn post_event(
    State(state): State<HttpState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let pipeline = &state.pipeline;
    let Caller(org) = caller.inspect_err(|e| {
        if matches!(e, ApiError::Unauthenticated) {
            pipeline.metrics().refused(RejectReason::Unauthenticated);
        }
    })?;
    let body = body.map_err(|rejection| body_refusal(pipeline, &rejection))?;
    if pipeline.pause().is_paused() {
        return Err(ApiError::Unavailable);
    }
    let inbound = to_inbound(&headers, body, &org);
    deliver(pipeline, &inbound, &org).await
}

/// A body that could not be read: over the HTTP limit (413, `too_large`) or cut off.
fn body_refusal(pipeline: &Pipeline, rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        pipeline.metrics().refused(RejectReason::TooLarge);
        let detail = format!(
            "the body is larger than limits.max_message_bytes ({} bytes)",
            pipeline.limits().max_message_bytes
        );
        return ApiError::refusal(RejectReason::TooLarge, &detail);
    }
    ApiError::refusal(RejectReason::EmptyMessage, "the body could not be read")
}

/// The request as the pipeline reads a delivery: body, content type, the `ce-*` headers only
/// (percent-decoded, as the HTTP binding encodes them; no other header — `Authorization`
/// least of all — reaches dead letters), the W3C trace headers, and the sender's broker user.
fn to_inbound(headers: &HeaderMap, body: Bytes, org: &Organisation) -> Inbound {
    let ce_headers = headers
        .iter()
        .filter(|(name, _)| is_ce_header(name.as_str()))
        .map(|(name, value)| {
            let raw = String::from_utf8_lossy(value.as_bytes());
            let decoded = percent_decode_str(&raw).decode_utf8_lossy().into_owned();
            (name.as_str().to_owned(), decoded)
        })
        .collect();
    Inbound {
        body: body.to_vec(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        headers: ce_headers,
        user_id: Some(org.broker_user.clone()),
        message_id: None,
        routing_key: HTTP_ROUTING_KEY.to_owned(),
        redelivered: false,
        trace: w3c_trace(headers),
        replay: None,
    }
}

/// The W3C Trace Context headers: exactly one `traceparent`, and the `tracestate` headers
/// joined with commas (dropped whole when one is not visible ASCII); validated by [`Trace`].
fn w3c_trace(headers: &HeaderMap) -> Trace {
    let mut parents = headers.get_all(TRACEPARENT).iter();
    let parent = match (parents.next(), parents.next()) {
        (Some(only), None) => only.to_str().ok(),
        _ => None,
    };
    let states: Option<Vec<&str>> = headers
        .get_all(TRACESTATE)
        .iter()
        .map(|v| v.to_str().ok())
        .collect();
    let state = states.filter(|s| !s.is_empty()).map(|s| s.join(","));
    Trace::new(parent, state.as_deref())
}

/// The W3C Trace Context header names (HTTP header names are matched case-insensitively).
const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";

/// The HTTP binding's prefix, one of those [`crate::event::decode`] accepts.
const CE_PREFIX: &str = "ce-";

fn is_ce_header(name: &str) -> bool {
    debug_assert!(PREFIXES.contains(&CE_PREFIX));
    name.len() > CE_PREFIX.len()
        && name
            .get(..CE_PREFIX.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(CE_PREFIX))
}

/// Run the pipeline in a span like an AMQP delivery's, and answer with its outcome.
#[tracing::instrument(
    name = "http_event",
    skip_all,
    fields(org = org.id.as_str(), event_id, event_type, need_id)
)]
async fn deliver(
    pipeline: &Pipeline,
    inbound: &Inbound,
    org: &Organisation,
) -> Result<Response, ApiError> {
    let result = match unsupported(inbound) {
        Some(rejection) => pipeline.refuse_unread(inbound, rejection).await,
        None => pipeline.handle(inbound).await,
    };
    let outcome = result.map_err(|e| store_failure(pipeline, &e))?;
    let metrics = pipeline.metrics();
    if matches!(outcome, Outcome::Accepted { .. } | Outcome::Refused { .. }) {
        // Committed outbox rows: publish them now, as the AMQP worker does.
        pipeline.relay_wake().notify_one();
    }
    match outcome {
        Outcome::Accepted { event_type } => {
            metrics.accepted();
            let body = json!({"outcome": "accepted", "type": event_type.as_str()});
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
        Outcome::Duplicate => {
            metrics.duplicate();
            Ok((StatusCode::OK, Json(json!({"outcome": "duplicate"}))).into_response())
        }
        Outcome::Refused { reason, data } => {
            metrics.refused(reason);
            Err(ApiError::Refused { reason, data })
        }
    }
}

/// A request that is neither structured mode nor binary mode (no `ce-*` headers and a content
/// type other than `application/cloudevents+json`), batch mode included.
fn unsupported(inbound: &Inbound) -> Option<Rejection> {
    let content_type = inbound.content_type.as_deref().unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !inbound.headers.is_empty() || media_type.eq_ignore_ascii_case(STRUCTURED_CONTENT_TYPE) {
        return None;
    }
    Some(Rejection {
        reason: RejectReason::UnsupportedContentType,
        detail: format!(
            "send `Content-Type: {STRUCTURED_CONTENT_TYPE}` with the event as the body \
             (structured mode), or `ce-*` headers with JSON data (binary mode); batch mode is \
             not supported"
        ),
        errors: vec![],
    })
}

/// What a failed store transaction means for the caller: nothing was recorded, so it may send
/// the same event again. The store's own faults pause the hub, as on AMQP.
fn store_failure(pipeline: &Pipeline, error: &StoreError) -> ApiError {
    pipeline.metrics().store_fault(error.kind());
    match error.fault() {
        Fault::Infrastructure => {
            if pipeline.pause().pause() {
                tracing::warn!(
                    error = %error,
                    kind = error.kind(),
                    "the store cannot do its work; pausing until it can write again"
                );
            }
            ApiError::Unavailable
        }
        Fault::Contention => ApiError::Unavailable,
        Fault::Message => {
            tracing::error!(error = %error, "an HTTP event could not be recorded");
            ApiError::Internal
        }
    }
}
