//! The pure tests: no RabbitMQ, no PostgreSQL, so plain `cargo test` runs them anywhere. The
//! hub runs on the in-process broker and temporary SQLite files; the CLI as a child process.
//!
//! A test that needs a service belongs in `tests/it` (built with the `services` feature).

mod answers;
mod cli;
mod contract;
mod demo_serve;
mod docs;
mod flow;
// Shared with tests/it; with the `services` feature it also holds helpers only tests/it uses.
#[allow(dead_code, unused_imports)]
#[path = "../it/helpers/mod.rs"]
mod helpers;
mod http;
mod http_events;
mod http_logs;
mod interop;
mod logs;
mod matching;
mod pii;
mod reconcile;
mod sender_text;
mod settings;
mod validate;

#[allow(unused_imports)]
pub use helpers::*;
