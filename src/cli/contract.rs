//! `samverkan contract asyncapi` and `samverkan contract openapi`: the AsyncAPI 3.0 and the
//! OpenAPI 3.1 documents, printed from the binary itself.
//!
//! CI validates them with the official parsers (`scripts/contract-check`) without starting a
//! hub, and partners can generate clients from the exact version they connect to. The AsyncAPI
//! `production` server is a placeholder unless `--from-config` asks for the configured
//! broker's host and port (never its user or password); the OpenAPI server is the relative
//! `/` unless `--from-config` asks for `http://` and the configured `[http] listen`.

use std::io::Write;

use super::Status;
use crate::contract::{BrokerAddress, asyncapi_document, openapi_document};
use crate::redact::redact_url;
use crate::settings::Settings;

/// Print the document as pretty JSON.
pub(super) fn asyncapi(
    settings: &Settings,
    from_config: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let server = if from_config {
        let Some(address) = BrokerAddress::from_amqp_url(&settings.amqp.url) else {
            writeln!(
                err,
                "amqp.url ({}) is not an amqp:// or amqps:// URL with a host",
                redact_url(&settings.amqp.url)
            )?;
            return Ok(Status::Failure);
        };
        address
    } else {
        BrokerAddress::placeholder()
    };
    let document = asyncapi_document(&server)?;
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(Status::Ok)
}

/// Print the OpenAPI document as pretty JSON.
pub(super) fn openapi(
    settings: &Settings,
    from_config: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let base_url = if from_config {
        let Some(address) = settings.http.address() else {
            writeln!(
                err,
                "http.listen ({:?}) is not set: the HTTP API is off",
                settings.http.listen
            )?;
            return Ok(Status::Failure);
        };
        Some(format!("http://{address}"))
    } else {
        None
    };
    let document = openapi_document(base_url.as_deref())?;
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(Status::Ok)
}
