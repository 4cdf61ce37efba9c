//! `samverkan schemas [TYPE|FILE]`: the contract, from the binary itself.
//!
//! Partners need the exact schemas the hub enforces. Listing them from the embedded copies
//! (rather than pointing at a web page) guarantees they match the running version.

use std::io::Write;

use super::Status;
use crate::event::EventType;
use crate::schema::{SCHEMA_FILES, schema_source};

/// List every type → schema, or print the schema of one type or file.
pub(super) fn run(
    name: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let Some(name) = name else {
        for t in EventType::ALL {
            writeln!(out, "{:<40} {}", t.as_str(), t.dataschema())?;
        }
        return Ok(Status::Ok);
    };
    let file: &str = match EventType::parse(name) {
        Some(t) => t.schema_file(),
        None => name,
    };
    match schema_source(file) {
        Some(text) => {
            out.write_all(text.as_bytes())?;
            Ok(Status::Ok)
        }
        None => {
            let files: Vec<&str> = SCHEMA_FILES.iter().map(|(f, _)| *f).collect();
            writeln!(
                err,
                "unknown type or schema `{name}`; known files: {}",
                files.join(", ")
            )?;
            Ok(Status::Failure)
        }
    }
}
