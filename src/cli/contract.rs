//! `samverkan contract asyncapi`: the AsyncAPI 3.0 document, printed from the binary itself.
//!
//! CI validates it with the official parser (`scripts/contract-check`) without starting a hub,
//! and partners can generate clients from the exact version they connect to. The `production`
//! server is a placeholder unless `--from-config` asks for the configured broker's host and
//! port (never its user or password).

use std::io::Write;

use super::Status;
use crate::contract::{BrokerAddress, asyncapi_document};
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
