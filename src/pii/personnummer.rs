//! Personnummer and samordningsnummer detection.
//!
//! Patient identifiers are the most sensitive thing care staff paste into a
//! need, so this detector follows Skatteverket's rules closely:
//!
//! * forms `YYMMDD-NNNC`, `YYMMDD+NNNC`, `YYMMDDNNNC`, `YYYYMMDDNNNC`,
//!   `YYYYMMDD-NNNC`, with a single space around the separator (or a single
//!   space instead of it), as read in the normalised view (any dash, any
//!   whitespace run, invisible characters and non-ASCII digits included);
//! * the Luhn check over the 10-digit form;
//! * a real, non-future date. For 10-digit forms the century is the most recent
//!   one that is not in the future, 100 years earlier with `+`. The date is
//!   computed against an injected `today`, never the system clock.
//! * samordningsnummer: day + 60; following Skatteverket's own test data,
//!   month `00` and day `60` (unknown) and day 89–91 in short months are
//!   accepted rather than risk missing a real one.
//!
//! Organisationsnummer can never match: their digit 3 is ≥ 2, giving month ≥ 20.
//! Twelve-digit forms must have a year from 1800 on, which rules out `16…`
//! organisationsnummer and long article numbers.

use crate::text::luhn_valid;
use time::Date;

use super::finding::{Candidate, PiiKind};
use super::text::{Grouping, Sign, number, read_run, read_sep, right_ok};

/// Earliest birth year accepted for a 12-digit form.
const MIN_YEAR: i32 = 1800;

/// The digits of one candidate, split into date and serial part.
struct Parts {
    /// `YYMMDD` or `YYYYMMDD`.
    date: [u8; 8],
    date_len: usize,
    /// `NNNC`.
    serial: [u8; 4],
    sign: Sign,
    end: usize,
}

impl Parts {
    fn date(&self) -> &[u8] {
        &self.date[..self.date_len]
    }

    /// The 10-digit form the Luhn check runs over.
    fn ten_digits(&self) -> [u8; 10] {
        let mut ten = [0u8; 10];
        ten[..6].copy_from_slice(&self.date()[self.date_len - 6..]);
        ten[6..].copy_from_slice(&self.serial);
        ten
    }
}

/// Tries to read a personnummer or samordningsnummer starting at `start`
/// (which the caller has checked to be a valid left boundary).
pub(crate) fn match_at(text: &str, start: usize, today: Date) -> Option<Candidate> {
    let parts = split(text, start)?;
    if !right_ok(text, parts.end) {
        return None;
    }
    let (kind, normalized) = classify(&parts, today)?;
    Some(Candidate {
        kind,
        start,
        end: parts.end,
        normalized,
    })
}

/// Splits the digits at `start` into date and serial, following the
/// accepted written forms.
fn split(text: &str, start: usize) -> Option<Parts> {
    let first = read_run(text, start);
    let mut parts = Parts {
        date: [0; 8],
        date_len: 0,
        serial: [0; 4],
        sign: Sign::Dash,
        end: 0,
    };
    let digits = first.digits();
    match first.count {
        10 | 12 => {
            parts.date_len = first.count - 4;
            parts.serial.copy_from_slice(&digits[parts.date_len..]);
            parts.end = first.end;
        }
        6 | 8 => {
            let (after_sep, sign) = read_sep(text, first.end, Grouping::Identity)?;
            let second = read_run(text, after_sep);
            if second.count != 4 {
                return None;
            }
            parts.date_len = first.count;
            parts.serial.copy_from_slice(second.digits());
            parts.sign = sign;
            parts.end = second.end;
        }
        _ => return None,
    }
    parts.date[..parts.date_len].copy_from_slice(&digits[..parts.date_len]);
    Some(parts)
}

/// Checks Luhn and the birth date; returns the kind and the 12-digit form.
fn classify(parts: &Parts, today: Date) -> Option<(PiiKind, String)> {
    let ten = parts.ten_digits();
    if !luhn_valid(&ten) {
        return None;
    }
    let month = number(&ten[2..4]);
    let raw_day = number(&ten[4..6]);
    let written_year = match parts.date_len {
        8 => Year::Full(i32::from(number(&parts.date()[..4]))),
        _ => Year::TwoDigit(i32::from(number(&ten[..2])), parts.sign == Sign::Plus),
    };
    let (kind, year) = birth_date(written_year, month, raw_day, today)?;
    let serial = parts
        .serial
        .iter()
        .fold(String::with_capacity(4), |mut s, d| {
            s.push(char::from(b'0' + d));
            s
        });
    Some((kind, format!("{year:04}{month:02}{raw_day:02}{serial}")))
}

/// The year as written.
#[derive(Clone, Copy, Debug)]
enum Year {
    /// `YYYY`.
    Full(i32),
    /// `YY`, and whether the separator was `+` (aged 100 or more).
    TwoDigit(i32, bool),
}

/// Validates month and day (raw, i.e. +60 for samordningsnummer), resolves the
/// century and rejects future dates. Returns the kind and the full year.
fn birth_date(year: Year, month: u16, raw_day: u16, today: Date) -> Option<(PiiKind, i32)> {
    let (kind, day) = match raw_day {
        60..=91 => (PiiKind::Samordningsnummer, raw_day - 60),
        _ => (PiiKind::Personnummer, raw_day),
    };
    let month_ok = match kind {
        PiiKind::Samordningsnummer => month <= 12,
        _ => (1..=12).contains(&month) && day >= 1,
    };
    if !month_ok {
        return None;
    }
    let full_year = resolve_year(year, month, day, today)?;
    let max_day = match kind {
        PiiKind::Samordningsnummer => 31,
        _ => days_in_month(full_year, month),
    };
    if day > max_day || is_future(full_year, month, day, today) {
        return None;
    }
    Some((kind, full_year))
}

/// Century inference: the most recent year not in the future, minus 100 with `+`.
fn resolve_year(year: Year, month: u16, day: u16, today: Date) -> Option<i32> {
    match year {
        Year::Full(y) => (y >= MIN_YEAR).then_some(y),
        Year::TwoDigit(yy, plus) => {
            let this_year = today.year();
            let mut y = this_year - (this_year - yy).rem_euclid(100);
            if is_future(y, month, day, today) {
                y -= 100;
            }
            Some(if plus { y - 100 } else { y })
        }
    }
}

/// Whether the (possibly partly unknown, i.e. 0) date lies after `today`.
/// Unknown parts count as their earliest value.
fn is_future(year: i32, month: u16, day: u16, today: Date) -> bool {
    let date = (year, month.max(1), day.max(1));
    date > (
        today.year(),
        u16::from(u8::from(today.month())),
        u16::from(today.day()),
    )
}

fn days_in_month(year: i32, month: u16) -> u16 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::super::view::View;
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 22);

    /// Detects at the start of `text`'s view; the end is in `text`.
    fn found(text: &str) -> Option<(PiiKind, String, usize)> {
        let view = View::new(text);
        let c = match_at(view.as_str(), 0, TODAY)?;
        Some((c.kind, c.normalized, view.original_span(c.start, c.end).1))
    }

    #[test]
    fn luhn_on_skatteverket_test_numbers() {
        assert!(luhn_valid(&[8, 5, 0, 5, 2, 2, 9, 8, 9, 1]));
        assert!(luhn_valid(&[7, 8, 1, 1, 8, 6, 2, 3, 9, 5]));
        assert!(!luhn_valid(&[8, 5, 0, 5, 2, 2, 9, 8, 9, 2]));
        // Region VGR's organisationsnummer is Luhn-valid too (told apart by month).
        assert!(luhn_valid(&[2, 3, 2, 1, 0, 0, 0, 1, 3, 1]));
    }

    #[test]
    fn all_written_forms() {
        let pnr = (PiiKind::Personnummer, String::from("198505229891"));
        for text in [
            "850522-9891",
            "8505229891",
            "198505229891",
            "19850522-9891",
            "850522 9891",
        ] {
            let (kind, norm, end) = found(text).unwrap_or_else(|| panic!("missed {text}"));
            assert_eq!((kind, norm), pnr.clone(), "{text}");
            assert_eq!(end, text.len());
        }
        for text in [
            "850522–9891",
            "850522 — 9891",
            "850522 −9891",
            "850522‑ 9891",
            "850522\t9891",
            "850522\n9891",
            "850522 \u{a0}\t- \u{2009}9891",
            "8505\u{200b}22-98\u{ad}91",
            "\u{661}\u{669}\u{668}\u{665}\u{660}\u{665}\u{662}\u{662}\u{669}\u{668}\u{669}\u{661}",
            "８５０５２２－９８９１",
        ] {
            let (kind, norm, end) = found(text).unwrap_or_else(|| panic!("missed {text:?}"));
            assert_eq!((kind, norm), pnr.clone(), "{text:?}");
            assert_eq!(end, text.len(), "{text:?}");
        }
    }

    #[test]
    fn plus_shifts_the_century() {
        let plus = found("200101+1564").map(|f| f.1);
        assert_eq!(plus.as_deref(), Some("192001011564"));
        let dash = found("200101-1564").map(|f| f.1);
        assert_eq!(dash.as_deref(), Some("202001011564"));
        assert!(found("192001011564").is_some());
        assert!(found("19200101-1564").is_some());
    }

    #[test]
    fn samordningsnummer() {
        let (kind, norm, _) = found("781186-2395").unwrap_or_else(|| panic!("missed"));
        assert_eq!(kind, PiiKind::Samordningsnummer);
        assert_eq!(norm, "197811862395");
        assert!(found("197811862395").is_some());
    }

    #[test]
    fn luhn_invalid_and_partial_forms_are_ignored() {
        for text in [
            "850522-9892",
            "850522-989",
            "850522--9891",
            "85052-29891",
            "8505229891x",
        ] {
            assert!(found(text).is_none(), "{text}");
        }
    }

    #[test]
    fn future_dates_are_rejected() {
        let before_birth = date!(1985 - 05 - 01);
        assert!(match_at("198505229891", 0, before_birth).is_none());
        // The 10-digit form then reads as 1885, which is in the past.
        let c = match_at("850522-9891", 0, before_birth).map(|c| c.normalized);
        assert_eq!(c.as_deref(), Some("188505229891"));
    }

    #[test]
    fn organisationsnummer_never_match() {
        for text in [
            "232100-0131",
            "2321000131",
            "162321000131",
            "552901-0174",
            "16552901-0174",
        ] {
            assert!(found(text).is_none(), "{text}");
        }
    }

    #[test]
    fn calendar_rules() {
        use PiiKind::{Personnummer as P, Samordningsnummer as S};
        let y = |v| Year::Full(v);
        assert_eq!(birth_date(y(2000), 2, 29, TODAY), Some((P, 2000)));
        assert_eq!(birth_date(y(1900), 2, 29, TODAY), None);
        assert_eq!(birth_date(y(1985), 4, 31, TODAY), None);
        assert_eq!(birth_date(y(1985), 13, 1, TODAY), None);
        assert_eq!(birth_date(y(1985), 0, 1, TODAY), None);
        assert_eq!(birth_date(y(1985), 5, 0, TODAY), None);
        assert_eq!(birth_date(y(1985), 5, 45, TODAY), None);
        // Samordningsnummer: unknown month/day and day 89–91 in short months.
        assert_eq!(birth_date(y(1985), 0, 60, TODAY), Some((S, 1985)));
        assert_eq!(birth_date(y(1985), 2, 91, TODAY), Some((S, 1985)));
        assert_eq!(birth_date(y(1985), 2, 92, TODAY), None);
        assert_eq!(birth_date(y(1799), 1, 1, TODAY), None);
        assert_eq!(birth_date(y(2026), 11, 23, TODAY), None);
        assert_eq!(birth_date(y(2026), 11, 22, TODAY), Some((P, 2026)));
    }

    #[test]
    fn two_digit_years_pick_the_latest_past_century() {
        assert_eq!(
            resolve_year(Year::TwoDigit(26, false), 11, 22, TODAY),
            Some(2026)
        );
        assert_eq!(
            resolve_year(Year::TwoDigit(26, false), 11, 23, TODAY),
            Some(1926)
        );
        assert_eq!(
            resolve_year(Year::TwoDigit(27, false), 1, 1, TODAY),
            Some(1927)
        );
        assert_eq!(
            resolve_year(Year::TwoDigit(0, true), 1, 1, TODAY),
            Some(1900)
        );
    }
}
