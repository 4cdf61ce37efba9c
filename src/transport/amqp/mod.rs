//! AMQP 0-9-1 on RabbitMQ (lapin 4): connect, declare the topology, publish with confirms,
//! consume, and reconnect.
//!
//! One concern per file: [`connect`] opens a named connection with operator-friendly errors,
//! [`declare`] creates the exchanges and quorum queues of a
//! [`Topology`](crate::transport::Topology) (the topology itself is transport-neutral data),
//! [`Publisher`] publishes on one channel and treats anything but a confirmed, routed message
//! as an error ([`TransportError`](crate::transport::TransportError) says what went wrong), and
//! limits.rs catches a message AMQP can never carry ([`Unsendable`](crate::transport::Unsendable)) before it is sent.
//!
//! The two ends the hub runs on survive broker restarts:
//! [`AmqpConsumer`] (consume.rs) hides an outage behind a delay, and [`AmqpPublisher`]
//! (publisher.rs, the reconnecting confirmed publisher; its link in link.rs, its confirms in
//! confirms.rs) fails the affected publishes transiently and rebuilds its link on the next
//! call.
//! Both rebuild from scratch — connect, declare, channel setup (session.rs) — with
//! [`Backoff`](crate::transport::Backoff).

mod acks;
mod confirms;
mod connection;
mod consume;
mod convert;
mod dead_letters;
mod declare;
pub(super) mod limits;
mod link;
mod publish;
mod publisher;
mod session;
mod train;

pub use crate::transport::DeadLetters;
pub use connection::{
    CLOSE_TIMEOUT, CloseOutcome, DEFAULT_AMQP_URL, close, close_settled, close_settled_within,
    close_within, connect, redact_url,
};
pub use consume::{AmqpConsumer, AmqpDelivery, ConsumerConfig, LinkStatus};
pub use dead_letters::{AmqpDeadLetters, DeadLetter, peek};
pub use declare::declare;
pub use limits::{frame_limit, header_frame_bytes};
pub use publish::{PERSISTENT, PendingConfirm, Publisher};
pub use publisher::{AmqpPublisher, PublisherConfig};
pub use session::Endpoint;
