//! The contract as machine-readable documents, generated from the code: AsyncAPI 3.0 for the
//! AMQP side, OpenAPI 3.1 for the HTTP API.
//!
//! Partners generate clients, mocks and documentation from these documents, so they have to
//! say exactly what the hub does. A hand-written one drifts the first time an event type, a
//! schema, a routing rule or a route changes; these are computed from the same items the hub
//! runs on: [`EventType::ALL`](crate::event::EventType::ALL) and its schema files, the embedded
//! schemas of [`crate::schema`], the broker names of [`crate::transport`]'s topology,
//! [`sender_kind`](crate::pipeline::sender_kind), which decides who may send what, and for
//! the HTTP API the reason codes, statuses and content types of [`crate::http`].
//!
//! | file                  | does                                                               |
//! |-----------------------|--------------------------------------------------------------------|
//! | `asyncapi.rs`         | the AsyncAPI document: info, servers, channels, operations, messages |
//! | `openapi.rs`          | the OpenAPI document: info, servers, security, components          |
//! | `openapi_paths.rs`    | its operators, contract, events and needs operations               |
//! | `openapi_partner.rs`  | its feed and webhook operations, and the `webhooks` the hub calls  |
//! | `openapi_schemas.rs`  | the API's own bodies and the one refusal schema                    |
//! | `envelope.rs`         | the CloudEvents envelope (structured mode) and the binary-mode headers |
//! | `payload.rs`          | the JSON Schema 2020-12 files rewritten as components (draft-07)   |
//! | `server.rs`           | the broker address shown under `servers`, never with credentials   |
//!
//! Everything here is pure: no I/O, no settings lookups. `GET /asyncapi.json` and
//! `GET /openapi.json` (`crate::http`), `samverkan contract asyncapi` and `samverkan contract
//! openapi` (`crate::cli`) serve what [`asyncapi_document`] and [`openapi_document`] return.
//! The documents are self-contained: every `$ref` points inside them, so a validator or
//! generator never fetches anything over the network (`scripts/contract-check` validates them
//! with the official parsers, `@asyncapi/parser` and `@readme/openapi-parser`, in CI).

mod asyncapi;
mod envelope;
mod openapi;
mod openapi_partner;
mod openapi_paths;
mod openapi_schemas;
mod payload;
mod server;

use thiserror::Error;

pub use asyncapi::{ASYNCAPI_VERSION, asyncapi_document};
pub use openapi::{OPENAPI_VERSION, openapi_document};
pub use server::BrokerAddress;

/// The embedded schemas could not be turned into AsyncAPI components: a bug in `schemas/`
/// (the test suite generates the document, so it never reaches a release).
#[derive(Debug, Error)]
pub enum ContractError {
    /// A schema file is not valid JSON.
    #[error("schema file {file} is not valid JSON: {source}")]
    Json {
        /// The file.
        file: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A schema file is not a JSON object, or its `$defs` is not one.
    #[error("schema file {file} is not a JSON Schema object")]
    NotAnObject {
        /// The file.
        file: &'static str,
    },
    /// A `$ref` points outside the embedded schemas.
    #[error("schema file {file} has a $ref to `{reference}`, which is not an embedded schema")]
    ForeignRef {
        /// The file holding the reference.
        file: &'static str,
        /// The reference as written.
        reference: String,
    },
}
