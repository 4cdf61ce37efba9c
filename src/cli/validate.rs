//! `samverkan validate [--format json] FILE...`: check events exactly as the hub would.
//!
//! Partners run this before they connect, and it must agree with the hub: it goes through the
//! same envelope parser, limits and schema registry. Each input gets one report; the exit code
//! summarises them (0 all valid, 1 any invalid, 2 usage or I/O error), so the command fits in a
//! partner's CI.

use std::io::Write;

use serde::Serialize;

use super::input::{Input, read_limited};
use super::{OutputFormat, Status};
use crate::event::{EventError, Issue, Limits};
use crate::rejection::Rejection;
use crate::schema::SchemaRegistry;

/// The verdict on one input, as printed with `--format json`.
#[derive(Debug, Serialize)]
pub(crate) struct FileReport {
    /// The input as named on the command line (`-` for stdin).
    pub file: String,
    /// Whether envelope and data are valid.
    pub valid: bool,
    /// The reason code of the refusal, `null` when valid.
    pub reason: Option<&'static str>,
    /// Each problem with its JSON pointer.
    pub errors: Vec<Issue>,
}

impl FileReport {
    fn new(file: &str, result: Result<(), EventError>) -> Self {
        match result {
            Ok(()) => Self {
                file: file.to_owned(),
                valid: true,
                reason: None,
                errors: vec![],
            },
            Err(err) => Self {
                file: file.to_owned(),
                valid: false,
                reason: Some(err.reason().as_str()),
                // As the hub reports them: the file's own text (property names, an unknown
                // type) escaped, so a hostile file cannot drive the terminal.
                errors: Rejection::from_event_error(&err).errors,
            },
        }
    }
}

/// Run the command over `files`, writing reports to `out` and I/O problems to `err`.
pub(crate) fn run(
    files: &[String],
    format: OutputFormat,
    limits: Limits,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let registry = SchemaRegistry::new()?;
    let mut reports = Vec::with_capacity(files.len());
    let mut io_failed = false;
    for file in files {
        let result = match read_limited(file, limits.max_message_bytes) {
            Ok(Input::Bytes(body)) => registry.validate_bytes(&body, limits).map(|_| ()),
            Ok(Input::TooLarge { size }) => Err(EventError::TooLarge {
                size,
                limit: limits.max_message_bytes,
            }),
            Err(e) => {
                writeln!(err, "{file}: cannot read: {e}")?;
                io_failed = true;
                continue;
            }
        };
        reports.push(FileReport::new(file, result));
    }
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?,
        OutputFormat::Text => write_text(&reports, out)?,
    }
    Ok(if io_failed {
        Status::Failure
    } else if reports.iter().all(|r| r.valid) {
        Status::Ok
    } else {
        Status::Found
    })
}

fn write_text(reports: &[FileReport], out: &mut dyn Write) -> std::io::Result<()> {
    for report in reports {
        match report.reason {
            None => writeln!(out, "{}: valid", report.file)?,
            Some(reason) => {
                writeln!(out, "{}: invalid ({reason})", report.file)?;
                for issue in &report.errors {
                    let at = if issue.instance_path.is_empty() {
                        "/"
                    } else {
                        &issue.instance_path
                    };
                    writeln!(out, "  {at}: {}", issue.message)?;
                }
            }
        }
    }
    Ok(())
}
