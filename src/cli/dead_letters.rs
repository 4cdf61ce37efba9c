//! `samverkan dead-letters list`: what was refused or given up on, and why.
//!
//! Reads `samverkan.hub.dead` on the configured broker without consuming it (see
//! [`crate::transport::amqp::peek`]): reason codes, details, message ids, routing keys and
//! sizes, never bodies. The counts per reason tell an operator at a glance whether a partner
//! keeps sending schema-invalid events or the store kept failing (`retries_exhausted`).

use std::io::Write;

use anyhow::Context;

use super::{OutputFormat, Status};
use crate::settings::Settings;
use crate::text::clip;
use crate::transport::amqp::{DeadLetters, connect, peek};

/// Print up to `limit` dead letters, oldest first, and the count per reason.
pub fn list(
    settings: &Settings,
    limit: usize,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
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
            serde_json::to_writer_pretty(&mut *out, &seen)?;
            writeln!(out)?;
        }
        OutputFormat::Text => write_text(&seen, out)?,
    }
    Ok(Status::Ok)
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
        writeln!(out, "  {count:>5}  {reason}")?;
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
            m.reason,
            m.event_id
                .as_deref()
                .or(m.message_id.as_deref())
                .unwrap_or("-"),
            m.sender.as_deref().unwrap_or("-"),
            m.need_id.as_deref().unwrap_or("-"),
            m.routing_key,
            m.bytes,
            clip(&m.detail, 100)
        )?;
    }
    Ok(())
}
