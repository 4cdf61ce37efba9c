//! `GET /v1/needs` and `GET /v1/needs/{id}`: a region reads its own needs' reconciled state
//! over HTTP, as `samverkan needs show --format json` shows it ([`need_report`]).
//!
//! A region sees only its own needs: need ids are unique within a region, so the caller's id
//! and the need id are the key. A need of another region answers exactly as an id nobody uses
//! (same status, same body), so the API does not tell one region which ids another uses. Only
//! regions submit needs, so only regions may read them; anyone else gets 403.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::HttpState;
use super::auth::Caller;
use super::error::ApiError;
use crate::need::{NeedId, NeedKey, NeedState};
use crate::reconcile::need_report;
use crate::settings::{OrgKind, Organisation};
use crate::store::StoreError;

/// Most needs one `GET /v1/needs` lists.
const MAX_LISTED: i64 = 1000;

/// `GET /v1/needs` query parameters.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// Only needs in this state.
    state: Option<String>,
}

/// The calling region's needs, in need id order, optionally in one state.
pub(crate) async fn list_needs(
    State(state): State<HttpState>,
    Caller(org): Caller,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let region = region_of(&org)?;
    let filter = match query.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(NeedState::parse(s).ok_or_else(|| {
            ApiError::BadQuery(
                "state must be one of received, published, unmatched, rejected, answered, \
                 closed, withdrawn"
                    .to_owned(),
            )
        })?),
    };
    let needs = state
        .pipeline
        .store()
        .needs_of_region(&region.id, filter, MAX_LISTED)
        .await
        .map_err(|e| read_failure(&e))?;
    let needs: Vec<Value> = needs.iter().map(need_report).collect();
    Ok(Json(json!({"needs": needs})))
}

/// One of the calling region's needs.
pub(crate) async fn show_need(
    State(state): State<HttpState>,
    Caller(org): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let region = region_of(&org)?;
    // An id that is no need id is, like another region's need, unknown to the caller.
    let need_id = NeedId::parse(&id).map_err(|_| ApiError::UnknownNeed)?;
    let key = NeedKey::new(region.id.clone(), need_id);
    let need = state
        .pipeline
        .store()
        .need(&key)
        .await
        .map_err(|e| read_failure(&e))?
        .ok_or(ApiError::UnknownNeed)?;
    Ok(Json(need_report(&need)))
}

fn region_of(org: &Organisation) -> Result<&Organisation, ApiError> {
    if org.kind == OrgKind::Region {
        Ok(org)
    } else {
        Err(ApiError::Unauthorized(
            "only a region reads needs, and only its own",
        ))
    }
}

fn read_failure(error: &StoreError) -> ApiError {
    tracing::warn!(error = %error, "cannot read needs for the HTTP API");
    ApiError::Unavailable
}
