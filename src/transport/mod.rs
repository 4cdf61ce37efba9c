//! Transport: how events reach the hub and leave it. In production that is AMQP on RabbitMQ
//! ([`amqp`]); `samverkan demo` and the fast tests use an in-process broker with the same
//! semantics ([`memory`]). Webhooks (`crate::webhook`) deliver organisations' feeds over HTTP
//! beside the transport, not through it.
//!
//! # Why the transport sits at the rim
//!
//! The core of the hub (decoding, schema checks, the PII guard, matching, the need state
//! machine) works on plain values and never touches a socket, so it is tested without a broker
//! and cannot block on one. Everything that does I/O with the broker lives here, behind three
//! small traits ([`Consume`], [`Delivery`], [`Publish`]) over plain messages ([`Inbound`],
//! [`Outbound`]). Broker quirks stay here too: lapin 4's API, RabbitMQ 3.10 versus 4.x
//! defaults, AMQP short-string limits, the rule that an unroutable or nacked publish is a
//! failure, and reconnecting after the broker goes away.
//!
//! # What lives here
//!
//! | item | does |
//! |---|---|
//! | [`amqp::AmqpConsumer`] | consumes a queue; reconnects with backoff, the caller only sees a delay |
//! | [`amqp::AmqpPublisher`] | pipelined confirmed publishing; fails transiently during an outage, then reconnects |
//! | [`amqp::connect`] | a named connection; errors hide the password, say how to start RabbitMQ |
//! | [`Topology`] | exchanges, quorum queues, bindings, as printable data (both brokers) |
//! | [`amqp::declare`] | declares a topology idempotently (at start and on every reconnect) |
//! | [`amqp::Publisher`] | one channel in confirm mode: mandatory, persistent, confirmed |
//! | [`memory::MemoryBroker`] | in-process broker: same routing, `mandatory`, prefetch, delivery limit, DLX |
//! | [`Shutdown`] | the signal that ends consumers (and their reconnect loops) |
//! | [`TransportError`] | every failure; [`TransportError::is_transient`] decides about retries |
//! | [`Outbound::to_org`], `Outbound::to_hub`, [`Outbound::dead_letter`] | addressing: the constructors choose the exchange, so the pipeline and the hub never name one |
//! | [`DeadLetterAdmin`] | list, show and replay dead letters (RabbitMQ: `amqp::AmqpDeadLetters`, in-process: [`memory::MemoryBroker`]) |
//! | [`Backoff`] | capped exponential reconnect delays with jitter (`backon`) |

pub mod amqp;
mod backoff;
mod dead_letter;
pub mod dead_letter_admin;
mod error;
pub mod memory;
mod message;
mod shutdown;
mod topology;

pub use amqp::limits::Unsendable;
pub use backoff::Backoff;
pub use dead_letter::{
    BODY_BYTES_HEADER, BODY_HEADER, BODY_SHA256_HEADER, DEAD_LETTER_ID_HEADER,
    DEAD_LETTERED_AT_HEADER, DETAIL_HEADER, ERRORS_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER,
    KeptBody, MAX_DETAIL_LEN, MAX_ERRORS_HEADER_BYTES, MAX_KEPT_HEADER_BYTES, NEED_ID_HEADER,
    ORIGINAL_ROUTING_KEY_HEADER, Origin, REASON_HEADER, REPLAYS_HEADER, SENDER_HEADER,
    SOURCE_HEADER, sha256_hex,
};
pub use dead_letter_admin::{
    DeadLetter, DeadLetterAdmin, DeadLetterDetail, DeadLetters, ErrorAt, ReplayItem, ReplayOutcome,
    ReplayReport, Selector,
};
pub use error::{START_BROKER_HINT, TransportError};
pub use message::{Consume, Delivery, Inbound, More, NoMore, Outbound, Publish, Replay, Settle};
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use topology::{
    Binding, DEAD_LETTER_EXCHANGE, DEAD_QUEUE_DELIVERY_LIMIT, DEFAULT_DELIVERY_LIMIT,
    EGRESS_EXCHANGE, ExchangeSpec, ExchangeType, HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE,
    HUB_REPLAY_QUEUE, INGRESS_EXCHANGE, MAX_ORG_ID_LEN, ORG_QUEUE_PREFIX, QueueSpec, Topology,
};
