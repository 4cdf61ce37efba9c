//! The OpenAPI 3.1 document of the hub's HTTP API: the operators' endpoints, the partners' API
//! under `/v1`, the contract routes, and what the hub POSTs to a registered webhook.
//!
//! OpenAPI 3.1 schemas are JSON Schema 2020-12, so the event data schemas are the same
//! components the AsyncAPI document carries (`payload.rs`, every `$ref` inside the document)
//! and the envelope is `envelope.rs`'s. Paths, reason codes and their statuses, content types
//! and vocabularies come from the code that serves them (`crate::http`, `RejectReason`,
//! `NeedState`…), so the document changes when the API does; a unit test reads the router's
//! source and fails on a route that is not described here.
//!
//! | file                  | does                                                           |
//! |-----------------------|----------------------------------------------------------------|
//! | `openapi.rs`          | the document: info, servers, security, tags, components         |
//! | `openapi_paths.rs`    | operators, contract, `POST /v1/events`, `/v1/needs`             |
//! | `openapi_partner.rs`  | `/v1/feed`, `/v1/webhook` and the top-level `webhooks`          |
//! | `openapi_schemas.rs`  | the API's own bodies, the one refusal schema, response helpers  |

use serde_json::{Map, Value, json};

use super::ContractError;
use super::envelope::{self, CLOUD_EVENT};
use super::openapi_partner::webhooks;
use super::openapi_paths::{BEARER, EVENT_PREFIX, SENT_EVENT, paths, sent_types};
use super::openapi_schemas::{api_schemas, schema_ref};
use super::payload::schema_components;
use crate::event::STRUCTURED_CONTENT_TYPE;

/// The OpenAPI version the document follows.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// The whole document. `base_url` is where the API is reached (`http://host:port`); `None`
/// gives the relative server `/`, the host that served the document.
///
/// # Errors
///
/// [`ContractError`] when an embedded schema cannot be converted (a bug in `schemas/`).
pub fn openapi_document(base_url: Option<&str>) -> Result<Value, ContractError> {
    Ok(json!({
        "openapi": OPENAPI_VERSION,
        "info": info(),
        "servers": [server(base_url)],
        "tags": tags(),
        "paths": paths(),
        "webhooks": webhooks(),
        "components": {
            "schemas": schemas()?,
            "securitySchemes": {BEARER: {
                "type": "http",
                "scheme": "bearer",
                "description": "An organisation's API token, `svk_` and 64 hex digits, from \
                    `samverkan tokens issue ORG` (ask the hub's operators). It stands for the \
                    organisation as its broker user does; a revoked token counts at once.",
            }},
        },
    }))
}

fn info() -> Value {
    json!({
        "title": "Samverkan HTTP API",
        "version": env!("CARGO_PKG_VERSION"),
        "description": format!(
            "{} This document describes the hub's HTTP listener: health and metrics for \
             operators; for organisations without an AMQP client, events in \
             (`POST /v1/events`, the same pipeline and reason codes as AMQP), their needs, a \
             feed to poll and a webhook to register; and the contract itself. The events and \
             their data are the same as on AMQP: see /asyncapi.json and /schemas/.",
            env!("CARGO_PKG_DESCRIPTION")
        ),
        "license": {
            "name": env!("CARGO_PKG_LICENSE"),
            "identifier": env!("CARGO_PKG_LICENSE"),
        },
    })
}

fn server(base_url: Option<&str>) -> Value {
    match base_url {
        Some(url) => json!({"url": url, "description": "The hub's HTTP listener, as \
            configured (`[http] listen`); a reverse proxy with TLS may stand in front of it."}),
        None => json!({"url": "/", "description": "The hub that serves this document."}),
    }
}

fn tags() -> Value {
    json!([
        {"name": "events", "description": "Send events, as over AMQP."},
        {"name": "needs", "description": "A region reads its own needs."},
        {"name": "feed", "description": "Receive events by polling."},
        {"name": "webhook", "description": "Receive events by webhook."},
        {"name": "contract", "description": "The machine-readable contract; no token."},
        {"name": "operators", "description": "Health and metrics; no token."},
    ])
}

/// The event data schemas, the envelope, one schema per event an organisation sends, and the
/// API's own bodies.
fn schemas() -> Result<Map<String, Value>, ContractError> {
    let mut schemas = schema_components()?;
    schemas.insert(CLOUD_EVENT.to_owned(), envelope::cloud_event());
    let mut sent = Vec::new();
    for t in sent_types() {
        let name = format!("{EVENT_PREFIX}{}", super::asyncapi::short_name(t));
        let mut payload = envelope::payload(t);
        payload["title"] = t.as_str().into();
        schemas.insert(name.clone(), payload);
        sent.push(schema_ref(&name));
    }
    schemas.insert(
        SENT_EVENT.to_owned(),
        json!({
            "title": "An event an organisation sends",
            "description": format!(
                "A structured-mode CloudEvent ({STRUCTURED_CONTENT_TYPE}) of a type some kind of \
                 organisation may send; the hub checks that yours may."
            ),
            "oneOf": sent,
        }),
    );
    schemas.extend(api_schemas());
    Ok(schemas)
}

#[cfg(test)]
#[path = "openapi_tests.rs"]
mod tests;
