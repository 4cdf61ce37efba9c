//! The operators' HTTP surface over real HTTP: liveness, readiness, metrics.

use std::net::SocketAddr;

use samverkan::http::{HttpState, serve};
use samverkan::transport::Shutdown;
use samverkan::transport::amqp::LinkStatus;
use serde_json::Value;

use crate::{App, need_event, spawn_app};

/// Serve `state` on a free local port until the returned trigger fires.
async fn listen(state: HttpState) -> (SocketAddr, samverkan::transport::ShutdownTrigger) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("address");
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(serve(listener, state, shutdown));
    (address, trigger)
}

async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{address}{path}"))
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A hub on the in-process broker that took one routed need (twice) and one with personal data.
async fn busy_app() -> App {
    let app = spawn_app().await;
    let routed = need_event("NEED-2026-0101");
    app.send("vgr", &routed).await;
    app.send("vgr", &need_event("NEED-2026-0109")).await;
    // The same event again (a redelivery or a re-send): acked, nothing changes.
    app.settle().await;
    app.send("vgr", &routed).await;
    app.settle().await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_deliveries_by_outcome_and_reason_without_values() {
    let app = busy_app().await;
    let state = HttpState {
        pipeline: app.pipeline.clone(),
        broker: Some(LinkStatus::new(true)),
        publisher: Some(LinkStatus::new(true)),
        console: None,
    };
    let (address, trigger) = listen(state).await;
    let (status, text) = get(address, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "samverkan_deliveries_total{outcome=\"accepted\",reason=\"\"} 1\n",
        "samverkan_deliveries_total{outcome=\"duplicate\",reason=\"\"} 1\n",
        "samverkan_deliveries_total{outcome=\"refused\",reason=\"personal_data\"} 1\n",
        "samverkan_outbox_pending 0\n",
        "samverkan_broker_connected 1\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    for value in ["9891", "850522", "NEED-2026"] {
        assert!(!text.contains(value), "{value} in metrics:\n{text}");
    }
    trigger.trigger();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_with_a_store_and_a_broker_link_alive_regardless() {
    let app = spawn_app().await;
    let up = HttpState {
        pipeline: app.pipeline.clone(),
        broker: Some(LinkStatus::new(true)),
        publisher: Some(LinkStatus::new(true)),
        console: None,
    };
    let (address, up_trigger) = listen(up).await;
    assert_eq!(get(address, "/healthz").await, (200, "ok\n".to_owned()));
    let (status, body) = get(address, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["ready"], true);
    assert_eq!(body["broker"], "connected");

    let down = HttpState {
        pipeline: app.pipeline.clone(),
        broker: Some(LinkStatus::new(false)),
        publisher: Some(LinkStatus::new(true)),
        console: None,
    };
    let (address, down_trigger) = listen(down).await;
    assert_eq!(
        get(address, "/healthz").await.0,
        200,
        "alive while reconnecting"
    );
    let (status, body) = get(address, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        (body["store"].as_str(), body["broker"].as_str()),
        (Some("ok"), Some("reconnecting"))
    );

    app.pipeline.store().close().await;
    let (status, body) = get(address, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"store\":\"unavailable\""), "{body}");
    assert_eq!(get(address, "/nope").await.0, 404);
    up_trigger.trigger();
    down_trigger.trigger();
}
