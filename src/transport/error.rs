//! `TransportError`: every way talking to the broker can fail, worded for the operator.
//!
//! Messages never contain a broker password (URLs are passed through
//! [`redact_url`](super::amqp::redact_url) before they are stored here) and never an event's
//! payload: a publish error names the event by id, exchange and routing key only.

use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use thiserror::Error;

use super::Unsendable;

/// How to get a broker running, appended to "cannot reach RabbitMQ" errors.
pub const START_BROKER_HINT: &str = "start RabbitMQ with `rabbitmq-server -detached` \
     (Debian/Ubuntu: `apt-get install rabbitmq-server`) or `docker compose up -d rabbitmq`, \
     or point SAMVERKAN__AMQP__URL at a running broker";

/// A failure of the AMQP transport.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The AMQP URL does not parse. `url` is redacted.
    #[error("invalid AMQP URL `{url}`: {detail}")]
    InvalidUrl { url: String, detail: String },

    /// Nothing listens at the broker address (TCP connection refused).
    #[error(
        "cannot connect to RabbitMQ at `{url}`: connection refused; {hint}",
        hint = START_BROKER_HINT
    )]
    BrokerUnreachable {
        url: String,
        #[source]
        source: lapin::Error,
    },

    /// The TCP connection or the AMQP handshake did not finish in time.
    #[error(
        "timed out after {seconds} s connecting to RabbitMQ at `{url}`; {hint}",
        hint = START_BROKER_HINT
    )]
    ConnectTimeout { url: String, seconds: u64 },

    /// Connecting failed for another reason (authentication, vhost, TLS, handshake).
    #[error("cannot connect to RabbitMQ at `{url}`")]
    Connect {
        url: String,
        #[source]
        source: lapin::Error,
    },

    /// An organisation id that cannot name a queue or a routing-key word.
    #[error(
        "organisation id {org_id:?} is invalid: use 1-63 ASCII letters, digits, `_` and `-`, \
         starting with a letter or digit"
    )]
    InvalidOrgId { org_id: String },

    /// A delivery limit the broker would not accept.
    #[error("delivery limit {limit} is invalid: it must be between 1 and {max}", max = i32::MAX)]
    InvalidDeliveryLimit { limit: u32 },

    /// A value for an AMQP short string (names, routing keys, properties) is too long.
    #[error("{what} is {len} bytes; AMQP allows at most 255")]
    TooLong { what: &'static str, len: usize },

    /// An exchange or queue already exists with other arguments (AMQP 406).
    #[error(
        "{what} already exists with different arguments ({reply_text}); it was declared by an \
         older version, with another delivery limit, or by hand: drain and delete it \
         (management UI, or `rabbitmqctl delete_queue NAME` for a queue), then start the hub \
         again"
    )]
    TopologyConflict { what: String, reply_text: String },

    /// Declaring or binding part of the topology failed.
    #[error("declaring {what} failed")]
    Declare {
        what: String,
        #[source]
        source: lapin::Error,
    },

    /// A channel operation failed (open, confirm mode, publish frames).
    #[error("AMQP {operation} failed")]
    Channel {
        operation: &'static str,
        #[source]
        source: lapin::Error,
    },

    /// The broker returned a mandatory publish: no queue is bound for the routing key.
    #[error(
        "event {event_id} published to `{exchange}` with routing key `{routing_key}` is \
         unroutable ({reply_code} {reply_text}): no queue is bound for it (unknown organisation \
         or topology not declared?)"
    )]
    Unroutable {
        event_id: String,
        exchange: String,
        routing_key: String,
        reply_code: u16,
        reply_text: String,
    },

    /// The broker refused responsibility for the message (publisher confirm `nack`).
    #[error(
        "the broker nacked event {event_id} published to `{exchange}` with routing key \
         `{routing_key}`; it was not stored and must be published again"
    )]
    Nacked {
        event_id: String,
        exchange: String,
        routing_key: String,
    },

    /// The channel is not in confirm mode, so nothing says the broker has the message.
    #[error("event {event_id} was published on a channel without publisher confirms")]
    ConfirmsNotEnabled { event_id: String },

    /// The broker's answer came with another message's return (several confirms completed at
    /// once), so whether this message was routed is unknown: publish it again (receivers
    /// dedupe by event id).
    #[error(
        "the confirm for event {event_id} carried another message's return; its routing is \
         unknown and it must be published again"
    )]
    ConfirmAmbiguous { event_id: String },

    /// Waiting for the publisher confirm failed (the channel or connection closed first): the
    /// message may or may not have been stored, so it must be published again.
    #[error("no publisher confirm for event {event_id}: the channel closed before it came")]
    ConfirmLost {
        event_id: String,
        #[source]
        source: lapin::Error,
    },

    /// No publisher confirm came within the configured time (a stalled broker, a half-open
    /// connection): treated as lost, so the message must be published again.
    #[error("no publisher confirm for event {event_id} within {millis} ms; publish it again")]
    ConfirmTimeout { event_id: String, millis: u128 },

    /// Nothing was published because there is no usable connection to the broker right now
    /// (it was lost, or reconnecting failed). `transient` is whether the cause heals by itself.
    #[error("event {event_id} was not published: {cause}")]
    NotPublished {
        event_id: String,
        cause: String,
        transient: bool,
    },

    /// Settling a delivery failed, usually because its channel closed first. The broker keeps
    /// the message and delivers it again (`redelivered`), so nothing is lost.
    #[error(
        "could not {operation} the delivery of message {message_id}: its channel is closed; \
         the broker will deliver it again"
    )]
    SettleFailed {
        operation: &'static str,
        message_id: String,
        #[source]
        source: Option<lapin::Error>,
    },

    /// A queue the broker does not have (in-process broker: not part of its topology).
    #[error("queue `{queue}` does not exist: it is not part of the declared topology")]
    UnknownQueue { queue: String },

    /// The transport was shut down; try again after a restart.
    #[error("the {what} is closed (shutting down)")]
    Closed { what: &'static str },

    /// The message breaks an AMQP limit (a short string over 255 bytes, headers over the
    /// negotiated frame size, a body over the maximum): it can never be published, so it was
    /// not sent. `reason` names sizes only.
    #[error("event {event_id} can never be published: {reason}")]
    Unsendable {
        event_id: String,
        reason: Unsendable,
    },
}

impl TransportError {
    /// Whether trying the same operation again later can succeed without anyone changing
    /// configuration or topology: lost connections, timeouts, broker nacks. `false` for invalid
    /// input, conflicts and unroutable messages, which need a fix first.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::BrokerUnreachable { .. }
            | Self::ConnectTimeout { .. }
            | Self::Nacked { .. }
            | Self::ConfirmAmbiguous { .. }
            | Self::ConfirmLost { .. }
            | Self::ConfirmTimeout { .. }
            | Self::SettleFailed { .. }
            | Self::Closed { .. } => true,
            Self::NotPublished { transient, .. } => *transient,
            Self::Connect { source, .. }
            | Self::Declare { source, .. }
            | Self::Channel { source, .. } => is_transient_lapin(source),
            Self::InvalidUrl { .. }
            | Self::InvalidOrgId { .. }
            | Self::InvalidDeliveryLimit { .. }
            | Self::TooLong { .. }
            | Self::Unsendable { .. }
            | Self::TopologyConflict { .. }
            | Self::Unroutable { .. }
            | Self::ConfirmsNotEnabled { .. }
            | Self::UnknownQueue { .. } => false,
        }
    }

    /// Whether a failed publish says nothing about the message itself, because the broker
    /// link was down, lost or stalled: the message should wait for the broker, not count a
    /// failed attempt against itself. Errors the broker raised about this publish (unroutable,
    /// nacked, a channel closed with a protocol error such as 406 or 501) are not outages.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::BrokerUnreachable { .. }
            | Self::ConnectTimeout { .. }
            | Self::Connect { .. }
            | Self::NotPublished { .. }
            | Self::ConfirmTimeout { .. }
            | Self::ConfirmAmbiguous { .. }
            | Self::Closed { .. } => true,
            Self::ConfirmLost { source, .. } | Self::Channel { source, .. } => {
                is_transient_lapin(source)
            }
            _ => false,
        }
    }

    /// Why the message can never be published, when that is what this error says.
    pub(crate) fn unsendable(&self) -> Option<&Unsendable> {
        match self {
            Self::Unsendable { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// `Declare`, or `TopologyConflict` when the broker says the object exists with other
    /// arguments (406 PRECONDITION_FAILED).
    pub(crate) fn declare(what: String, source: lapin::Error) -> Self {
        match precondition_failed(&source) {
            Some(reply_text) => Self::TopologyConflict { what, reply_text },
            None => Self::Declare { what, source },
        }
    }
}

/// Whether a lapin error heals by itself: I/O errors, closed channels and connections (every
/// non-protocol error), and the AMQP errors that mean "the broker went away or is overloaded":
/// 320 CONNECTION_FORCED (a restart, `rabbitmqctl close_connection`), 405, 506, 541. Other AMQP
/// errors (403 access refused, 404 not found, 406 precondition failed, …) need a fix.
fn is_transient_lapin(error: &lapin::Error) -> bool {
    match error.kind() {
        lapin::ErrorKind::ProtocolError(e) => matches!(
            e.kind(),
            AMQPErrorKind::Hard(
                AMQPHardError::CONNECTIONFORCED
                    | AMQPHardError::RESOURCEERROR
                    | AMQPHardError::INTERNALERROR
            ) | AMQPErrorKind::Soft(AMQPSoftError::RESOURCELOCKED)
        ),
        _ => true,
    }
}

/// The broker's reply text when `error` is a 406 PRECONDITION_FAILED channel error.
fn precondition_failed(error: &lapin::Error) -> Option<String> {
    match error.kind() {
        lapin::ErrorKind::ProtocolError(e)
            if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED) =>
        {
            Some(e.get_message().to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreachable_broker_says_how_to_start_one() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = TransportError::BrokerUnreachable {
            url: "amqp://guest:***@127.0.0.1:5672/%2f".into(),
            source: io.into(),
        };
        let text = err.to_string();
        assert!(text.contains("rabbitmq-server -detached"), "{text}");
        assert!(text.contains("docker compose up -d rabbitmq"), "{text}");
        assert!(err.is_transient());
    }

    fn protocol_error(kind: AMQPErrorKind) -> lapin::Error {
        let error = lapin::protocol::AMQPError::new(kind, "test".into());
        lapin::ErrorKind::ProtocolError(error).into()
    }

    #[test]
    fn a_connection_the_broker_closed_is_transient_a_refusal_is_not() {
        let channel = |source| TransportError::Channel {
            operation: "basic.publish",
            source,
        };
        let forced = protocol_error(AMQPErrorKind::Hard(AMQPHardError::CONNECTIONFORCED));
        assert!(channel(forced).is_transient());
        let refused = protocol_error(AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED));
        assert!(!channel(refused).is_transient());
        let not_found = protocol_error(AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND));
        assert!(!channel(not_found).is_transient());
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(channel(io.into()).is_transient());
    }

    #[test]
    fn a_lost_link_is_an_outage_a_refusal_of_the_message_is_not() {
        let lost = TransportError::ConfirmLost {
            event_id: "e-1".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionReset).into(),
        };
        assert!(lost.is_outage());
        let frame_error = TransportError::ConfirmLost {
            event_id: "e-1".into(),
            source: protocol_error(AMQPErrorKind::Hard(AMQPHardError::FRAMEERROR)),
        };
        assert!(!frame_error.is_outage());
        let down = TransportError::NotPublished {
            event_id: "e-1".into(),
            cause: "no link".into(),
            transient: true,
        };
        assert!(down.is_outage() && down.unsendable().is_none());
        let unsendable = TransportError::Unsendable {
            event_id: "e-1".into(),
            reason: Unsendable::HeaderNameTooLong { len: 300 },
        };
        assert!(!unsendable.is_outage() && !unsendable.is_transient());
        assert_eq!(
            unsendable.unsendable().map(Unsendable::code),
            Some("header_name_too_long")
        );
    }

    #[test]
    fn fix_first_errors_are_not_transient() {
        let unroutable = TransportError::Unroutable {
            event_id: "e-1".into(),
            exchange: "samverkan.egress".into(),
            routing_key: "nobody.x".into(),
            reply_code: 312,
            reply_text: "NO_ROUTE".into(),
        };
        assert!(!unroutable.is_transient());
        assert!(unroutable.to_string().contains("nobody.x"));
        let nacked = TransportError::Nacked {
            event_id: "e-1".into(),
            exchange: "samverkan.egress".into(),
            routing_key: "VGR.x".into(),
        };
        assert!(nacked.is_transient());
        assert!(
            !TransportError::InvalidOrgId {
                org_id: "a.b".into()
            }
            .is_transient()
        );
    }
}
