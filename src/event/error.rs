//! `EventError`: every way an inbound event can be refused, each mapped to one [`RejectReason`].
//!
//! The variants carry what the sender needs to fix the event (which attribute, which JSON
//! pointer, which limit), but never a copy of the offending value: values may contain personal
//! data, and these errors travel into logs, dead-letter headers and `message.rejected` events.
//! Where a message does name something the sender wrote (an unknown `type`, a `dataschema`, an
//! attribute or header name, a content type), it goes through `text::shown`: escaped and bounded,
//! so no sender can put terminal escapes or bidi overrides in front of an operator.

use serde::Serialize;
use thiserror::Error;

use super::reason::RejectReason;
use crate::text::{MAX_SHOWN, shown, shown_pointer};

/// Sender text as a message echoes it.
fn echo(text: &str) -> String {
    shown(text, MAX_SHOWN)
}

/// One problem at one place in the event, as reported to the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// JSON pointer into the CloudEvent (data errors are prefixed with `/data`).
    #[serde(rename = "instancePath")]
    pub instance_path: String,
    /// What is wrong there, without echoing the value.
    pub message: String,
}

impl Issue {
    /// An issue at `instance_path`.
    pub fn new(instance_path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            instance_path: instance_path.into(),
            message: message.into(),
        }
    }
}

/// A refused event. `reason()` gives the stable code, `issues()` the per-location details.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum EventError {
    /// Body larger than the configured limit.
    #[error("message is {size} bytes, larger than the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// More headers, or more header bytes, than the configured limits.
    #[error(
        "the message has {count} headers of {bytes} bytes; the limits are {max_count} headers and {max_bytes} bytes"
    )]
    HeadersTooLarge {
        count: usize,
        bytes: usize,
        max_count: usize,
        max_bytes: usize,
    },
    /// Empty body.
    #[error("message is empty")]
    Empty,
    /// Not UTF-8 JSON; `detail` is serde_json's position-only description.
    #[error("body is not valid JSON: {detail}")]
    MalformedJson { detail: String },
    /// Nesting deeper than the configured limit.
    #[error("JSON nests deeper than the limit of {limit} levels")]
    TooDeep { limit: usize },
    /// JSON, but not a CloudEvents 1.0 event.
    #[error("not a CloudEvents 1.0 event: {detail}")]
    NotACloudEvent { detail: String },
    /// A required attribute is absent.
    #[error("required attribute `{}` is missing", echo(.attribute))]
    MissingAttribute { attribute: String },
    /// An attribute's value is not acceptable.
    #[error("attribute `{}` is invalid: {}", echo(.attribute), echo(.detail))]
    InvalidAttribute { attribute: String, detail: String },
    /// Binary-mode headers mixing prefixes.
    #[error(
        "binary-mode headers mix prefixes {prefixes:?}; use exactly one of `ce-`, `cloudEvents_`, `cloudEvents:`"
    )]
    MixedPrefixes { prefixes: Vec<&'static str> },
    /// Binary-mode data in a content type the hub cannot read.
    #[error(
        "content type `{}` is not supported; send `application/json` data or a structured `application/cloudevents+json` event",
        echo(.content_type)
    )]
    UnsupportedContentType { content_type: String },
    /// The `type` is not in the registry.
    #[error(
        "event type `{}` is unknown; see `samverkan schemas` for the known types",
        echo(.event_type)
    )]
    UnknownType { event_type: String },
    /// The `dataschema` does not belong to the `type`.
    #[error(
        "dataschema `{}` is not the schema of `{event_type}`; expected `{expected}`",
        echo(.got)
    )]
    UnknownDataschema {
        event_type: String,
        got: String,
        expected: String,
    },
    /// The data fails its schema; one issue per failing location.
    #[error("data does not match {schema}: {} error(s)", issues.len())]
    SchemaInvalid { schema: String, issues: Vec<Issue> },
}

impl EventError {
    /// The stable reason code of this refusal.
    pub fn reason(&self) -> RejectReason {
        match self {
            Self::TooLarge { .. } | Self::HeadersTooLarge { .. } => RejectReason::TooLarge,
            Self::Empty => RejectReason::EmptyMessage,
            Self::MalformedJson { .. } => RejectReason::MalformedJson,
            Self::TooDeep { .. } => RejectReason::TooDeep,
            Self::NotACloudEvent { .. } => RejectReason::NotACloudevent,
            Self::MissingAttribute { .. } => RejectReason::MissingAttribute,
            Self::InvalidAttribute { .. } => RejectReason::InvalidAttribute,
            Self::MixedPrefixes { .. } => RejectReason::MixedPrefixes,
            Self::UnsupportedContentType { .. } => RejectReason::UnsupportedContentType,
            Self::UnknownType { .. } => RejectReason::UnknownType,
            Self::UnknownDataschema { .. } => RejectReason::UnknownDataschema,
            Self::SchemaInvalid { .. } => RejectReason::SchemaInvalid,
        }
    }

    /// Per-location issues: the schema errors, or one issue naming the attribute at fault.
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            Self::SchemaInvalid { issues, .. } => issues.clone(),
            Self::MissingAttribute { attribute } | Self::InvalidAttribute { attribute, .. } => {
                // A JSON pointer token (RFC 6901): `~` and `/` escaped.
                let token = attribute.replace('~', "~0").replace('/', "~1");
                let pointer = shown_pointer(&format!("/{token}"), MAX_SHOWN);
                vec![Issue::new(pointer, self.to_string())]
            }
            Self::UnknownType { .. } => vec![Issue::new("/type", self.to_string())],
            Self::UnknownDataschema { .. } => vec![Issue::new("/dataschema", self.to_string())],
            _ => vec![Issue::new("", self.to_string())],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_errors_point_at_the_attribute() {
        let err = EventError::MissingAttribute {
            attribute: "source".into(),
        };
        assert_eq!(err.reason(), RejectReason::MissingAttribute);
        assert_eq!(err.issues()[0].instance_path, "/source");
        let err = EventError::TooLarge { size: 10, limit: 5 };
        assert_eq!(err.issues()[0].instance_path, "");
        assert!(err.to_string().contains("limit of 5 bytes"));
    }

    #[test]
    fn sender_text_in_messages_and_pointers_is_escaped_and_bounded() {
        let hostile = format!("x\x1b[2J\u{202e}\0/~{}", "y".repeat(10_000));
        let errors = [
            EventError::UnknownType {
                event_type: hostile.clone(),
            },
            EventError::UnknownDataschema {
                event_type: "se.samverkan.need.submitted.v1".into(),
                got: hostile.clone(),
                expected: "https://schemas.samverkan.se/need.v1.json".into(),
            },
            EventError::InvalidAttribute {
                attribute: hostile.clone(),
                detail: "extension names must be 1-20 lower-case letters or digits".into(),
            },
            EventError::MissingAttribute {
                attribute: hostile.clone(),
            },
            EventError::UnsupportedContentType {
                content_type: hostile.clone(),
            },
        ];
        for err in errors {
            let message = err.to_string();
            assert!(message.contains("x\\u{1b}[2J\\u{202e}\\u{0}"), "{message}");
            assert!(message.len() < 400, "{}", message.len());
            for issue in err.issues() {
                for text in [&issue.instance_path, &issue.message] {
                    assert!(
                        !text.contains(['\x1b', '\u{202e}', '\0']) && text.len() < 400,
                        "{text}"
                    );
                }
                let token = issue.instance_path.get(1..).unwrap_or_default();
                assert!(!token.contains('/'), "{}", issue.instance_path);
            }
        }
    }
}
