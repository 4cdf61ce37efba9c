//! Between lapin's types and the transport-neutral [`Inbound`] / [`Outbound`].
//!
//! Header values on the wire are typed (AMQP field tables), but the pipeline reads headers as
//! text: binary-mode CloudEvents put their attributes there, and other clients send them as
//! long strings, short strings, numbers, booleans or (for `time`) AMQP timestamps. Those are
//! rendered to text; tables, arrays, byte arrays and decimals carry no CloudEvents attribute
//! and are left out rather than guessed at (RabbitMQ's own `x-death` table among them; its
//! `x-first-death-*` strings stay).

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Acker, BasicProperties};

use super::declare::short_string;
use super::publish::{APP_ID, PERSISTENT};
use crate::event::format_time;
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
    };
    (inbound, acker)
}

/// The headers whose values are text-like, rendered as text.
pub(crate) fn header_texts(table: &FieldTable) -> BTreeMap<String, String> {
    table
        .inner()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), header_text(value)?)))
        .collect()
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
