//! Time as an injected dependency, and the Swedish calendar date of an instant.
//!
//! Matching filters on intake windows, deadlines and NDA expiry, reconciliation on respond-by,
//! the PII guard on "birth date not in the future": all would drift with the calendar if they
//! read the system clock. The pure functions take `today` / `now` as arguments; the service
//! passes [`SystemClock`], tests and the demo a [`FixedClock`] at the sample data's reference
//! date, so their results never change.
//!
//! Contract dates are calendar dates in Europe/Stockholm. Without a time-zone database,
//! `stockholm_date` applies the EU rule Sweden follows: UTC+1, and UTC+2 from 01:00 UTC on
//! the last Sunday of March to 01:00 UTC on the last Sunday of October.

use std::sync::Arc;

use time::macros::{date, time};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset, Weekday};

/// The reference date of the sample data (`_meta.referenceDate`).
pub const REFERENCE_DATE: Date = date!(2026 - 11 - 22);

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;

    /// Today's date in Europe/Stockholm.
    fn today(&self) -> Date {
        stockholm_date(self.now())
    }
}

/// Shared handle to a clock.
pub(crate) type SharedClock = Arc<dyn Clock>;

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always says the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedClock(pub OffsetDateTime);

impl FixedClock {
    /// 09:00 Stockholm time (08:00 UTC in winter) on `day`.
    #[must_use]
    pub fn on(day: Date) -> Self {
        Self(PrimitiveDateTime::new(day, time!(08:00)).assume_utc())
    }

    /// Noon UTC on `day`.
    #[must_use]
    pub fn at_noon(day: Date) -> Self {
        Self(PrimitiveDateTime::new(day, time!(12:00)).assume_utc())
    }

    /// The sample data's reference date, [`REFERENCE_DATE`].
    #[must_use]
    pub fn reference() -> Self {
        Self::on(REFERENCE_DATE)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// The calendar date in Europe/Stockholm at instant `now`.
#[must_use]
pub(crate) fn stockholm_date(now: OffsetDateTime) -> Date {
    let utc = now.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let summer_starts = switch_instant(year, Month::March);
    let summer_ends = switch_instant(year, Month::October);
    let hours = if summer_starts <= utc && utc < summer_ends {
        2
    } else {
        1
    };
    let offset = UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC);
    utc.to_offset(offset).date()
}

/// 01:00 UTC on the last Sunday of `month` in `year`.
fn switch_instant(year: i32, month: Month) -> OffsetDateTime {
    let last = Date::from_calendar_date(year, month, month.length(year)).unwrap_or(Date::MIN);
    let sunday = if last.weekday() == Weekday::Sunday {
        last
    } else {
        last.prev_occurrence(Weekday::Sunday)
    };
    PrimitiveDateTime::new(sunday, time!(01:00)).assume_utc()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn winter_evening_utc_is_already_tomorrow_in_stockholm() {
        assert_eq!(
            stockholm_date(datetime!(2026-11-22 23:30 UTC)),
            date!(2026 - 11 - 23)
        );
        assert_eq!(
            stockholm_date(datetime!(2026-11-22 22:59 UTC)),
            date!(2026 - 11 - 22)
        );
    }

    #[test]
    fn summer_time_is_two_hours_ahead() {
        assert_eq!(
            stockholm_date(datetime!(2027-06-04 22:00 UTC)),
            date!(2027 - 06 - 05)
        );
        assert_eq!(
            stockholm_date(datetime!(2027-06-04 21:59 UTC)),
            date!(2027 - 06 - 04)
        );
    }

    #[test]
    fn switch_days_follow_the_eu_rule() {
        assert_eq!(
            switch_instant(2026, Month::March),
            datetime!(2026-03-29 01:00 UTC)
        );
        assert_eq!(
            switch_instant(2026, Month::October),
            datetime!(2026-10-25 01:00 UTC)
        );
    }

    #[test]
    fn fixed_clock_reports_the_reference_date() {
        assert_eq!(FixedClock::reference().today(), REFERENCE_DATE);
    }
}
