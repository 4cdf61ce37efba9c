//! Character classes and cursor helpers shared by the number detectors.
//!
//! Care staff type identifiers by hand, in word processors and on phones, so the
//! same number arrives with ASCII or typographic dashes (‐ ‑ ‒ – — −), with
//! no-break or thin spaces, and occasionally with full-width digits pasted from
//! other systems. Instead of normalising (copying) the whole text first, the
//! detectors read the original `&str` through these helpers, which treat all of
//! those variants alike. Working on the original text keeps the reported byte
//! spans exact, which redaction depends on.

/// Longest digit run the detectors ever need to look at (12-digit personnummer,
/// 13-digit `0046…` phone numbers); longer runs are only counted.
pub(crate) const MAX_RUN: usize = 16;

/// The character that starts at byte `pos`, if `pos` is a char boundary inside `text`.
pub(crate) fn char_at(text: &str, pos: usize) -> Option<char> {
    text.get(pos..)?.chars().next()
}

/// The character that ends at byte `pos`.
pub(crate) fn char_before(text: &str, pos: usize) -> Option<char> {
    text.get(..pos)?.chars().next_back()
}

/// Decimal value of an ASCII or full-width digit.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    match c {
        '0'..='9' => u8::try_from(u32::from(c) - u32::from('0')).ok(),
        '\u{FF10}'..='\u{FF19}' => u8::try_from(u32::from(c) - 0xFF10).ok(),
        _ => None,
    }
}

/// The digit at byte `pos` and the byte position after it.
pub(crate) fn digit_at(text: &str, pos: usize) -> Option<(u8, usize)> {
    let c = char_at(text, pos)?;
    digit_value(c).map(|d| (d, pos + c.len_utf8()))
}

/// Hyphen-minus and the Unicode dashes people (and word processors) put in numbers.
pub(crate) fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2212}'
            | '\u{FE63}'
            | '\u{FF0D}'
    )
}

/// ASCII and full-width plus.
pub(crate) fn is_plus(c: char) -> bool {
    matches!(c, '+' | '\u{FF0B}')
}

/// Spaces that may group digits: space, no-break space, figure, thin and narrow
/// no-break space. Line breaks are deliberately not included: a number broken
/// over two lines is rare, while two numbers on consecutive lines are common.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{A0}' | '\u{2007}' | '\u{2009}' | '\u{202F}')
}

/// A "word" character in the sense of regex `\w`: letters (including å, ä, ö),
/// digits and underscore. Identifiers glued to words are codes, not numbers.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A run of consecutive digits starting at some position.
#[derive(Clone, Copy)]
pub(crate) struct DigitRun {
    digits: [u8; MAX_RUN],
    /// Number of digits in the run (may exceed `MAX_RUN`; only the first
    /// `MAX_RUN` are stored).
    pub(crate) count: usize,
    /// Byte position just after the run.
    pub(crate) end: usize,
}

impl DigitRun {
    /// The stored digits (all of them when `count <= MAX_RUN`).
    pub(crate) fn digits(&self) -> &[u8] {
        &self.digits[..self.count.min(MAX_RUN)]
    }
}

/// Reads the digits starting at `pos` (possibly none).
pub(crate) fn read_run(text: &str, pos: usize) -> DigitRun {
    let mut run = DigitRun {
        digits: [0; MAX_RUN],
        count: 0,
        end: pos,
    };
    while let Some((d, next)) = digit_at(text, run.end) {
        if let Some(slot) = run.digits.get_mut(run.count) {
            *slot = d;
        }
        run.count += 1;
        run.end = next;
    }
    run
}

/// Which sign a separator between two digit groups carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sign {
    /// Only a space.
    Space,
    /// A dash (any of the Unicode dashes).
    Dash,
    /// `+`: the personnummer of someone aged 100 or more.
    Plus,
}

/// Reads a separator at `pos`: a single space, or a dash (or `+` when
/// `allow_plus`) with at most one space on either side. Returns the position
/// after it, or `None` if there is no separator.
pub(crate) fn read_sep(text: &str, pos: usize, allow_plus: bool) -> Option<(usize, Sign)> {
    let mut p = pos;
    let mut spaced = false;
    if let Some(c) = char_at(text, p).filter(|&c| is_space(c)) {
        p += c.len_utf8();
        spaced = true;
    }
    let sign = match char_at(text, p) {
        Some(c) if is_dash(c) => Some((Sign::Dash, c)),
        Some(c) if allow_plus && is_plus(c) => Some((Sign::Plus, c)),
        _ => None,
    };
    match sign {
        Some((sign, c)) => {
            p += c.len_utf8();
            if let Some(s) = char_at(text, p).filter(|&s| is_space(s)) {
                p += s.len_utf8();
            }
            Some((p, sign))
        }
        None if spaced => Some((p, Sign::Space)),
        None => None,
    }
}

/// Left boundary of a number: not glued to a word (`SE2321000131`, `E999…`) and
/// not the continuation of a dashed code (`RS-2026-…`, `…0131-0174`).
pub(crate) fn left_ok(text: &str, pos: usize) -> bool {
    match char_before(text, pos) {
        None => true,
        Some(c) if is_word(c) => false,
        Some(c) if is_dash(c) || is_plus(c) => {
            let before = pos - c.len_utf8();
            !char_before(text, before).is_some_and(is_word)
        }
        Some(_) => true,
    }
}

/// Right boundary of a number: mirror image of [`left_ok`].
pub(crate) fn right_ok(text: &str, pos: usize) -> bool {
    match char_at(text, pos) {
        None => true,
        Some(c) if is_word(c) => false,
        Some(c) if is_dash(c) || is_plus(c) => {
            !char_at(text, pos + c.len_utf8()).is_some_and(is_word)
        }
        Some(_) => true,
    }
}

/// Decimal value of a short digit slice (at most 4 digits are ever passed).
pub(crate) fn number(digits: &[u8]) -> u16 {
    digits.iter().fold(0u16, |acc, &d| {
        acc.saturating_mul(10).saturating_add(u16::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_include_full_width() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('\u{FF17}'), Some(7));
        assert_eq!(digit_value('a'), None);
    }

    #[test]
    fn run_counts_past_capacity() {
        let run = read_run("12345678901234567890x", 0);
        assert_eq!(run.count, 20);
        assert_eq!(run.digits().len(), MAX_RUN);
        assert_eq!(run.end, 20);
    }

    #[test]
    fn separators() {
        assert_eq!(read_sep("-1", 0, false), Some((1, Sign::Dash)));
        assert_eq!(read_sep(" – 1", 0, false), Some((5, Sign::Dash)));
        assert_eq!(read_sep(" + 1", 0, true), Some((3, Sign::Plus)));
        assert_eq!(read_sep(" + 1", 0, false), Some((1, Sign::Space)));
        assert_eq!(read_sep("  1", 0, true), Some((1, Sign::Space)));
        assert_eq!(read_sep("x", 0, true), None);
    }

    #[test]
    fn boundaries() {
        assert!(left_ok("a 1", 2));
        assert!(!left_ok("a1", 1));
        assert!(!left_ok("E1", 1));
        assert!(!left_ok("2026-0", 5));
        assert!(left_ok("x -1", 3));
        assert!(left_ok("(1", 1));
        assert!(right_ok("1)", 1));
        assert!(!right_ok("1x", 1));
        assert!(!right_ok("1-2", 1));
        assert!(right_ok("1- x", 1));
    }
}
