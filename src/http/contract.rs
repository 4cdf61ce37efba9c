//! The contract over HTTP, without a token: `GET /openapi.json`, `GET /asyncapi.json` and
//! `GET /schemas/{file}`.
//!
//! Partners and their tools need the contract of the hub they connect to, in the version it
//! runs; serving it from the binary means it cannot differ from what the hub enforces. No
//! route reads state or carries anything secret: the documents come from [`crate::contract`],
//! the AsyncAPI one with the placeholder broker address (the configured `amqp.url` is often an
//! internal name, and the routes are open to anyone who reaches the listener) and the OpenAPI
//! one with the relative server `/` (the listener that served it); a schema is served only
//! when its name is one of the embedded files, so no path reaches the disk. The OpenAPI
//! document is the same for every request, so it is generated and serialized once.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

use crate::contract::{BrokerAddress, asyncapi_document, openapi_document};
use crate::schema::{SCHEMA_FILES, schema_source};

/// The media type of a served schema.
pub(crate) const SCHEMA_CONTENT_TYPE: &str = "application/schema+json";
/// `reason` of a 404 for a schema that is not embedded.
pub(crate) const UNKNOWN_SCHEMA: &str = "unknown_schema";
/// `reason` of a 500 when a document cannot be generated (a bug in `schemas/`).
pub(crate) const CONTRACT_UNAVAILABLE: &str = "contract_unavailable";

/// The contract routes; they work with any router state.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/asyncapi.json", get(asyncapi))
        .route("/schemas/{*file}", get(schema))
}

/// The OpenAPI document as served, generated on first use; `None` if it cannot be (logged once).
static OPENAPI: LazyLock<Option<String>> = LazyLock::new(|| match openapi_document(None) {
    Ok(document) => Some(document.to_string()),
    Err(e) => {
        tracing::error!(error = %e, "the OpenAPI document could not be generated");
        None
    }
});

/// The OpenAPI 3.1 document of this API.
async fn openapi() -> Response {
    match OPENAPI.as_deref() {
        Some(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        None => unavailable(),
    }
}

/// The AsyncAPI 3.0 document.
async fn asyncapi() -> Response {
    match asyncapi_document(&BrokerAddress::placeholder()) {
        Ok(document) => Json(document).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the AsyncAPI document could not be generated");
            unavailable()
        }
    }
}

/// A document that cannot be generated: 500 `contract_unavailable`.
fn unavailable() -> Response {
    let body = json!({"reason": CONTRACT_UNAVAILABLE});
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

/// One embedded schema by file name (`need.v1.json`); anything else is 404 with the list of
/// names that exist (the requested path is not echoed).
async fn schema(Path(file): Path<String>) -> Response {
    match schema_source(&file) {
        Some(text) => ([(header::CONTENT_TYPE, SCHEMA_CONTENT_TYPE)], text).into_response(),
        None => {
            let known: Vec<&str> = SCHEMA_FILES.iter().map(|(name, _)| *name).collect();
            let body = json!({"reason": UNKNOWN_SCHEMA, "schemas": known});
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use serde_json::Value;

    use super::*;

    async fn body(response: Response) -> Vec<u8> {
        to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    #[tokio::test]
    async fn serves_an_embedded_schema_by_file_name_only() {
        let response = schema(Path("need.v1.json".to_owned())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            SCHEMA_CONTENT_TYPE
        );
        assert_eq!(
            body(response).await,
            schema_source("need.v1.json")
                .map(str::as_bytes)
                .unwrap_or_default()
        );
        for name in ["../Cargo.toml", "need.v1", "/etc/passwd", ""] {
            let response = schema(Path(name.to_owned())).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{name}");
            let json: Value = serde_json::from_slice(&body(response).await).expect("JSON");
            assert_eq!(json["reason"], "unknown_schema");
        }
    }

    #[tokio::test]
    async fn serves_the_asyncapi_document() {
        let response = asyncapi().await;
        assert_eq!(response.status(), StatusCode::OK);
        let json: Value = serde_json::from_slice(&body(response).await).expect("JSON");
        assert_eq!(json["asyncapi"], "3.0.0");
    }

    #[tokio::test]
    async fn serves_the_openapi_document_as_json() {
        let response = openapi().await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let json: Value = serde_json::from_slice(&body(response).await).expect("JSON");
        assert_eq!(json["openapi"], "3.1.0");
        assert_eq!(json["servers"][0]["url"], "/");
    }
}
