//! The store's own closed vocabularies: audit actions and reason codes. (The need's
//! vocabularies — states, recipient kinds, decisions — belong to [`crate::need`].)
//!
//! Each is stored as a short lowercase string, so the database stays readable to an operator
//! with `psql` or `sqlite3`, and each is an enum (or a checked newtype) in Rust, so nothing but
//! these values can be written. The audit trail in particular accepts only [`AuditAction`] and
//! [`ReasonCode`] — values the hub's own code spells — and never a string that came off the wire,
//! which is how it is kept free of personal data by construction.

use std::fmt;

use crate::event::RejectReason;

/// What the audit trail records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// An event arrived.
    Received,
    /// It passed decoding, schema and PII checks.
    Validated,
    /// It was refused; the entry carries the reason code.
    Rejected,
    /// A need was matched to recipients.
    Routed,
    /// A message was written to the outbox.
    Published,
    /// The broker confirmed a published message.
    Confirmed,
    /// An answer was applied to a need.
    Answered,
    /// A need changed state.
    StateChanged,
    /// A message went to the dead-letter queue.
    DeadLettered,
    /// An operator replayed a dead letter; written with the replay's effects (or its refusal).
    Replayed,
}

crate::need::string_enum!(AuditAction {
    Received => "received",
    Validated => "validated",
    Rejected => "rejected",
    Routed => "routed",
    Published => "published",
    Confirmed => "confirmed",
    Answered => "answered",
    StateChanged => "state_changed",
    DeadLettered => "dead_lettered",
    Replayed => "replayed",
});

/// A stable reason code such as `personal_data` or `answer_late`: lowercase ASCII letters,
/// digits, `_` and `.`, never free text.
///
/// Only a `&'static str` makes one, so a code is always spelled in the hub's source, never taken
/// from a message. Declare codes as constants — `const LATE: ReasonCode =
/// ReasonCode::new("answer_late");` — and a misspelt code fails to compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReasonCode(&'static str);

impl ReasonCode {
    /// A code from a literal.
    ///
    /// # Panics
    ///
    /// When `code` is empty or has a character other than `a-z`, `0-9`, `_` and `.`; in a
    /// `const` item that is a compile error, which is how it is meant to be used.
    #[must_use]
    pub const fn new(code: &'static str) -> Self {
        assert!(
            is_code(code),
            "a reason code is lowercase ASCII, digits, '_' and '.'"
        );
        Self(code)
    }

    /// The code.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl From<RejectReason> for ReasonCode {
    fn from(reason: RejectReason) -> Self {
        Self(reason.as_str())
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

const fn is_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.') {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert!(is_code(a.as_str()), "{a}");
        }
    }

    #[test]
    fn reject_reasons_are_reason_codes() {
        for r in RejectReason::ALL {
            assert!(is_code(r.as_str()), "{r}");
            assert_eq!(ReasonCode::from(r).as_str(), r.as_str());
        }
        const LATE: ReasonCode = ReasonCode::new("answer_late");
        assert_eq!(LATE.to_string(), "answer_late");
        for bad in ["", "Late", "answer late", "x-y", "ö"] {
            assert!(!is_code(bad), "{bad:?}");
        }
    }
}
