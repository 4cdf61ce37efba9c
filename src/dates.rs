//! Contract dates and academic periods, for every module that reads or writes them.
//!
//! The catalogue parses course and partner dates, matching and routing quote them in reasons
//! and calls, reconciliation writes a need's respond-by date. They all speak the contract's
//! `YYYY-MM-DD` and the universities' study periods, so the helpers live here, below all of
//! them, rather than in one of the users (which made the others depend on it).

use time::Date;
use time::format_description::BorrowedFormatItem;
use time::macros::{date, format_description};

/// `YYYY-MM-DD`, the contract's `common.v1.json#/$defs/date`.
const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Day 0 of [`day_number`].
const EPOCH: Date = date!(2000 - 01 - 01);

/// Parses a contract date (`YYYY-MM-DD`); `None` when it is not one.
#[must_use]
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text, DATE_FORMAT).ok()
}

/// Formats a date the way the contract writes it (`YYYY-MM-DD`). Hand-rolled: reasons
/// quote many dates, and this is several times cheaper than a format description.
#[must_use]
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A date as a saturating day number since 2000-01-01 (before 2000 is day 0, after 2179 the
/// last day): small enough to copy into every index posting, enough for catalogue dates.
#[must_use]
pub(crate) fn day_number(date: Date) -> u16 {
    let days = (date - EPOCH).whole_days().clamp(0, i64::from(u16::MAX));
    u16::try_from(days).unwrap_or(u16::MAX)
}

/// The date of a day number, for numbers [`day_number`] did not saturate (`1..u16::MAX`):
/// `None` for 0 and `u16::MAX`, which stand for more than one date.
#[must_use]
pub(crate) fn date_of_day(day: u16) -> Option<Date> {
    (day != 0 && day != u16::MAX).then(|| EPOCH + time::Duration::days(i64::from(day)))
}

/// The study period `LP3` and `P3` both name: 3 (universities normalise to P1–P4; Chalmers
/// uses LP1–LP4). `None` for anything else.
#[must_use]
pub(crate) fn period_number(period: &str) -> Option<u8> {
    let digits = period
        .strip_prefix("LP")
        .or_else(|| period.strip_prefix('P'))?;
    digits.parse::<u8>().ok().filter(|n| (1..=4).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_saturate() {
        assert_eq!(day_number(date!(2000 - 01 - 01)), 0);
        assert_eq!(day_number(date!(1999 - 12 - 31)), 0);
        assert_eq!(day_number(date!(2000 - 01 - 02)), 1);
        assert_eq!(day_number(date!(2400 - 01 - 01)), u16::MAX);
        assert!(day_number(date!(2026 - 11 - 22)) < day_number(date!(2026 - 11 - 23)));
        let day = day_number(date!(2026 - 11 - 22));
        assert_eq!(date_of_day(day), Some(date!(2026 - 11 - 22)));
        assert_eq!(date_of_day(0), None);
        assert_eq!(date_of_day(u16::MAX), None);
    }

    #[test]
    fn dates_round_trip_in_contract_form() {
        let day = parse_date("2026-03-09");
        assert_eq!(day, Some(date!(2026 - 03 - 09)));
        assert_eq!(day.map(format_date).as_deref(), Some("2026-03-09"));
        assert_eq!(parse_date("2026-3-9"), None);
    }

    #[test]
    fn both_period_spellings_count() {
        assert_eq!(period_number("LP3"), Some(3));
        assert_eq!(period_number("P1"), Some(1));
        assert_eq!(period_number("P5"), None);
        assert_eq!(period_number("HT"), None);
    }
}
