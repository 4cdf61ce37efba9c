//! Samverkan: a message-driven integration hub for healthcare innovation in Sweden.
//!
//! Regions publish improvement needs; universities receive them as challenges for their
//! courses and companies as innovation calls; their answers come back and are reconciled into
//! one status per need. Everything travels as JSON-Schema-validated CloudEvents over AMQP
//! (RabbitMQ), and personal data never leaves the region.
//!
//! # Layout
//!
//! A pure core over plain data, with I/O at the rim. No module of the core imports
//! [`store`], [`transport`], [`http`] or [`cli`]; [`pipeline`] is where the core meets the store.
//!
//! | module        | does                                                                  | I/O |
//! |---------------|-----------------------------------------------------------------------|-----|
//! | [`event`]     | CloudEvents envelope: bytes/headers → [`event::CloudEvent`] (`decode.rs`, `attributes.rs`), ids, types, reason codes | – |
//! | [`schema`]    | embedded JSON Schemas, compiled once; `data` checked per event type   | – |
//! | [`pii`]       | finds personnummer, phone numbers, e-mail in free text; reject/redact | – |
//! | `redact`      | URLs shown without passwords or secret parameters, in every error and log | – |
//! | [`rejection`] | a refusal → `message.rejected` event: reason code, pointers, no values | – |
//! | [`catalogue`] | courses and partners (`entries.rs`), indexed by topic; loads the catalogue files | file |
//! | [`matching`]  | a need against the catalogue: gates, filters, scores, reasons         | – |
//! | [`routing`]   | a need + its matches → challenge, call and status data                | – |
//! | [`need`]      | the need: [`need::NeedId`] and [`need::NeedKey`], [`need::NeedState`] and its diagram, recipients, answers, [`need::Decision`] | – |
//! | [`reconcile`] | the need state machine after routing: answers, withdrawal, closing     | – |
//! | `urls`        | a broker or database URL with other credentials, vhost or database (the `url` crate) | – |
//! | `dates`       | internal: contract dates and study periods, below catalogue, matching and reconcile | – |
//! | `text`        | internal: sender text escaped and bounded for echoing; `text::terms`, the tokenizer of catalogue and matching | – |
//! | `metrics`     | delivery counters by outcome and reason code, Prometheus text         | – |
//! | [`clock`]     | time as a dependency (tests and the demo pin it)                      | – |
//! | `pause`       | the switch that stops taking deliveries while the store is down       | – |
//! | [`pipeline`]  | one delivery: admit → dedupe → guard → route/reconcile → outbox, one transaction; refusals in `refuse.rs` | store |
//! | [`store`]     | SQLite or PostgreSQL: needs ([`store::StoredNeed`]), recipients, answers, inbox, outbox, audit | SQL |
//! | [`transport`] | RabbitMQ (reconnecting consumer, confirmed publisher), the in-process broker, [`transport::Topology`], addressing ([`transport::Outbound`]) | AMQP |
//! | [`onboard`]   | broker users and least-privilege permissions per organisation          | HTTP |
//! | [`hub`]       | [`hub::App`] (the one assembly), `startup` for `run`, worker loop (outcome → ack), outbox relay, close timer, catalogue poller | all |
//! | [`loadgen`]   | `bench`: the hub vs. a pass-through on RabbitMQ, same run; ratio, p50/p99, peak RSS | all |
//! | [`http`]      | `/healthz`, `/readyz`, `/metrics` for operators, the partners' API under `/v1`, the contract routes (axum) | HTTP |
//! | [`console`]   | the web console under `/console`: needs, a need's recipients and history, health; login, sessions, CSRF, sv/en | HTTP |
//! | [`contract`]  | the AsyncAPI 3.0 and OpenAPI 3.1 documents, generated from the event types, schemas, topology and HTTP API | – |
//! | `webhook`     | each organisation's feed POSTed to its URL, signed (Standard Webhooks), after a handshake; retries, parking, one task per organisation | HTTP |
//! | [`settings`]  | layered configuration: defaults → file → `SAMVERKAN__…` environment  | file |
//! | `telemetry`   | `tracing` subscriber: env filter, text or JSON to stderr              | stderr |
//! | `demo`        | the whole story in one process on the in-process broker and a temporary SQLite file; `--serve` then serves the console on it (`serve.rs`) | SQL, HTTP |
//! | [`cli`]       | the `samverkan` command line, one file per subcommand                 | stdio |
//!
//! # How an event flows
//!
//! ```text
//! transport::Consume (amqp/consume.rs, or the in-process broker) ─► hub/worker.rs
//!   ─► pipeline/mod.rs Pipeline::handle
//!   ─► pipeline/admit.rs: event/decode.rs → pipeline/auth.rs authenticate (AMQP user_id)
//!        → authorize → schema check
//!   ─► store tx: inbox (source, id) — seen before? ack, done
//!   ─► need.submitted              pipeline/need.rs: pii guard → matching::match_need → routing
//!      offer/proposal/need.withdrawn  pipeline/answer.rs: pii guard → need row locked
//!                                     → reconcile (on need::Need) → record state
//!      course/partner              pipeline/reference.rs: catalogue
//!   ─► pipeline/outbox.rs: outbox rows + audit, commit (hub/writer.rs merges the admitted
//!        deliveries of all workers into one transaction: hub/batch.rs) ─► ack
//!   refusal: pipeline/refuse.rs → transport/dead_letter.rs dead letter + message.rejected
//!            as outbox rows, own tx, commit, ack
//!   hub/outbox_relay/: outbox ─► transport::Publish (amqp/publisher.rs: confirms, mandatory,
//!            persistent) ─► fate.rs verdict ─► mark sent
//! ```
//!
//! `docs/architecture.md` draws the whole flow.

pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod console;
pub mod contract;
mod dates;
pub(crate) mod demo;
pub mod event;
pub mod http;
pub mod hub;
pub mod loadgen;
pub mod matching;
pub(crate) mod metrics;
pub mod need;
pub mod onboard;
pub(crate) mod pause;
pub mod pii;
pub mod pipeline;
pub mod reconcile;
pub(crate) mod redact;
pub mod rejection;
pub mod routing;
pub mod schema;
pub mod settings;
pub mod store;
pub(crate) mod telemetry;
mod text;
pub(crate) mod token;
pub mod transport;
pub(crate) mod urls;
pub(crate) mod webhook;
