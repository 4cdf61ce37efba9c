//! Samverkan: a message-driven integration hub for healthcare innovation in Sweden.
//!
//! Regions publish improvement needs; universities receive them as challenges for their
//! courses and companies as innovation calls; their answers come back and are reconciled into
//! one status per need. Everything travels as JSON-Schema-validated CloudEvents over AMQP
//! (RabbitMQ), and personal data never leaves the region.
//!
//! # Layout
//!
//! A pure core over plain data, with I/O at the rim:
//!
//! | module        | does                                                                  | I/O |
//! |---------------|-----------------------------------------------------------------------|-----|
//! | [`event`]     | CloudEvents envelope: bytes/headers → [`event::CloudEvent`], ids, types, reason codes | – |
//! | [`schema`]    | embedded JSON Schemas, compiled once; `data` checked per event type   | – |
//! | [`pii`]       | finds personnummer, phone numbers, e-mail in free text; reject/redact | – |
//! | [`redact`]    | URLs shown without passwords or secret parameters, in every error and log | – |
//! | [`rejection`] | a refusal → `message.rejected` event: reason code, pointers, no values | – |
//! | [`catalogue`] | courses and partners, indexed by topic                                | – |
//! | [`matching`]  | a need against the catalogue: filters, scores, reasons                | – |
//! | [`routing`]   | a need + its matches → challenge, call and status data                | – |
//! | [`need`]      | the need: id and key, states and their diagram, recipients, answers  | – |
//! | [`reconcile`] | the need state machine: answers, withdrawal, closing                  | – |
//! | [`metrics`]   | delivery counters by outcome and reason code, Prometheus text         | – |
//! | [`clock`]     | time as a dependency (tests and the demo pin it)                      | – |
//! | [`pause`]     | the switch that stops taking deliveries while the store is down       | – |
//! | [`pipeline`]  | one delivery: admit → dedupe → guard → route/reconcile → outbox, one transaction | store |
//! | [`store`]     | SQLite or PostgreSQL: needs, recipients, answers, inbox, outbox, audit | SQL |
//! | [`transport`] | RabbitMQ (reconnecting consumer, confirmed publisher) and an in-process broker | AMQP |
//! | [`onboard`]   | broker users and least-privilege permissions per organisation          | HTTP |
//! | [`hub`]       | worker loop (outcome → ack), outbox relay, close timer, catalogue poller, `run` | all |
//! | [`loadgen`]   | `bench`: the hub vs. a pass-through on RabbitMQ, same run; ratio, p50/p99, peak RSS | all |
//! | [`http`]      | `/healthz`, `/readyz`, `/metrics` for operators (axum)                | HTTP |
//! | [`settings`]  | layered configuration: defaults → file → `SAMVERKAN__…` environment  | file |
//! | [`telemetry`] | `tracing` subscriber: env filter, text or JSON to stderr              | stderr |
//! | [`demo`]      | the whole story in one process on the in-process broker               | – |
//! | [`cli`]       | the `samverkan` command line, one file per subcommand                 | stdio |
//!
//! # How an event flows
//!
//! ```text
//! transport::Consume (RabbitMQ or in-process) ─► hub::worker
//!   ─► pipeline::admit: event::decode → authenticate (AMQP user_id) → authorize → schema
//!   ─► store tx: inbox (source, id) — seen before? ack, done
//!   ─► need.submitted: pii::PiiGuard → matching::match_need → routing::outbound
//!      offer/proposal/need.withdrawn: pii guard → reconcile (need row locked)
//!      course/partner: catalogue
//!   ─► outbox rows + audit, commit ─► ack        (refusal: dead letter + message.rejected, commit, ack)
//!   hub::outbox_relay: outbox ─► transport::Publish (confirms, mandatory, persistent) ─► mark sent
//! ```
//!
//! `docs/architecture.md` draws the whole flow.

pub mod catalogue;
pub mod cli;
pub mod clock;
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
pub mod transport;
pub(crate) mod urls;
