//! What the official CloudEvents SDKs send, on the in-process broker: trace context carried
//! from an event to everything it causes (and dropped when malformed), and a binary-mode event
//! that cannot be read still named by id in its `message.rejected`.

use std::collections::BTreeMap;

use samverkan::event::{CloudEvent, EventType};
use samverkan::transport::{INGRESS_EXCHANGE, Outbound, Publish};
use serde_json::Value;

use crate::{App, need_event, spawn_app};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const STATE: &str = "rojo=00f067aa0ba902b7";

fn traced(mut event: CloudEvent, parent: &str, state: &str) -> CloudEvent {
    event
        .extensions
        .insert("traceparent".into(), Value::from(parent));
    event
        .extensions
        .insert("tracestate".into(), Value::from(state));
    event
}

/// Every event for `org`, with the trace context each carries.
async fn traces(app: &App, org: &str) -> Vec<(String, Value, Value)> {
    app.org_events(org)
        .await
        .into_iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or_default().to_owned();
            (kind, e["traceparent"].clone(), e["tracestate"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_needs_trace_reaches_its_challenges_calls_and_status() {
    let app = spawn_app().await;
    app.send("vgr", &traced(need_event("NEED-2026-0101"), PARENT, STATE))
        .await;
    let mut seen = traces(&app, "VGR").await;
    seen.extend(traces(&app, "chalmers").await);
    let kinds: Vec<&str> = seen.iter().map(|(k, _, _)| k.as_str()).collect();
    assert!(kinds.contains(&EventType::NeedStatus.as_str()), "{kinds:?}");
    assert!(
        kinds.contains(&EventType::ChallengePublished.as_str()),
        "{kinds:?}"
    );
    for (kind, parent, state) in &seen {
        assert_eq!(
            (parent, state),
            (&Value::from(PARENT), &Value::from(STATE)),
            "{kind}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_trace_is_dropped_not_echoed() {
    let app = spawn_app().await;
    let bad = traced(need_event("NEED-2026-0101"), "00-not-a-trace-01", "Evil=x");
    app.send("vgr", &bad).await;
    let rejected = traced(need_event("NEED-2026-0109"), PARENT, "Not A State");
    app.send("vgr", &rejected).await;
    let seen = traces(&app, "VGR").await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (kind, parent, state) in seen {
        if kind == EventType::MessageRejected.as_str() {
            assert_eq!(parent, PARENT, "a rejection continues the trace");
        } else {
            assert_eq!(parent, Value::Null, "{kind}");
        }
        assert_eq!(state, Value::Null, "{kind}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_mode_refusal_names_the_event_id_from_its_headers() {
    let app = spawn_app().await;
    let headers: BTreeMap<String, String> = [
        ("ce-specversion", "1.0"),
        ("ce-id", "binary-refused-1"),
        ("ce-source", "urn:samverkan:org:VGR"),
        ("ce-type", EventType::NeedSubmitted.as_str()),
        ("ce-traceparent", PARENT),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // The body is `data`, and it does not parse; its own `id` must not be taken for the event's.
    let out = Outbound {
        exchange: INGRESS_EXCHANGE.to_owned(),
        routing_key: EventType::NeedSubmitted.as_str().to_owned(),
        body: br#"{"id": "not-the-event", "#.to_vec(),
        content_type: Some("application/json".to_owned()),
        message_id: None,
        correlation_id: None,
        kind: None,
        headers,
    };
    let results = app.broker.publisher_as("vgr").publish_all(&[out]).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let to_vgr = app.org_events("VGR").await;
    assert_eq!(to_vgr.len(), 1, "{to_vgr:#?}");
    let rejected = &to_vgr[0];
    assert_eq!(rejected["type"], EventType::MessageRejected.as_str());
    assert_eq!(rejected["data"]["reason"], "malformed_json");
    assert_eq!(rejected["data"]["rejectedEventId"], "binary-refused-1");
    assert_eq!(
        rejected["data"]["rejectedEventType"],
        EventType::NeedSubmitted.as_str()
    );
    assert_eq!(rejected["traceparent"], PARENT);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_too_a_binary_refusal_names_the_event_and_continues_its_trace() {
    let app = spawn_app().await;
    let config = crate::repo_path("config/sample.toml");
    let args = [
        "--config",
        config.to_str().expect("path"),
        "tokens",
        "issue",
        "VGR",
    ];
    let store = [("SAMVERKAN__STORE__URL", app.settings.store.url.as_str())];
    let output = crate::samverkan_with(&args, b"", &store);
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout).expect("UTF-8");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let address = listener.local_addr().expect("address");
    let (trigger, shutdown) = samverkan::transport::Shutdown::new();
    let state = samverkan::http::HttpState {
        pipeline: app.pipeline.clone(),
        broker: None,
        publisher: None,
        console: None,
    };
    tokio::spawn(samverkan::http::serve(listener, state, shutdown));
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/events"))
        .header("authorization", format!("Bearer {}", token.trim()))
        .header("content-type", "application/json")
        .header("ce-specversion", "1.0")
        .header("ce-id", "http-binary-refused-1")
        .header("ce-source", "urn:samverkan:org:VGR")
        .header("ce-type", EventType::NeedSubmitted.as_str())
        .header("ce-traceparent", PARENT)
        .body(r#"{"id": "not-the-event", "#)
        .send()
        .await
        .expect("answered");
    assert!(response.status().is_client_error(), "{response:?}");
    let to_vgr = app.org_events("VGR").await;
    assert_eq!(to_vgr.len(), 1, "{to_vgr:#?}");
    assert_eq!(
        to_vgr[0]["data"]["rejectedEventId"],
        "http-binary-refused-1"
    );
    assert_eq!(to_vgr[0]["traceparent"], PARENT);
    trigger.trigger();
    app.stop().await;
}
