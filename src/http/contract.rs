//! The contract over HTTP, without a token: `GET /asyncapi.json` and `GET /schemas/{file}`.
//!
//! Partners and their tools need the contract of the hub they connect to, in the version it
//! runs; serving it from the binary means it cannot differ from what the hub enforces. Neither
//! route reads state or carries anything secret: the document comes from
//! [`crate::contract`] with the placeholder broker address (the configured `amqp.url` is often
//! an internal name, and the routes are open to anyone who reaches the listener), and a schema
//! is served only when its name is one of the embedded files, so no path reaches the disk.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde_json::json;

use crate::contract::{BrokerAddress, asyncapi_document};
use crate::schema::{SCHEMA_FILES, schema_source};

/// The media type of a served schema.
const SCHEMA_CONTENT_TYPE: &str = "application/schema+json";

/// The contract routes; they work with any router state.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/asyncapi.json", get(asyncapi))
        .route("/schemas/{*file}", get(schema))
}

/// The AsyncAPI 3.0 document.
async fn asyncapi() -> Response {
    match asyncapi_document(&BrokerAddress::placeholder()) {
        Ok(document) => Json(document).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the AsyncAPI document could not be generated");
            let body = json!({"reason": "contract_unavailable"});
            (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
        }
    }
}

/// One embedded schema by file name (`need.v1.json`); anything else is 404 with the list of
/// names that exist (the requested path is not echoed).
async fn schema(Path(file): Path<String>) -> Response {
    match schema_source(&file) {
        Some(text) => ([(header::CONTENT_TYPE, SCHEMA_CONTENT_TYPE)], text).into_response(),
        None => {
            let known: Vec<&str> = SCHEMA_FILES.iter().map(|(name, _)| *name).collect();
            let body = json!({"reason": "unknown_schema", "schemas": known});
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
}
