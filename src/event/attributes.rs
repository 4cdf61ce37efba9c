//! The checks of single attributes behind
//! [`CloudEvent::from_value`](super::CloudEvent::from_value): string attributes, `time`, `datacontenttype`, `subject` and extensions.
//!
//! Each attribute either becomes an AMQP property, a routing key or a stored column, so each is
//! bounded and free of control characters here, once, with the refusal that names it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::EventError;
use super::ids::{MAX_ATTRIBUTE_LEN, is_need_id};
use super::types::EventType;

/// The only `datacontenttype` accepted for `data`.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// Context attributes defined by the spec (everything else is an extension).
pub(crate) const CORE: [&str; 9] = [
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "dataschema",
    "subject",
    "datacontenttype",
    "data",
];
/// Extension names: lower-case letters and digits, at most 20 characters (CloudEvents §3.1.1).
const MAX_EXTENSION_NAME: usize = 20;
/// Longest string value of an extension attribute (they are kept as sent).
const MAX_EXTENSION_VALUE: usize = 1024;

pub(super) fn invalid(attribute: &str, detail: &str) -> EventError {
    EventError::InvalidAttribute {
        attribute: attribute.to_owned(),
        detail: detail.to_owned(),
    }
}

pub(super) fn string_attr<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<&'a str, EventError> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(name, "must be a string")),
        None => Err(EventError::MissingAttribute {
            attribute: name.to_owned(),
        }),
    }
}

pub(super) fn parse_time(s: &str) -> Result<OffsetDateTime, EventError> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        invalid(
            "time",
            "must be an RFC 3339 timestamp such as 2026-11-22T09:30:00Z",
        )
    })
}

pub(super) fn parse_datacontenttype(
    obj: &Map<String, Value>,
) -> Result<Option<String>, EventError> {
    if !obj.contains_key("datacontenttype") {
        return Ok(None);
    }
    let ct = string_attr(obj, "datacontenttype")?;
    check_text("datacontenttype", ct)?;
    if !is_json_media_type(ct) {
        return Err(invalid("datacontenttype", "must be application/json"));
    }
    Ok(Some(ct.to_owned()))
}

/// `application/json`, optionally with parameters (`; charset=utf-8`).
pub(crate) fn is_json_media_type(ct: &str) -> bool {
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case(DATA_CONTENT_TYPE)
}

pub(super) fn parse_subject(
    obj: &Map<String, Value>,
    t: EventType,
) -> Result<Option<String>, EventError> {
    match obj.get("subject") {
        None if t.need_id_pointer().is_some() => Err(EventError::MissingAttribute {
            attribute: "subject".into(),
        }),
        None => Ok(None),
        Some(Value::String(s)) if t.need_id_pointer().is_some() => {
            if is_need_id(s) {
                Ok(Some(s.clone()))
            } else {
                Err(invalid(
                    "subject",
                    "must be the need id: 3-64 ASCII letters, digits and . _ : -, starting with a letter or digit",
                ))
            }
        }
        Some(Value::String(s)) if !s.is_empty() => {
            check_text("subject", s)?;
            Ok(Some(s.clone()))
        }
        Some(_) => Err(invalid("subject", "must be a non-empty string")),
    }
}

/// A free-text attribute: at most [`MAX_ATTRIBUTE_LEN`] bytes and no control characters
/// (NUL included), so it fits an AMQP short string and any store.
fn check_text(attribute: &str, s: &str) -> Result<(), EventError> {
    if s.len() > MAX_ATTRIBUTE_LEN {
        return Err(invalid(
            attribute,
            &format!("is {} bytes, longer than {MAX_ATTRIBUTE_LEN}", s.len()),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(attribute, "must not contain control characters"));
    }
    Ok(())
}

pub(super) fn parse_extensions(
    obj: Map<String, Value>,
) -> Result<BTreeMap<String, Value>, EventError> {
    let mut extensions = BTreeMap::new();
    for (name, value) in obj {
        if CORE.contains(&name.as_str()) {
            continue;
        }
        let name_ok = !name.is_empty()
            && name.len() <= MAX_EXTENSION_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !name_ok {
            return Err(EventError::InvalidAttribute {
                attribute: name,
                detail: "extension names must be 1-20 lower-case letters or digits".into(),
            });
        }
        if !(value.is_string() || value.is_number() || value.is_boolean()) {
            return Err(EventError::InvalidAttribute {
                attribute: name,
                detail: "extension values must be strings, numbers or booleans".into(),
            });
        }
        if let Some(text) = value.as_str() {
            let bad = text.len() > MAX_EXTENSION_VALUE || text.chars().any(char::is_control);
            if bad {
                return Err(EventError::InvalidAttribute {
                    attribute: name,
                    detail: format!(
                        "extension values must be at most {MAX_EXTENSION_VALUE} bytes without control characters"
                    ),
                });
            }
        }
        extensions.insert(name, value);
    }
    Ok(extensions)
}
