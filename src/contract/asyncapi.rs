//! The AsyncAPI 3.0 document, from a connected organisation's point of view: it *sends* to
//! the ingress exchange and *receives* from its own queue.
//!
//! Which types go where is [`sender_kind`]'s answer, the rule the hub enforces when it
//! authorizes an event: a type some kind of organisation may send is an ingress message, a type
//! only the hub sends arrives on the organisation queues. Channel and exchange names are the
//! topology's constants, message payloads the embedded schemas (see `payload.rs`).

use serde_json::{Map, Value, json};

use super::envelope::{self, BINARY_HEADERS, CLOUD_EVENT};
use super::payload::{component_name, schema_components};
use super::{BrokerAddress, ContractError};
use crate::event::{EventType, STRUCTURED_CONTENT_TYPE};
use crate::pipeline::sender_kind;
use crate::transport::{INGRESS_EXCHANGE, ORG_QUEUE_PREFIX};

/// The AsyncAPI version the document follows.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// The version of the AsyncAPI AMQP 0-9-1 bindings used.
const AMQP_BINDING_VERSION: &str = "0.3.0";
/// Channel id of the ingress exchange.
const INGRESS: &str = "ingress";
/// Channel id of an organisation's queue.
const ORG_QUEUE: &str = "organisationQueue";
/// Security scheme id: the organisation's broker user.
const BROKER_USER: &str = "brokerUser";

/// The whole document, with `server` as the `production` server.
///
/// # Errors
///
/// [`ContractError`] when an embedded schema cannot be converted (a bug in `schemas/`).
pub fn asyncapi_document(server: &BrokerAddress) -> Result<Value, ContractError> {
    let mut schemas = schema_components()?;
    schemas.insert(CLOUD_EVENT.to_owned(), envelope::cloud_event());
    schemas.insert(BINARY_HEADERS.to_owned(), envelope::binary_headers());
    let messages: Map<String, Value> = EventType::ALL
        .into_iter()
        .map(|t| {
            let data = schemas.get(component_name(t.schema_file()));
            let description = data.and_then(|d| d.get("description"));
            (message_id(t), message(t, description))
        })
        .collect();
    Ok(json!({
        "asyncapi": ASYNCAPI_VERSION,
        "info": info(),
        "defaultContentType": STRUCTURED_CONTENT_TYPE,
        "servers": {"production": production(server)},
        "channels": {INGRESS: ingress_channel(), ORG_QUEUE: org_queue_channel()},
        "operations": operations(),
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {BROKER_USER: {
                "type": "userPassword",
                "description": "Your organisation's broker user and password. Publish with the \
                    AMQP user_id set to that user: it is how the hub knows who you are.",
            }},
        },
    }))
}

fn info() -> Value {
    json!({
        "title": "Samverkan",
        "version": env!("CARGO_PKG_VERSION"),
        "description": format!(
            "{} This document describes the hub from a connected organisation's point of view: \
             it sends events to the `{INGRESS_EXCHANGE}` exchange (routing key = event type) and \
             receives events from its own queue, `{ORG_QUEUE_PREFIX}<orgId>`. Every message is a \
             CloudEvent 1.0 whose data is described by the schemas under /schemas/.",
            env!("CARGO_PKG_DESCRIPTION")
        ),
        "license": {"name": env!("CARGO_PKG_LICENSE")},
    })
}

fn production(server: &BrokerAddress) -> Value {
    json!({
        "host": server.host_port(),
        "protocol": server.protocol(),
        "protocolVersion": "0.9.1",
        "description": "RabbitMQ. Connect with your organisation's broker user; you may publish \
            to the ingress exchange and read your own queue, nothing else.",
        "security": [{"$ref": format!("#/components/securitySchemes/{BROKER_USER}")}],
    })
}

/// The channel messages of the types sent (`true`) or received (`false`) by organisations.
fn channel_messages(sent: bool) -> Map<String, Value> {
    EventType::ALL
        .into_iter()
        .filter(|t| sender_kind(*t).is_some() == sent)
        .map(|t| {
            let id = message_id(t);
            let reference = json!({"$ref": format!("#/components/messages/{id}")});
            (id, reference)
        })
        .collect()
}

fn ingress_channel() -> Value {
    json!({
        "address": INGRESS_EXCHANGE,
        "title": "Ingress exchange (organisation → hub)",
        "description": format!(
            "The topic exchange `{INGRESS_EXCHANGE}`: publish each event with the routing key \
             equal to its type. The hub consumes everything published here."
        ),
        "messages": channel_messages(true),
        "bindings": {"amqp": {
            "is": "routingKey",
            "exchange": {"name": INGRESS_EXCHANGE, "type": "topic", "durable": true,
                         "autoDelete": false},
            "bindingVersion": AMQP_BINDING_VERSION,
        }},
    })
}

fn org_queue_channel() -> Value {
    let queue = format!("{ORG_QUEUE_PREFIX}{{orgId}}");
    json!({
        "address": queue,
        "title": "Organisation queue (hub → organisation)",
        "description": "Your own durable quorum queue. The hub delivers what it sends you here; \
            messages you cannot process are dead-lettered after the delivery limit.",
        "parameters": {"orgId": {
            "description": "Your organisation id, as configured in the hub (e.g. VGR, chalmers).",
            "examples": ["VGR", "chalmers", "partner-001"],
        }},
        "messages": channel_messages(false),
        "bindings": {"amqp": {
            "is": "queue",
            "queue": {"name": queue, "durable": true, "exclusive": false, "autoDelete": false},
            "bindingVersion": AMQP_BINDING_VERSION,
        }},
    })
}

/// One operation per type: `send…` to the ingress exchange or `receive…` from the queue.
fn operations() -> Map<String, Value> {
    EventType::ALL
        .into_iter()
        .map(|t| {
            let id = message_id(t);
            let (action, channel, bindings, summary) = match sender_kind(t) {
                Some(kind) => (
                    "send",
                    INGRESS,
                    json!({"cc": [t.as_str()], "deliveryMode": 2}),
                    format!("A {} sends `{}` to the hub.", kind.as_str(), t.as_str()),
                ),
                None => (
                    "receive",
                    ORG_QUEUE,
                    json!({"ack": true}),
                    format!(
                        "The hub delivers `{}` to an organisation's queue.",
                        t.as_str()
                    ),
                ),
            };
            let mut bindings = bindings;
            bindings["bindingVersion"] = AMQP_BINDING_VERSION.into();
            let operation = json!({
                "action": action,
                "channel": {"$ref": format!("#/channels/{channel}")},
                "summary": summary,
                "messages": [{"$ref": format!("#/channels/{channel}/messages/{id}")}],
                "bindings": {"amqp": bindings},
            });
            (format!("{action}{}", capitalized(&id)), operation)
        })
        .collect()
}

/// The message of `t`; `description` is its data schema's.
fn message(t: EventType, description: Option<&Value>) -> Value {
    let sender = sender_kind(t);
    let mut message = json!({
        "name": t.as_str(),
        "title": short_name(t),
        "summary": match sender {
            Some(kind) => format!("Sent by a {} to the hub.", kind.as_str()),
            None => "Sent by the hub.".to_owned(),
        },
        "contentType": STRUCTURED_CONTENT_TYPE,
        "payload": envelope::payload(t),
        "bindings": {"amqp": {"messageType": t.as_str(), "bindingVersion": AMQP_BINDING_VERSION}},
    });
    if let Some(description) = description {
        message["description"] = description.clone();
    }
    if t.need_id_pointer().is_some() {
        message["correlationId"] = json!({
            "description": "The need id: the event's subject, and the AMQP correlation_id of \
                what the hub publishes.",
            "location": "$message.payload#/subject",
        });
    }
    if sender.is_some() {
        message["headers"] = json!({"$ref": format!("#/components/schemas/{BINARY_HEADERS}")});
    }
    message
}

/// `need.submitted` for `se.samverkan.need.submitted.v1`.
pub(super) fn short_name(t: EventType) -> &'static str {
    let name = t.as_str();
    let name = name.strip_prefix("se.samverkan.").unwrap_or(name);
    name.strip_suffix(".v1").unwrap_or(name)
}

/// `needSubmitted` for `se.samverkan.need.submitted.v1`: the id of its message.
fn message_id(t: EventType) -> String {
    let mut words = short_name(t).split('.');
    let first = words.next().unwrap_or_default().to_owned();
    words.fold(first, |id, word| id + &capitalized(word))
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "asyncapi_tests.rs"]
mod tests;
