//! What an event posted over HTTP writes to the log: a span like an AMQP delivery's (ids
//! only), the refusal with its reason code, and never the bearer token or the content.
//!
//! Current-thread runtime and a per-thread subscriber, as in `logs.rs`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use samverkan::http::{HttpState, serve};
use samverkan::transport::Shutdown;
use serde_json::Value;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::{need_event, repo_path, samverkan_with, spawn_app};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn an_http_refusal_is_logged_with_ids_and_reason_never_the_token_or_the_data() {
    let sink = Captured::default();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .without_time()
            .with_writer(sink.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = spawn_app().await;
    let config = repo_path("config/sample.toml");
    let args = [
        "--config",
        config.to_str().expect("path"),
        "tokens",
        "issue",
        "VGR",
    ];
    let output = samverkan_with(
        &args,
        b"",
        &[("SAMVERKAN__STORE__URL", &app.settings.store.url)],
    );
    assert!(output.status.success(), "{output:?}");
    let token = String::from_utf8(output.stdout)
        .expect("UTF-8")
        .trim()
        .to_owned();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let address = listener.local_addr().expect("address");
    let (trigger, shutdown) = Shutdown::new();
    let state = HttpState {
        pipeline: app.pipeline.clone(),
        broker: None,
        publisher: None,
    };
    tokio::spawn(serve(listener, state, shutdown));
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

    let bytes = sink.0.lock().expect("log buffer").clone();
    let text = String::from_utf8(bytes).expect("UTF-8 log");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
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
