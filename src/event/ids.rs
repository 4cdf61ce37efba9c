//! Parsed identifiers: an [`EventId`] or [`Source`] that exists has already been checked, so
//! code further in never re-validates strings (parse, don't validate).

use std::fmt;

use super::error::EventError;

/// Longest accepted event id. Ids become AMQP `message_id` (a short string, ≤ 255 bytes) and
/// database keys; 128 leaves room and fits UUIDs, ULIDs and region-local ids alike.
pub const MAX_ID_LEN: usize = 128;
/// Longest accepted `source`.
pub const MAX_SOURCE_LEN: usize = 512;

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

fn check_token(attribute: &str, s: &str, max: usize) -> Result<(), EventError> {
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
        for bad in ["", "a b", "tab\there", "é", &"x".repeat(MAX_ID_LEN + 1)] {
            let err = EventId::parse(bad).unwrap_err();
            assert_eq!(err.reason().as_str(), "invalid_attribute", "{bad:?}");
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
