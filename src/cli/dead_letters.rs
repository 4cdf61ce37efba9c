//! `samverkan dead-letters list`: what was refused or given up on, and why.
//!
//! Reads `samverkan.hub.dead` on the configured broker without consuming it (see
//! [`crate::transport::amqp::peek`]): reason codes, details, message ids, routing keys and
//! sizes, never bodies. The counts per reason tell an operator at a glance whether a partner
//! keeps sending schema-invalid events or the store kept failing (`retries_exhausted`).
//!
//! Ids, routing keys and details are partly what a sender wrote, and this prints them on an
//! operator's terminal: every string, in text and in JSON, goes through `text::shown` (control
//! characters, bidi overrides and other invisible characters as `\u{…}`, bounded length), and
//! each text line is checked again as a whole, so a field added later cannot slip a raw escape
//! sequence through either.

use std::io::Write;

use super::{OutputFormat, Status};
use crate::settings::Settings;
use crate::text::shown;
use crate::transport::amqp::{DeadLetters, connect, peek};

/// Print up to `limit` dead letters, oldest first, and the count per reason.
pub(super) fn list(
    settings: &Settings,
    limit: usize,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let runtime = super::runtime()?;
    let seen = runtime.block_on(async {
        let connection = connect(&settings.amqp.url, "samverkan-dead-letters").await?;
        let channel = connection.create_channel().await?;
        let seen = peek(&channel, limit).await;
        // Closing returns every message taken, unacknowledged, to the queue.
        connection.close(200, "looked".into()).await.ok();
        anyhow::Ok(seen?)
    })?;
    match format {
        OutputFormat::Json => {
            let value = shown_json(serde_json::to_value(&seen)?);
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            let mut text = Vec::new();
            write_text(&seen, &mut text)?;
            for line in String::from_utf8_lossy(&text).lines() {
                writeln!(out, "{}", shown(line, usize::MAX))?;
            }
        }
    }
    Ok(Status::Ok)
}

/// Longest string of the JSON listing (AMQP short strings, ids and routing keys among them,
/// are at most 255 bytes; details are capped when written).
const MAX_JSON_TEXT: usize = 1000;

/// `value` with every string and key [`shown`].
fn shown_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(shown(&s, MAX_JSON_TEXT)),
        Value::Array(items) => Value::Array(items.into_iter().map(shown_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (shown(&k, MAX_JSON_TEXT), shown_json(v)))
                .collect(),
        ),
        other => other,
    }
}

fn write_text(seen: &DeadLetters, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: {} message(s), showing {}",
        seen.queue,
        seen.total,
        seen.messages.len()
    )?;
    for (reason, count) in &seen.by_reason {
        writeln!(out, "  {count:>5}  {}", shown(reason, 255))?;
    }
    if seen.messages.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<24} {:<38} {:<12} {:<18} {:<40} {:>9}  detail",
        "reason", "event id", "sender", "need id", "routing key", "bytes"
    )?;
    for m in &seen.messages {
        let kept = match m.body.as_str() {
            "original" => String::new(),
            other => format!(" ({other})"),
        };
        writeln!(
            out,
            "{:<24} {:<38} {:<12} {:<18} {:<40} {:>9}  {}{kept}",
            shown(&m.reason, 255),
            shown(
                m.event_id
                    .as_deref()
                    .or(m.message_id.as_deref())
                    .unwrap_or("-"),
                255
            ),
            shown(m.sender.as_deref().unwrap_or("-"), 255),
            shown(m.need_id.as_deref().unwrap_or("-"), 255),
            shown(&m.routing_key, 255),
            m.bytes,
            shown(&m.detail, 100)
        )?;
    }
    Ok(())
}
