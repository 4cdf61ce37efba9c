//! Swedish phone number detection.
//!
//! Staff write their own (or a patient's) number into needs: `070-174 06 05`,
//! `+46 (0)70-174 06 05`, `0046701740605`, `031-123 45 67`, `(08) 123 456 78`,
//! `070.174.06.05`, `08/123 456 78`, `46 70 174 06 05`. The detector reads a
//! prefix (`+46`, `0046`, a bare `46`, trunk `0`, or `(0…)` area code) and then
//! digit groups separated by a single space, dash, `.` or `/`, and accepts the
//! longest group boundary that yields 7–9 national significant digits (PTS:
//! "a leading zero plus 9 digits", older geographic numbers shorter).
//!
//! Ending only at group boundaries stops a phone number from eating the start
//! of a following number, and the national-digit limit stops it from taking
//! article numbers or orgnr-like runs. A separator is never allowed directly
//! after the national trunk `0` (no `0 1 2 3 …` lists, no `0.5`). Shapes that
//! read as something else are not phone numbers: `0D-MM-YYYY` (also with `.`
//! or `/`) is a date, `0H.MM` a clock time. A bare `46` without `+` is taken
//! only before exactly 9 national digits, the length of every mobile number,
//! so counts such as `46 1 200 000` stay unflagged.

use super::finding::{Candidate, PiiKind};
use super::text::{
    Grouping, Sign, char_at, digit_at, digit_value, is_plus, is_word, read_run, read_sep, right_ok,
};

/// Fewest national significant digits (after the trunk `0` / `+46`).
const MIN_NATIONAL: usize = 7;
/// Most national significant digits.
const MAX_NATIONAL: usize = 9;
/// Longest area code (after the trunk `0`) written in parentheses.
const MAX_AREA_CODE: usize = 3;
/// National digits after a bare `46` (no `+`): mobile numbers only.
const BARE_NATIONAL: usize = 9;
/// Largest minute in a `0H.MM` clock time.
const MAX_MINUTE: u16 = 59;

/// How the number was introduced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `0…`
    National,
    /// `(0…)` area code in parentheses.
    Paren,
    /// `+46…` or `0046…`
    International,
    /// `46…` without `+` or `00`.
    Bare,
}

/// Where the national significant digits begin.
struct Prefix {
    pos: usize,
    style: Style,
}

/// One digit group: its end, the running count of national digits and the
/// sign of the separator that follows it.
struct Group {
    end: usize,
    len: usize,
    total: usize,
    sep: Option<Sign>,
}

/// Tries to read a phone number starting at `start` (a valid left boundary).
pub(crate) fn match_at(text: &str, start: usize) -> Option<Candidate> {
    let prefix = read_prefix(text, start)?;
    let groups = read_groups(text, &prefix)?;
    if looks_like_date(text, &prefix, &groups) || looks_like_time(text, &prefix, &groups) {
        return None;
    }
    let national = match prefix.style {
        Style::Bare => BARE_NATIONAL..=BARE_NATIONAL,
        _ => MIN_NATIONAL..=MAX_NATIONAL,
    };
    let end = groups
        .iter()
        .rev()
        .filter(|g| national.contains(&g.total))
        .find(|g| right_ok(text, g.end))
        .map(|g| g.end)?;
    let national: String = text
        .get(prefix.pos..end)?
        .chars()
        .filter_map(digit_value)
        .map(|d| char::from(b'0' + d))
        .collect();
    Some(Candidate {
        kind: PiiKind::Phone,
        start,
        end,
        normalized: format!("+46{national}"),
    })
}

/// Consumes `expected` digits at `pos`, returning the position after them.
fn expect_digits(text: &str, pos: usize, expected: &[u8]) -> Option<usize> {
    expected
        .iter()
        .try_fold(pos, |p, &want| match digit_at(text, p) {
            Some((d, next)) if d == want => Some(next),
            _ => None,
        })
}

fn read_prefix(text: &str, start: usize) -> Option<Prefix> {
    let c = char_at(text, start)?;
    if is_plus(c) {
        let p = expect_digits(text, start + c.len_utf8(), &[4, 6])?;
        return Some(international_rest(text, p, Style::International));
    }
    if c == '(' {
        let pos = expect_digits(text, start + 1, &[0])?;
        return Some(Prefix {
            pos,
            style: Style::Paren,
        });
    }
    if let Some(p) = expect_digits(text, start, &[4, 6]) {
        return Some(international_rest(text, p, Style::Bare));
    }
    let pos = expect_digits(text, start, &[0])?;
    match expect_digits(text, pos, &[0, 4, 6]) {
        Some(p) => Some(international_rest(text, p, Style::International)),
        None => Some(Prefix {
            pos,
            style: Style::National,
        }),
    }
}

/// After `+46`/`0046`/`46`: optional separator, then an optional `(0)` or,
/// after `+46`/`0046`, a redundant trunk `0` (`+46 070…`, a common mistake).
/// A bare `46` takes no redundant `0`: `460…` is too often something else.
fn international_rest(text: &str, after_code: usize, style: Style) -> Prefix {
    let skip_sep = |p: usize| read_sep(text, p, Grouping::Phone).map_or(p, |(q, _)| q);
    let p = skip_sep(after_code);
    let pos = if text.get(p..).is_some_and(|s| s.starts_with("(0)")) {
        skip_sep(p + 3)
    } else if style == Style::Bare {
        p
    } else {
        expect_digits(text, p, &[0]).unwrap_or(p)
    };
    Prefix { pos, style }
}

/// Reads the national digit groups. The first digit must be 1–9.
fn read_groups(text: &str, prefix: &Prefix) -> Option<Vec<Group>> {
    if !matches!(digit_at(text, prefix.pos), Some((1..=9, _))) {
        return None;
    }
    let mut groups: Vec<Group> = Vec::with_capacity(6);
    let mut pos = prefix.pos;
    let mut total = 0;
    loop {
        let run = read_run(text, pos);
        total += run.count;
        if run.count == 0 || total > MAX_NATIONAL {
            break;
        }
        let (next, sep) = if prefix.style == Style::Paren && groups.is_empty() {
            // Swedish area codes have 1–3 digits after the trunk 0.
            if run.count > MAX_AREA_CODE {
                return None;
            }
            let closed = (char_at(text, run.end) == Some(')')).then_some(run.end + 1)?;
            read_sep(text, closed, Grouping::Phone).map_or((closed, None), |(q, s)| (q, Some(s)))
        } else {
            match read_sep(text, run.end, Grouping::Phone) {
                Some((q, s)) => (q, Some(s)),
                // Glued to a word (`…05x`): a code, not a phone number.
                None if char_at(text, run.end).is_some_and(is_word) => return None,
                None => (run.end, None),
            }
        };
        groups.push(Group {
            end: run.end,
            len: run.count,
            total,
            sep,
        });
        if digit_at(text, next).is_none() {
            break;
        }
        pos = next;
    }
    Some(groups)
}

/// `0D-MM-YYYY` (written groups 2, 2, 4 with a plausible month and year, with
/// any separator) is a date, even though `0D` + 7 digits would be a valid
/// number length; so is anything that starts like one (`03-11-2026 14:30`).
fn looks_like_date(text: &str, prefix: &Prefix, groups: &[Group]) -> bool {
    let [g0, g1, g2, ..] = groups else {
        return false;
    };
    if prefix.style != Style::National || (g0.len, g1.len, g2.len) != (1, 2, 4) {
        return false;
    }
    let month_start = g1.end - 2;
    let year_start = g2.end - 4;
    let month = text
        .get(month_start..g1.end)
        .and_then(|s| s.parse::<u8>().ok());
    let year = text
        .get(year_start..g2.end)
        .and_then(|s| s.parse::<u16>().ok());
    matches!((month, year), (Some(1..=12), Some(1900..=2099)))
}

/// `0H.MM` (one digit after the trunk `0`, a dot, two digits up to 59) is a
/// clock time (`kl. 07.30–08.45`), not the start of a phone number.
fn looks_like_time(text: &str, prefix: &Prefix, groups: &[Group]) -> bool {
    let [g0, g1, ..] = groups else {
        return false;
    };
    let minute = text
        .get(g1.end.saturating_sub(2)..g1.end)
        .and_then(|s| s.parse::<u16>().ok());
    prefix.style == Style::National
        && g0.len == 1
        && g0.sep == Some(Sign::Dot)
        && g1.len == 2
        && minute.is_some_and(|m| m <= MAX_MINUTE)
}

#[cfg(test)]
mod tests {
    use super::super::view::View;
    use super::*;

    /// Detects at the start of `text`'s view; the end is in `text`.
    fn found(text: &str) -> Option<(String, usize)> {
        let view = View::new(text);
        let c = match_at(view.as_str(), 0)?;
        Some((c.normalized, view.original_span(c.start, c.end).1))
    }

    #[test]
    fn mobile_forms() {
        for text in [
            "070-174 06 05",
            "070-1740605",
            "0701740605",
            "070 174 06 05",
            "070 – 174 06 05",
            "+46 70 174 06 05",
            "+46 (0)70-174 06 05",
            "+46(0)701740605",
            "+46 070-174 06 05",
            "+46701740605",
            "0046701740605",
            "0046 70 174 06 05",
            "070\u{2011}174\u{a0}06\u{a0}05",
            "070.174.06.05",
            "070/174 06 05",
            "070 / 174 06 05",
            "+46.70.174.06.05",
            "46 70 174 06 05",
            "46701740605",
            "46 (0)70-174 06 05",
            "070\t174\t06\t05",
            "070-174\n06  05",
            "07\u{200b}0-17\u{2060}4 06\u{feff} 05",
            "\u{6f0}\u{6f7}\u{6f0}\u{6f1}\u{6f7}\u{6f4}\u{6f0}\u{6f6}\u{6f0}\u{6f5}",
            "＋４６ ７０ １７４ ０６ ０５",
        ] {
            let (norm, end) = found(text).unwrap_or_else(|| panic!("missed {text}"));
            assert_eq!(norm, "+46701740605", "{text}");
            assert_eq!(end, text.len(), "{text}");
        }
    }

    #[test]
    fn geographic_forms() {
        assert_eq!(
            found("031-123 45 67").map(|f| f.0).as_deref(),
            Some("+46311234567")
        );
        assert_eq!(
            found("08-123 456 78").map(|f| f.0).as_deref(),
            Some("+46812345678")
        );
        assert_eq!(found("(031) 123 45 67").map(|f| f.1), Some(15));
        assert_eq!(found("08/123 456 78").map(|f| f.1), Some(13));
        assert_eq!(found("08.123 456 78").map(|f| f.1), Some(13));
        assert_eq!(found("(08)-123 456 78").map(|f| f.1), Some(15));
        // A whole number in parentheses is found from its `0`, not from `(`.
        assert!(found("(0701740605)").is_none());
        assert_eq!(match_at("(0701740605)", 1).map(|c| c.end), Some(11));
    }

    #[test]
    fn stops_at_a_group_boundary() {
        // A following number is not swallowed.
        assert_eq!(found("070-174 06 05 12 gånger").map(|f| f.1), Some(13));
        assert_eq!(found("070-174 06 05 2026-11-03").map(|f| f.1), Some(13));
    }

    #[test]
    fn not_phone_numbers() {
        for text in [
            "0701740605123",
            "070-174",
            "0 1 2 3 4 5 6 7 8",
            "03-11-2026",
            "01234",
            "0,5",
            "07:30",
            "070-174 06 05x",
            "+47 70 174 06 05",
            "0731086500451",
            "070174060512345",
            "03.11.2026",
            "03/11/2026",
            "03-11-2026 14:30",
            "03.11.2026 14.30",
            "07.30-08.45",
            "07.30 08.45",
            "0.5",
            "46 1 200 000",
            "46 12 345 678",
            "4601011234",
            "46 070 174 06 05",
        ] {
            assert!(found(text).is_none(), "{text}");
        }
    }
}
