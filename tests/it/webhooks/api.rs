//! `GET`, `PUT` and `DELETE /v1/webhook` over real HTTP with organisations' own tokens: the URL
//! guard, generated secrets, a registered webhook delivered and signed with the returned
//! secret, the operator's configured webhook untouchable, and nobody seeing another's.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::AUTHORIZATION;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::receiver::{Answer, Receiver, verifies};
use super::{BACKENDS, QUICK, caught_up, config_with_webhooks, hub, submit, wait_for};
use crate::issue_token;

struct Api {
    address: SocketAddr,
    client: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("http://{}/v1/webhook", self.address))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("answered");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: {e}: {text}"))
        };
        (status, body)
    }

    async fn get(&self, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, token, None).await
    }

    async fn put(&self, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, token, Some(body)).await
    }

    async fn delete(&self, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, token, None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_urls_are_refused_unless_allowed() {
    let dir = TempDir::new().expect("temp dir");
    let config = config_with_webhooks(&dir, &[]);
    let (app, _db) = hub("sqlite", &config, &QUICK).await;
    let (address, trigger) = crate::serve_http(app.pipeline.clone()).await;
    let api = Api {
        address,
        client: reqwest::Client::new(),
    };
    let token = issue_token(&app.settings.store.url, "partner-001");
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]/hook",
        "http://[::ffff:192.168.1.1]/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/admin",
        "https://user:pw@hooks.example/in",
        "ftp://hooks.example/in",
        "not a url",
    ] {
        let (status, body) = api.put(&token, json!({"url": url})).await;
        assert_eq!(
            (status, &body["reason"]),
            (422, &json!("webhook_url")),
            "{url}: {body}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
    let (status, body) = api.put(&token, json!({"address": "x"})).await;
    assert_eq!(
        (status, &body["reason"]),
        (400, &json!("bad_request")),
        "{body}"
    );
    let (status, body) = api.get(&token).await;
    assert_eq!(
        (status, &body["reason"]),
        (404, &json!("no_webhook")),
        "{body}"
    );
    let (status, _) = api.get("svk_not-a-token").await;
    assert_eq!(status, 401);
    trigger.trigger();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_registers_reads_and_removes_its_own_webhook() {
    for backend in BACKENDS {
        let receiver = Receiver::start(Answer::Always(204)).await;
        let operators = Receiver::start(Answer::Always(200)).await;
        let dir = TempDir::new().expect("temp dir");
        let config = config_with_webhooks(&dir, &[("VGR", &operators.url)]);
        let mut settings = QUICK.to_vec();
        settings.push(("SAMVERKAN__WEBHOOKS__ALLOW_PRIVATE_URLS", "true"));
        let (app, _db) = hub(backend, &config, &settings).await;
        let (address, trigger) = crate::serve_http(app.pipeline.clone()).await;
        let api = Api {
            address,
            client: reqwest::Client::new(),
        };
        let store_url = app.settings.store.url.clone();
        let (rv, vgr, chalmers) = (
            issue_token(&store_url, "RV"),
            issue_token(&store_url, "VGR"),
            issue_token(&store_url, "chalmers"),
        );

        let short = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([1u8; 16])
        );
        let (status, body) = api
            .put(&rv, json!({"url": receiver.url, "secret": short}))
            .await;
        assert_eq!(
            (status, &body["reason"]),
            (422, &json!("webhook_secret")),
            "{backend}"
        );
        let (status, body) = api.put(&rv, json!({"url": receiver.url})).await;
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(body["url"], json!(receiver.url), "{backend}");
        let secret = body["secret"].as_str().expect("a secret").to_owned();
        let key = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").expect("whsec_"))
            .expect("base64");
        assert_eq!(key.len(), 32, "{backend}");

        // The dispatcher picks the registration up: handshake, then RV's events, signed.
        wait_for(
            "the registered URL passes the handshake",
            Duration::from_secs(30),
            || async { api.get(&rv).await.1["validated"] == json!(true) },
        )
        .await;
        let (status, shown) = api.get(&rv).await;
        assert_eq!(status, 200, "{backend}");
        assert_eq!(
            shown,
            json!({"url": receiver.url, "origin": "api", "validated": true, "parked": 0}),
            "{backend}"
        );
        submit(&app, &["NEED-2026-0104"]).await;
        wait_for("RV's feed is delivered", Duration::from_secs(30), || {
            caught_up(&app, "RV")
        })
        .await;
        let posts = receiver.posts();
        assert!(
            !posts.is_empty() && posts.iter().all(|p| verifies(&secret, p)),
            "{backend}"
        );

        // Nobody else sees it; the operator's webhook is shown, not changed.
        let (status, body) = api.get(&chalmers).await;
        assert_eq!(
            (status, &body["reason"]),
            (404, &json!("no_webhook")),
            "{backend}"
        );
        let (status, body) = api.get(&vgr).await;
        assert_eq!(
            (status, &body["origin"]),
            (200, &json!("config")),
            "{backend}: {body}"
        );
        for (status, body) in [
            api.put(&vgr, json!({"url": receiver.url})).await,
            api.delete(&vgr).await,
        ] {
            assert_eq!(
                (status, &body["reason"]),
                (409, &json!("webhook_configured")),
                "{backend}"
            );
        }

        assert_eq!(api.delete(&rv).await.0, 204, "{backend}");
        let (status, body) = api.delete(&rv).await;
        assert_eq!(
            (status, &body["reason"]),
            (404, &json!("no_webhook")),
            "{backend}"
        );
        assert_eq!(api.get(&rv).await.0, 404, "{backend}");
        trigger.trigger();
        app.stop().await;
    }
}
