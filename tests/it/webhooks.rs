//! Webhooks end to end: hubs on the in-process broker whose organisations' feeds are POSTed to
//! receivers the tests run on 127.0.0.1 (`webhooks/receiver.rs`), on SQLite and PostgreSQL.
//! Retries are made quick through `[webhooks]` settings; every wait is a condition polled
//! against a deadline.

mod api;
mod delivery;
mod lease;
mod receiver;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use samverkan::settings::OrgId;
use tempfile::TempDir;

use crate::{App, PgDatabase, need_event, repo_path, spawn_app_from};

/// A `whsec_` secret the tests sign with (24 bytes).
pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Settings that make retries quick.
pub(crate) const QUICK: [(&str, &str); 2] = [
    ("SAMVERKAN__WEBHOOKS__RETRY_INITIAL_MS", "20"),
    ("SAMVERKAN__WEBHOOKS__POLL_INTERVAL_MS", "50"),
];

/// `config/sample.toml` with catalogue paths made absolute and, for each `(org, url)`, a
/// configured webhook signed with [`SECRET`]; written into `dir`.
pub(crate) fn config_with_webhooks(dir: &TempDir, webhooks: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(repo_path("config/sample.toml")).expect("sample");
    let data = repo_path("sample-data");
    text = text.replace("\"../sample-data/", &format!("\"{}/", data.display()));
    for (org, url) in webhooks {
        let line = format!("id = \"{org}\"\n");
        assert!(text.contains(&line), "{org} is a sample organisation");
        let with = format!("{line}webhook_url = \"{url}\"\nwebhook_secret = \"{SECRET}\"\n");
        text = text.replacen(&line, &with, 1);
    }
    let path = dir.path().join("webhooks.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The stores a test runs on, one after the other.
pub(crate) const BACKENDS: [&str; 2] = ["sqlite", "postgres"];

/// A hub on `config` with `extra` settings: on a fresh SQLite file, or on a fresh PostgreSQL
/// database (kept as long as the second value lives).
pub(crate) async fn hub(
    backend: &str,
    config: &std::path::Path,
    extra: &[(&str, &str)],
) -> (App, Option<PgDatabase>) {
    if backend == "sqlite" {
        return (spawn_app_from(config, extra).await, None);
    }
    let database = PgDatabase::create().await;
    let mut with_pg = extra.to_vec();
    with_pg.push(("SAMVERKAN__STORE__URL", &database.url));
    let app = spawn_app_from(config, &with_pg).await;
    (app, Some(database))
}

/// Polls `condition` every 20 ms until it holds; fails with `what` after `limit`.
pub(crate) async fn wait_for<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn org(id: &str) -> OrgId {
    OrgId::parse(id).expect("org id")
}

/// Submits sample needs as their regions; returns once the hub has settled.
pub(crate) async fn submit(app: &App, needs: &[&str]) {
    for need in needs {
        let event = need_event(need);
        let region = event.data["region"]
            .as_str()
            .expect("region")
            .to_lowercase();
        app.send(&region, &event).await;
    }
    app.settle().await;
}

/// Whether `org`'s delivery has reached its feed head (and the head is not 0).
pub(crate) async fn caught_up(app: &App, id: &str) -> bool {
    let store = app.pipeline.store();
    let head = store.feed_head(&org(id)).await.expect("head");
    let delivered = store
        .webhook_state(&org(id))
        .await
        .expect("state")
        .map_or(0, |s| s.delivered_seq);
    head > 0 && delivered == head
}
