//! The event contract: CloudEvents 1.0 envelopes, their identifiers, and why one is refused.
//!
//! Everything that enters or leaves the hub is a [`CloudEvent`]. This module turns bytes (plus
//! transport headers, for binary mode) into a parsed envelope or an [`EventError`] whose
//! [`RejectReason`] is a stable code partners can program against. It does no I/O and knows no
//! transport: AMQP and HTTP adapters hand it a [`RawMessage`].

mod attributes;
mod decode;
mod envelope;
mod error;
mod ids;
mod json;
mod reason;
mod trace;
mod types;

pub(crate) use attributes::CORE;
pub use attributes::DATA_CONTENT_TYPE;
pub(crate) use decode::sniff_binary;
pub use decode::{PREFIXES, RawMessage, decode};
pub use envelope::{CloudEvent, SPEC_VERSION, STRUCTURED_CONTENT_TYPE, format_time};
pub use error::{EventError, Issue};
pub use ids::{EventId, MAX_ATTRIBUTE_LEN, MAX_ID_LEN, Source, is_attribute_token, is_need_id};
pub use json::{Limits, parse_json};
pub use reason::RejectReason;
pub use trace::Trace;
pub use types::{EventType, SCHEMA_BASE};
