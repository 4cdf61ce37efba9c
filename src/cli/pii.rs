//! `samverkan pii scan [--format json] FILE|-`: what the PII guard would find, and where.
//!
//! Innovation coaches and regional IT use this to check a text before it is submitted. Like the
//! guard it reports kind and location only: the values themselves are never printed, so the
//! output can be pasted into a ticket. JSON input is scanned string by string (pointers name
//! the field); anything else is scanned as one plain text (pointer `""`).

use std::io::Write;

use serde::Serialize;
use time::Date;

use super::input::{Input, read_limited};
use super::{OutputFormat, Status};
use crate::event::{Limits, parse_json};
use crate::pii::{JsonFinding, scan_json, scan_text};

#[derive(Serialize)]
struct Report<'a> {
    findings: &'a [JsonFinding],
}

/// Findings in `body`: per string when it is JSON, else over the whole text.
pub(crate) fn scan(body: &[u8], limits: Limits, today: Date) -> anyhow::Result<Vec<JsonFinding>> {
    if let Ok(value) = parse_json(body, limits) {
        return Ok(scan_json(&value, today));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| anyhow::anyhow!("input is neither JSON nor UTF-8 text: {e}"))?;
    Ok(scan_text(text, today)
        .iter()
        .map(|f| JsonFinding::located("", f))
        .collect())
}

/// Run the command on `file`.
pub(crate) fn run(
    file: &str,
    format: OutputFormat,
    limits: Limits,
    today: Date,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let body = match read_limited(file, limits.max_message_bytes) {
        Ok(Input::Bytes(body)) => body,
        Ok(Input::TooLarge { size }) => {
            let limit = limits.max_message_bytes;
            writeln!(
                err,
                "{file}: {size} bytes is larger than the limit of {limit} bytes"
            )?;
            return Ok(Status::Failure);
        }
        Err(e) => {
            writeln!(err, "{file}: cannot read: {e}")?;
            return Ok(Status::Failure);
        }
    };
    let findings = match scan(&body, limits, today) {
        Ok(findings) => findings,
        Err(e) => {
            writeln!(err, "{file}: {e}")?;
            return Ok(Status::Failure);
        }
    };
    match format {
        OutputFormat::Json => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&Report {
                    findings: &findings
                })?
            )?;
        }
        OutputFormat::Text if findings.is_empty() => writeln!(out, "{file}: clean")?,
        OutputFormat::Text => {
            writeln!(out, "{file}: {} finding(s)", findings.len())?;
            for f in &findings {
                let at = if f.pointer.is_empty() {
                    "text"
                } else {
                    &f.pointer
                };
                writeln!(out, "  {} at {at}, chars {}..{}", f.kind, f.start, f.end)?;
            }
        }
    }
    Ok(if findings.is_empty() {
        Status::Ok
    } else {
        Status::Found
    })
}
