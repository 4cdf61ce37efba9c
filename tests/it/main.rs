//! The service tests: everything that needs RabbitMQ or PostgreSQL, one module per capability.
//!
//! Built only with the `services` feature (`scripts/test` runs `cargo nextest run
//! --all-features` after making sure both services are up); plain `cargo test` runs the pure
//! tests of `tests/core` alone. A test here never skips when a service is missing: it fails and
//! says how to start it.

mod broker;
mod browser;
mod catalogue_sync;
mod console;
mod dead_letters;
mod group_commit;
mod group_commit_amqp;
mod helpers;
mod hostile;
mod hostile_amqp;
mod http_api;
mod http_feed;
mod http_outage;
mod hub_amqp;
mod hub_faults;
mod interop_amqp;
mod kinds;
mod loadgen;
mod need_identity;
mod needs_list;
mod onboard;
mod openapi;
mod outbox_claim;
mod outbox_handoff;
mod outbox_parking;
mod outbox_pipeline;
mod outbox_retry;
mod outbox_stall;
mod outbox_train;
mod replay;
mod replay_memory;
mod retention;
mod secrets;
mod store;
mod store_faults;
mod transport;
mod webhooks;

pub use helpers::*;
