//! The contract as tools fetch it: `GET /asyncapi.json`, `GET /openapi.json` and
//! `GET /schemas/{file}` through the hub's router, without a token, and `samverkan contract
//! asyncapi` / `samverkan contract openapi`.

use samverkan::http::{HttpState, serve};
use samverkan::transport::Shutdown;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{samverkan_with, spawn_app};

/// One raw HTTP/1.1 GET, the path sent exactly as written (an HTTP client would normalise
/// `..` away): status, the content type and the body.
async fn raw_get(address: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_serves_the_contract_and_only_embedded_schemas() {
    let app = spawn_app().await;
    let state = HttpState {
        pipeline: app.pipeline.clone(),
        broker: None,
        publisher: None,
        console: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("address");
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(serve(listener, state, shutdown));

    let (status, content_type, body) = raw_get(address, "/asyncapi.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let document: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(document["asyncapi"], "3.0.0");
    assert_eq!(
        document["components"]["messages"]
            .as_object()
            .map(|m| m.len()),
        Some(12)
    );

    let (status, content_type, body) = raw_get(address, "/openapi.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let document: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], "/");
    assert!(document["paths"]["/v1/events"]["post"].is_object());

    let (status, content_type, body) = raw_get(address, "/schemas/need.v1.json").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/schema+json")
    );
    let schema: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(schema["$id"], "https://schemas.samverkan.se/need.v1.json");

    for path in [
        "/schemas/../Cargo.toml",
        "/schemas/..%2FCargo.toml",
        "/schemas/nope.json",
    ] {
        let (status, content_type, body) = raw_get(address, path).await;
        assert_eq!(
            (status, content_type.as_str()),
            (404, "application/json"),
            "{path}"
        );
        let reason: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(reason["reason"], "unknown_schema", "{path}");
        assert!(!body.contains("[package]"), "{path} reached the disk");
    }
    trigger.trigger();
    app.stop().await;
}

#[test]
fn the_cli_prints_the_document_and_never_the_broker_password() {
    let output = samverkan_with(&["contract", "asyncapi"], b"", &[]);
    assert!(output.status.success(), "{output:?}");
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        document["servers"]["production"]["host"],
        "rabbitmq.example:5672"
    );

    let url = "amqp://hub:Hemligt-0451@mq.internal.example:5673/samverkan";
    let output = samverkan_with(
        &["contract", "asyncapi", "--from-config"],
        b"",
        &[("SAMVERKAN__AMQP__URL", url)],
    );
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(
        !text.contains("Hemligt") && !logs.contains("Hemligt"),
        "the password leaked"
    );
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        document["servers"]["production"]["host"],
        "mq.internal.example:5673"
    );
}

#[test]
fn the_cli_prints_the_openapi_document_with_the_configured_listener() {
    let output = samverkan_with(&["contract", "openapi"], b"", &[]);
    assert!(output.status.success(), "{output:?}");
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], "/");

    let output = samverkan_with(
        &["contract", "openapi", "--from-config"],
        b"",
        &[("SAMVERKAN__HTTP__LISTEN", "10.1.2.3:9464")],
    );
    assert!(output.status.success(), "{output:?}");
    let document: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(document["servers"][0]["url"], "http://10.1.2.3:9464");

    let output = samverkan_with(
        &["contract", "openapi", "--from-config"],
        b"",
        &[("SAMVERKAN__HTTP__LISTEN", "")],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("http.listen"));
}
