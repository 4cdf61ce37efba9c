//! The CloudEvents 1.0 envelope in structured JSON mode: parse from and serialize to JSON.
//!
//! Parsing checks the envelope only (attributes present and well-formed, type known). Whether
//! `dataschema` belongs to the type and whether `data` matches it is the schema registry's job
//! ([`crate::schema::SchemaRegistry::validate`]), which is the only way to get a
//! [`crate::schema::ValidatedEvent`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::attributes::{
    DATA_CONTENT_TYPE, invalid, parse_datacontenttype, parse_extensions, parse_subject, parse_time,
    string_attr,
};
use super::error::EventError;
use super::ids::{EventId, MAX_ATTRIBUTE_LEN, Source, check_token};
use super::json::{Limits, parse_json};
use super::types::EventType;

/// The only CloudEvents version the hub speaks.
pub const SPEC_VERSION: &str = "1.0";
/// `content_type` of a structured-mode CloudEvent.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// Attributes every event must carry, checked in this order.
const REQUIRED: [&str; 6] = ["id", "source", "type", "time", "dataschema", "data"];
/// A parsed CloudEvent. Fields are public for reading; construct with [`CloudEvent::parse`],
/// [`CloudEvent::from_value`] or [`CloudEvent::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    /// `id`: unique per `source`.
    pub id: EventId,
    /// `source`: who produced the event.
    pub source: Source,
    /// `type`, parsed.
    pub event_type: EventType,
    /// `time`: when the occurrence happened.
    pub time: OffsetDateTime,
    /// `dataschema`: the `$id` of the schema `data` follows.
    pub dataschema: String,
    /// `subject`: the need id for need-scoped types.
    pub subject: Option<String>,
    /// `datacontenttype`, when given (always `application/json`).
    pub datacontenttype: Option<String>,
    /// Extension attributes (lower-case names), kept as sent.
    pub extensions: BTreeMap<String, Value>,
    /// `data`: the payload.
    pub data: Value,
}

impl CloudEvent {
    /// A new event from the hub or a test client: fresh UUIDv7 id, current time, and the
    /// registered `dataschema` of `event_type`.
    pub fn new(
        event_type: EventType,
        source: Source,
        subject: Option<String>,
        data: Value,
    ) -> Self {
        Self {
            id: EventId::new_v7(),
            source,
            event_type,
            time: OffsetDateTime::now_utc(),
            dataschema: event_type.dataschema(),
            subject,
            datacontenttype: Some(DATA_CONTENT_TYPE.to_owned()),
            extensions: BTreeMap::new(),
            data,
        }
    }

    /// Parse a structured-mode body (size, depth and JSON checked first).
    pub fn parse(body: &[u8], limits: Limits) -> Result<Self, EventError> {
        Self::from_value(parse_json(body, limits)?)
    }

    /// Parse an already-decoded JSON value.
    pub fn from_value(value: Value) -> Result<Self, EventError> {
        let Value::Object(mut obj) = value else {
            return Err(not_a_cloudevent("the body is not a JSON object"));
        };
        match obj.get("specversion") {
            None => return Err(not_a_cloudevent("attribute `specversion` is missing")),
            Some(Value::String(v)) if v == SPEC_VERSION => {}
            Some(_) => return Err(not_a_cloudevent("`specversion` must be \"1.0\"")),
        }
        if obj.contains_key("data_base64") {
            return Err(invalid(
                "data_base64",
                "binary data is not accepted; send JSON `data`",
            ));
        }
        if let Some(missing) = REQUIRED.into_iter().find(|a| !obj.contains_key(*a)) {
            return Err(EventError::MissingAttribute {
                attribute: missing.to_owned(),
            });
        }
        let id = EventId::parse(string_attr(&obj, "id")?)?;
        let source = Source::parse(string_attr(&obj, "source")?)?;
        let time = parse_time(string_attr(&obj, "time")?)?;
        let datacontenttype = parse_datacontenttype(&obj)?;
        let type_str = string_attr(&obj, "type")?;
        check_token("type", type_str, MAX_ATTRIBUTE_LEN)?;
        let event_type = EventType::parse(type_str).ok_or_else(|| EventError::UnknownType {
            event_type: type_str.to_owned(),
        })?;
        let dataschema = string_attr(&obj, "dataschema")?;
        check_token("dataschema", dataschema, MAX_ATTRIBUTE_LEN)?;
        let dataschema = dataschema.to_owned();
        let subject = parse_subject(&obj, event_type)?;
        let data = obj.remove("data").unwrap_or(Value::Null);
        let extensions = parse_extensions(obj)?;
        Ok(Self {
            id,
            source,
            event_type,
            time,
            dataschema,
            subject,
            datacontenttype,
            extensions,
            data,
        })
    }

    /// The structured-mode JSON form (attributes first, then `data`).
    pub fn to_value(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("specversion".into(), SPEC_VERSION.into());
        obj.insert("id".into(), self.id.as_ref().into());
        obj.insert("source".into(), self.source.as_ref().into());
        obj.insert("type".into(), self.event_type.as_str().into());
        obj.insert("time".into(), format_time(self.time).into());
        obj.insert("dataschema".into(), self.dataschema.clone().into());
        if let Some(subject) = &self.subject {
            obj.insert("subject".into(), subject.clone().into());
        }
        if let Some(ct) = &self.datacontenttype {
            obj.insert("datacontenttype".into(), ct.clone().into());
        }
        for (name, value) in &self.extensions {
            obj.insert(name.clone(), value.clone());
        }
        obj.insert("data".into(), self.data.clone());
        Value::Object(obj)
    }

    /// The structured-mode body bytes: exactly the bytes of [`CloudEvent::to_value`]
    /// serialized, written straight from the event. Every outbound message is serialized once,
    /// so building (and deep-cloning `data` into) a `Value` tree first only cost CPU.
    ///
    /// The bytes are written to a per-thread buffer and copied out at their exact size: a
    /// `Vec` grown while writing holds up to twice what it contains, and a prepared need's
    /// bodies wait for the store's writer (up to `amqp.prefetch` needs of them).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            // Cannot fail: every key is a string and writing to a `Vec` does not fail.
            let bytes = match serde_json::to_writer(&mut *scratch, &Structured(self)) {
                Ok(()) => scratch.as_slice().to_vec(),
                Err(_) => Vec::new(),
            };
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::new();
            }
            bytes
        })
    }
}

thread_local! {
    /// [`CloudEvent::to_json_bytes`]'s buffer.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The most a thread's buffer keeps between events; a larger event's is freed after it.
const SCRATCH_KEPT: usize = 64 * 1024;

/// A [`CloudEvent`] borrowed for serializing in structured mode.
struct Structured<'a>(&'a CloudEvent);

/// One attribute's value, borrowed.
enum Attr<'a> {
    Str(&'a str),
    Json(&'a Value),
}

impl Serialize for Attr<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Str(s) => serializer.serialize_str(s),
            Self::Json(v) => v.serialize(serializer),
        }
    }
}

impl Serialize for Structured<'_> {
    /// The attributes go into a sorted map in the order [`CloudEvent::to_value`] inserts them
    /// (a later one replaces an earlier one of the same name), so keys come out in the same
    /// order as a `serde_json::Map` (sorted, without `preserve_order`) writes them.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let time = format_time(event.time);
        let mut attrs: BTreeMap<&str, Attr<'_>> = BTreeMap::new();
        attrs.insert("specversion", Attr::Str(SPEC_VERSION));
        attrs.insert("id", Attr::Str(event.id.as_ref()));
        attrs.insert("source", Attr::Str(event.source.as_ref()));
        attrs.insert("type", Attr::Str(event.event_type.as_str()));
        attrs.insert("time", Attr::Str(&time));
        attrs.insert("dataschema", Attr::Str(&event.dataschema));
        if let Some(subject) = &event.subject {
            attrs.insert("subject", Attr::Str(subject));
        }
        if let Some(ct) = &event.datacontenttype {
            attrs.insert("datacontenttype", Attr::Str(ct));
        }
        for (name, value) in &event.extensions {
            attrs.insert(name.as_str(), Attr::Json(value));
        }
        attrs.insert("data", Attr::Json(&event.data));
        let mut map = serializer.serialize_map(Some(attrs.len()))?;
        for (name, value) in &attrs {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// RFC 3339 text of a timestamp, as the hub writes it.
pub fn format_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn not_a_cloudevent(detail: &str) -> EventError {
    EventError::NotACloudEvent {
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::RejectReason;

    fn base() -> Value {
        json!({
            "specversion": "1.0", "id": "e-1", "source": "urn:samverkan:org:VGR",
            "type": "se.samverkan.need.withdrawn.v1", "time": "2026-11-22T09:30:00+01:00",
            "dataschema": "https://schemas.samverkan.se/need-withdrawn.v1.json",
            "subject": "NEED-2026-0101", "datacontenttype": "application/json",
            "traceparent": "00-abc-def-01",
            "data": {"needId": "NEED-2026-0101", "reason": "Solved internally"}
        })
    }

    fn reason_after(edit: impl FnOnce(&mut Map<String, Value>)) -> RejectReason {
        let mut v = base();
        edit(v.as_object_mut().unwrap());
        CloudEvent::from_value(v).unwrap_err().reason()
    }

    #[test]
    fn a_valid_event_round_trips() {
        let event = CloudEvent::from_value(base()).unwrap();
        assert_eq!(event.event_type, EventType::NeedWithdrawn);
        assert_eq!(event.subject.as_deref(), Some("NEED-2026-0101"));
        assert_eq!(event.extensions.len(), 1);
        let again = CloudEvent::from_value(event.to_value()).unwrap();
        assert_eq!(again, event);
    }

    #[test]
    fn each_envelope_fault_has_its_reason() {
        use RejectReason::*;
        assert_eq!(
            reason_after(|o| {
                o.remove("specversion");
            }),
            NotACloudevent
        );
        assert_eq!(
            reason_after(|o| {
                o.insert("specversion".into(), "0.3".into());
            }),
            NotACloudevent
        );
        assert_eq!(
            reason_after(|o| {
                o.remove("source");
            }),
            MissingAttribute
        );
        assert_eq!(
            reason_after(|o| {
                o.remove("subject");
            }),
            MissingAttribute
        );
        assert_eq!(
            reason_after(|o| {
                o.insert("time".into(), "yesterday".into());
            }),
            InvalidAttribute
        );
        assert_eq!(
            reason_after(|o| {
                o.insert("id".into(), 7.into());
            }),
            InvalidAttribute
        );
        assert_eq!(
            reason_after(|o| {
                o.insert("datacontenttype".into(), "text/xml".into());
            }),
            InvalidAttribute
        );
        assert_eq!(
            reason_after(|o| {
                o.insert("Bad-Ext".into(), "x".into());
            }),
            InvalidAttribute
        );
        assert_eq!(
            reason_after(|o| {
                o.insert("type".into(), "x.y".into());
            }),
            UnknownType
        );
        assert_eq!(
            CloudEvent::from_value(json!([1])).unwrap_err().reason(),
            NotACloudevent
        );
    }

    #[test]
    fn attributes_that_become_properties_or_keys_are_bounded() {
        use RejectReason::*;
        let long = "x".repeat(MAX_ATTRIBUTE_LEN + 1);
        let cases: [(&str, Value); 9] = [
            ("subject", long.clone().into()),
            ("subject", "NEED\u{0}2026".into()),
            ("subject", "NEED 2026 0101".into()),
            ("source", format!("urn:{long}").into()),
            ("type", format!("se.{long}").into()),
            ("type", "se.samverkan\u{1b}[2J".into()),
            ("dataschema", format!("https://{long}").into()),
            ("datacontenttype", "application/json\u{0}".into()),
            ("traceparent", "00\u{0}".into()),
        ];
        for (attribute, value) in cases {
            let reason = reason_after(|o| {
                o.insert(attribute.into(), value.clone());
            });
            assert_eq!(reason, InvalidAttribute, "{attribute} = {value:?}");
        }
    }

    #[test]
    fn a_free_subject_may_be_long_text_within_bounds() {
        let mut v = base();
        let obj = v.as_object_mut().unwrap();
        obj.insert("type".into(), "se.samverkan.course.removed.v1".into());
        obj.insert("subject".into(), "å".repeat(MAX_ATTRIBUTE_LEN / 2).into());
        let event = CloudEvent::from_value(v).unwrap();
        assert_eq!(
            event.subject.unwrap().chars().count(),
            MAX_ATTRIBUTE_LEN / 2
        );
    }

    #[test]
    fn the_bytes_are_those_of_the_value() {
        let mut event = CloudEvent::from_value(base()).unwrap();
        assert_eq!(
            event.to_json_bytes(),
            serde_json::to_vec(&event.to_value()).unwrap()
        );
        // Extensions sort among the attributes; one named like an attribute replaces it, as in
        // `to_value` (`data` always wins).
        for (name, value) in [
            ("aaa", json!([1, "å\n"])),
            ("zzz", json!(null)),
            ("id", json!(7)),
        ] {
            event.extensions.insert(name.into(), value);
        }
        event
            .extensions
            .insert("data".into(), json!("not the data"));
        event.subject = None;
        event.datacontenttype = None;
        let bytes = event.to_json_bytes();
        assert_eq!(bytes, serde_json::to_vec(&event.to_value()).unwrap());
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with(r#"{"aaa":[1,"å\n"],"data":{"needId""#),
            "{text}"
        );
        assert!(text.contains(r#""id":7,"#), "{text}");
    }

    #[test]
    fn new_events_carry_the_registered_dataschema() {
        let e = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some("N-1".into()),
            json!({}),
        );
        assert_eq!(
            e.dataschema,
            "https://schemas.samverkan.se/need-status.v1.json"
        );
        let parsed = CloudEvent::parse(&e.to_json_bytes(), Limits::default()).unwrap();
        assert_eq!(parsed.id, e.id);
    }
}
