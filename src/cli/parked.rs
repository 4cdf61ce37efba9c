//! `samverkan dead-letters parked`: outbound messages the relay set aside because they can
//! never be published, and why.
//!
//! They are not in the broker's dead-letter queue — a message the broker cannot take cannot be
//! put there either — but in the store's outbox, parked with a stable reason code
//! (`property_too_long`, `header_name_too_long`, `headers_too_large`, `body_too_large`,
//! `unroutable`, `broker_refused`) and a detail that names sizes and limits. This lists them
//! beside the dead letters: ids, routing keys, reasons, sizes, never bodies or headers. Text
//! that may have come from a sender (an event id) is shown with control characters escaped,
//! so a listing cannot drive the operator's terminal.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;
use serde_json::json;

use super::{OutputFormat, Status};
use crate::event::format_time;
use crate::settings::Settings;
use crate::store::{ParkedRow, Store};
use crate::text::clip;

/// Print up to `limit` parked outbox rows, oldest first, and the count per reason.
pub(super) fn list(
    settings: &Settings,
    limit: usize,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let runtime = super::runtime()?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (rows, by_reason) = runtime
        .block_on(async {
            let store = Store::from_settings(&settings.store).await?;
            let rows = store.parked_outbox(limit).await;
            let by_reason = store.parked_by_reason().await;
            store.close().await;
            anyhow::Ok((rows?, by_reason?))
        })
        .with_context(|| format!("cannot read {}", settings.store.redacted_url()))?;
    let by_reason: BTreeMap<String, i64> = by_reason.into_iter().collect();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &as_json(&rows, &by_reason))?;
            writeln!(out)?;
        }
        OutputFormat::Text => write_text(&rows, &by_reason, out)?,
    }
    Ok(Status::Ok)
}

fn as_json(rows: &[ParkedRow], by_reason: &BTreeMap<String, i64>) -> serde_json::Value {
    json!({
        "total": by_reason.values().sum::<i64>(),
        "byReason": by_reason,
        "rows": rows.iter().map(|r| json!({
            "outboxId": r.id,
            "eventId": r.event_id,
            "exchange": r.exchange,
            "routingKey": r.routing_key,
            "reason": r.reason,
            "detail": r.detail,
            "attempts": r.attempts,
            "bodyBytes": r.body_bytes,
            "createdAt": format_time(r.created_at),
            "parkedAt": format_time(r.parked_at),
        })).collect::<Vec<_>>(),
    })
}

fn write_text(
    rows: &[ParkedRow],
    by_reason: &BTreeMap<String, i64>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let total: i64 = by_reason.values().sum();
    writeln!(
        out,
        "parked outbox rows: {total}, showing {} (never retried; see README \"Parked messages\")",
        rows.len()
    )?;
    for (reason, count) in by_reason {
        writeln!(out, "  {count:>5}  {}", printable(reason))?;
    }
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<20} {:<22} {:>9} {:<38} {:<40} {:>9}  detail",
        "parked at", "reason", "outbox id", "event id", "routing key", "bytes"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<20} {:<22} {:>9} {:<38} {:<40} {:>9}  {}",
            format_time(r.parked_at),
            printable(&r.reason),
            r.id,
            printable(&clip(&r.event_id, 38)),
            printable(&clip(&r.routing_key, 60)),
            r.body_bytes,
            printable(&clip(r.detail.as_deref().unwrap_or("-"), 120))
        )?;
    }
    Ok(())
}

/// `text` with every control character written as an escape (`\u{1b}`), the rest as it is.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_other_text_is_kept() {
        assert_eq!(printable("e-1\u{1b}[2J\n"), "e-1\\u{1b}[2J\\n");
        assert_eq!(printable("åäö NEED-1"), "åäö NEED-1");
    }
}
