//! `POST /v1/events` over real HTTP on the in-process broker, where HTTP differs from AMQP: an
//! OpenTelemetry client's W3C `traceparent` / `tracestate` headers carry the trace context,
//! and a commit wakes the outbox relay as an AMQP delivery's does.

use std::net::SocketAddr;
use std::sync::Arc;

use futures_lite::future::poll_once;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use samverkan::clock::FixedClock;
use samverkan::event::{CloudEvent, EventType};
use samverkan::hub;
use serde_json::Value;
use time::macros::date;

use crate::{App, issue_token, need_event, serve_http, spawn_app};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const STATE: &str = "rojo=00f067aa0ba902b7";
const OWN: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// POST `event` as `token`, structured mode, with extra `headers`; the status.
async fn post(
    address: SocketAddr,
    token: &str,
    event: &CloudEvent,
    headers: &[(&str, &str)],
) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("http://{address}/v1/events"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/cloudevents+json")
        .body(event.to_json_bytes());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("answered").status().as_u16()
}

/// POST `event` in binary mode (attributes as `ce-*` headers, data as the body) with `headers`.
async fn post_binary(
    address: SocketAddr,
    token: &str,
    event: &CloudEvent,
    headers: &[(&str, &str)],
) -> u16 {
    let value = event.to_value();
    let mut request = reqwest::Client::new()
        .post(format!("http://{address}/v1/events"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(value["data"].to_string());
    let attributes = value.as_object().expect("an event is an object");
    for (name, text) in attributes.iter().filter(|(n, _)| *n != "data") {
        if let (false, Some(text)) = (name == "datacontenttype", text.as_str()) {
            request = request.header(format!("ce-{name}"), text);
        }
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("answered").status().as_u16()
}

/// (type, subject, traceparent, tracestate) of every event `org` was sent.
async fn traces(app: &App, org: &str) -> Vec<(String, Value, Value, Value)> {
    app.org_events(org)
        .await
        .into_iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or_default().to_owned();
            let parts = (e["subject"].clone(), e["traceparent"].clone());
            (kind, parts.0, parts.1, e["tracestate"].clone())
        })
        .collect()
}

fn with_trace(mut event: CloudEvent, parent: &str) -> CloudEvent {
    event
        .extensions
        .insert("traceparent".into(), Value::from(parent));
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_w3c_traceparent_header_reaches_every_event_the_request_causes() {
    let app = spawn_app().await;
    let (address, trigger) = serve_http(app.pipeline.clone()).await;
    let vgr = issue_token(&app.settings.store.url, "VGR");
    let w3c = [("traceparent", PARENT), ("tracestate", STATE)];
    let structured = need_event("NEED-2026-0101");
    assert_eq!(post(address, &vgr, &structured, &w3c).await, 202);
    assert_eq!(
        post_binary(address, &vgr, &need_event("NEED-2026-0102"), &w3c).await,
        202
    );
    // Refused for its personal data: the rejection continues the header's trace too.
    assert_eq!(
        post(address, &vgr, &need_event("NEED-2026-0109"), &w3c).await,
        422
    );
    let mut seen = traces(&app, "VGR").await;
    seen.extend(traces(&app, "chalmers").await);
    let kinds: Vec<&str> = seen.iter().map(|(k, ..)| k.as_str()).collect();
    for kind in [
        EventType::NeedStatus,
        EventType::ChallengePublished,
        EventType::MessageRejected,
    ] {
        assert!(kinds.contains(&kind.as_str()), "no {kind} in {kinds:?}");
    }
    for (kind, subject, parent, state) in &seen {
        assert_eq!(
            (parent, state),
            (&Value::from(PARENT), &Value::from(STATE)),
            "{kind} {subject}"
        );
    }
    trigger.trigger();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_own_trace_wins_and_an_invalid_header_is_ignored() {
    let app = spawn_app().await;
    let (address, trigger) = serve_http(app.pipeline.clone()).await;
    let vgr = issue_token(&app.settings.store.url, "VGR");
    let header = [("traceparent", PARENT)];
    let own = with_trace(need_event("NEED-2026-0101"), OWN);
    assert_eq!(post(address, &vgr, &own, &header).await, 202);
    let binary_own = with_trace(need_event("NEED-2026-0102"), OWN);
    assert_eq!(post_binary(address, &vgr, &binary_own, &header).await, 202);
    // An invalid own trace is dropped, so the valid header's applies.
    let invalid_own = with_trace(need_event("NEED-2026-0103"), "00-not-a-trace-01");
    assert_eq!(post(address, &vgr, &invalid_own, &header).await, 202);
    // An invalid header is ignored like an invalid ce-traceparent: accepted, no trace.
    let bad = [("traceparent", "00-not-a-trace-01"), ("tracestate", STATE)];
    assert_eq!(
        post(address, &vgr, &need_event("NEED-2026-0106"), &bad).await,
        202
    );
    let twice = [("traceparent", PARENT), ("traceparent", OWN)];
    assert_eq!(
        post(address, &vgr, &need_event("NEED-2026-0108"), &twice).await,
        202
    );
    let expected = |subject: &str| match subject {
        "NEED-2026-0101" | "NEED-2026-0102" => Value::from(OWN),
        "NEED-2026-0103" => Value::from(PARENT),
        _ => Value::Null,
    };
    let seen = traces(&app, "VGR").await;
    assert_eq!(seen.len(), 5, "one status per need: {seen:#?}");
    for (kind, subject, parent, state) in &seen {
        let subject = subject.as_str().unwrap_or_default();
        assert_eq!(parent, &expected(subject), "{kind} {subject}");
        assert_eq!(state, &Value::Null, "{kind} {subject}");
    }
    trigger.trigger();
    app.stop().await;
}

/// An HTTP commit notifies the pipeline's relay wake-up. The pipeline is a second one on the
/// app's store with no relay waiting on it, so a notification stays stored as a permit and is
/// observed without any timing: ready at once after a commit, pending when nothing committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_commit_wakes_the_outbox_relay() {
    let app = spawn_app().await;
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    let store = app.pipeline.store().clone();
    let pipeline = Arc::new(hub::build(&app.settings, store, clock).expect("pipeline"));
    let (address, trigger) = serve_http(pipeline.clone()).await;
    let vgr = issue_token(&app.settings.store.url, "VGR");
    let woken = || poll_once(pipeline.relay_wake().notified());
    assert_eq!(woken().await, None, "nothing committed yet");
    let need = need_event("NEED-2026-0101");
    assert_eq!(post(address, &vgr, &need, &[]).await, 202);
    assert_eq!(woken().await, Some(()), "accepted: rows to publish");
    assert_eq!(post(address, &vgr, &need, &[]).await, 200);
    assert_eq!(woken().await, None, "a duplicate commits nothing");
    assert_eq!(
        post(address, &vgr, &need_event("NEED-2026-0109"), &[]).await,
        422
    );
    assert_eq!(
        woken().await,
        Some(()),
        "refused: a rejection and a dead letter"
    );
    trigger.trigger();
    app.stop().await;
}
