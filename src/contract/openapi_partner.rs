//! The ways an organisation without an AMQP client receives: the feed it polls
//! (`GET /v1/feed`), the webhook it registers (`/v1/webhook`) and what the hub then POSTs to
//! it (the document's top-level `webhooks`).
//!
//! The webhook requests follow the Standard Webhooks signature scheme and the CloudEvents
//! webhook handshake, so a partner can verify them with an existing library.

use serde_json::{Value, json};

use super::envelope::CLOUD_EVENT;
use super::openapi_paths::bearer;
use super::openapi_schemas::{
    FEED_PAGE, WEBHOOK, WEBHOOK_REQUEST, WEBHOOK_SECRET, json_response, refusal, schema_ref,
    store_unavailable, unauthenticated,
};
use crate::event::{EventType, STRUCTURED_CONTENT_TYPE};
use crate::http::error::{BAD_REQUEST, INVALID_CURSOR};
use crate::http::feed::{DEFAULT_LIMIT, LIMITS, WAITS};
use crate::http::webhook::{self as api, NO_WEBHOOK, WEBHOOK_CONFIGURED, WEBHOOK_URL};
use crate::pipeline::sender_kind;

/// The types the hub delivers, as a sentence.
fn delivered_types() -> String {
    let types: Vec<String> = EventType::ALL
        .into_iter()
        .filter(|t| sender_kind(*t).is_none())
        .map(|t| format!("`{}`", t.as_str()))
        .collect();
    format!(
        "what the hub sends your organisation ({})",
        types.join(", ")
    )
}

/// `GET /v1/feed`.
pub(super) fn feed() -> Value {
    let integer = |min: u32, max: u32, default: u32| json!({"type": "integer", "minimum": min, "maximum": max, "default": default});
    json!({
        "operationId": "getFeed", "tags": ["feed"], "security": bearer(),
        "summary": "Poll for the events the hub has for your organisation.",
        "description": format!(
            "The events of your organisation's queue, over HTTP: {}, oldest first, as \
             structured-mode CloudEvents. Pass the `next` of one answer as `after` of the \
             next request; with `wait`, the hub answers as soon as an event is there or when \
             the wait ends, with an empty list.",
            delivered_types()
        ),
        "parameters": [
            {"name": "after", "in": "query", "required": false, "schema": {"type": "string"},
             "description": "The opaque cursor of a previous answer's `next`; absent: from the \
                 beginning."},
            {"name": "limit", "in": "query", "required": false,
             "schema": integer(*LIMITS.start(), *LIMITS.end(), DEFAULT_LIMIT),
             "description": "Most events in the answer."},
            {"name": "wait", "in": "query", "required": false,
             "schema": integer(*WAITS.start(), *WAITS.end(), 0),
             "description": "Seconds to wait for an event when there is none (long poll)."},
        ],
        "responses": {
            "200": json_response("A page; `events` may be empty.", schema_ref(FEED_PAGE)),
            "400": refusal("A cursor the hub did not issue, or a parameter out of range.",
                           &[INVALID_CURSOR, BAD_REQUEST]),
            "401": unauthenticated(),
            "503": store_unavailable(),
        },
    })
}

fn from_config() -> Value {
    refusal(
        "The webhook is set by the operator's configuration (`origin: config`); only the \
         operator changes it.",
        &[WEBHOOK_CONFIGURED],
    )
}

fn no_webhook() -> Value {
    refusal("Your organisation has no webhook.", &[NO_WEBHOOK])
}

/// `GET`, `PUT` and `DELETE /v1/webhook`.
pub(super) fn webhook() -> Value {
    json!({
        "get": {
            "operationId": "getWebhook", "tags": ["webhook"], "security": bearer(),
            "summary": "Your organisation's webhook, without its secret.",
            "responses": {
                "200": json_response("The webhook.", schema_ref(WEBHOOK)),
                "401": unauthenticated(),
                "404": no_webhook(),
                "503": store_unavailable(),
            },
        },
        "put": {
            "operationId": "putWebhook", "tags": ["webhook"], "security": bearer(),
            "summary": "Register or replace your organisation's webhook.",
            "description": "The hub POSTs what it has for your organisation to the URL (see \
                `webhooks`), signed with the secret. The secret is answered here only; the \
                hub generates one when none is given.",
            "requestBody": {"required": true, "content": {"application/json": {
                "schema": schema_ref(WEBHOOK_REQUEST)}}},
            "responses": {
                "200": json_response("Registered.", schema_ref(WEBHOOK_SECRET)),
                "400": refusal("The body is not the JSON object described.", &[BAD_REQUEST]),
                "401": unauthenticated(),
                "409": from_config(),
                "422": refusal("The URL is not http(s), has a user name or password, or is (or \
                    resolves to) a loopback, private or otherwise non-global address the hub's \
                    configuration does not allow; or the secret is not a `whsec_` key of 24–64 \
                    bytes.", &[WEBHOOK_URL, api::WEBHOOK_SECRET]),
                "503": store_unavailable(),
            },
        },
        "delete": {
            "operationId": "deleteWebhook", "tags": ["webhook"], "security": bearer(),
            "summary": "Remove your organisation's webhook.",
            "responses": {
                "204": {"description": "Removed."},
                "401": unauthenticated(),
                "404": no_webhook(),
                "409": from_config(),
                "503": store_unavailable(),
            },
        },
    })
}

/// The top-level `webhooks`: what the hub sends to a registered URL.
pub(super) fn webhooks() -> Value {
    let header = |name: &str, schema: Value, description: &str| {
        json!({"name": name, "in": "header", "required": true, "schema": schema,
               "description": description})
    };
    json!({"event": {
        "post": {
            "operationId": "deliverEvent", "tags": ["webhook"],
            "summary": "The hub delivers one event to your webhook.",
            "description": format!(
                "One structured-mode CloudEvent per request: {}. Verify the signature before \
                 trusting the body: compute HMAC-SHA256 with the secret (the bytes after \
                 `whsec_`, base64-decoded) over `<webhook-id>.<webhook-timestamp>.<body>` and \
                 compare its base64 with each `v1,` entry of `webhook-signature` (the Standard \
                 Webhooks scheme); reject old timestamps. Deduplicate on `webhook-id`: a \
                 delivery can be repeated.",
                delivered_types()
            ),
            "parameters": [
                header("webhook-id", json!({"type": "string"}), "The event's id."),
                header("webhook-timestamp", json!({"type": "integer"}),
                       "When the request was signed, in Unix seconds."),
                header("webhook-signature", json!({"type": "string",
                       "pattern": "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$"}),
                       "`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`; several, \
                        space-separated, while a secret is being replaced."),
            ],
            "requestBody": {"required": true, "content": {STRUCTURED_CONTENT_TYPE: {
                "schema": schema_ref(CLOUD_EVENT)}}},
            "responses": {
                "2XX": {"description": "Delivered."},
                "default": {"description": "Any other answer, or none in time, is a failed \
                    delivery (see `parked` of GET /v1/webhook)."},
            },
        },
        "options": {
            "operationId": "validateWebhook", "tags": ["webhook"],
            "summary": "The abuse-protection handshake before the first delivery.",
            "description": "The CloudEvents webhook validation: before it delivers to a new \
                URL, the hub sends OPTIONS with `WebHook-Request-Origin` (the hub's origin). \
                Answer 200 with `WebHook-Allowed-Origin` set to that origin (or `*`) to accept \
                deliveries; until then the webhook is not `validated`.",
            "parameters": [header("WebHook-Request-Origin", json!({"type": "string"}),
                                  "Who wants to deliver: the hub.")],
            "responses": {
                "200": {"description": "Deliveries accepted.", "headers": {
                    "WebHook-Allowed-Origin": {"required": true, "schema": {"type": "string"},
                        "description": "The request's origin, or `*`."}}},
                "default": {"description": "Deliveries refused."},
            },
        },
    }})
}
