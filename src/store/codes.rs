//! The closed vocabularies the store persists: need ids, need states, recipient kinds, answer
//! decisions, audit actions and reason codes.
//!
//! Each is stored as a short lowercase string, so the database stays readable to an operator
//! with `psql` or `sqlite3`, and each is an enum (or a checked newtype) in Rust, so nothing but
//! these values can be written. The audit trail in particular accepts only [`AuditAction`] and
//! [`ReasonCode`] — values the hub's own code spells — and never a string that came off the wire,
//! which is how it is kept free of personal data by construction.

use std::fmt;

use crate::event::RejectReason;

/// Implements `as_str`, `parse` and `Display` for a unit-only enum from one table of
/// `Variant => "code"` pairs, so the two directions cannot drift apart.
macro_rules! string_enum {
    ($t:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $t {
            /// Every value, in declaration order.
            pub const ALL: &'static [$t] = &[$($t::$variant),+];

            /// The stored spelling.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($t::$variant => $code),+
                }
            }

            /// The value stored as `s`, if any.
            #[must_use]
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($code => Some($t::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The state of a need:
/// `received → published | unmatched | rejected`, `published → answered → closed`, and
/// `withdrawn` from any open state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeedState {
    /// Accepted by the hub, not yet routed.
    Received,
    /// Challenges and calls went out; no positive answer yet.
    Published,
    /// No course or partner matched.
    Unmatched,
    /// Refused (e.g. personal data); sent back to the region.
    Rejected,
    /// At least one positive answer arrived.
    Answered,
    /// The respond-by date passed; final.
    Closed,
    /// The region withdrew the need; final.
    Withdrawn,
}

string_enum!(NeedState {
    Received => "received",
    Published => "published",
    Unmatched => "unmatched",
    Rejected => "rejected",
    Answered => "answered",
    Closed => "closed",
    Withdrawn => "withdrawn",
});

impl NeedState {
    /// States the close timer closes when respond-by passes: the ones that still wait for
    /// answers.
    pub const AWAITING_ANSWERS: [NeedState; 2] = [NeedState::Published, NeedState::Answered];
}

/// Who a recipient is: it decides which decisions it may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecipientKind {
    /// Receives a challenge; answers with an offer or a decline.
    University,
    /// Receives an innovation call; answers with interest, a proposal or a decline.
    Company,
}

string_enum!(RecipientKind {
    University => "university",
    Company => "company",
});

/// What a recipient answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A university offers a course instance for the need.
    Offer,
    /// A company is interested.
    Interest,
    /// A company proposes something concrete.
    Proposal,
    /// Not this time (it still counts as an answer).
    Decline,
}

string_enum!(Decision {
    Offer => "offer",
    Interest => "interest",
    Proposal => "proposal",
    Decline => "decline",
});

impl Decision {
    /// Whether the answer moves a need from `published` to `answered`.
    #[must_use]
    pub const fn is_positive(self) -> bool {
        !matches!(self, Decision::Decline)
    }
}

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
}

string_enum!(AuditAction {
    Received => "received",
    Validated => "validated",
    Rejected => "rejected",
    Routed => "routed",
    Published => "published",
    Confirmed => "confirmed",
    Answered => "answered",
    StateChanged => "state_changed",
    DeadLettered => "dead_lettered",
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

/// A need id as in the wire contract (`common.v1.json#/$defs/needId`): 3–64 ASCII letters,
/// digits and `. _ : -`, starting with a letter or digit, e.g. `NEED-2026-0101`.
///
/// Need ids are primary keys and appear in the audit trail, so the store takes only parsed ones:
/// a string that could hold a sentence (or a personnummer with spaces around it) cannot get in.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for s in NeedState::ALL {
            assert_eq!(NeedState::parse(s.as_str()), Some(*s));
        }
        for k in RecipientKind::ALL {
            assert_eq!(RecipientKind::parse(k.as_str()), Some(*k));
        }
        for d in Decision::ALL {
            assert_eq!(Decision::parse(d.as_str()), Some(*d));
        }
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert!(is_code(a.as_str()), "{a}");
        }
        assert_eq!(NeedState::parse("open"), None);
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
