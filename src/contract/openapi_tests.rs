//! The generated document: every route of the router, references that resolve, one refusal
//! schema, tokens on `/v1` and nowhere else.

use std::collections::BTreeSet;

use super::*;
use crate::event::RejectReason;
use crate::http::error::status_of;

/// The sources `router()` is built from.
const ROUTER_SOURCES: [&str; 2] = [
    include_str!("../http/mod.rs"),
    include_str!("../http/contract.rs"),
];

/// Described ahead of the code that serves them (built in parallel); each entry here must be
/// removed once its route is in `router()`.
const NOT_YET_ROUTED: [(&str, &str); 0] = [];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    openapi_document(None).expect("the embedded schemas convert")
}

/// `(method, path)` of every `.route("path", method(handler)…)` call in `source`, the path
/// as OpenAPI writes it (`{*file}` → `{file}`).
fn routes_in(source: &str) -> Vec<(String, String)> {
    let mut routes = Vec::new();
    for (start, _) in source.match_indices(".route(") {
        let rest = &source[start + ".route(".len()..];
        let mut depth = 0usize;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return true,
                    ')' => depth -= 1,
                    _ => {}
                }
                false
            })
            .map(|(i, _)| i)
            .expect("a closed .route( call");
        let call = &rest[..end];
        let (path, handler) = call.split_once(',').expect("path, handler");
        let path = path.trim();
        let path = path
            .strip_prefix('"')
            .and_then(|p| p.strip_suffix('"'))
            .unwrap_or_else(|| panic!("route path {path} is not a string literal"))
            .replace("{*", "{");
        let methods = top_level_calls(handler)
            .into_iter()
            .filter(|name| METHODS.contains(&name.as_str()));
        routes.extend(methods.map(|method| (method, path.clone())));
    }
    routes
}

/// The names of the calls at the top level of an expression: `post(a).layer(b)` → post, layer.
fn top_level_calls(expression: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut ident = String::new();
    for c in expression.chars() {
        match c {
            '(' => {
                if depth == 0 {
                    let name = ident.rsplit("::").next().unwrap_or_default();
                    names.push(name.to_owned());
                }
                depth += 1;
                ident.clear();
            }
            ')' => depth = depth.saturating_sub(1),
            c if c.is_alphanumeric() || c == '_' || c == ':' => ident.push(c),
            _ => ident.clear(),
        }
    }
    names
}

/// Every `(method, path, operation)` of the document's paths.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut found = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            assert!(METHODS.contains(&method.as_str()), "{method} {path}");
            found.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn is_openapi_3_1_with_the_crate_version_licence_and_a_relative_server() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["info"]["license"]["identifier"], "Apache-2.0 OR MIT");
    assert_eq!(
        doc["servers"],
        json!([{"url": "/", "description": doc["servers"][0]["description"]}])
    );
    let listener = openapi_document(Some("http://10.0.0.7:9464")).expect("document");
    assert_eq!(listener["servers"][0]["url"], "http://10.0.0.7:9464");
}

#[test]
fn every_route_of_the_router_is_described_and_nothing_else() {
    let routes: BTreeSet<(String, String)> =
        ROUTER_SOURCES.iter().flat_map(|s| routes_in(s)).collect();
    assert!(
        routes.len() >= 9,
        "the parser found too few routes: {routes:?}"
    );
    assert!(routes.contains(&("post".to_owned(), "/v1/events".to_owned())));
    assert!(routes.contains(&("get".to_owned(), "/schemas/{file}".to_owned())));
    let doc = document();
    for (method, path) in &routes {
        assert!(
            doc["paths"][path][method].is_object(),
            "{} {path} is served but not in the OpenAPI document",
            method.to_uppercase()
        );
    }
    for (method, path, _) in operations(&doc) {
        let pending = NOT_YET_ROUTED.contains(&(method.as_str(), path.as_str()));
        let routed = routes.contains(&(method.clone(), path.clone()));
        assert!(
            routed || pending,
            "{method} {path} is described but not routed"
        );
        assert!(
            !(routed && pending),
            "{method} {path} is routed: drop it from NOT_YET_ROUTED"
        );
    }
}

#[test]
fn route_parsing_reads_methods_through_layers_and_chains() {
    let source = r#".route("/a", post(x::y).layer(Limit::max(z(1))))
        .route("/b/{*rest}", axum::routing::get(g).put(p).delete(d))"#;
    assert_eq!(
        routes_in(source),
        [
            ("post", "/a"),
            ("get", "/b/{rest}"),
            ("put", "/b/{rest}"),
            ("delete", "/b/{rest}")
        ]
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
    );
}

#[test]
fn every_reference_stays_inside_the_document_and_resolves() {
    fn check(value: &Value, root: &Value, count: &mut usize) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| check(v, root, count)),
            Value::Object(object) => {
                if let Some(r) = object.get("$ref") {
                    let r = r.as_str().expect("a string $ref");
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("remote {r}"));
                    assert!(root.pointer(pointer).is_some(), "dangling {r}");
                    *count += 1;
                }
                object.values().for_each(|v| check(v, root, count));
            }
            _ => {}
        }
    }
    let doc = document();
    let mut count = 0;
    check(&doc, &doc, &mut count);
    assert!(count > 50, "only {count} references");
    for name in doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
    {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c)),
            "component name {name}"
        );
    }
}

#[test]
fn every_refusal_references_the_one_error_schema() {
    let doc = document();
    let error = json!({"$ref": "#/components/schemas/error"});
    let mut refusals = 0;
    for (method, path, operation) in operations(&doc) {
        for (status, response) in operation["responses"].as_object().expect("responses") {
            let code: u16 = status.parse().expect("a numeric status");
            if code < 400 || (path == "/readyz" && code == 503) {
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"];
            assert_eq!(schema, &error, "{method} {path} {status}");
            refusals += 1;
        }
    }
    assert!(refusals > 30, "{refusals}");
    let rejected = &doc["components"]["schemas"]["error"]["anyOf"][0]["$ref"];
    assert_eq!(rejected, "#/components/schemas/message-rejected.v1");
}

#[test]
fn post_event_lists_every_reason_code_under_its_status() {
    let doc = document();
    let responses = &doc["paths"]["/v1/events"]["post"]["responses"];
    for reason in RejectReason::ALL {
        let status = status_of(reason).as_u16().to_string();
        let description = responses[&status]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            description.contains(&format!("`{}`", reason.as_str())),
            "{reason:?} not under {status}: {description}"
        );
    }
    for status in ["200", "202", "500"] {
        assert!(responses[status].is_object(), "{status}");
    }
    assert!(responses["503"]["headers"]["Retry-After"].is_object());
    let body = &doc["paths"]["/v1/events"]["post"]["requestBody"]["content"];
    assert_eq!(
        body["application/cloudevents+json"]["schema"]["$ref"],
        "#/components/schemas/sentEvent"
    );
    assert!(body["application/json"]["schema"]["anyOf"].is_array());
}

#[test]
fn v1_needs_a_bearer_token_and_nothing_else_does() {
    let doc = document();
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(
        (scheme["type"].as_str(), scheme["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    for (method, path, operation) in operations(&doc) {
        if path.starts_with("/v1/") {
            assert_eq!(
                operation["security"],
                json!([{"bearerAuth": []}]),
                "{method} {path}"
            );
            assert!(operation["responses"]["401"].is_object(), "{method} {path}");
        } else {
            assert_eq!(operation["security"], json!([]), "{method} {path}");
        }
    }
    let ids: Vec<String> = operations(&doc)
        .iter()
        .map(|(_, _, op)| {
            op["operationId"]
                .as_str()
                .expect("an operationId")
                .to_owned()
        })
        .collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
}

#[test]
fn webhooks_describe_the_signed_post_and_the_handshake() {
    let doc = document();
    let post = &doc["webhooks"]["event"]["post"];
    let headers: Vec<&str> = post["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["in"] == "header" && p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        headers,
        ["webhook-id", "webhook-timestamp", "webhook-signature"]
    );
    assert_eq!(
        post["requestBody"]["content"]["application/cloudevents+json"]["schema"]["$ref"],
        "#/components/schemas/cloudEvent"
    );
    assert!(post["responses"]["2XX"].is_object());
    let options = &doc["webhooks"]["event"]["options"];
    assert_eq!(options["parameters"][0]["name"], "WebHook-Request-Origin");
    assert!(options["responses"]["200"]["headers"]["WebHook-Allowed-Origin"].is_object());
}
