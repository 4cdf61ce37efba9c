//! Stable reason codes: the public vocabulary for "why was my event refused".
//!
//! Partners code against these strings (they appear in `message.rejected` events, in the
//! `x-samverkan-reason` dead-letter header and in `samverkan validate --format json`), so a code
//! is never renamed or reused for a different meaning. New codes may be added.

use std::fmt;

use serde::{Serialize, Serializer};

/// Why an event was refused. `as_str` gives the stable snake_case code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The message body is larger than `limits.max_message_bytes`.
    TooLarge,
    /// The message body is empty.
    EmptyMessage,
    /// The body is not UTF-8 JSON.
    MalformedJson,
    /// The JSON nests deeper than `limits.max_depth`.
    TooDeep,
    /// JSON, but not a CloudEvents 1.0 event (not an object, no or wrong `specversion`).
    NotACloudevent,
    /// A required CloudEvents attribute is missing.
    MissingAttribute,
    /// An attribute is present but its value is not acceptable.
    InvalidAttribute,
    /// Binary mode headers use more than one prefix (`ce-`, `cloudEvents_`, `cloudEvents:`).
    MixedPrefixes,
    /// Binary mode data that is not `application/json`.
    UnsupportedContentType,
    /// The event `type` is not one the hub knows.
    UnknownType,
    /// The `dataschema` is not the schema registered for the event's `type`.
    UnknownDataschema,
    /// The event `data` does not validate against its schema.
    SchemaInvalid,
    /// The PII guard found a personal identifier in free text (policy `reject`).
    PersonalData,
    /// An attachment has not been content-scanned, so it cannot be shown to be free of
    /// personal data (fails closed under every policy).
    UnscannedAttachment,
    /// The message has no AMQP `user_id`, or one that belongs to no configured organisation.
    Unauthenticated,
    /// The sender may not send this event (wrong kind of organisation, a `source` or `region`
    /// that is not its own, a hub-only type).
    Unauthorized,
    /// An answer arrived after the need's respond-by date (or after the need closed).
    Late,
    /// The event concerns a need the hub does not know.
    UnknownNeed,
    /// A course (or course instance) that is neither matched for the need nor in the sender's
    /// catalogue.
    UnknownCourse,
    /// The need was withdrawn by its region; answers are no longer taken.
    Withdrawn,
    /// The message kept failing for its own data, or on contention, in all `hub.max_attempts`
    /// attempts while the store worked (a store outage pauses the hub instead).
    RetriesExhausted,
}

impl RejectReason {
    /// Every code, in the order the README lists them.
    pub const ALL: [RejectReason; 21] = [
        Self::TooLarge,
        Self::EmptyMessage,
        Self::MalformedJson,
        Self::TooDeep,
        Self::NotACloudevent,
        Self::MissingAttribute,
        Self::InvalidAttribute,
        Self::MixedPrefixes,
        Self::UnsupportedContentType,
        Self::UnknownType,
        Self::UnknownDataschema,
        Self::SchemaInvalid,
        Self::PersonalData,
        Self::UnscannedAttachment,
        Self::Unauthenticated,
        Self::Unauthorized,
        Self::Late,
        Self::UnknownNeed,
        Self::UnknownCourse,
        Self::Withdrawn,
        Self::RetriesExhausted,
    ];

    /// The stable snake_case code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::EmptyMessage => "empty_message",
            Self::MalformedJson => "malformed_json",
            Self::TooDeep => "too_deep",
            Self::NotACloudevent => "not_a_cloudevent",
            Self::MissingAttribute => "missing_attribute",
            Self::InvalidAttribute => "invalid_attribute",
            Self::MixedPrefixes => "mixed_prefixes",
            Self::UnsupportedContentType => "unsupported_content_type",
            Self::UnknownType => "unknown_type",
            Self::UnknownDataschema => "unknown_dataschema",
            Self::SchemaInvalid => "schema_invalid",
            Self::PersonalData => "personal_data",
            Self::UnscannedAttachment => "unscanned_attachment",
            Self::Unauthenticated => "unauthenticated",
            Self::Unauthorized => "unauthorized",
            Self::Late => "late",
            Self::UnknownNeed => "unknown_need",
            Self::UnknownCourse => "unknown_course",
            Self::Withdrawn => "withdrawn",
            Self::RetriesExhausted => "retries_exhausted",
        }
    }

    /// Parse a code back (used by tests that read reason codes from example file names).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RejectReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for reason in RejectReason::ALL {
            let code = reason.as_str();
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            assert_eq!(RejectReason::parse(code), Some(reason));
        }
        assert_eq!(RejectReason::parse("nope"), None);
    }
}
