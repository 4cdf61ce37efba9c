//! Transport-neutral decoding of one inbound message, structured or binary mode.
//!
//! AMQP 0-9-1 has no official CloudEvents binding; three header conventions exist in the wild
//! (`cloudEvents_` from the AMQP 1.0 binding and Spring, `cloudEvents:` from its 1.0.2 text,
//! `ce-` from Knative and the Python SDK). We accept all three on ingress but not mixed within
//! one message, because a mixed message is ambiguous about which value wins. Transports convert
//! their header tables to plain strings first, so this module never sees lapin types.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::attributes::is_json_media_type;
use super::envelope::{CloudEvent, STRUCTURED_CONTENT_TYPE};
use super::error::EventError;
use super::json::{Limits, parse_json};

/// Header prefixes accepted for binary mode.
pub const PREFIXES: [&str; 3] = ["cloudEvents_", "cloudEvents:", "ce-"];

/// One inbound message as any transport sees it.
#[derive(Debug, Clone, Copy)]
pub struct RawMessage<'a> {
    /// The message body.
    pub body: &'a [u8],
    /// The transport's content type (AMQP `content_type`), if any.
    pub content_type: Option<&'a str>,
    /// Header table with values already rendered as strings.
    pub headers: &'a BTreeMap<String, String>,
}

/// Decode a message: structured when the content type says `application/cloudevents…`,
/// binary when CloudEvents headers are present, otherwise the body is tried as structured JSON.
pub fn decode(msg: RawMessage<'_>, limits: Limits) -> Result<CloudEvent, EventError> {
    check_headers(msg.headers, limits)?;
    if is_structured(msg.content_type) {
        return CloudEvent::parse(msg.body, limits);
    }
    match binary_attributes(msg.headers)? {
        Some(attributes) => decode_binary(attributes, msg, limits),
        None => CloudEvent::parse(msg.body, limits),
    }
}

/// Headers are bounded before anything reads them: a header table is copied into dead letters
/// and logs, and a huge one must not cost more than one pass over it.
fn check_headers(headers: &BTreeMap<String, String>, limits: Limits) -> Result<(), EventError> {
    let bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if headers.len() > limits.max_headers || bytes > limits.max_header_bytes {
        return Err(EventError::HeadersTooLarge {
            count: headers.len(),
            bytes,
            max_count: limits.max_headers,
            max_bytes: limits.max_header_bytes,
        });
    }
    Ok(())
}

fn is_structured(content_type: Option<&str>) -> bool {
    const PREFIX: &str = "application/cloudevents";
    debug_assert!(STRUCTURED_CONTENT_TYPE.starts_with(PREFIX));
    content_type
        .and_then(|ct| ct.get(..PREFIX.len()))
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

/// The CloudEvents attributes found in headers (prefix stripped), or `None` if there are none.
fn binary_attributes(
    headers: &BTreeMap<String, String>,
) -> Result<Option<BTreeMap<String, String>>, EventError> {
    let mut used: Vec<&'static str> = Vec::new();
    let mut attributes = BTreeMap::new();
    for (name, value) in headers {
        let Some(prefix) = PREFIXES.into_iter().find(|p| has_prefix(name, p)) else {
            continue;
        };
        if !used.contains(&prefix) {
            used.push(prefix);
        }
        let attribute = name.get(prefix.len()..).unwrap_or_default();
        attributes.insert(attribute.to_ascii_lowercase(), value.clone());
    }
    match used.len() {
        0 => Ok(None),
        1 => Ok(Some(attributes)),
        _ => Err(EventError::MixedPrefixes { prefixes: used }),
    }
}

/// The binary-mode attributes of a message that may not decode, for naming it in its refusal:
/// `None` unless it is binary mode. Prefixes may be mixed here (that is one of the refusals);
/// an attribute given under several prefixes with different values is left out, being
/// unreadable.
pub(crate) fn sniff_binary(msg: RawMessage<'_>) -> Option<BTreeMap<String, String>> {
    if is_structured(msg.content_type) {
        return None;
    }
    let mut attributes: BTreeMap<String, Option<String>> = BTreeMap::new();
    for (name, value) in msg.headers {
        let Some(prefix) = PREFIXES.into_iter().find(|p| has_prefix(name, p)) else {
            continue;
        };
        let attribute = name.get(prefix.len()..).unwrap_or_default();
        attributes
            .entry(attribute.to_ascii_lowercase())
            .and_modify(|seen| {
                if seen.as_ref() != Some(value) {
                    *seen = None;
                }
            })
            .or_insert_with(|| Some(value.clone()));
    }
    if attributes.is_empty() {
        return None;
    }
    Some(
        attributes
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect(),
    )
}

/// Header names are matched case-insensitively: some clients lower-case them.
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.len() > prefix.len()
        && name
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

fn decode_binary(
    attributes: BTreeMap<String, String>,
    msg: RawMessage<'_>,
    limits: Limits,
) -> Result<CloudEvent, EventError> {
    let content_type = msg.content_type.unwrap_or("application/json");
    if !is_json_media_type(content_type) {
        return Err(EventError::UnsupportedContentType {
            content_type: content_type.to_owned(),
        });
    }
    let data = parse_json(msg.body, limits)?;
    let mut obj: Map<String, Value> = attributes
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    obj.insert(
        "datacontenttype".into(),
        Value::String(content_type.to_owned()),
    );
    obj.insert("data".into(), data);
    CloudEvent::from_value(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventType, RejectReason};

    fn headers(prefix: &str) -> BTreeMap<String, String> {
        [
            ("specversion", "1.0"),
            ("id", "b-1"),
            ("source", "urn:samverkan:org:RV"),
            ("type", "se.samverkan.need.withdrawn.v1"),
            ("time", "2026-11-22T10:00:00Z"),
            (
                "dataschema",
                "https://schemas.samverkan.se/need-withdrawn.v1.json",
            ),
            ("subject", "NEED-2026-0105"),
        ]
        .into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v.to_owned()))
        .chain([("x-other".to_owned(), "ignored".to_owned())])
        .collect()
    }

    const BODY: &[u8] = br#"{"needId": "NEED-2026-0105", "reason": "Duplicate"}"#;

    fn decode_with(
        h: &BTreeMap<String, String>,
        ct: Option<&str>,
    ) -> Result<CloudEvent, EventError> {
        decode(
            RawMessage {
                body: BODY,
                content_type: ct,
                headers: h,
            },
            Limits::default(),
        )
    }

    #[test]
    fn every_prefix_decodes_to_the_same_event() {
        for prefix in PREFIXES {
            let event = decode_with(&headers(prefix), Some("application/json")).unwrap();
            assert_eq!(event.event_type, EventType::NeedWithdrawn, "{prefix}");
            assert_eq!(event.id.as_ref(), "b-1");
            assert_eq!(event.data["reason"], "Duplicate");
        }
    }

    #[test]
    fn mixed_prefixes_are_refused() {
        let mut h = headers("ce-");
        h.insert("cloudEvents_id".into(), "b-2".into());
        assert_eq!(
            decode_with(&h, None).unwrap_err().reason(),
            RejectReason::MixedPrefixes
        );
    }

    #[test]
    fn a_binary_message_that_does_not_decode_still_names_its_attributes() {
        let mut h = headers("ce-");
        h.insert("cloudEvents_id".into(), "b-1".into());
        h.insert("cloudEvents_source".into(), "urn:other".into());
        let raw = |h| RawMessage {
            body: b"not json",
            content_type: None,
            headers: h,
        };
        let sniffed = sniff_binary(raw(&h)).expect("binary mode");
        assert_eq!(sniffed["id"], "b-1");
        assert_eq!(sniffed["subject"], "NEED-2026-0105");
        assert!(!sniffed.contains_key("source"), "two different sources");
        let none = BTreeMap::new();
        assert_eq!(sniff_binary(raw(&none)), None);
        let structured = RawMessage {
            content_type: Some(STRUCTURED_CONTENT_TYPE),
            ..raw(&h)
        };
        assert_eq!(sniff_binary(structured), None);
    }

    #[test]
    fn non_json_binary_data_is_refused() {
        let err = decode_with(&headers("ce-"), Some("application/xml")).unwrap_err();
        assert_eq!(err.reason(), RejectReason::UnsupportedContentType);
    }

    #[test]
    fn missing_header_attribute_is_named() {
        let mut h = headers("cloudEvents:");
        h.remove("cloudEvents:source");
        let err = decode_with(&h, None).unwrap_err();
        assert_eq!(
            err,
            EventError::MissingAttribute {
                attribute: "source".into()
            }
        );
    }

    #[test]
    fn structured_content_type_wins_over_headers() {
        let h = headers("ce-");
        let body = br#"{"not": "an event"}"#;
        let msg = RawMessage {
            body,
            content_type: Some("application/cloudevents+json"),
            headers: &h,
        };
        let err = decode(msg, Limits::default()).unwrap_err();
        assert_eq!(err.reason(), RejectReason::NotACloudevent);
    }

    #[test]
    fn headers_are_bounded_in_count_and_bytes_before_anything_else() {
        let limits = Limits::default();
        let mut many = headers("ce-");
        many.extend((0..limits.max_headers).map(|i| (format!("x-{i}"), String::new())));
        let mut big = headers("ce-");
        big.insert("x-big".into(), "v".repeat(limits.max_header_bytes));
        for h in [many, big] {
            let err = decode_with(&h, Some("application/cloudevents+json")).unwrap_err();
            assert_eq!(err.reason(), RejectReason::TooLarge);
            assert!(matches!(err, EventError::HeadersTooLarge { .. }), "{err}");
        }
        let mut at_limit = headers("ce-");
        let used: usize = at_limit.iter().map(|(k, v)| k.len() + v.len()).sum();
        at_limit.insert(
            "x-pad".into(),
            "v".repeat(limits.max_header_bytes - used - 5),
        );
        assert!(decode_with(&at_limit, None).is_ok());
    }
}
