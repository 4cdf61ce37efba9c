//! The contract as a machine-readable document: AsyncAPI 3.0, generated from the code.
//!
//! Partners generate clients, mocks and documentation from an AsyncAPI document, so it has to
//! say exactly what the hub does. A hand-written one drifts the first time an event type, a
//! schema or a routing rule changes; this one is computed from the same items the hub runs on:
//! [`EventType::ALL`](crate::event::EventType::ALL) and its schema files, the embedded schemas
//! of [`crate::schema`], the broker names of [`crate::transport`]'s topology and
//! [`sender_kind`](crate::pipeline::sender_kind), which decides who may send what.
//!
//! | file          | does                                                                       |
//! |---------------|----------------------------------------------------------------------------|
//! | `asyncapi.rs` | the document: info, servers, channels, operations, messages                 |
//! | `envelope.rs` | the CloudEvents envelope (structured mode) and the binary-mode headers     |
//! | `payload.rs`  | the JSON Schema 2020-12 files rewritten as AsyncAPI components (draft-07)  |
//! | `server.rs`   | the broker address shown under `servers`, never with credentials           |
//!
//! Everything here is pure: no I/O, no settings lookups. `GET /asyncapi.json` (`crate::http`)
//! and `samverkan contract asyncapi` (`crate::cli`) serve what [`asyncapi_document`] returns.
//! The document is self-contained: every `$ref` points inside it, so a validator or generator
//! never fetches anything over the network (`scripts/contract-check` validates it with the
//! official `@asyncapi/parser` in CI).

mod asyncapi;
mod envelope;
mod payload;
mod server;

use thiserror::Error;

pub use asyncapi::{ASYNCAPI_VERSION, asyncapi_document};
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
