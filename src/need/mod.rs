//! The need, as the hub understands it: its identity, its states, who it went to and what they
//! answered.
//!
//! # Why it is its own module
//!
//! The need is the domain both halves of the hub speak: [`crate::reconcile`] (the pure state
//! machine) decides how a need changes, and the store persists it. Kept here, apart from
//! either, the state machine and its tests read plain data and never import the store, and the
//! store maps rows to these types instead of owning them. Nothing here does I/O: no SQL, no
//! AMQP, no clock.
//!
//! The closed vocabularies ([`NeedState`], [`RecipientKind`], [`Decision`]) each have one
//! lowercase spelling (`as_str`/`parse`): the one the wire contract, the audit trail and the
//! database all use, so it is defined once, next to the enum.

/// Implements `ALL`, `as_str`, `parse` and `Display` for a unit-only enum from one table of
/// `Variant => "code"` pairs, so the two directions cannot drift apart.
macro_rules! string_enum {
    ($t:ident { $($variant:ident => $code:literal),+ $(,)? }) => {
        impl $t {
            /// Every value, in declaration order.
            pub const ALL: &'static [$t] = &[$($t::$variant),+];

            /// The stored (and published) spelling.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($t::$variant => $code),+
                }
            }

            /// The value spelt `s`, if any.
            #[must_use]
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($code => Some($t::$variant),)+
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

mod answer;
mod id;
mod recipient;
mod record;
mod state;

pub use answer::{AnswerApplied, Decision, LatestAnswer, NewAnswer};
pub use id::{InvalidNeedId, NeedId, NeedKey};
pub use recipient::{Recipient, RecipientKind};
pub use record::Need;
pub use state::NeedState;

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
        assert_eq!(NeedState::parse("open"), None);
    }
}
