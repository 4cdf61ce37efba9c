//! [`Digest`]: an entry's filter facts in 10 bytes, copied into each of its postings.
//!
//! Most candidates a popular topic brings in fail a hard filter (intake closed, NDA expired,
//! wrong call type …). Reading the entry to find out costs a cache miss or two per candidate,
//! which at 100,000 entries is most of the matching time. The digest answers the common
//! filters from the posting itself, so only candidates that can still pass touch their entry.
//!
//! The matcher's filters *read* these facts (one implementation, no second copy of the
//! rules); the entry itself is read only for what a digest cannot hold (the instances of a
//! course with several open intakes, partner regions, already-known matches, text). A
//! course with exactly one open intake carries that instance's facts: its window, capacity,
//! periods and first period end.
//!
//! Dates are day numbers since 2000-01-01 in a `u16` (saturating: before 2000 is day 0,
//! after 2179 is the last day), enough for catalogue dates.

use super::entries::InstancePlan;
use super::model::{
    Course, DataPolicy, IntakeStatus, LanguageCode, Partner, PartnerStatus, Visibility,
};
use crate::dates::day_number;

/// The call types of the contract, in bit order (`common.v1.json#/$defs/callType`).
pub(crate) const CALL_TYPES: [&str; 5] = [
    "open_innovation_call",
    "market_dialogue",
    "procurement_notice",
    "testbed_offer",
    "research_collaboration",
];

/// Filter facts of one entry; see the module docs. Courses and partners use the fields
/// differently, through the accessors below.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Digest {
    flags: u16,
    days: [u16; 4],
}

/// A course's only instance with an open intake ([`Digest::one_open_instance`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenInstance {
    /// Its index among the course's instances.
    pub index: usize,
    /// It has a case left.
    pub case_left: bool,
    /// Its study periods (bit n = period n).
    pub periods: u8,
    /// The day number its first study period ends.
    pub first_period_end: u16,
}

// Course flags.
const POLICY_PUBLIC: u16 = 1 << 0;
const POLICY_NDA: u16 = 1 << 1;
const TAUGHT_SV: u16 = 1 << 2;
const TAUGHT_EN: u16 = 1 << 3;
/// Bits 4..=8: study periods 1..=4 of the instances with an open intake (bit 4 unused).
const PERIOD_SHIFT: u16 = 4;
/// Exactly one instance has an open intake: the days are that instance's own.
const ONE_OPEN: u16 = 1 << 9;
/// That one instance has a case left.
const CASE_LEFT: u16 = 1 << 10;

// Partner flags.
const ACTIVE: u16 = 1 << 0;
const SEES_PUBLIC: u16 = 1 << 1;
const SEES_NDA: u16 = 1 << 2;
const SPEAKS_SV: u16 = 1 << 3;
const SPEAKS_EN: u16 = 1 << 4;
const NDA_SIGNED: u16 = 1 << 5;
/// Bits 6..=10: subscribed call types, in [`CALL_TYPES`] order.
const CALL_SHIFT: u16 = 6;

impl Digest {
    /// The digest of a course and its instance plans.
    #[must_use]
    pub(crate) fn course(course: &Course, plans: &[InstancePlan]) -> Self {
        let cases = &course.external_cases;
        let mut flags = 0;
        if cases.accepts && cases.data_policy != DataPolicy::NotApplicable {
            flags |= POLICY_PUBLIC;
            if cases.nda_possible || cases.data_policy != DataPolicy::NoPersonalData {
                flags |= POLICY_NDA;
            }
        }
        for language in &course.language_of_instruction {
            flags |= match language {
                LanguageCode::Sv => TAUGHT_SV,
                LanguageCode::En => TAUGHT_EN,
            };
        }
        let mut days = [u16::MAX, 0, u16::MAX, 0];
        let open = course.instances.iter().zip(plans).enumerate().filter_map(
            |(index, (instance, plan))| {
                let intake = instance.case_intake.as_ref()?;
                (intake.status == IntakeStatus::Open).then_some((index, (intake, plan)))
            },
        );
        let mut open_count = 0;
        for (index, (intake, plan)) in open {
            open_count += 1;
            flags |= u16::from(plan.periods) << PERIOD_SHIFT;
            days[0] = days[0].min(day_number(intake.opens_at));
            days[1] = days[1].max(day_number(intake.deadline));
            days[2] = days[2].min(day_number(plan.first_period_end));
            // The one open instance's own facts; meaningless, and unset below, with several.
            days[3] = u16::try_from(index).unwrap_or(u16::MAX);
            if intake.cases_accepted < intake.max_cases.min(cases.max_cases_per_instance) {
                flags |= CASE_LEFT;
            }
        }
        if open_count == 1 && days[3] != u16::MAX {
            flags |= ONE_OPEN;
        } else {
            flags &= !CASE_LEFT;
            days[3] = 0;
        }
        Self { flags, days }
    }

    /// The course's data policy fits a need of this visibility.
    #[must_use]
    pub(crate) fn policy_fits(self, visibility: Visibility) -> bool {
        match visibility {
            Visibility::Internal => false,
            Visibility::Public => self.flags & POLICY_PUBLIC != 0,
            Visibility::PartnersNda => self.flags & POLICY_NDA != 0,
        }
    }

    /// Some instance's open intake window may contain `today`: `today` lies between the
    /// earliest opening and the latest deadline of the open intakes. `false` proves that no
    /// intake is open today.
    #[must_use]
    pub(crate) fn intake_may_be_open(self, today: u16) -> bool {
        self.days[0] <= today && today <= self.days[1]
    }

    /// The course is taught in `language`.
    #[must_use]
    pub(crate) fn taught_in(self, language: LanguageCode) -> bool {
        let bit = match language {
            LanguageCode::Sv => TAUGHT_SV,
            LanguageCode::En => TAUGHT_EN,
        };
        self.flags & bit != 0
    }

    /// The course's one instance with an open intake, when it has exactly one; its intake
    /// window is the one [`Digest::intake_may_be_open`] tests, exactly.
    #[must_use]
    pub(crate) fn one_open_instance(self) -> Option<OpenInstance> {
        (self.flags & ONE_OPEN != 0).then_some(OpenInstance {
            index: usize::from(self.days[3]),
            case_left: self.flags & CASE_LEFT != 0,
            periods: self.open_periods(),
            first_period_end: self.days[2],
        })
    }

    /// Study periods (bit n = period n) of the instances with an open intake.
    #[must_use]
    pub(crate) fn open_periods(self) -> u8 {
        u8::try_from((self.flags >> PERIOD_SHIFT) & 0x1f).unwrap_or(0)
    }

    /// The digest of a partner.
    #[must_use]
    pub(crate) fn partner(partner: &Partner) -> Self {
        let subscription = &partner.subscription;
        let mut flags = 0;
        if partner.status == PartnerStatus::Active && subscription.active {
            flags |= ACTIVE;
        }
        for visibility in &subscription.visibility_levels {
            flags |= match visibility {
                Visibility::Public => SEES_PUBLIC,
                Visibility::PartnersNda => SEES_NDA,
                Visibility::Internal => 0,
            };
        }
        for language in &subscription.languages {
            flags |= match language {
                LanguageCode::Sv => SPEAKS_SV,
                LanguageCode::En => SPEAKS_EN,
            };
        }
        if subscription.languages.is_empty() {
            flags |= SPEAKS_SV | SPEAKS_EN;
        }
        if partner.nda.signed {
            flags |= NDA_SIGNED;
        }
        for (bit, call_type) in CALL_TYPES.iter().enumerate() {
            if subscription.call_types.iter().any(|c| c == call_type) {
                flags |= 1 << (CALL_SHIFT + bit as u16);
            }
        }
        let days = [
            subscription.paused_until.map_or(0, day_number),
            partner.nda.expires.map_or(u16::MAX, day_number),
            u16::from(subscription.trl_min.unwrap_or(1)),
            u16::from(partner.product_maturity_trl.unwrap_or(0)),
        ];
        Self { flags, days }
    }

    /// Registry status and subscription are active.
    #[must_use]
    pub(crate) fn active(self) -> bool {
        self.flags & ACTIVE != 0
    }

    /// The subscription is paused on `today` (through its `pausedUntil` day).
    #[must_use]
    pub(crate) fn paused_on(self, today: u16) -> bool {
        self.days[0] != 0 && today <= self.days[0]
    }

    /// The subscription includes the call type at `index` of [`CALL_TYPES`].
    #[must_use]
    pub(crate) fn subscribes_to_call(self, index: usize) -> bool {
        index < CALL_TYPES.len() && self.flags & (1 << (CALL_SHIFT + index as u16)) != 0
    }

    /// The subscription accepts needs of this visibility.
    #[must_use]
    pub(crate) fn accepts(self, visibility: Visibility) -> bool {
        match visibility {
            Visibility::Internal => false,
            Visibility::Public => self.flags & SEES_PUBLIC != 0,
            Visibility::PartnersNda => self.flags & SEES_NDA != 0,
        }
    }

    /// An NDA is signed (valid or not).
    #[must_use]
    pub(crate) fn nda_signed(self) -> bool {
        self.flags & NDA_SIGNED != 0
    }

    /// The NDA is signed and valid on `today` (through its `expires` day).
    #[must_use]
    pub(crate) fn nda_valid_on(self, today: u16) -> bool {
        self.nda_signed() && today <= self.days[1]
    }

    /// The subscription takes calls in `language`.
    #[must_use]
    pub(crate) fn speaks(self, language: LanguageCode) -> bool {
        let bit = match language {
            LanguageCode::Sv => SPEAKS_SV,
            LanguageCode::En => SPEAKS_EN,
        };
        self.flags & bit != 0
    }

    /// Lowest TRL the partner wants calls for (1 when any).
    #[must_use]
    pub(crate) fn trl_min(self) -> u16 {
        self.days[2]
    }

    /// The product's TRL, `None` for services.
    #[must_use]
    pub(crate) fn product_trl(self) -> Option<u8> {
        u8::try_from(self.days[3]).ok().filter(|&trl| trl > 0)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn an_empty_course_digest_proves_no_intake() {
        let digest = Digest::default();
        assert!(!digest.policy_fits(Visibility::Public));
        let course = Digest {
            flags: 0,
            days: [u16::MAX, 0, u16::MAX, 0],
        };
        assert!(!course.intake_may_be_open(day_number(date!(2026 - 11 - 22))));
    }
}
