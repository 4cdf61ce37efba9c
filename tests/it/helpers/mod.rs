//! The helpers every test binary shares: `tests/core` (no services) includes this module by
//! path, `tests/it` (RabbitMQ and PostgreSQL) declares it. One copy of each: spawn the hub on
//! the in-process broker ([`spawn_app`]), run the CLI ([`samverkan_with`]), read the sample
//! data; with the `services` feature also a fresh PostgreSQL database ([`PgDatabase`]) and a
//! test on both stores ([`on_both`], [`on_both_hubs`]), a fresh broker organisation
//! ([`test_org`]) and publishing to ingress as an organisation ([`publish_as`]).
//!
//! Tests read the in-repo copies of `sample-data/` and `schemas/` by absolute path, and the
//! configuration's own paths resolve against its file, so nothing here depends on the working
//! directory (which a parallel test binary must never change).

mod app;
mod cli;
mod demo;
mod http;
mod logs;
#[cfg(feature = "services")]
mod rabbit;
#[cfg(feature = "services")]
mod stores;

use std::path::{Path, PathBuf};

pub use samverkan::catalogue::strip_annotations;
use serde_json::Value;

pub use app::{App, need_event, spawn_app, spawn_app_from, spawn_app_with};
pub use cli::{issue_token, samverkan_with};
pub use demo::DemoServer;
pub use http::serve_http;
pub use logs::{Captured, capture_logs};
#[cfg(feature = "services")]
pub use rabbit::{
    AsUser, CLOSED_BY_BROKER, START_BROKER, broker_address, management_url, publish_as,
    rabbitmqctl, refused_publish, test_org, topology_for, vhost_url,
};
#[cfg(feature = "services")]
pub use stores::{DEFAULT_PG_URL, PgDatabase, START_PG, on_both, on_both_hubs, on_both_hubs_with};

/// A path inside the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Parse a JSON file of the repository.
pub fn read_json(relative: &str) -> Value {
    let path = repo_path(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The sample needs, annotations kept (tests read `_test`).
pub fn sample_needs() -> Vec<Value> {
    match read_json("sample-data/needs.json").get("needs") {
        Some(Value::Array(needs)) => needs.clone(),
        _ => panic!("sample-data/needs.json has no `needs` array"),
    }
}

/// The store key of `region`'s need `need_id` (need ids are unique within a region).
pub fn need_key(region: &str, need_id: &str) -> samverkan::need::NeedKey {
    samverkan::need::NeedKey::new(
        samverkan::settings::OrgId::parse(region).expect("org id"),
        samverkan::need::NeedId::parse(need_id).expect("need id"),
    )
}

/// The broker URL: `SAMVERKAN__AMQP__URL`, else the local default.
pub fn amqp_url() -> String {
    std::env::var("SAMVERKAN__AMQP__URL")
        .unwrap_or_else(|_| samverkan::transport::amqp::DEFAULT_AMQP_URL.to_owned())
}

/// `error` and its sources, one per line (the test output is all an operator sees).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(&format!("\n  caused by: {e}"));
        source = e.source();
    }
    text
}
