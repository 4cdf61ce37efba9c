//! Dead letters that are safe to keep and easy to trace.
//!
//! A dead letter outlives the refusal by days: operators read it, replay it, count it. So it
//! must not carry what a hostile or careless sender put into the message beyond what is needed
//! to find the message again. What it keeps:
//!
//! - an allow-list of the original headers (CloudEvents attributes, size-capped), never the
//!   whole table: a header table can be as large as a frame and its values can be anything;
//! - `x-samverkan-*` headers naming the refused event (id, source, type, sender, need id) where
//!   they were read and checked, so `dead-letters list` can say what it was without the body;
//! - the body as sent, the guard's redacted form (personal data), or nothing (too large, an
//!   unscanned attachment): in every case its size and SHA-256, so a sender's copy can be
//!   matched to it.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::message::{Inbound, Outbound};
use super::topology::DEAD_LETTER_EXCHANGE;
use crate::event::{
    CORE, EventId, MAX_ATTRIBUTE_LEN, PREFIXES, RejectReason, STRUCTURED_CONTENT_TYPE,
};
use crate::text::{clip, shown};

/// Header naming the stable reason code on a dead letter.
pub const REASON_HEADER: &str = "x-samverkan-reason";
/// Header with a one-line, value-free explanation on a dead letter.
pub const DETAIL_HEADER: &str = "x-samverkan-detail";
/// Header carrying the routing key the refused message was published with.
pub const ORIGINAL_ROUTING_KEY_HEADER: &str = "x-samverkan-routing-key";
/// Header with the refused event's `id`, when it could be read.
pub const EVENT_ID_HEADER: &str = "x-samverkan-event-id";
/// Header with the refused event's `source`, when it could be read.
pub const SOURCE_HEADER: &str = "x-samverkan-source";
/// Header with the refused event's `type`, when it could be read.
pub const EVENT_TYPE_HEADER: &str = "x-samverkan-event-type";
/// Header with the sending organisation, when it was authenticated.
pub const SENDER_HEADER: &str = "x-samverkan-sender";
/// Header with the need id of a need-scoped event, when it could be read.
pub const NEED_ID_HEADER: &str = "x-samverkan-need-id";
/// Header saying what the body is: `original`, `redacted` or `withheld`.
pub const BODY_HEADER: &str = "x-samverkan-body";
/// Header with the size in bytes of the body as it was received.
pub const BODY_BYTES_HEADER: &str = "x-samverkan-body-bytes";
/// Header with the hex SHA-256 of the body as it was received.
pub const BODY_SHA256_HEADER: &str = "x-samverkan-body-sha256";
/// Header with the dead letter's own id, a fresh UUID for every dead letter the hub makes
/// (`dead-letters show ID`, `dead-letters replay ID`).
pub const DEAD_LETTER_ID_HEADER: &str = "x-samverkan-dead-letter-id";
/// Header with how many times the message was replayed before it was dead-lettered (again);
/// absent means never.
pub const REPLAYS_HEADER: &str = "x-samverkan-replays";
/// Header with when the hub dead-lettered the message (RFC 3339, UTC).
pub const DEAD_LETTERED_AT_HEADER: &str = "x-samverkan-dead-lettered-at";
/// Header with the refusal's per-location errors (schema error pointers, the guard's finding
/// kinds and positions): a JSON array of `{"instancePath", "message"}`, never values.
pub const ERRORS_HEADER: &str = "x-samverkan-errors";
/// Most bytes of [`ERRORS_HEADER`]; the errors that do not fit are left out.
pub const MAX_ERRORS_HEADER_BYTES: usize = 2000;
/// Longest `x-samverkan-detail` value (AMQP header strings can be long, operators' UIs not).
pub const MAX_DETAIL_LEN: usize = 1000;
/// Most bytes of original headers a dead letter keeps (names and values).
pub const MAX_KEPT_HEADER_BYTES: usize = 4096;

/// What is known of the refused message; every value already checked (bounded, no control
/// characters), never copied unchecked from the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The event's `id`.
    pub event_id: Option<EventId>,
    /// The event's `source`.
    pub source: Option<String>,
    /// The event's `type`.
    pub event_type: Option<String>,
    /// The authenticated sender's organisation id.
    pub sender: Option<String>,
    /// The need id of a need-scoped event.
    pub need_id: Option<String>,
}

/// What a dead letter keeps of the refused body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeptBody {
    /// The body as received.
    Original,
    /// A structured-mode event with every finding of the PII guard replaced by its label.
    Redacted(Vec<u8>),
    /// Nothing: too large to keep, or content that must not leave the region.
    Withheld,
}

impl KeptBody {
    fn label(&self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Redacted(_) => "redacted",
            Self::Withheld => "withheld",
        }
    }
}

impl Outbound {
    /// The dead letter of `original`, refused for `reason`: allow-listed headers, the reason
    /// and a clipped detail, the [`Origin`] ids, and the body `kept` decides.
    /// It goes to the dead-letter exchange, with the original's routing key.
    pub fn dead_letter(
        original: &Inbound,
        reason: RejectReason,
        detail: &str,
        origin: &Origin,
        kept: KeptBody,
    ) -> Self {
        let mut headers = kept_headers(&original.headers);
        let mut put = |name: &str, value: &str| {
            headers.insert(name.to_owned(), value.to_owned());
        };
        put(REASON_HEADER, reason.as_str());
        // Details may quote sender text (a course code, a type): escaped, like every sender
        // text an operator reads.
        put(DETAIL_HEADER, &shown(detail, MAX_DETAIL_LEN));
        put(
            ORIGINAL_ROUTING_KEY_HEADER,
            &shown(&original.routing_key, MAX_ATTRIBUTE_LEN),
        );
        let ids = [
            (EVENT_ID_HEADER, origin.event_id.as_ref().map(AsRef::as_ref)),
            (SOURCE_HEADER, origin.source.as_deref()),
            (EVENT_TYPE_HEADER, origin.event_type.as_deref()),
            (SENDER_HEADER, origin.sender.as_deref()),
            (NEED_ID_HEADER, origin.need_id.as_deref()),
        ];
        for (name, value) in ids {
            if let Some(value) = value {
                put(name, &safe_text(value, MAX_ATTRIBUTE_LEN));
            }
        }
        put(DEAD_LETTER_ID_HEADER, &uuid::Uuid::new_v4().to_string());
        if let Some(replay) = &original.replay {
            put(REPLAYS_HEADER, &replay.replays.to_string());
        }
        put(BODY_HEADER, kept.label());
        put(BODY_BYTES_HEADER, &original.body.len().to_string());
        put(BODY_SHA256_HEADER, &sha256_hex(&original.body));
        let (body, content_type) = match kept {
            KeptBody::Original => (original.body.clone(), kept_content_type(original)),
            KeptBody::Redacted(body) => (body, Some(STRUCTURED_CONTENT_TYPE.to_owned())),
            KeptBody::Withheld => (Vec::new(), None),
        };
        let message_id = origin
            .event_id
            .clone()
            .or_else(|| EventId::parse(original.message_id.as_deref()?).ok());
        Self {
            exchange: DEAD_LETTER_EXCHANGE.to_owned(),
            routing_key: safe_text(&original.routing_key, MAX_ATTRIBUTE_LEN),
            body,
            content_type,
            message_id: message_id.map(|id| id.as_ref().to_owned()),
            correlation_id: None,
            kind: None,
            headers,
        }
    }
}

impl Outbound {
    /// This dead letter stamped with the time it was made (`x-samverkan-dead-lettered-at`).
    #[must_use]
    pub(crate) fn dead_lettered_at(mut self, at: time::OffsetDateTime) -> Self {
        let at = crate::event::format_time(at);
        self.headers.insert(DEAD_LETTERED_AT_HEADER.to_owned(), at);
        self
    }
}

impl Outbound {
    /// This dead letter with the refusal's per-location `errors` ([`ERRORS_HEADER`]), as many
    /// as fit in [`MAX_ERRORS_HEADER_BYTES`]; each already escaped like every text the sender
    /// is sent.
    #[must_use]
    pub(crate) fn with_errors(mut self, errors: &[crate::event::Issue]) -> Self {
        let mut kept: Vec<&crate::event::Issue> = Vec::new();
        for issue in errors {
            kept.push(issue);
            let size = serde_json::to_string(&kept).map_or(usize::MAX, |s| s.len());
            if size > MAX_ERRORS_HEADER_BYTES {
                kept.pop();
                break;
            }
        }
        if let (false, Ok(text)) = (kept.is_empty(), serde_json::to_string(&kept)) {
            self.headers.insert(
                ERRORS_HEADER.to_owned(),
                safe_text(&text, MAX_ERRORS_HEADER_BYTES),
            );
        }
        self
    }
}

/// The original's CloudEvents attribute headers, each short and printable, up to
/// [`MAX_KEPT_HEADER_BYTES`] in all; everything else is dropped.
pub(crate) fn kept_headers(original: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut kept = BTreeMap::new();
    let mut budget = MAX_KEPT_HEADER_BYTES;
    for (name, value) in original {
        let attribute = PREFIXES.iter().find_map(|p| {
            let head = name.get(..p.len())?;
            head.eq_ignore_ascii_case(p).then(|| &name[p.len()..])
        });
        let allowed =
            // The spec's context attributes; `data` is never a header.
            attribute.is_some_and(|a| a != "data" && CORE.iter().any(|k| k.eq_ignore_ascii_case(a)));
        let size = name.len() + value.len();
        if allowed && is_safe(value) && value.len() <= MAX_ATTRIBUTE_LEN && size <= budget {
            budget -= size;
            kept.insert(name.clone(), value.clone());
        }
    }
    kept
}

fn kept_content_type(original: &Inbound) -> Option<String> {
    original
        .content_type
        .as_deref()
        .filter(|ct| is_safe(ct) && ct.len() <= MAX_ATTRIBUTE_LEN)
        .map(str::to_owned)
}

fn is_safe(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// `text` with control characters replaced by U+FFFD.
fn without_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// `text` with control characters replaced by U+FFFD, clipped to `max` bytes (an AMQP short
/// string holds 255).
fn safe_text(text: &str, max: usize) -> String {
    let clipped = clip(&without_controls(text), max);
    if clipped.len() <= max {
        return clipped;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !clipped.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clipped[..end])
}

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn original() -> Inbound {
        let mut headers: BTreeMap<String, String> = [
            ("ce-id", "e-1"),
            ("ce-type", "se.samverkan.need.submitted.v1"),
            ("x-custom", "dropped"),
            ("ce-evil", "dropped too"),
            ("ce-subject", "bad\u{1b}[2J"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        headers.insert("x-huge".into(), "h".repeat(200_000));
        Inbound {
            body: b"{\"secret\": true}".to_vec(),
            content_type: Some("application/json".into()),
            headers,
            message_id: Some("amqp-id".into()),
            routing_key: "se.samverkan.need.submitted.v1".into(),
            ..Inbound::default()
        }
    }

    #[test]
    fn only_allow_listed_safe_headers_are_kept_and_ids_are_added() {
        let origin = Origin {
            event_id: EventId::parse("e-1").ok(),
            sender: Some("VGR".into()),
            need_id: Some("NEED-2026-0101".into()),
            ..Origin::default()
        };
        let dl = Outbound::dead_letter(
            &original(),
            RejectReason::SchemaInvalid,
            &"x".repeat(5000),
            &origin,
            KeptBody::Original,
        );
        let names: Vec<_> = dl
            .headers
            .keys()
            .filter(|k| !k.starts_with("x-samverkan-"))
            .collect();
        assert_eq!(names, ["ce-id", "ce-type"]);
        assert_eq!(dl.headers[REASON_HEADER], "schema_invalid");
        assert_eq!(dl.headers[DETAIL_HEADER].chars().count(), MAX_DETAIL_LEN);
        assert_eq!(dl.headers[EVENT_ID_HEADER], "e-1");
        assert_eq!(dl.headers[SENDER_HEADER], "VGR");
        assert_eq!(dl.headers[NEED_ID_HEADER], "NEED-2026-0101");
        assert!(!dl.headers.contains_key(SOURCE_HEADER));
        assert_eq!(dl.message_id.as_deref(), Some("e-1"));
        assert_eq!(dl.body, original().body);
        assert_eq!(dl.headers[BODY_HEADER], "original");
        let total: usize = dl.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(total < 2 * MAX_KEPT_HEADER_BYTES, "{total}");
    }

    #[test]
    fn a_withheld_body_keeps_only_its_size_and_digest() {
        let original = original();
        let dl = Outbound::dead_letter(
            &original,
            RejectReason::TooLarge,
            "too large",
            &Origin::default(),
            KeptBody::Withheld,
        );
        assert!(dl.body.is_empty());
        assert_eq!(dl.content_type, None);
        assert_eq!(dl.headers[BODY_HEADER], "withheld");
        assert_eq!(
            dl.headers[BODY_BYTES_HEADER],
            original.body.len().to_string()
        );
        assert_eq!(dl.headers[BODY_SHA256_HEADER], sha256_hex(&original.body));
        assert_eq!(dl.headers[BODY_SHA256_HEADER].len(), 64);
        // Without a readable event id, the AMQP message id is kept when it is a valid id.
        assert_eq!(dl.message_id.as_deref(), Some("amqp-id"));
    }

    #[test]
    fn a_redacted_body_replaces_the_original() {
        let dl = Outbound::dead_letter(
            &original(),
            RejectReason::PersonalData,
            "personal data",
            &Origin::default(),
            KeptBody::Redacted(b"{\"redacted\": true}".to_vec()),
        );
        assert_eq!(dl.body, b"{\"redacted\": true}");
        assert_eq!(dl.content_type.as_deref(), Some(STRUCTURED_CONTENT_TYPE));
        assert_eq!(dl.headers[BODY_HEADER], "redacted");
    }

    #[test]
    fn texts_put_into_headers_fit_a_short_string_without_control_characters() {
        let long = "å".repeat(300);
        let safe = safe_text(&long, MAX_ATTRIBUTE_LEN);
        assert!(safe.len() <= MAX_ATTRIBUTE_LEN, "{}", safe.len());
        assert!(safe.ends_with('…'));
        assert_eq!(safe_text("a\u{0}b\u{1b}", 10), "a\u{FFFD}b\u{FFFD}");
    }
}
