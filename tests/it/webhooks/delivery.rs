//! Delivery: the handshake first, then every feed event in order, signed, retried until a 2xx,
//! parked past the horizon or on a final refusal, and one organisation's hanging receiver
//! never holds up another's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::Method;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::watch;

use super::receiver::{Answer, Receiver, verifies};
use super::{BACKENDS, QUICK, SECRET, caught_up, config_with_webhooks, hub, org, submit, wait_for};
use crate::samverkan_with;

const LIMIT: Duration = Duration::from_secs(30);

fn unix_now() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(now.as_secs()).expect("seconds")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_twice_gets_each_event_once_in_order_signed_after_the_handshake() {
    for backend in BACKENDS {
        let receiver = Receiver::start(Answer::FailFirst {
            times: 2,
            status: 503,
        })
        .await;
        let dir = TempDir::new().expect("temp dir");
        // The query string is the receiver's business: never shown by the hub.
        let with_query = format!("{}?token=s3cret", receiver.url);
        let config = config_with_webhooks(&dir, &[("VGR", &with_query)]);
        let (app, _db) = hub(backend, &config, &QUICK).await;
        let started = unix_now();
        super::submit(&app, &["NEED-2026-0101", "NEED-2026-0102"]).await;
        wait_for("VGR's feed is delivered", LIMIT, || caught_up(&app, "VGR")).await;

        let feed = app
            .pipeline
            .store()
            .feed_after(&org("VGR"), 0, 100)
            .await
            .expect("feed");
        assert!(feed.len() >= 2, "{backend}: {} events", feed.len());
        let hits = receiver.hits();
        assert_eq!(
            hits[0].method,
            Method::OPTIONS,
            "{backend}: handshake first"
        );
        assert_eq!(hits[0].header("webhook-request-origin"), "samverkan");
        let handshakes = hits.iter().filter(|h| h.method == Method::OPTIONS).count();
        assert_eq!(handshakes, 1, "{backend}");
        let ids: Vec<String> = feed
            .iter()
            .map(|e| e.event_id.as_ref().to_owned())
            .collect();
        assert_eq!(
            receiver.delivered_ids(),
            ids,
            "{backend}: each once, in feed order"
        );
        for event in &feed {
            let attempts: Vec<_> = receiver
                .posts()
                .into_iter()
                .filter(|h| h.id() == event.event_id.as_ref())
                .collect();
            let statuses: Vec<u16> = attempts.iter().map(|h| h.status).collect();
            assert_eq!(statuses, [503, 503, 200], "{backend}: {}", event.event_id);
            for hit in &attempts {
                assert!(verifies(SECRET, hit), "{backend}: the signature verifies");
                assert_eq!(hit.body, event.body, "{backend}: the stored CloudEvent");
                assert_eq!(hit.header("content-type"), "application/cloudevents+json");
                // The real clock, although the hub's business date is pinned.
                let at: i64 = hit
                    .header("webhook-timestamp")
                    .parse()
                    .expect("unix seconds");
                assert!(
                    (started - 5..=unix_now() + 5).contains(&at),
                    "{backend}: {at}"
                );
            }
        }
        let output = webhooks_cli(
            &config,
            &app.settings.store.url,
            &["list", "--format", "json"],
        );
        assert!(output.status.success(), "{backend}: {output:?}");
        let listed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let expected = serde_json::json!([{
            "org": "VGR", "url": receiver.url, "origin": "config", "validated": true,
            "delivered": feed.len(), "backlog": 0, "parked": 0,
        }]);
        assert_eq!(listed, expected, "{backend}");
        app.stop().await;
    }
}

/// `samverkan … webhooks ARGS` on the app's store.
fn webhooks_cli(config: &std::path::Path, store: &str, args: &[&str]) -> std::process::Output {
    let config = config.to_str().expect("UTF-8 path");
    let mut all = vec!["--config", config, "webhooks"];
    all.extend_from_slice(args);
    samverkan_with(&all, b"", &[("SAMVERKAN__STORE__URL", store)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_past_the_horizon_and_final_refusals_park_and_redeliver_puts_them_back() {
    for backend in BACKENDS {
        let failing = Receiver::start(Answer::Always(500)).await;
        let refusing = Receiver::start(Answer::Always(400)).await;
        let dir = TempDir::new().expect("temp dir");
        let config = config_with_webhooks(&dir, &[("VGR", &failing.url), ("RV", &refusing.url)]);
        let mut settings = QUICK.to_vec();
        settings.push(("SAMVERKAN__WEBHOOKS__RETRY_HORIZON_SECS", "1"));
        let (app, _db) = hub(backend, &config, &settings).await;
        submit(&app, &["NEED-2026-0101", "NEED-2026-0104"]).await;
        wait_for("both feeds are parked", LIMIT, || async {
            caught_up(&app, "VGR").await && caught_up(&app, "RV").await
        })
        .await;
        let store = app.pipeline.store();
        let rv_head = store.feed_head(&org("RV")).await.expect("head");
        let vgr_head = store.feed_head(&org("VGR")).await.expect("head");
        // A 400 parks at once: one attempt per event; a 500 is retried until the horizon.
        let rv_posts = refusing.posts();
        assert_eq!(
            rv_posts.len(),
            usize::try_from(rv_head).expect("n"),
            "{backend}"
        );
        assert!(
            failing.posts().len() > usize::try_from(vgr_head).expect("n"),
            "{backend}"
        );
        assert!(failing.delivered_ids().is_empty() && refusing.delivered_ids().is_empty());

        let url = &app.settings.store.url;
        let output = webhooks_cli(&config, url, &["parked", "--format", "json"]);
        assert!(output.status.success(), "{backend}: {output:?}");
        let parked: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        let parked = parked.as_array().expect("a list").clone();
        assert_eq!(
            parked.len(),
            usize::try_from(rv_head + vgr_head).expect("n"),
            "{backend}"
        );
        for entry in &parked {
            let (org, status) = (&entry["org"], &entry["lastError"]);
            assert!(
                (org == "RV" && status == "400" && entry["attempts"] == 1)
                    || (org == "VGR" && status == "500" && entry["attempts"].as_i64() > Some(1)),
                "{backend}: {entry}"
            );
        }
        let only_rv = webhooks_cli(&config, url, &["parked", "--org", "RV", "--format", "json"]);
        let only_rv: Value = serde_json::from_slice(&only_rv.stdout).expect("JSON");
        assert_eq!(
            only_rv.as_array().map(Vec::len),
            Some(rv_posts.len()),
            "{backend}"
        );

        let (address, trigger) = crate::serve_http(app.pipeline.clone()).await;
        let metrics = reqwest::get(format!("http://{address}/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let total = rv_head + vgr_head;
        assert!(
            metrics.contains(&format!("samverkan_webhook_parked {total}\n")),
            "{metrics}"
        );
        assert!(
            metrics.contains(&format!(
                "samverkan_webhook_deliveries_total{{outcome=\"parked\"}} {total}\n"
            )),
            "{metrics}"
        );
        trigger.trigger();

        // Put VGR's first parked event back; the receiver has recovered.
        failing.answer(Answer::Always(200));
        let first = parked
            .iter()
            .find(|e| e["org"] == "VGR")
            .expect("VGR parked");
        let seq = first["seq"].to_string();
        let output = webhooks_cli(&config, url, &["redeliver", "VGR", &seq]);
        assert!(output.status.success(), "{backend}: {output:?}");
        let id = first["eventId"].as_str().expect("id").to_owned();
        wait_for("the requeued event is delivered", LIMIT, || {
            let delivered = failing.delivered_ids().contains(&id);
            async move { delivered }
        })
        .await;
        wait_for("it is no longer parked", LIMIT, || async {
            store
                .webhook_parked_count(Some(&org("VGR")))
                .await
                .expect("count")
                == vgr_head - 1
        })
        .await;
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_delay_another_organisation() {
    let (release, hang) = watch::channel(false);
    let slow = Receiver::start(Answer::HangUntil(hang)).await;
    let fast = Receiver::start(Answer::Always(200)).await;
    let dir = TempDir::new().expect("temp dir");
    let config = config_with_webhooks(&dir, &[("VGR", &slow.url), ("RV", &fast.url)]);
    let mut settings = QUICK.to_vec();
    // Far longer than the test: VGR's request hangs until the test lets it go.
    settings.extend([
        ("SAMVERKAN__WEBHOOKS__TIMEOUT_SECS", "120"),
        ("SAMVERKAN__WEBHOOKS__LEASE_SECS", "300"),
    ]);
    let (app, _db) = hub("sqlite", &config, &settings).await;
    submit(
        &app,
        &["NEED-2026-0101", "NEED-2026-0104", "NEED-2026-0105"],
    )
    .await;
    wait_for("VGR's first event is hanging", LIMIT, || {
        let hanging = slow.posts().len() == 1;
        async move { hanging }
    })
    .await;
    wait_for("RV's feed is delivered meanwhile", LIMIT, || {
        caught_up(&app, "RV")
    })
    .await;
    assert_eq!(
        slow.posts().len(),
        1,
        "VGR's request is still the first one"
    );
    assert!(!caught_up(&app, "VGR").await);
    assert!(!fast.delivered_ids().is_empty());

    release.send_replace(true);
    wait_for("VGR's feed is delivered after the release", LIMIT, || {
        caught_up(&app, "VGR")
    })
    .await;
    app.stop().await;
}
