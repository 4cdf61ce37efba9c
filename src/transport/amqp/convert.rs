//! Between lapin's types and the transport-neutral [`Inbound`] / [`Outbound`].
//!
//! Header values on the wire are typed (AMQP field tables), but the pipeline reads headers as
//! text: binary-mode CloudEvents put their attributes there, and other clients send them as
//! long strings, short strings, numbers, booleans or (for `time`) AMQP timestamps. Those are
//! rendered to text; tables, arrays, byte arrays and decimals carry no CloudEvents attribute
//! and are left out rather than guessed at (RabbitMQ's own `x-death` table among them; its
//! `x-first-death-*` strings stay).
//!
//! The `time` attribute (under any prefix of [`PREFIXES`]) is the one typed value the decoder
//! must understand rather than print: the CloudEvents AMQP binding maps it to an AMQP
//! timestamp, which AMQP 1.0 counts in milliseconds and 0-9-1 in seconds, and SDKs that have
//! no timestamp type at hand write the binding's milliseconds as a plain integer. So for
//! `time`, an integer is epoch milliseconds, a timestamp is seconds (or milliseconds when it
//! is too large to be seconds, as a 1.0 client's value bridged unchanged would be), and both
//! become RFC 3339 text; a string is left for the envelope to check.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Acker, BasicProperties};

use super::declare::short_string;
use super::publish::{APP_ID, PERSISTENT};
use crate::event::{PREFIXES, format_time};
use crate::transport::{Inbound, Outbound, TransportError};

/// Split a lapin delivery into what the pipeline reads and the handle that settles it.
pub(crate) fn inbound(delivery: lapin::message::Delivery) -> (Inbound, Acker) {
    let lapin::message::Delivery {
        routing_key,
        redelivered,
        properties,
        data,
        acker,
        ..
    } = delivery;
    let text = |s: &Option<ShortString>| s.as_ref().map(|s| s.as_str().to_owned());
    let inbound = Inbound {
        body: data,
        content_type: text(properties.content_type()),
        headers: properties
            .headers()
            .as_ref()
            .map(header_texts)
            .unwrap_or_default(),
        user_id: text(properties.user_id()),
        message_id: text(properties.message_id()),
        routing_key: routing_key.as_str().to_owned(),
        redelivered,
        trace: crate::event::Trace::default(),
        replay: None,
    };
    (inbound, acker)
}

/// The headers whose values are text-like, rendered as text.
pub(crate) fn header_texts(table: &FieldTable) -> BTreeMap<String, String> {
    table
        .inner()
        .iter()
        .filter_map(|(name, value)| {
            let name = name.as_str();
            let text = if is_time_header(name) {
                time_text(value)
            } else {
                header_text(value)
            };
            Some((name.to_owned(), text?))
        })
        .collect()
}

/// Whether `name` is the binary-mode `time` attribute under one of the accepted prefixes.
fn is_time_header(name: &str) -> bool {
    PREFIXES.into_iter().any(|prefix| {
        name.len() == prefix.len() + 4
            && name
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            && name
                .get(prefix.len()..)
                .is_some_and(|t| t.eq_ignore_ascii_case("time"))
    })
}

/// A timestamp value at or above this is taken as milliseconds: as seconds it would be after
/// the year 5000, as milliseconds it is after March 1973.
const TIMESTAMP_MILLIS_FROM: u64 = 100_000_000_000;

/// The `time` attribute as RFC 3339 text: integers are epoch milliseconds (the AMQP binding's
/// unit), AMQP 0-9-1 timestamps seconds (see [`TIMESTAMP_MILLIS_FROM`]); anything else as
/// [`header_text`] renders it. `None` when out of range or not text-like.
fn time_text(value: &AMQPValue) -> Option<String> {
    let millis: i128 = match value {
        AMQPValue::Timestamp(t) if *t >= TIMESTAMP_MILLIS_FROM => i128::from(*t),
        AMQPValue::Timestamp(seconds) => i128::from(*seconds) * 1000,
        AMQPValue::ShortShortInt(n) => i128::from(*n),
        AMQPValue::ShortShortUInt(n) => i128::from(*n),
        AMQPValue::ShortInt(n) => i128::from(*n),
        AMQPValue::ShortUInt(n) => i128::from(*n),
        AMQPValue::LongInt(n) => i128::from(*n),
        AMQPValue::LongUInt(n) => i128::from(*n),
        AMQPValue::LongLongInt(n) => i128::from(*n),
        other => return header_text(other),
    };
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(millis.checked_mul(1_000_000)?);
    Some(format_time(time.ok()?))
}

/// A header value as text, or `None` when it is not text-like.
fn header_text(value: &AMQPValue) -> Option<String> {
    Some(match value {
        AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok()?,
        AMQPValue::ShortString(s) => s.as_str().to_owned(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::Float(n) => n.to_string(),
        AMQPValue::Double(n) => n.to_string(),
        AMQPValue::Timestamp(seconds) => {
            let seconds = i64::try_from(*seconds).ok()?;
            format_time(time::OffsetDateTime::from_unix_timestamp(seconds).ok()?)
        }
        AMQPValue::DecimalValue(_)
        | AMQPValue::FieldArray(_)
        | AMQPValue::FieldTable(_)
        | AMQPValue::ByteArray(_)
        | AMQPValue::Void => return None,
    })
}

/// The AMQP properties of an [`Outbound`]: its content type, ids, type and headers, plus what
/// the hub sets on everything it sends (persistent, `app_id = samverkan`, a timestamp).
pub(crate) fn outbound_properties(message: &Outbound) -> Result<BasicProperties, TransportError> {
    let mut properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_app_id(APP_ID.into());
    if let Some(content_type) = &message.content_type {
        properties = properties.with_content_type(short_string("content type", content_type)?);
    }
    if let Some(id) = &message.message_id {
        properties = properties.with_message_id(short_string("message id", id)?);
    }
    if let Some(id) = &message.correlation_id {
        properties = properties.with_correlation_id(short_string("correlation id", id)?);
    }
    if let Some(kind) = &message.kind {
        properties = properties.with_type(short_string("message type", kind)?);
    }
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        properties = properties.with_timestamp(now.as_secs());
    }
    if !message.headers.is_empty() {
        let mut table = FieldTable::default();
        for (name, value) in &message.headers {
            table.insert(
                short_string("header name", name)?,
                AMQPValue::LongString(value.as_str().into()),
            );
        }
        properties = properties.with_headers(table);
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_header_values_become_text_and_the_rest_is_left_out() {
        let mut table = FieldTable::default();
        let entries = [
            ("ce-id", AMQPValue::LongString("e-1".into())),
            ("ce-source", AMQPValue::ShortString("urn:x".into())),
            ("flag", AMQPValue::Boolean(true)),
            ("count", AMQPValue::LongLongInt(-3)),
            ("ce-time", AMQPValue::Timestamp(1_767_225_600)),
            ("x-death", AMQPValue::FieldArray(Default::default())),
            ("bin", AMQPValue::LongString(vec![0xff, 0xfe].into())),
        ];
        for (name, value) in entries {
            table.insert(name.into(), value);
        }
        let texts = header_texts(&table);
        let expected: BTreeMap<String, String> = [
            ("ce-id", "e-1"),
            ("ce-source", "urn:x"),
            ("flag", "true"),
            ("count", "-3"),
            ("ce-time", "2026-01-01T00:00:00Z"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(texts, expected);
    }

    #[test]
    fn time_is_rfc3339_from_a_timestamp_epoch_millis_or_text_under_every_prefix() {
        let cases = [
            (AMQPValue::Timestamp(1_767_225_600), "2026-01-01T00:00:00Z"),
            (
                AMQPValue::Timestamp(1_767_225_600_250),
                "2026-01-01T00:00:00.25Z",
            ),
            (
                AMQPValue::LongLongInt(1_767_225_600_250),
                "2026-01-01T00:00:00.25Z",
            ),
            (AMQPValue::LongInt(0), "1970-01-01T00:00:00Z"),
            (
                AMQPValue::LongString("2026-01-01T01:00:00+01:00".into()),
                "2026-01-01T01:00:00+01:00",
            ),
        ];
        for prefix in PREFIXES {
            for name in [format!("{prefix}time"), format!("{prefix}TIME")] {
                for (value, expected) in &cases {
                    let mut table = FieldTable::default();
                    table.insert(name.as_str().into(), value.clone());
                    assert_eq!(header_texts(&table)[&name], *expected, "{name} {value:?}");
                }
            }
        }
    }

    #[test]
    fn integers_elsewhere_stay_numbers_and_an_impossible_time_is_left_out() {
        let mut table = FieldTable::default();
        table.insert("x-count".into(), AMQPValue::LongLongInt(1_767_225_600_250));
        table.insert("ce-time".into(), AMQPValue::LongLongInt(i64::MAX));
        table.insert("ce-timex".into(), AMQPValue::LongInt(5));
        let texts = header_texts(&table);
        assert_eq!(texts["x-count"], "1767225600250");
        assert_eq!(texts["ce-timex"], "5");
        assert!(!texts.contains_key("ce-time"));
    }

    #[test]
    fn an_outbound_becomes_persistent_properties_with_its_ids() {
        let mut headers = BTreeMap::new();
        headers.insert("x-samverkan-reason".to_owned(), "pii_detected".to_owned());
        let message = Outbound {
            exchange: "samverkan.egress".into(),
            routing_key: "VGR.x".into(),
            body: b"{}".to_vec(),
            content_type: Some("application/cloudevents+json".into()),
            message_id: Some("e-1".into()),
            correlation_id: Some("NEED-1".into()),
            kind: Some("se.samverkan.need.status.v1".into()),
            headers,
        };
        let p = outbound_properties(&message).unwrap();
        let text = |v: &Option<ShortString>| v.as_ref().map(|s| s.as_str().to_owned());
        assert_eq!(p.delivery_mode(), &Some(2));
        assert_eq!(text(p.app_id()).as_deref(), Some("samverkan"));
        assert_eq!(text(p.message_id()).as_deref(), Some("e-1"));
        assert_eq!(text(p.correlation_id()).as_deref(), Some("NEED-1"));
        assert_eq!(
            text(p.kind()).as_deref(),
            Some("se.samverkan.need.status.v1")
        );
        assert!(p.timestamp().is_some());
        let headers = header_texts(p.headers().as_ref().unwrap());
        assert_eq!(headers["x-samverkan-reason"], "pii_detected");
    }

    #[test]
    fn an_overlong_property_is_an_error_not_a_panic() {
        let message = Outbound {
            exchange: String::new(),
            routing_key: "q".into(),
            body: Vec::new(),
            content_type: None,
            message_id: Some("x".repeat(256)),
            correlation_id: None,
            kind: None,
            headers: BTreeMap::new(),
        };
        assert!(matches!(
            outbound_properties(&message),
            Err(TransportError::TooLong { len: 256, .. })
        ));
    }
}
