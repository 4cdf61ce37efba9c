//! Character classes and cursor helpers shared by the number detectors.
//!
//! The detectors read the normalised [`View`](super::view::View) of a text, in
//! which every digit is ASCII, every dash is `-`, every plus `+` and every
//! whitespace run a single space, so the classes here are plain ASCII. The
//! boundary rules decide what counts as a separate number: a letter in front
//! (`pnr8505229891`, `tel0701740605`) is a prefix word a reader reads
//! through, while a digit in front or a word character behind makes the
//! digits part of a longer code (`SE2321000131`, `…0131-0174`, `…05x`).

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

/// Decimal value of an ASCII digit (the view has no other digits).
pub(crate) fn digit_value(c: char) -> Option<u8> {
    c.to_digit(10).and_then(|d| u8::try_from(d).ok())
}

/// The digit at byte `pos` and the byte position after it.
pub(crate) fn digit_at(text: &str, pos: usize) -> Option<(u8, usize)> {
    let c = char_at(text, pos)?;
    digit_value(c).map(|d| (d, pos + c.len_utf8()))
}

/// The view's dash (every Unicode dash and the minus sign read as `-`).
pub(crate) fn is_dash(c: char) -> bool {
    c == '-'
}

/// The view's plus (full-width `＋` reads as `+`).
pub(crate) fn is_plus(c: char) -> bool {
    c == '+'
}

/// The view's separator space (every whitespace run reads as one space,
/// line breaks included: a number broken over two lines is still one number).
pub(crate) fn is_space(c: char) -> bool {
    c == ' '
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
    /// `.` (phone numbers only: `070.174.06.05`).
    Dot,
    /// `/` (phone numbers only: `070/174 06 05`).
    Slash,
}

/// Which signs may separate digit groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grouping {
    /// Personnummer: dash or `+`.
    Identity,
    /// Phone numbers: dash, `.` or `/`.
    Phone,
}

impl Grouping {
    fn sign(self, c: char) -> Option<Sign> {
        match (self, c) {
            (_, '-') => Some(Sign::Dash),
            (Self::Identity, '+') => Some(Sign::Plus),
            (Self::Phone, '.') => Some(Sign::Dot),
            (Self::Phone, '/') => Some(Sign::Slash),
            _ => None,
        }
    }
}

/// Reads a separator at `pos`: a single space, or a sign allowed by
/// `grouping` with at most one space on either side. Returns the position
/// after it, or `None` if there is no separator.
pub(crate) fn read_sep(text: &str, pos: usize, grouping: Grouping) -> Option<(usize, Sign)> {
    let mut p = pos;
    let mut spaced = false;
    if let Some(c) = char_at(text, p).filter(|&c| is_space(c)) {
        p += c.len_utf8();
        spaced = true;
    }
    let sign = char_at(text, p).and_then(|c| grouping.sign(c).map(|sign| (sign, c)));
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

/// Signs that join a number to what precedes it into one code.
fn is_joiner(c: char) -> bool {
    is_dash(c) || is_plus(c) || c == '.' || c == '/'
}

/// Left boundary of a number: not glued to a digit (`SE2321000131` is read
/// from `2`, never from `321…`) and not the continuation of a code joined by
/// a dash, `+`, `.` or `/` (`…0131-0174`, `2026/0123…`). A word of letters in
/// front is a prefix a reader reads through (`pnr8505229891`,
/// `tel-0701740605`), unless [`prefix_word_ok`] says it is part of a code.
pub(crate) fn left_ok(text: &str, pos: usize) -> bool {
    let mut at = pos;
    if let Some(c) = char_before(text, at).filter(|&c| is_joiner(c)) {
        at -= c.len_utf8();
    }
    match char_before(text, at) {
        None => true,
        Some(c) if c.is_alphabetic() => prefix_word_ok(text, at),
        Some(c) if is_word(c) => false,
        Some(_) => true,
    }
}

/// Whether the letters ending at `end` are a prefix word rather than part of
/// a code: a whole word (nothing but a space or punctuation before it, not a
/// joiner after a digit: `…0131-E999…`, `3fa0…`) and not one or two capitals,
/// which are country codes and series letters (the `SE` of VAT numbers and
/// HSA-ids, the `E`/`P` of HSA local parts).
fn prefix_word_ok(text: &str, end: usize) -> bool {
    let word = text.get(..end).map_or("", |head| {
        let letters: usize = head
            .chars()
            .rev()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum();
        &head[head.len() - letters..]
    });
    let capitals = word.chars().count() <= 2 && word.chars().all(char::is_uppercase);
    let start = end - word.len();
    let glued = match char_before(text, start) {
        None => false,
        Some(c) if is_word(c) => true,
        Some(c) if is_joiner(c) => char_before(text, start - c.len_utf8()).is_some_and(is_word),
        Some(_) => false,
    };
    !capitals && !glued
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
    fn digits_are_ascii() {
        assert_eq!(digit_value('7'), Some(7));
        assert_eq!(digit_value('\u{FF17}'), None);
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
        use Grouping::{Identity, Phone};
        assert_eq!(read_sep("-1", 0, Phone), Some((1, Sign::Dash)));
        assert_eq!(read_sep(" - 1", 0, Phone), Some((3, Sign::Dash)));
        assert_eq!(read_sep(" + 1", 0, Identity), Some((3, Sign::Plus)));
        assert_eq!(read_sep(" + 1", 0, Phone), Some((1, Sign::Space)));
        assert_eq!(read_sep("  1", 0, Identity), Some((1, Sign::Space)));
        assert_eq!(read_sep(". 1", 0, Phone), Some((2, Sign::Dot)));
        assert_eq!(read_sep("/1", 0, Phone), Some((1, Sign::Slash)));
        assert_eq!(read_sep("/1", 0, Identity), None);
        assert_eq!(read_sep("x", 0, Identity), None);
    }

    #[test]
    fn boundaries() {
        assert!(left_ok("a 1", 2));
        assert!(left_ok("pnr1", 3));
        assert!(left_ok("PNR1", 3));
        assert!(left_ok("(Tel.0", 5));
        assert!(left_ok("tel-0", 4));
        assert!(!left_ok("SE2", 2));
        assert!(!left_ok("1-E9", 3));
        assert!(!left_ok("x1-abc0", 6));
        assert!(!left_ok("3fa0", 3));
        assert!(!left_ok("21", 1));
        assert!(!left_ok("_1", 1));
        assert!(!left_ok("2026-0", 5));
        assert!(!left_ok("2026/0", 5));
        assert!(!left_ok("4.2", 2));
        assert!(left_ok("x -1", 3));
        assert!(left_ok("(1", 1));
        assert!(right_ok("1)", 1));
        assert!(!right_ok("1x", 1));
        assert!(!right_ok("1-2", 1));
        assert!(right_ok("1- x", 1));
    }
}
