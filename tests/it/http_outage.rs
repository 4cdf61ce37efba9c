//! `POST /v1/events` while the store cannot write: 503 with `Retry-After`, the hub pauses as it
//! does for an AMQP delivery, nothing is processed while it is paused, and the same event sent
//! again once the store is back is accepted (nothing was recorded before).

use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;

use crate::hub_faults::{PgDatabase, sql_pool};
use crate::store_faults::set_read_only;
use crate::{issue_token, need_event, serve_http, spawn_app_with};

/// Wait for `condition`, failing with `what` after 60 s.
async fn until(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition().await {
        assert!(Instant::now() < deadline, "{what} within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_store_answers_503_with_retry_after_and_pauses_the_hub() {
    let database = PgDatabase::create().await;
    let app = spawn_app_with(&[("SAMVERKAN__STORE__URL", &database.url)]).await;
    let token = issue_token(&database.url, "VGR");
    let (address, trigger) = serve_http(app.pipeline.clone()).await;
    let need = need_event("NEED-2026-0102");
    let client = reqwest::Client::new();
    let post = async || {
        let response = client
            .post(format!("http://{address}/v1/events"))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(CONTENT_TYPE, "application/cloudevents+json")
            .body(need.to_json_bytes())
            .send()
            .await
            .expect("answered");
        let status = response.status().as_u16();
        let retry = response.headers().get(RETRY_AFTER).is_some();
        let body: Value = response.json().await.expect("JSON");
        (status, retry, body)
    };

    let admin = sql_pool(&database.admin_url).await;
    set_read_only(&admin, &database.name, true).await;
    until("the hub pauses", async || {
        let (status, retry, body) = post().await;
        assert_eq!(
            (status, retry, body["reason"].as_str()),
            (503, true, Some("unavailable"))
        );
        app.pipeline.pause().is_paused()
    })
    .await;
    let (status, retry, _) = post().await;
    assert_eq!(
        (status, retry),
        (503, true),
        "nothing is processed while paused"
    );

    set_read_only(&admin, &database.name, false).await;
    until("the hub resumes", async || {
        !app.pipeline.pause().is_paused()
    })
    .await;
    let (status, _, body) = post().await;
    assert_eq!(status, 202, "{body}");
    let published = app.org_events("VGR").await;
    assert!(
        published.iter().any(|e| e["data"]["state"] == "published"),
        "{published:?}"
    );
    trigger.trigger();
    app.stop().await;
}
