//! `GET`, `PUT` and `DELETE /v1/webhook`: an organisation registers, reads and removes its own
//! webhook with its own token (`crate::webhook` delivers it).
//!
//! An organisation only ever sees and changes its own webhook: the token says whose, and
//! another organisation's registration answers as if there were none (404). A webhook the
//! operator configured is shown but cannot be replaced or removed (409): the operator decided
//! where those events go. A registered URL must pass the guard (`crate::webhook::guard`: http
//! or https, no credentials, only global addresses unless `[webhooks] allow_private_urls`),
//! or the hub could be made to POST into its own network. The secret is returned once, in the
//! answer to `PUT`; `GET` never shows it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;

use super::HttpState;

/// `reason` of a webhook URL the hub will not call.
pub(crate) const WEBHOOK_URL: &str = "webhook_url";
/// `reason` of a webhook secret that is not a `whsec_` key of the accepted size.
pub(crate) const WEBHOOK_SECRET: &str = "webhook_secret";
/// `reason` when the organisation has no webhook.
pub(crate) const NO_WEBHOOK: &str = "no_webhook";
/// `reason` when the organisation's webhook is set by the operator's configuration.
pub(crate) const WEBHOOK_CONFIGURED: &str = "webhook_configured";
use super::auth::Caller;
use super::error::ApiError;
use crate::redact::redact_url;
use crate::store::StoreError;
use crate::webhook::target::{Origin, configured, target_of};
use crate::webhook::{guard, sign};

/// The body of `PUT /v1/webhook`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Registration {
    url: String,
    #[serde(default)]
    secret: Option<String>,
}

/// The caller's webhook: URL, origin, whether it passed the handshake, parked events.
pub(super) async fn show(
    State(state): State<HttpState>,
    Caller(org): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let store = state.pipeline.store();
    let target = target_of(store, &org)
        .await
        .map_err(|e| store_failure(&e))?
        .ok_or_else(none)?;
    let delivery = store
        .webhook_state(&org.id)
        .await
        .map_err(|e| store_failure(&e))?;
    let validated = delivery.is_some_and(|s| s.url == target.url && s.validated_at.is_some());
    let parked = store
        .webhook_parked_count(Some(&org.id))
        .await
        .map_err(|e| store_failure(&e))?;
    // The operator's URL may carry the operator's credentials; the organisation's own is its.
    let url = match target.origin {
        Origin::Config => redact_url(&target.url),
        Origin::Api => target.url,
    };
    Ok(Json(json!({
        "url": url,
        "origin": target.origin.as_str(),
        "validated": validated,
        "parked": parked,
    })))
}

/// Register or replace the caller's webhook; answers the URL and the secret (generated when
/// none was given), the only time the secret is shown.
pub(super) async fn register(
    State(state): State<HttpState>,
    Caller(org): Caller,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    if configured(&org).is_some() {
        return Err(set_by_operator());
    }
    let request: Registration = serde_json::from_slice(&body).map_err(|_| ApiError::Plain {
        status: StatusCode::BAD_REQUEST,
        reason: super::error::BAD_REQUEST,
        detail: "send {\"url\": \"https://…\", \"secret\": optional \"whsec_…\"}".to_owned(),
    })?;
    let refused = |detail: &str| unprocessable(WEBHOOK_URL, detail);
    let url = guard::check_url(&request.url).map_err(refused)?;
    let allow_private = state.pipeline.webhooks().allow_private_urls;
    guard::check_destination(&url, allow_private)
        .await
        .map_err(refused)?;
    let secret = match request.secret.as_deref() {
        Some(text) => sign::api_secret(text).map_err(|d| unprocessable(WEBHOOK_SECRET, d))?,
        None => sign::generate_secret().map_err(|e| {
            tracing::error!(error = %e, "no random bytes for a webhook secret");
            ApiError::Internal
        })?,
    };
    let url = String::from(url);
    state
        .pipeline
        .store()
        .put_webhook(&org.id, &url, &secret, OffsetDateTime::now_utc())
        .await
        .map_err(|e| store_failure(&e))?;
    Ok(Json(json!({"url": url, "secret": secret.expose()})))
}

/// Remove the caller's registered webhook.
pub(super) async fn remove(
    State(state): State<HttpState>,
    Caller(org): Caller,
) -> Result<Response, ApiError> {
    if configured(&org).is_some() {
        return Err(set_by_operator());
    }
    let removed = state
        .pipeline
        .store()
        .delete_webhook(&org.id)
        .await
        .map_err(|e| store_failure(&e))?;
    if removed {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(none())
    }
}

fn none() -> ApiError {
    ApiError::Plain {
        status: StatusCode::NOT_FOUND,
        reason: NO_WEBHOOK,
        detail: "you have no webhook; register one with PUT /v1/webhook".to_owned(),
    }
}

fn set_by_operator() -> ApiError {
    ApiError::Plain {
        status: StatusCode::CONFLICT,
        reason: WEBHOOK_CONFIGURED,
        detail: "your webhook is set in the hub's configuration; ask its operator to change it"
            .to_owned(),
    }
}

fn unprocessable(reason: &'static str, detail: &str) -> ApiError {
    ApiError::Plain {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        reason,
        detail: detail.to_owned(),
    }
}

fn store_failure(error: &StoreError) -> ApiError {
    tracing::warn!(error = %error, "cannot use the store for /v1/webhook");
    ApiError::Unavailable
}
