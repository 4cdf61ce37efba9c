//! `GET /openapi.json` against the hub that serves it, over real HTTP on SQLite and on
//! PostgreSQL: the document comes without a token, and every answer of a real exchange
//! (health, refusals, an accepted and a duplicate event, a region's need report) has its
//! status documented for its operation and validates against the schema the document gives.

use std::net::SocketAddr;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::{issue_token, need_event, on_both_hubs, serve_http};

const NEED: &str = "NEED-2026-0101";

/// A request body: its content type and bytes.
type Body = Option<(&'static str, Vec<u8>)>;

/// `raw` escaped as one JSON Pointer token.
fn token(raw: &str) -> String {
    raw.replace('~', "~0").replace('/', "~1")
}

/// Why `body` (when JSON) answered with `status` to `method path` does not conform to `doc`:
/// the status is not documented for the operation, or the body does not validate against the
/// schema documented for it.
fn conformance(
    doc: &Value,
    method: &str,
    path: &str,
    status: u16,
    body: Option<&Value>,
) -> Result<(), String> {
    let response = format!("/paths/{}/{method}/responses/{status}", token(path));
    if doc.pointer(&response).is_none() {
        return Err(format!("{method} {path} answered {status}, not documented"));
    }
    let Some(body) = body else { return Ok(()) };
    let schema = format!("{response}/content/application~1json/schema");
    if doc.pointer(&schema).is_none() {
        return Err(format!("{method} {path} {status}: no JSON body documented"));
    }
    // The document itself as the root, so every `#/components/...` resolves; the reference is
    // a URI fragment, so the braces of a path template are percent-encoded.
    let mut root = doc.clone();
    let fragment = schema.replace('{', "%7B").replace('}', "%7D");
    root["$ref"] = Value::from(format!("#{fragment}"));
    let validator = jsonschema::validator_for(&root).expect("the document compiles as a schema");
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(format!("{method} {path} {status}: {errors:?}\n{body}")),
    }
}

struct Hub {
    address: SocketAddr,
    client: reqwest::Client,
}

impl Hub {
    /// `method path` (with `query`) as `token`'s organisation: status and body (JSON or text).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Body,
    ) -> (u16, Option<Value>) {
        let mut request = self
            .client
            .request(method, format!("http://{}{path}", self.address));
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request.send().await.expect("the request is answered");
        let status = response.status().as_u16();
        let is_json = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let text = response.text().await.expect("body");
        let json = is_json.then(|| serde_json::from_str(&text).expect("a JSON body"));
        (status, json)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_describes_what_the_hub_answers() {
    on_both_hubs(|app, backend| async move {
        let (address, trigger) = serve_http(app.pipeline.clone()).await;
        let hub = Hub {
            address,
            client: reqwest::Client::new(),
        };
        use reqwest::Method as M;
        let (status, doc) = hub.call(M::GET, "/openapi.json", None, None).await;
        assert_eq!(status, 200, "{backend}");
        let doc = doc.expect("application/json");
        assert_eq!(doc["openapi"], "3.1.0", "{backend}");
        // The check can fail: a body of the wrong shape, or an undocumented status.
        let wrong = json!({"needs": 5});
        assert!(conformance(&doc, "get", "/v1/needs", 200, Some(&wrong)).is_err());
        assert!(conformance(&doc, "get", "/v1/needs", 418, None).is_err());

        let store = &app.settings.store.url;
        let (vgr, partner) = (issue_token(store, "VGR"), issue_token(store, "partner-001"));
        let (vgr, partner) = (Some(vgr.as_str()), Some(partner.as_str()));
        let need = format!("/v1/needs/{NEED}");
        // (request path, document path, token, status), then (token, content type, body,
        // status) of POST /v1/events, then the need again once it exists.
        let reads = [
            ("/healthz", "/healthz", None, 200),
            ("/readyz", "/readyz", None, 200),
            ("/metrics", "/metrics", None, 200),
            ("/asyncapi.json", "/asyncapi.json", None, 200),
            ("/schemas/need.v1.json", "/schemas/{file}", None, 200),
            ("/schemas/nope.json", "/schemas/{file}", None, 404),
            ("/v1/needs", "/v1/needs", None, 401),
            ("/v1/needs", "/v1/needs", partner, 403),
            ("/v1/needs?state=open", "/v1/needs", vgr, 400),
            (need.as_str(), "/v1/needs/{id}", vgr, 404),
        ];
        for (path, documented, token, expected) in reads {
            let (status, json) = hub.call(M::GET, path, token, None).await;
            assert_eq!(status, expected, "{backend}: GET {path}");
            let checked = conformance(&doc, "get", documented, status, json.as_ref());
            assert_eq!(checked, Ok(()), "{backend}");
        }
        let event = need_event(NEED).to_json_bytes();
        let structured = "application/cloudevents+json";
        let posts = [
            (None, structured, event.clone(), 401),
            (vgr, "text/plain", b"hi".to_vec(), 415),
            (vgr, structured, b"{".to_vec(), 400),
            (vgr, structured, event.clone(), 202),
            (vgr, structured, event, 200),
        ];
        for (token, content_type, body, expected) in posts {
            let body = Some((content_type, body));
            let (status, json) = hub.call(M::POST, "/v1/events", token, body).await;
            assert_eq!(status, expected, "{backend}: POST /v1/events");
            let checked = conformance(&doc, "post", "/v1/events", status, json.as_ref());
            assert_eq!(checked, Ok(()), "{backend}");
        }
        for (path, documented) in [
            (need.as_str(), "/v1/needs/{id}"),
            ("/v1/needs", "/v1/needs"),
        ] {
            let (status, json) = hub.call(M::GET, path, vgr, None).await;
            assert_eq!(status, 200, "{backend}: GET {path}");
            let json = json.expect("a JSON body");
            // The need, routed: its recipients (with scores) are checked too.
            let text = json.to_string();
            assert!(
                text.contains(NEED) && text.contains("\"score\""),
                "{backend}: {text}"
            );
            let checked = conformance(&doc, "get", documented, status, Some(&json));
            assert_eq!(checked, Ok(()), "{backend}");
        }
        trigger.trigger();
        app.stop().await;
    })
    .await;
}
