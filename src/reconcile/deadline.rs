//! The answer window: when a `respondBy` date ends, and which date a stored instant means.
//!
//! The contract's `respondBy` is a calendar date in Europe/Stockholm (`common.v1.json` dates):
//! the last day answers are taken. The store keeps an instant instead
//! ([`Need::respond_by`]), so that the close timer's query is one indexed comparison.
//!
//! - [`closes_at`] is the instant to store: the end of the day in Stockholm, so that
//!   `Store::needs_due(now)` returns a need exactly when its window has ended.
//! - [`respond_by_date`] reads a stored instant back as the date. It accepts both the end of
//!   the day in Stockholm and its start in UTC (`date.midnight().assume_utc()`), so a need
//!   stored either way keeps the same deadline and the same `respondBy` in its status.
//! - [`window_end`] is what every rule compares with: the end of that date.

use time::macros::offset;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::clock::stockholm_date;
use crate::need::Need;

/// The first instant after `respond_by` in Swedish time: midnight in Stockholm at the start of
/// the next day, in UTC.
#[must_use]
pub fn closes_at(respond_by: Date) -> OffsetDateTime {
    let next = respond_by.next_day().unwrap_or(respond_by);
    // Sweden switches at 01:00 UTC, so local midnight is never ambiguous: it is 22:00 UTC in
    // summer time and 23:00 UTC otherwise.
    let summer = next.midnight().assume_offset(offset!(+2));
    let start = if stockholm_date(summer) == next {
        summer
    } else {
        next.midnight().assume_offset(offset!(+1))
    };
    start.to_offset(UtcOffset::UTC)
}

/// The `respondBy` date a stored instant stands for: the Stockholm day of the instant just
/// before it.
#[must_use]
pub fn respond_by_date(stored: OffsetDateTime) -> Date {
    stockholm_date(stored.checked_sub(Duration::NANOSECOND).unwrap_or(stored))
}

/// When the need's answer window ends; `None` when it has no respond-by date.
#[must_use]
pub(crate) fn window_end(need: &Need) -> Option<OffsetDateTime> {
    need.respond_by
        .map(|stored| closes_at(respond_by_date(stored)))
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn a_day_ends_at_stockholm_midnight() {
        assert_eq!(
            closes_at(date!(2026 - 11 - 27)),
            datetime!(2026-11-27 23:00 UTC)
        );
        assert_eq!(
            closes_at(date!(2026 - 06 - 15)),
            datetime!(2026-06-15 22:00 UTC)
        );
        // The nights of the switches: into summer time on 29 March, out on 25 October 2026.
        assert_eq!(
            closes_at(date!(2026 - 03 - 28)),
            datetime!(2026-03-28 23:00 UTC)
        );
        assert_eq!(
            closes_at(date!(2026 - 03 - 29)),
            datetime!(2026-03-29 22:00 UTC)
        );
        assert_eq!(
            closes_at(date!(2026 - 10 - 24)),
            datetime!(2026-10-24 22:00 UTC)
        );
        assert_eq!(
            closes_at(date!(2026 - 10 - 25)),
            datetime!(2026-10-25 23:00 UTC)
        );
    }

    #[test]
    fn both_storage_conventions_read_back_as_the_same_date() {
        let mut day = date!(2026 - 01 - 01);
        while day < date!(2027 - 12 - 31) {
            assert_eq!(respond_by_date(closes_at(day)), day, "end of {day}");
            assert_eq!(
                respond_by_date(day.midnight().assume_utc()),
                day,
                "start of {day}"
            );
            day = day.next_day().unwrap();
        }
    }
}
