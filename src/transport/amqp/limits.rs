//! AMQP's hard limits on one message, checked before it is published.
//!
//! Some messages can never be published, whatever the broker's state: a property that is an
//! AMQP *short string* (`message_id`, `correlation_id`, `type`, `content_type`, a header name)
//! longer than 255 bytes cannot even be encoded, and a content header (all properties and the
//! header table) bigger than the connection's negotiated `frame_max` makes RabbitMQ close the
//! whole connection with FRAME_ERROR — taking every other message in flight down with it. The
//! broker also refuses bodies over its `max_message_size`. Sending such a message to find out
//! costs a connection each time; so the publisher checks first ([`check`]) and reports
//! [`Unsendable`], a permanent per-message failure with a stable reason code, which the relay
//! turns into a parked outbox row instead of a retry.
//!
//! The size computed is an upper bound of the content-header frame as lapin encodes it (the
//! hub writes every header value as a long string). It must stay [`HEADROOM`] under
//! `frame_max`, not just under it: the broker adds headers on the way (`x-death` when it
//! dead-letters, `x-delivery-count` on a quorum queue's redelivery), and a message whose
//! header frame is exactly `frame_max` is accepted by RabbitMQ but never arrives at a lapin
//! consumer (tried on RabbitMQ 3.10: `basic.get` waits for ever). So the frame limit
//! is [`frame_limit`], not `frame_max`.

use std::fmt;

use crate::transport::Outbound;

/// Longest AMQP short string, in bytes.
pub(crate) const SHORTSTR_MAX: usize = 255;

/// Frame type, channel, payload size and frame end around every frame's payload.
const FRAME_OVERHEAD: usize = 8;
/// Class id, weight, body size and property flags before a content header's properties.
const CONTENT_HEADER_FIXED: usize = 14;
/// Bytes of the frame left for what the broker adds to the header on delivery.
pub(crate) const HEADROOM: usize = 4096;

/// Properties the hub sets on every message: `delivery_mode` (1), `timestamp` (8) and
/// `app_id` = `samverkan` (1 + 9).
const FIXED_PROPERTIES: usize = 1 + 8 + 1 + super::publish::APP_ID.len();

/// Why a message can never be published. [`code`](Self::code) is stable; the text names sizes
/// and limits only, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsendable {
    /// A short-string property, the exchange or the routing key is over 255 bytes.
    PropertyTooLong {
        /// Which one, as AMQP names it (`correlation_id`, `routing_key`, …).
        property: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// A header name is over 255 bytes.
    HeaderNameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// Properties and headers do not fit in one frame of the negotiated size.
    HeadersTooLarge {
        /// The content-header frame's size in bytes.
        bytes: usize,
        /// The connection's negotiated `frame_max`.
        frame_max: u32,
    },
    /// The body is over the configured maximum.
    BodyTooLarge {
        /// Its size in bytes.
        bytes: usize,
        /// The configured maximum.
        max: usize,
    },
}

impl Unsendable {
    /// The stable reason code: `property_too_long`, `header_name_too_long`,
    /// `headers_too_large` or `body_too_large`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::PropertyTooLong { .. } => "property_too_long",
            Self::HeaderNameTooLong { .. } => "header_name_too_long",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::BodyTooLarge { .. } => "body_too_large",
        }
    }
}

impl fmt::Display for Unsendable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PropertyTooLong { property, len } => write!(
                f,
                "{property} is {len} bytes; AMQP allows at most {SHORTSTR_MAX}"
            ),
            Self::HeaderNameTooLong { len } => write!(
                f,
                "a header name is {len} bytes; AMQP allows at most {SHORTSTR_MAX}"
            ),
            Self::HeadersTooLarge { bytes, frame_max } => write!(
                f,
                "properties and headers take {bytes} bytes; the broker's frame_max is \
                 {frame_max}, of which at most {} may be used",
                frame_limit(*frame_max)
            ),
            Self::BodyTooLarge { bytes, max } => write!(
                f,
                "the body is {bytes} bytes; at most {max} are published (hub.relay_max_message_bytes)"
            ),
        }
    }
}

/// Checks `message` against AMQP's limits, a connection's negotiated `frame_max` (0: none) and
/// the largest body to publish.
pub(crate) fn check(message: &Outbound, frame_max: u32, max_body: usize) -> Result<(), Unsendable> {
    let short = [
        ("exchange", Some(&message.exchange)),
        ("routing_key", Some(&message.routing_key)),
        ("message_id", message.message_id.as_ref()),
        ("correlation_id", message.correlation_id.as_ref()),
        ("type", message.kind.as_ref()),
        ("content_type", message.content_type.as_ref()),
    ];
    for (property, value) in short {
        if let Some(len) = value.map(String::len).filter(|len| *len > SHORTSTR_MAX) {
            return Err(Unsendable::PropertyTooLong { property, len });
        }
    }
    if let Some(len) = message
        .headers
        .keys()
        .map(String::len)
        .find(|len| *len > SHORTSTR_MAX)
    {
        return Err(Unsendable::HeaderNameTooLong { len });
    }
    let bytes = header_frame_bytes(message);
    if frame_max != 0 && bytes > frame_limit(frame_max) {
        return Err(Unsendable::HeadersTooLarge { bytes, frame_max });
    }
    if message.body.len() > max_body {
        return Err(Unsendable::BodyTooLarge {
            bytes: message.body.len(),
            max: max_body,
        });
    }
    Ok(())
}

/// The largest content-header frame published on a connection with this `frame_max`:
/// `HEADROOM` (4096 bytes) under it, or half of it on a (tiny) frame of less than twice the headroom.
#[must_use]
pub fn frame_limit(frame_max: u32) -> usize {
    let frame_max = usize::try_from(frame_max).unwrap_or(usize::MAX);
    frame_max.saturating_sub(HEADROOM).max(frame_max / 2)
}

/// The size of the content-header frame that carries `message`'s properties: short strings
/// are a length byte and the bytes, the header table a 4-byte length and per entry the name
/// (short string), a type tag and the value (long string: 4-byte length and the bytes).
#[must_use]
pub fn header_frame_bytes(message: &Outbound) -> usize {
    let short = |s: &Option<String>| s.as_ref().map_or(0, |s| 1 + s.len());
    let table = if message.headers.is_empty() {
        0
    } else {
        4 + message
            .headers
            .iter()
            .map(|(name, value)| 1 + name.len() + 1 + 4 + value.len())
            .sum::<usize>()
    };
    FRAME_OVERHEAD
        + CONTENT_HEADER_FIXED
        + FIXED_PROPERTIES
        + short(&message.content_type)
        + short(&message.message_id)
        + short(&message.correlation_id)
        + short(&message.kind)
        + table
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn message() -> Outbound {
        Outbound {
            exchange: "samverkan.egress".into(),
            routing_key: "VGR.se.samverkan.need.status.v1".into(),
            body: b"{}".to_vec(),
            content_type: Some("application/cloudevents+json".into()),
            message_id: Some("e-1".into()),
            correlation_id: Some("NEED-2026-0101".into()),
            kind: Some("se.samverkan.need.status.v1".into()),
            headers: BTreeMap::from([("x-samverkan-reason".into(), "too_large".into())]),
        }
    }

    #[test]
    fn an_ordinary_message_passes() {
        assert_eq!(check(&message(), 131_072, 1024), Ok(()));
        assert_eq!(check(&message(), 0, 1024), Ok(()));
    }

    #[test]
    fn a_short_string_over_255_bytes_is_named_with_its_length() {
        let long = Outbound {
            correlation_id: Some("N".repeat(300)),
            ..message()
        };
        let err = check(&long, 131_072, 1024).expect_err("too long");
        assert_eq!(
            err,
            Unsendable::PropertyTooLong {
                property: "correlation_id",
                len: 300
            }
        );
        assert_eq!(err.code(), "property_too_long");
        assert!(!err.to_string().contains("NNN"), "{err}");
        // 255 bytes of multi-byte characters are fine; 256 bytes are not.
        let edge = Outbound {
            message_id: Some("å".repeat(127) + "a"),
            ..message()
        };
        assert_eq!(check(&edge, 131_072, 1024), Ok(()));
        let over = Outbound {
            message_id: Some("å".repeat(128)),
            ..message()
        };
        assert!(check(&over, 131_072, 1024).is_err());
    }

    #[test]
    fn a_long_header_name_is_refused() {
        let mut m = message();
        m.headers.insert("h".repeat(256), "v".into());
        let err = check(&m, 131_072, 1024).expect_err("too long");
        assert_eq!(err, Unsendable::HeaderNameTooLong { len: 256 });
        assert_eq!(err.code(), "header_name_too_long");
    }

    #[test]
    fn headers_over_the_frame_size_are_refused_and_the_size_is_exact_at_the_edge() {
        let mut m = message();
        m.headers.insert("x-big".into(), "v".repeat(131_000));
        let err = check(&m, 131_072, 1024).expect_err("too large");
        assert_eq!(err.code(), "headers_too_large");
        assert!(err.to_string().contains("131072"), "{err}");
        let size = header_frame_bytes(&m);
        assert!(size > 131_072 && size < 131_300, "{size}");
        let frame = u32::try_from(size + HEADROOM).expect("size");
        assert_eq!(check(&m, frame, 1024), Ok(()));
        assert!(check(&m, frame - 1, 1024).is_err());
    }

    #[test]
    fn the_frame_limit_leaves_headroom_for_the_broker() {
        assert_eq!(frame_limit(131_072), 131_072 - 4096);
        assert_eq!(frame_limit(4096), 2048);
        assert_eq!(frame_limit(0), 0);
    }

    #[test]
    fn a_body_over_the_maximum_is_refused() {
        let m = Outbound {
            body: vec![b'x'; 2048],
            ..message()
        };
        let err = check(&m, 131_072, 1024).expect_err("too large");
        assert_eq!(
            err,
            Unsendable::BodyTooLarge {
                bytes: 2048,
                max: 1024
            }
        );
        assert_eq!(err.code(), "body_too_large");
    }
}
