//! The bodies of the HTTP API as OpenAPI components, and the response helpers the paths share.
//!
//! What the event schemas do not cover is described here: the answers of `/readyz`, the need
//! report of `/v1/needs` (the shape of `crate::reconcile::need_report`), the feed page, the
//! webhook registration, and the one refusal body every 4xx and 5xx answer carries ([`ERROR`]).
//! A refused event's body is the `message.rejected` data itself, so [`ERROR`] is that schema
//! or the plain `{"reason", "detail"}` of refusals that are not about an event, and every
//! response lists the reason codes it can carry in its description: a code generator sees one
//! error type, a reader sees which codes to expect (the codes are a pattern, not an enum, so a
//! new code breaks no client).

use serde_json::{Map, Value, json};

use super::envelope::CLOUD_EVENT;
use super::payload::component_ref;
use crate::event::{EventType, RejectReason};
use crate::http::error::{RETRY_AFTER_SECS, UNAVAILABLE};
use crate::need::{Decision, NeedState, RecipientKind};

/// Component name of the refusal body.
pub(super) const ERROR: &str = "error";
/// Component name of a refusal that is not about an event.
const PLAIN_REFUSAL: &str = "plainRefusal";
/// Component names of the API's own bodies.
pub(super) const EVENT_ACCEPTED: &str = "eventAccepted";
pub(super) const EVENT_DUPLICATE: &str = "eventDuplicate";
pub(super) const READINESS: &str = "readiness";
pub(super) const NEED_REPORT: &str = "needReport";
pub(super) const NEED_LIST: &str = "needList";
pub(super) const FEED_PAGE: &str = "feedPage";
pub(super) const WEBHOOK: &str = "webhook";
pub(super) const WEBHOOK_REQUEST: &str = "webhookRequest";
pub(super) const WEBHOOK_SECRET: &str = "webhookSecret";

/// `"#/components/schemas/{name}"` as a reference object.
pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A response with a JSON body of `schema`.
pub(super) fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

/// A refusal: `description`, then the codes its `reason` can be.
pub(super) fn refusal(description: &str, codes: &[&str]) -> Value {
    let codes: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    let description = match codes.as_slice() {
        [] => description.to_owned(),
        codes => format!("{description} `reason`: {}.", codes.join(", ")),
    };
    json_response(&description, schema_ref(ERROR))
}

/// 401: no token, or one that is unknown or revoked.
pub(super) fn unauthenticated() -> Value {
    refusal(
        "No `Authorization: Bearer <token>`, or a token that is unknown or revoked. Not \
         recorded: anyone can call.",
        &[RejectReason::Unauthenticated.as_str()],
    )
}

/// 503 with `Retry-After`: the store cannot serve now, or the hub is paused for it.
pub(super) fn unavailable(description: &str, codes: &[&str]) -> Value {
    let mut response = refusal(description, codes);
    response["headers"] = json!({"Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0,
                   "examples": [RETRY_AFTER_SECS.parse::<u32>().unwrap_or(5)]},
    }});
    response
}

/// The 503 of every route that reads the store (token lookups included).
pub(super) fn store_unavailable() -> Value {
    unavailable(
        "The store cannot answer now, or the hub is paused for it; nothing changed, try again.",
        &[UNAVAILABLE],
    )
}

/// The API's own schemas, to be added to `components/schemas`.
pub(super) fn api_schemas() -> Map<String, Value> {
    let entries = [
        (ERROR, error()),
        (PLAIN_REFUSAL, plain_refusal()),
        (EVENT_ACCEPTED, event_accepted()),
        (EVENT_DUPLICATE, event_duplicate()),
        (READINESS, readiness()),
        (NEED_REPORT, need_report()),
        (NEED_LIST, need_list()),
        (FEED_PAGE, feed_page()),
        (WEBHOOK, webhook()),
        (WEBHOOK_REQUEST, webhook_request()),
        (WEBHOOK_SECRET, webhook_secret()),
    ];
    entries
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), schema))
        .collect()
}

fn error() -> Value {
    json!({
        "title": "Refusal",
        "description": "The body of every refusal: a JSON object whose top-level `reason` is a \
            stable code. For a refused event (and for 401 and 403) it is exactly the \
            `message.rejected` data an AMQP sender would be sent: reason, detail, errors with \
            JSON pointers, rejectedEventId, rejectedEventType; never values. Other refusals \
            carry `reason` and, mostly, `detail`. Treat an unknown code as a generic refusal.",
        "anyOf": [
            {"$ref": component_ref(EventType::MessageRejected.schema_file())},
            schema_ref(PLAIN_REFUSAL),
        ],
    })
}

fn plain_refusal() -> Value {
    json!({
        "title": "Plain refusal",
        "description": "A refusal that is not about an event: a bad query parameter, an \
            unknown need or schema, a hub that cannot serve now.",
        "type": "object",
        "required": ["reason"],
        "properties": {
            "reason": {"$ref": "#/components/schemas/common.v1.reasonCode"},
            "detail": {"type": "string", "description": "What to do about it, in a sentence."},
            "schemas": {"type": "array", "items": {"type": "string"},
                        "description": "With `unknown_schema` only: the files that exist."},
        },
    })
}

fn event_accepted() -> Value {
    json!({
        "title": "Event accepted",
        "description": "The event's effects are committed.",
        "type": "object",
        "required": ["outcome", "type"],
        "properties": {
            "outcome": {"const": "accepted"},
            "type": {"type": "string", "description": "The event's type.",
                     "examples": [EventType::NeedSubmitted.as_str()]},
        },
    })
}

fn event_duplicate() -> Value {
    json!({
        "title": "Event duplicate",
        "description": "This source + id was processed before; nothing changed.",
        "type": "object",
        "required": ["outcome"],
        "properties": {"outcome": {"const": "duplicate"}},
    })
}

fn readiness() -> Value {
    let link = |what: &str| {
        json!({"enum": ["connected", "reconnecting", "none"],
               "description": format!("The {what}'s broker link; `none` without one.")})
    };
    json!({
        "title": "Readiness",
        "description": "Which part of the hub is not ready; no error text (it could name hosts).",
        "type": "object",
        "required": ["ready", "store", "broker", "publisher", "paused"],
        "properties": {
            "ready": {"type": "boolean"},
            "store": {"enum": ["ok", "read_only", "unavailable"],
                      "description": "The store's write check."},
            "broker": link("consumer"),
            "publisher": link("publisher"),
            "paused": {"type": "boolean",
                       "description": "Deliveries are held until the store can write again."},
        },
    })
}

fn need_report() -> Value {
    let codes = |all: &[&str]| json!({"enum": all});
    let states: Vec<&str> = NeedState::ALL.iter().map(|s| s.as_str()).collect();
    let kinds: Vec<&str> = RecipientKind::ALL.iter().map(|k| k.as_str()).collect();
    let decisions: Vec<&str> = Decision::ALL.iter().map(|d| d.as_str()).collect();
    let count = json!({"type": "integer", "minimum": 0});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
        "title": "Need report",
        "description": "A need's reconciled state, as `samverkan needs show --format json` \
            prints it: recipients with scores and latest answers, and the counts.",
        "type": "object",
        "required": ["needId", "region", "state", "reason", "respondBy", "version", "counts",
                     "recipients"],
        "properties": {
            "needId": {"$ref": "#/components/schemas/common.v1.needId"},
            "region": {"$ref": "#/components/schemas/common.v1.orgId"},
            "state": codes(&states),
            "reason": {"type": ["string", "null"], "description": "Why it is in this state."},
            "respondBy": {"type": ["string", "null"], "format": "date-time"},
            "version": {"type": "integer", "minimum": 1,
                        "description": "One more with every state change."},
            "counts": {
                "type": "object",
                "required": ["offers", "proposals", "interests", "declines"],
                "properties": {"offers": count, "proposals": count, "interests": count,
                               "declines": count},
            },
            "recipients": {"type": "array", "items": {
                "type": "object",
                "required": ["org", "kind", "score", "reasons", "latest"],
                "properties": {
                    "org": {"$ref": "#/components/schemas/common.v1.orgId"},
                    "kind": codes(&kinds),
                    "score": {"$ref": "#/components/schemas/common.v1.score"},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                    "latest": {
                        "description": "The recipient's latest answer; null before one.",
                        "oneOf": [{"type": "null"}, {
                            "type": "object",
                            "required": ["decision", "time", "eventId"],
                            "properties": {"decision": codes(&decisions), "time": time,
                                           "eventId": {"type": ["string", "null"]}},
                        }],
                    },
                },
            }},
        },
    })
}

fn need_list() -> Value {
    json!({
        "title": "Need list",
        "type": "object",
        "required": ["needs"],
        "properties": {"needs": {"type": "array", "items": schema_ref(NEED_REPORT)}},
    })
}

fn feed_page() -> Value {
    json!({
        "title": "Feed page",
        "description": "The events for your organisation after the cursor, oldest first.",
        "type": "object",
        "required": ["events", "next"],
        "properties": {
            "events": {"type": "array", "items": schema_ref(CLOUD_EVENT),
                       "description": "Structured-mode CloudEvents; empty when none came in \
                           time."},
            "next": {"type": "string",
                     "description": "The opaque cursor to pass as `after` next time; never \
                         null, also when `events` is empty."},
        },
    })
}

fn webhook() -> Value {
    json!({
        "title": "Webhook",
        "description": "Your organisation's webhook. The secret is never shown again.",
        "type": "object",
        "required": ["url", "origin", "validated", "parked"],
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "origin": {"enum": ["config", "api"],
                       "description": "Set by the operator's configuration or by PUT \
                           /v1/webhook; only an `api` one can be changed over the API."},
            "validated": {"type": "boolean",
                          "description": "The OPTIONS handshake has succeeded."},
            "parked": {"type": "integer", "minimum": 0,
                       "description": "Deliveries set aside after failing."},
        },
    })
}

/// A `whsec_` secret: 24 to 64 random bytes, base64 (32 to 88 characters).
fn secret(description: &str) -> Value {
    json!({"type": "string", "pattern": "^whsec_[A-Za-z0-9+/]+={0,2}$", "minLength": 38,
           "maxLength": 94, "description": description})
}

fn webhook_request() -> Value {
    json!({
        "title": "Webhook registration",
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "format": "uri",
                    "description": "http or https; a loopback or private address only when the \
                        hub's configuration allows it."},
            "secret": secret("The signing secret, `whsec_` and the base64 of 24 to 64 bytes; \
                generated by the hub when not given."),
        },
    })
}

fn webhook_secret() -> Value {
    json!({
        "title": "Webhook registered",
        "type": "object",
        "required": ["url", "secret"],
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "secret": secret("The signing secret: shown here only, keep it."),
        },
    })
}
