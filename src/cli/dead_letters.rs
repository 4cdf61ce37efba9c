//! `samverkan dead-letters list|show|replay`: what was refused or given up on, why, and
//! sending it through the hub again once its cause is fixed.
//!
//! Everything goes through [`DeadLetterAdmin`] (the web console uses the same), on the
//! configured broker ([`AmqpDeadLetters`]): `list` and `show` take nothing out of
//! `samverkan.hub.dead`; `replay` removes only the dead letters whose replay the broker
//! confirmed. Reason codes, details, ids, routing keys and sizes are shown, never bodies. The
//! counts per reason tell an operator at a glance whether a partner keeps sending
//! schema-invalid events or the store kept failing (`retries_exhausted`).
//!
//! Ids, routing keys and details are partly what a sender wrote, and this prints them on an
//! operator's terminal: every string, in text and in JSON, goes through `text::shown` (control
//! characters, bidi overrides and other invisible characters as `\u{…}`, bounded length), and
//! each text line is checked again as a whole, so a field added later cannot slip a raw escape
//! sequence through either.

use std::io::Write;

use serde::Serialize;

use super::{OutputFormat, Status};
use crate::settings::Settings;
use crate::text::shown;
use crate::transport::amqp::AmqpDeadLetters;
use crate::transport::{
    DeadLetterAdmin, DeadLetterDetail, DeadLetters, ReplayOutcome, ReplayReport, Selector,
};

/// The configured broker's dead letters.
pub(super) fn admin(settings: &Settings) -> AmqpDeadLetters {
    AmqpDeadLetters::new(settings.amqp.url.clone(), "samverkan-dead-letters")
}

/// Print up to `limit` dead letters, oldest first, and the count per reason.
pub(super) fn list(
    admin: &dyn DeadLetterAdmin,
    limit: usize,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let seen = super::runtime()?.block_on(admin.list(limit))?;
    match format {
        OutputFormat::Json => write_json(&seen, out)?,
        OutputFormat::Text => write_checked(out, |text| write_text(&seen, text))?,
    }
    Ok(Status::Ok)
}

/// Print one dead letter in full (never its body); exit 1 when no dead letter has `id`.
pub(super) fn show(
    admin: &dyn DeadLetterAdmin,
    id: &str,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let Some(found) = super::runtime()?.block_on(admin.show(id))? else {
        writeln!(
            err,
            "{}: no such dead letter in samverkan.hub.dead",
            shown(id, 255)
        )?;
        return Ok(Status::Found);
    };
    match format {
        OutputFormat::Json => write_json(&found, out)?,
        OutputFormat::Text => write_checked(out, |text| write_detail(&found, text))?,
    }
    Ok(Status::Ok)
}

/// Replay the dead letters `selector` picks (or, `dry_run`, say what would be replayed);
/// exit 1 when one of them was not found, not replayable or not replayed.
pub(super) fn replay(
    admin: &dyn DeadLetterAdmin,
    selector: &Selector,
    dry_run: bool,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let runtime = super::runtime()?;
    let report = if dry_run {
        runtime.block_on(admin.check(selector))?
    } else {
        runtime.block_on(admin.replay(selector))?
    };
    match format {
        OutputFormat::Json => write_json(&report, out)?,
        OutputFormat::Text => write_checked(out, |text| write_report(&report, text))?,
    }
    let clean = report.items.iter().all(|i| {
        matches!(
            i.outcome,
            ReplayOutcome::Replayed | ReplayOutcome::Replayable
        )
    });
    Ok(if clean { Status::Ok } else { Status::Found })
}

fn write_json(value: &impl Serialize, out: &mut dyn Write) -> anyhow::Result<()> {
    let value = shown_json(serde_json::to_value(value)?);
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)?;
    Ok(())
}

/// Write what `write` produces, each line [`shown`] again as a whole.
fn write_checked(
    out: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut text = Vec::new();
    write(&mut text)?;
    for line in String::from_utf8_lossy(&text).lines() {
        writeln!(out, "{}", shown(line, usize::MAX))?;
    }
    Ok(())
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
        "{:<38} {:<24} {:<38} {:<12} {:<18} {:<40} {:>9}  detail",
        "dead letter id", "reason", "event id", "sender", "need id", "routing key", "bytes"
    )?;
    for m in &seen.messages {
        let kept = match m.body.as_str() {
            "original" => String::new(),
            other => format!(" ({other})"),
        };
        // An id that is not the hub's own dead-letter id says where it comes from.
        let id = match m.id_kind {
            "dead_letter" => shown(&m.id, 255),
            kind => format!("{} ({kind})", shown(&m.id, 255)),
        };
        writeln!(
            out,
            "{id:<38} {:<24} {:<38} {:<12} {:<18} {:<40} {:>9}  {}{kept}",
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

fn write_detail(d: &DeadLetterDetail, out: &mut dyn Write) -> std::io::Result<()> {
    let m = &d.letter;
    let or_dash = |v: Option<&str>| shown(v.unwrap_or("-"), 255);
    let id = match m.id_kind {
        "dead_letter" => shown(&m.id, 255),
        kind => format!(
            "{} (no dead-letter id; this is its {kind})",
            shown(&m.id, 255)
        ),
    };
    let lines = [
        ("id", id),
        ("reason", shown(&m.reason, 255)),
        ("detail", shown(&m.detail, 1000)),
        ("sender", or_dash(m.sender.as_deref())),
        ("event id", or_dash(m.event_id.as_deref())),
        ("source", or_dash(d.source.as_deref())),
        ("type", or_dash(d.event_type.as_deref())),
        ("need id", or_dash(m.need_id.as_deref())),
        ("routing key", shown(&m.routing_key, 255)),
        ("message id", or_dash(m.message_id.as_deref())),
        (
            "body",
            format!(
                "{} ({} bytes, sha256 {})",
                shown(&m.body, 255),
                m.bytes,
                shown(&d.sha256, 64)
            ),
        ),
        ("dead-lettered at", or_dash(d.dead_lettered_at.as_deref())),
        ("replayed before", m.replays.to_string()),
    ];
    for (name, value) in lines {
        writeln!(out, "{name:<17} {value}")?;
    }
    for e in &d.errors {
        let at = shown(&e.instance_path, 255);
        writeln!(out, "{:<17} {at}: {}", "error", shown(&e.message, 300))?;
    }
    if let Some(queue) = &d.first_death_queue {
        writeln!(out, "{:<17} {}", "broker queue", shown(queue, 255))?;
    }
    match &d.not_replayable {
        None => writeln!(out, "{:<17} yes", "replayable"),
        Some(why) => writeln!(out, "{:<17} no: {why}", "replayable"),
    }
}

fn write_report(report: &ReplayReport, out: &mut dyn Write) -> std::io::Result<()> {
    for item in &report.items {
        let reason = shown(item.reason.as_deref().unwrap_or("-"), 255);
        let id = shown(&item.id, 255);
        let line = match &item.outcome {
            ReplayOutcome::Replayed => format!("replayed        {id}  {reason}"),
            ReplayOutcome::Replayable => format!("would replay    {id}  {reason}"),
            ReplayOutcome::NotReplayable { why } => {
                format!("not replayable  {id}  {reason}: {why}")
            }
            ReplayOutcome::Failed { error } => format!("failed          {id}  {reason}: {error}"),
            ReplayOutcome::NotFound => format!("not found       {id}"),
        };
        writeln!(out, "{line}")?;
    }
    let verb = if report.dry_run {
        "would be replayed"
    } else {
        "replayed"
    };
    let n = report
        .items
        .iter()
        .filter(|i| {
            matches!(
                i.outcome,
                ReplayOutcome::Replayed | ReplayOutcome::Replayable
            )
        })
        .count();
    writeln!(out, "{n} of {} {verb}", report.items.len())
}
