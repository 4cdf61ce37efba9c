//! The CloudEvents envelope around each type's data, as the AMQP body carries it.
//!
//! Structured mode is canonical (and all the hub sends): the body is the whole event, so a
//! message's payload is the envelope with `type` and `dataschema` fixed and `data` the type's
//! schema. The shared attribute rules are one component, [`CLOUD_EVENT`]; binary mode, which
//! the hub accepts on ingress, is described by the [`BINARY_HEADERS`] component.

use serde_json::{Value, json};

use super::payload::component_ref;
use crate::event::{
    DATA_CONTENT_TYPE, EventType, MAX_ATTRIBUTE_LEN, MAX_ID_LEN, PREFIXES, SPEC_VERSION, Source,
};

/// Component name of the envelope's shared rules.
pub(super) const CLOUD_EVENT: &str = "cloudEvent";
/// Component name of the binary-mode headers.
pub(super) const BINARY_HEADERS: &str = "cloudEventsBinaryHeaders";

/// A printable-ASCII token without whitespace, as `id`, `source`, `type` and `dataschema` are.
const TOKEN: &str = "^[!-~]+$";

/// The attribute rules every event shares (`docs/contract.md`, "Events are CloudEvents 1.0").
pub(super) fn cloud_event() -> Value {
    let token = |max: usize, description: &str| {
        json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": TOKEN,
               "description": description})
    };
    json!({
        "title": "CloudEvent 1.0 (structured mode)",
        "description": "The envelope of every Samverkan event. Extension attributes are \
            allowed: lower-case letters and digits, names of at most 20 characters, values of \
            at most 1024 bytes.",
        "type": "object",
        "required": ["specversion", "id", "source", "type", "time", "dataschema", "data"],
        "properties": {
            "specversion": {"type": "string", "const": SPEC_VERSION},
            "id": token(MAX_ID_LEN, "Unique per source; the hub deduplicates on (source, id)."),
            "source": {
                "type": "string", "minLength": 1, "maxLength": MAX_ATTRIBUTE_LEN,
                "pattern": TOKEN,
                "description": "The sender's own source, urn:samverkan:org:<orgId>; the hub's \
                    is urn:samverkan:hub.",
                "examples": [Source::for_org("VGR").as_ref(), Source::hub().as_ref()],
            },
            "type": token(MAX_ATTRIBUTE_LEN, "The event type."),
            "time": {"type": "string", "format": "date-time",
                     "description": "RFC 3339; for answers it decides which is the latest."},
            "dataschema": token(MAX_ATTRIBUTE_LEN, "The $id of the type's data schema."),
            "subject": {"type": "string", "maxLength": MAX_ATTRIBUTE_LEN,
                        "description": "The need id, for need-scoped types."},
            "datacontenttype": {"type": "string", "const": DATA_CONTENT_TYPE},
            "data": {"type": "object"},
        },
    })
}

/// The headers of a binary-mode event: attributes as headers, `data` alone as the body.
pub(super) fn binary_headers() -> Value {
    let prefixes: Vec<&str> = PREFIXES.to_vec();
    json!({
        "title": "CloudEvents binary-mode headers",
        "description": format!(
            "Binary mode, accepted on ingress only: the AMQP body is `data` with content_type \
             {DATA_CONTENT_TYPE}, and each attribute is a header named with one prefix \
             ({}) followed by the attribute name, e.g. cloudEvents_type. Use one prefix per \
             message. In structured mode (content_type application/cloudevents+json, \
             canonical) no CloudEvents headers are needed.",
            prefixes.join(", ")
        ),
        "type": "object",
    })
}

/// The body of an event of `event_type` in structured mode.
pub(super) fn payload(event_type: EventType) -> Value {
    let mut required = vec!["type", "dataschema", "data"];
    let mut properties = json!({
        "type": {"type": "string", "const": event_type.as_str()},
        "dataschema": {"type": "string", "const": event_type.dataschema()},
        "data": {"$ref": component_ref(event_type.schema_file())},
    });
    if let Some(pointer) = event_type.need_id_pointer() {
        required.push("subject");
        properties["subject"] = json!({
            "type": "string",
            "description": format!("The need id; must equal /data{pointer}."),
        });
    }
    json!({
        "allOf": [{"$ref": format!("#/components/schemas/{CLOUD_EVENT}")}],
        "type": "object",
        "required": required,
        "properties": properties,
    })
}
