//! Parsed identifiers: an [`EventId`] or [`Source`] that exists has already been checked, so
//! code further in never re-validates strings (parse, don't validate).

use std::fmt;

use super::error::EventError;

/// Longest accepted event id. Ids become AMQP `message_id` (a short string, ≤ 255 bytes) and
/// database keys; 128 leaves room and fits UUIDs, ULIDs and region-local ids alike.
pub const MAX_ID_LEN: usize = 128;
/// Longest accepted `source`, `type`, `dataschema`, `subject` and `datacontenttype`: each can
/// become an AMQP short string (≤ 255 bytes) or a store key, so none may be longer.
pub const MAX_ATTRIBUTE_LEN: usize = 255;
/// Longest accepted `source`.
pub(super) const MAX_SOURCE_LEN: usize = MAX_ATTRIBUTE_LEN;

/// A CloudEvents `id`: 1–128 printable ASCII characters without whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(String);

impl EventId {
    /// Parse an id, explaining what is wrong without echoing it.
    pub fn parse(s: &str) -> Result<Self, EventError> {
        check_token("id", s, MAX_ID_LEN)?;
        Ok(Self(s.to_owned()))
    }

    /// A fresh, time-ordered id (UUIDv7) for events the hub emits.
    pub fn new_v7() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

/// A CloudEvents `source`: a URI-reference such as `urn:samverkan:org:VGR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source(String);

impl Source {
    /// Parse a source: non-empty, ≤ 512 printable ASCII characters without whitespace.
    pub fn parse(s: &str) -> Result<Self, EventError> {
        check_token("source", s, MAX_SOURCE_LEN)?;
        Ok(Self(s.to_owned()))
    }

    /// The source the hub itself uses on the events it emits.
    pub fn hub() -> Self {
        Self("urn:samverkan:hub".to_owned())
    }

    /// The conventional source of an organisation, `urn:samverkan:org:<org id>`.
    pub fn for_org(org_id: &str) -> Self {
        Self(format!("urn:samverkan:org:{org_id}"))
    }
}

/// Whether `s` has the form of a need id: 3–64 ASCII letters, digits and `. _ : -`, starting
/// with a letter or digit (the `needId` of `schemas/common.v1.json`).
pub fn is_need_id(s: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    (3..=64).contains(&s.len())
        && s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && s.bytes().all(allowed)
}

/// Whether `s` could be any attribute that becomes an AMQP property (`type`, `source`, …):
/// 1–255 bytes of printable ASCII without whitespace.
pub fn is_attribute_token(s: &str) -> bool {
    check_token("", s, MAX_ATTRIBUTE_LEN).is_ok()
}

/// Check an attribute that may become an AMQP property or a store key: 1–`max` bytes of
/// printable ASCII without whitespace. The error says what is wrong without echoing the value.
pub(crate) fn check_token(attribute: &str, s: &str, max: usize) -> Result<(), EventError> {
    let invalid = |detail: String| EventError::InvalidAttribute {
        attribute: attribute.to_owned(),
        detail,
    };
    if s.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if s.len() > max {
        return Err(invalid(format!(
            "is {} characters, longer than {max}",
            s.len()
        )));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("must be printable ASCII without whitespace".into()));
    }
    Ok(())
}

macro_rules! string_newtype_impls {
    ($($t:ty),*) => {$(
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
string_newtype_impls!(EventId, Source);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_empty_whitespace_control_and_overlong() {
        assert!(EventId::parse("018f6b2e-7c1a-7cc0-9d3e-5a1b2c3d4e01").is_ok());
        for bad in [
            "",
            "a b",
            "tab\there",
            "nul\0",
            "é",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            let err = EventId::parse(bad).unwrap_err();
            assert_eq!(err.reason().as_str(), "invalid_attribute", "{bad:?}");
        }
    }

    #[test]
    fn sources_fit_an_amqp_short_string() {
        assert!(Source::parse(&"s".repeat(MAX_ATTRIBUTE_LEN)).is_ok());
        assert!(Source::parse(&"s".repeat(MAX_ATTRIBUTE_LEN + 1)).is_err());
    }

    #[test]
    fn need_ids_have_the_schema_form() {
        for good in ["NEED-2026-0101", "VGR:2026.17_a", "abc"] {
            assert!(is_need_id(good), "{good}");
        }
        for bad in [
            "",
            "ab",
            "-NEED",
            "NEED 1",
            "NEED\u{0}1",
            "NEÉD-1",
            &"N".repeat(65),
        ] {
            assert!(!is_need_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn fresh_ids_are_distinct_and_valid() {
        let a = EventId::new_v7();
        let b = EventId::new_v7();
        assert_ne!(a, b);
        assert!(EventId::parse(a.as_ref()).is_ok());
        assert_eq!(Source::for_org("VGR").as_ref(), "urn:samverkan:org:VGR");
    }
}
