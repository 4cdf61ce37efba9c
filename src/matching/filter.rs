//! The hard filters a candidate can fail, and the record of who failed which.
//!
//! A need that reaches nobody gets `no_match` with what the candidates failed on, read from
//! [`Exclusions`]. The filters themselves run in `course` and `partner`; this is only their
//! vocabulary and the tally.

use std::collections::BTreeMap;

/// A hard filter a candidate failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Filter {
    /// The need already lists this course or partner in `matches`.
    AlreadyMatched,
    /// The course's data policy does not fit the need's visibility.
    DataPolicy,
    /// No instance has a case intake open today.
    IntakeNotOpen,
    /// Every open intake is full.
    NoCapacity,
    /// No open instance has a study period ending by the deadline.
    PeriodAfterDeadline,
    /// Registry status is not active.
    PartnerInactive,
    /// The subscription is inactive or paused today.
    SubscriptionPaused,
    /// The partner does not subscribe to this call type.
    CallType,
    /// The partner does not accept this visibility.
    Visibility,
    /// partners_nda need, partner has no signed NDA.
    NdaMissing,
    /// partners_nda need, the partner's NDA has expired.
    NdaExpired,
    /// The need's region is not among the partner's regions.
    Region,
    /// The partner does not take calls in the need's language.
    Language,
    /// The partner's TRL interest does not overlap the call's range.
    Trl,
    /// Passed every filter but scored below `min_score`.
    BelowMinScore,
}

impl Filter {
    /// Number of filters.
    pub(crate) const COUNT: usize = 15;

    /// Every filter, in order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::AlreadyMatched,
        Self::DataPolicy,
        Self::IntakeNotOpen,
        Self::NoCapacity,
        Self::PeriodAfterDeadline,
        Self::PartnerInactive,
        Self::SubscriptionPaused,
        Self::CallType,
        Self::Visibility,
        Self::NdaMissing,
        Self::NdaExpired,
        Self::Region,
        Self::Language,
        Self::Trl,
        Self::BelowMinScore,
    ];

    /// Stable snake_case code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::AlreadyMatched => "already_matched",
            Self::DataPolicy => "data_policy",
            Self::IntakeNotOpen => "intake_not_open",
            Self::NoCapacity => "no_capacity",
            Self::PeriodAfterDeadline => "period_after_deadline",
            Self::PartnerInactive => "partner_inactive",
            Self::SubscriptionPaused => "subscription_paused",
            Self::CallType => "call_type",
            Self::Visibility => "visibility",
            Self::NdaMissing => "nda_missing",
            Self::NdaExpired => "nda_expired",
            Self::Region => "region",
            Self::Language => "language",
            Self::Trl => "trl",
            Self::BelowMinScore => "below_min_score",
        }
    }
}

/// Candidates that shared a topic but failed a filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// How many candidates failed on each filter.
    pub counts: BTreeMap<Filter, usize>,
    /// The first few, with the entry and a sentence (at most `Exclusions::MAX_EXAMPLES`).
    pub examples: Vec<Excluded>,
}

/// One excluded candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Excluded {
    /// `chalmers:TEK902` or `partner-002`.
    pub entry: String,
    /// The filter it failed.
    pub filter: Filter,
    /// What exactly, e.g. "NDA expired 2026-11-20".
    pub detail: String,
}

impl Exclusions {
    /// Examples kept; counts are always complete for the candidates evaluated.
    pub(crate) const MAX_EXAMPLES: usize = 20;

    /// Keeps `example()` as an example unless enough are kept; counting is the caller's.
    pub(super) fn add_example(
        &mut self,
        filter: Filter,
        example: impl FnOnce() -> (String, String),
    ) {
        if self.examples.len() < Self::MAX_EXAMPLES {
            let (entry, detail) = example();
            self.examples.push(Excluded {
                entry,
                filter,
                detail,
            });
        }
    }

    /// The exclusion of `entry`, if it was one of the examples.
    #[must_use]
    pub fn of(&self, entry: &str) -> Option<&Excluded> {
        self.examples.iter().find(|e| e.entry == entry)
    }

    /// Total excluded candidates.
    #[must_use]
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// A sentence listing the examples, e.g. `chalmers:TEK902 (case intake closed); …`.
    #[must_use]
    pub fn summary(&self) -> String {
        let shown: Vec<String> = self
            .examples
            .iter()
            .map(|e| format!("{} ({})", e.entry, e.detail))
            .collect();
        let hidden = self.total().saturating_sub(self.examples.len());
        let mut text = shown.join("; ");
        if hidden > 0 {
            text.push_str(&format!("; and {hidden} more"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_table_is_in_discriminant_order_with_distinct_codes() {
        for (index, filter) in Filter::ALL.iter().enumerate() {
            assert_eq!(*filter as usize, index);
        }
        let codes: std::collections::BTreeSet<_> = Filter::ALL.iter().map(|f| f.code()).collect();
        assert_eq!(codes.len(), Filter::COUNT);
    }
}
