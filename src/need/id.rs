//! How a need is named: the region's id for it ([`NeedId`]) and, since ids are unique only
//! within a region, the key that names one need hub-wide ([`NeedKey`]).
//!
//! Need ids are primary keys and appear in the audit trail, so only parsed ones exist: a string
//! that could hold a sentence (or a personnummer with spaces around it) cannot become one.

use std::fmt;

use crate::settings::OrgId;

/// A need id as in the wire contract (`common.v1.json#/$defs/needId`): 3–64 ASCII letters,
/// digits and `. _ : -`, starting with a letter or digit, e.g. `NEED-2026-0101`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeedId(String);

/// Why a string is not a [`NeedId`]. It does not echo the string, which may be anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a need id ({len} characters): use 3–64 ASCII letters, digits and . _ : -, \
     starting with a letter or digit"
)]
pub struct InvalidNeedId {
    /// Length of the refused string, in characters.
    pub len: usize,
}

impl NeedId {
    /// Parse and check an id.
    ///
    /// # Errors
    ///
    /// When `s` does not match `^[A-Za-z0-9][A-Za-z0-9._:-]{2,63}$`.
    pub fn parse(s: &str) -> Result<Self, InvalidNeedId> {
        if crate::event::is_need_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidNeedId {
                len: s.chars().count(),
            })
        }
    }

    /// The id as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for NeedId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NeedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A need's identity: the region that submitted it and the region's id for it.
///
/// Need ids are unique within a region, not across regions (README, "Need identity"): two
/// regions may use the same id for different needs, and neither can take, see or block the
/// other's. Every read or change of one need is by its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeedKey {
    /// The owning region.
    pub region: OrgId,
    /// The region's id for the need.
    pub need_id: NeedId,
}

impl NeedKey {
    /// The key of `region`'s need `need_id`.
    #[must_use]
    pub fn new(region: OrgId, need_id: NeedId) -> Self {
        Self { region, need_id }
    }
}

impl fmt::Display for NeedKey {
    /// `NEED-2026-0101 of VGR`: both parts are checked identifiers, safe to log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {}", self.need_id, self.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn need_ids_follow_the_contract_pattern() {
        for good in ["NEED-2026-0101", "abc", "a.b_c:d-e", &"x".repeat(64)] {
            assert!(NeedId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ab",
            "-abc",
            "NEED 1",
            "NEED/1",
            "ÅÄÖ-1",
            &"x".repeat(65),
        ] {
            assert!(NeedId::parse(bad).is_err(), "{bad:?}");
        }
        let err = NeedId::parse("19121212-1212 Tolvan").unwrap_err();
        assert!(!err.to_string().contains("Tolvan"));
    }
}
