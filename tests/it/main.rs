//! One integration-test binary: shared helpers live here, one module per capability.
//!
//! Tests read the in-repo copies of `sample-data/` and `schemas/`, so they pass in a clean clone
//! from any working directory.

mod answers;
mod broker;
mod catalogue_sync;
mod cli;
mod dead_letters;
mod docs;
mod flow;
mod hostile;
mod hostile_amqp;
mod http;
mod hub_amqp;
mod hub_faults;
mod kinds;
mod loadgen;
mod matching;
mod need_identity;
mod onboard;
mod outbox_claim;
mod outbox_parking;
mod outbox_retry;
mod outbox_stall;
mod pii;
mod reconcile;
mod retention;
mod secrets;
mod sender_text;
mod settings;
mod store;
mod store_faults;
mod transport;
mod validate;

use std::path::{Path, PathBuf};

use serde_json::Value;

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

/// Remove the sample data's test annotations (`_test`, `_meta`, any `_`-prefixed key) at every
/// depth: they describe the case, they are not part of the contract.
pub fn strip_annotations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with('_'));
            map.values_mut().for_each(strip_annotations);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_annotations),
        _ => {}
    }
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
