//! What an event posted over HTTP writes to the log: a span like an AMQP delivery's (ids
//! only), the refusal with its reason code, and never the bearer token or the content.
//!
//! Current-thread runtime and a per-thread subscriber, as in `logs.rs`.

use serde_json::Value;

use crate::{capture_logs, issue_token, need_event, serve_http, spawn_app};

#[tokio::test(flavor = "current_thread")]
async fn an_http_refusal_is_logged_with_ids_and_reason_never_the_token_or_the_data() {
    let (sink, _guard) = capture_logs();

    let app = spawn_app().await;
    let token = issue_token(&app.settings.store.url, "VGR");

    let (address, trigger) = serve_http(app.pipeline.clone()).await;
    let leaky = need_event("NEED-2026-0109");
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/events"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/cloudevents+json")
        .body(leaky.to_json_bytes())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 422);
    trigger.trigger();
    app.stop().await;

    let text = sink.text();
    let lines = sink.lines();
    let refused: Vec<&Value> = lines.iter().filter(|l| l["message"] == "refused").collect();
    assert_eq!(refused.len(), 1, "{lines:#?}");
    let span = &refused[0]["span"];
    assert_eq!(span["name"], "http_event");
    assert_eq!(span["org"], "VGR");
    assert_eq!(span["event_id"], leaky.id.as_ref());
    assert_eq!(span["need_id"], "NEED-2026-0109");
    for secret in [
        &token[..],
        &token[4..],
        "19850522-9891",
        "070-174 06 42",
        "remiss",
    ] {
        assert!(!text.contains(secret), "{secret:?} reached the log: {text}");
    }
}
