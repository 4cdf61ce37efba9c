//! The text as a person reads it, with a map back to the text as written.
//!
//! Copy-paste hides identifiers from a scanner that reads code points: a
//! zero-width space or soft hyphen inside a personnummer, a tab or a line break
//! between its groups, Arabic-Indic or full-width digits, a full-width `＠`.
//! A reader sees the same number. The detectors therefore read a normalised
//! [`View`] of the text, built in one pass, in which
//!
//! * default-ignorable code points (zero-width space/joiners, word joiner, soft
//!   hyphen, BOM, bidi controls, variation selectors, …) are removed;
//! * every other character is replaced by its NFKC form (full-width and
//!   mathematical digits and letters, `＠`, `＋`, no-break and thin spaces);
//! * every Unicode decimal digit (general category Nd) becomes its ASCII digit;
//! * every dash (category Pd) and the minus sign become `-`;
//! * every run of whitespace (tabs and line breaks included) becomes one space.
//!
//! NFKC is applied character by character: composition across characters
//! only ever joins letters and combining marks, which none of the detectors
//! look at, and mapping each output character to one input character is what
//! keeps the offset map exact. The map records, for each stretch of the view,
//! which bytes of the original produced it, so every finding is reported (and
//! redacted) as the whole original span, invisible characters included.
//!
//! Text that is already its own view (the common case: letters, punctuation,
//! ASCII digits, single spaces) is borrowed, not copied; otherwise unchanged
//! stretches are copied in bulk.

use std::borrow::Cow;

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::unicode::{decimal_digit, is_default_ignorable, is_stable};

/// A stretch of the view and the original bytes it came from.
#[derive(Clone, Copy, Debug)]
struct Piece {
    /// Byte offset in the view where the stretch starts.
    view: usize,
    /// Original byte span it came from.
    orig: usize,
    orig_end: usize,
    /// Byte-for-byte copy: view offsets inside map one to one.
    exact: bool,
}

/// The normalised text and its offset map (see the module docs).
pub(crate) struct View<'a> {
    text: Cow<'a, str>,
    pieces: Vec<Piece>,
}

impl<'a> View<'a> {
    /// Builds the view of `original`.
    pub(crate) fn new(original: &'a str) -> Self {
        if stable_len(original, true) == original.len() {
            return Self {
                text: Cow::Borrowed(original),
                pieces: Vec::new(),
            };
        }
        let mut builder = Builder::with_capacity(original.len());
        let mut at = 0;
        while let Some(rest) = original.get(at..).filter(|r| !r.is_empty()) {
            let run = stable_len(rest, builder.pending_space.is_none());
            if run > 0 {
                builder.exact_str(at, &rest[..run]);
                at += run;
            } else if let Some(c) = rest.chars().next() {
                builder.push(at, c);
                at += c.len_utf8();
            }
        }
        builder.finish()
    }

    /// The normalised text the detectors read.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The original byte span of the view's span `start..end` (`start < end`,
    /// both char boundaries of the view): from the start of the original
    /// character that produced the first byte to the end of the one that
    /// produced the last byte.
    pub(crate) fn original_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.pieces.is_empty() {
            return (start, end);
        }
        let first = self.piece_at(start);
        let last = self.piece_at(end.saturating_sub(1).max(start));
        let orig_start = if first.exact {
            first.orig + (start - first.view)
        } else {
            first.orig
        };
        let orig_end = if last.exact {
            last.orig + (end - last.view)
        } else {
            last.orig_end
        };
        (orig_start, orig_end)
    }

    /// The piece that holds view byte `pos`.
    fn piece_at(&self, pos: usize) -> Piece {
        let i = self.pieces.partition_point(|p| p.view <= pos);
        self.pieces[i.saturating_sub(1)]
    }
}

/// Length of the longest prefix of `text` that is its own view: stable
/// characters and single spaces. A leading space counts only when no
/// whitespace run is pending (`space_ok`), and a space right before a change
/// is left out, as it may start a whitespace run.
fn stable_len(text: &str, space_ok: bool) -> usize {
    let bytes = text.as_bytes();
    let mut after_space = !space_ok;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        // ASCII is decided by the byte; other characters are decoded.
        let (ok, len) = match b {
            b' ' => (!after_space, 1),
            0x21..=0x7E => (true, 1),
            0x00..=0x7F => (false, 1),
            _ => text
                .get(i..)
                .and_then(|rest| rest.chars().next())
                .map_or((false, 1), |c| (is_stable(c), c.len_utf8())),
        };
        if !ok {
            return if after_space && i > 0 { i - 1 } else { i };
        }
        after_space = b == b' ';
        i += len;
    }
    text.len()
}

/// Builds a [`View`] one original character at a time.
struct Builder {
    out: String,
    pieces: Vec<Piece>,
    /// Original span of the whitespace run not yet written.
    pending_space: Option<(usize, usize)>,
}

impl Builder {
    fn with_capacity(len: usize) -> Self {
        Self {
            out: String::with_capacity(len),
            pieces: Vec::new(),
            pending_space: None,
        }
    }

    /// Adds the original character `c` found at byte `at`.
    fn push(&mut self, at: usize, c: char) {
        let end = at + c.len_utf8();
        if is_stable(c) {
            self.exact(at, end, c);
            return;
        }
        if c.is_whitespace() {
            self.space(at, end);
            return;
        }
        // Invisible: format controls and the like, and C0/C1 control codes.
        if is_default_ignorable(c) || c.is_control() {
            return;
        }
        if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            self.mapped(at, end, c);
            return;
        }
        for n in std::iter::once(c).nfkc() {
            self.mapped(at, end, n);
        }
    }

    /// Adds `c` (NFKC already applied) produced by the original span `at..end`.
    fn mapped(&mut self, at: usize, end: usize, c: char) {
        if is_default_ignorable(c) {
            return;
        }
        if c.is_whitespace() {
            self.space(at, end);
        } else if let Some(d) = decimal_digit(c) {
            self.replaced(at, end, d);
        } else if c == '\u{2212}' || get_general_category(c) == GeneralCategory::DashPunctuation {
            self.replaced(at, end, '-');
        } else if c.len_utf8() == end - at {
            self.exact(at, end, c);
        } else {
            self.replaced(at, end, c);
        }
    }

    /// Extends the whitespace run with `at..end`.
    fn space(&mut self, at: usize, end: usize) {
        self.pending_space = Some(match self.pending_space {
            Some((start, _)) => (start, end),
            None => (at, end),
        });
    }

    /// Writes the pending whitespace run as one space.
    fn flush_space(&mut self) {
        if let Some((start, end)) = self.pending_space.take() {
            // One byte for one byte keeps offsets one to one, whichever
            // whitespace character it was.
            if end - start == 1 {
                self.push_exact(start, end, ' ');
            } else {
                self.push_replaced(start, end, ' ');
            }
        }
    }

    /// Writes `c`, which occupies the same bytes as the original `at..end`.
    fn exact(&mut self, at: usize, end: usize, c: char) {
        self.flush_space();
        self.push_exact(at, end, c);
    }

    /// Writes `s`, a copy of the original from byte `at`.
    fn exact_str(&mut self, at: usize, s: &str) {
        self.flush_space();
        self.extend_exact(at, at + s.len());
        self.out.push_str(s);
    }

    fn push_exact(&mut self, at: usize, end: usize, c: char) {
        self.extend_exact(at, end);
        self.out.push(c);
    }

    /// Records that the next view bytes copy the original `at..end`.
    fn extend_exact(&mut self, at: usize, end: usize) {
        let view = self.out.len();
        let extends = self
            .pieces
            .last()
            .is_some_and(|p| p.exact && p.orig_end == at && p.orig + (view - p.view) == at);
        match self.pieces.last_mut() {
            Some(last) if extends => last.orig_end = end,
            _ => self.pieces.push(Piece {
                view,
                orig: at,
                orig_end: end,
                exact: true,
            }),
        }
    }

    /// Writes `c` standing for the original `at..end`.
    fn replaced(&mut self, at: usize, end: usize, c: char) {
        self.flush_space();
        self.push_replaced(at, end, c);
    }

    fn push_replaced(&mut self, at: usize, end: usize, c: char) {
        let view = self.out.len();
        let continues = self
            .pieces
            .last()
            .is_some_and(|p| !p.exact && p.orig == at && p.orig_end == end);
        if !continues {
            self.pieces.push(Piece {
                view,
                orig: at,
                orig_end: end,
                exact: false,
            });
        }
        self.out.push(c);
    }

    fn finish<'a>(mut self) -> View<'a> {
        self.flush_space();
        View {
            text: Cow::Owned(self.out),
            pieces: self.pieces,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The original text behind the view's span of `needle`.
    fn behind<'t>(text: &'t str, needle: &str) -> &'t str {
        let view = View::new(text);
        let start = view.as_str().find(needle).unwrap_or_default();
        let (a, b) = view.original_span(start, start + needle.len());
        text.get(a..b).unwrap_or_default()
    }

    #[test]
    fn text_that_is_its_own_view_is_borrowed() {
        let view = View::new("ring 070-174 06 05, tack.");
        assert!(matches!(view.text, Cow::Borrowed(_)));
        assert_eq!(view.original_span(5, 18), (5, 18));
        assert!(matches!(
            View::new("Åsa “öppnar” ärende").text,
            Cow::Borrowed(_)
        ));
        assert!(matches!(View::new("a  b").text, Cow::Owned(_)));
        assert!(matches!(View::new("a \tb").text, Cow::Owned(_)));
        assert!(matches!(View::new("a\u{2013}b").text, Cow::Owned(_)));
    }

    #[test]
    fn unchanged_head_is_copied_exactly() {
        let text = "Åsa ringer 070 \t174\u{a0}06 05";
        assert_eq!(View::new(text).as_str(), "Åsa ringer 070 174 06 05");
        assert_eq!(behind(text, "070 174"), "070 \t174");
        assert_eq!(behind(text, "Åsa"), "Åsa");
    }

    #[test]
    fn invisible_characters_are_removed_and_spanned() {
        let text = "pnr 8505\u{200b}22-98\u{ad}9\u{2060}1 \u{feff}klar";
        assert_eq!(View::new(text).as_str(), "pnr 850522-9891 klar");
        assert_eq!(
            behind(text, "850522-9891"),
            "8505\u{200b}22-98\u{ad}9\u{2060}1"
        );
        assert_eq!(
            View::new("a\u{200c}b\u{200d}c\u{202e}d\u{1}e").as_str(),
            "abcde"
        );
    }

    #[test]
    fn whitespace_runs_read_as_one_space() {
        let text = "070\t174\u{a0}\u{a0}06\r\n05 \u{2009}\u{200b} x";
        assert_eq!(View::new(text).as_str(), "070 174 06 05 x");
        assert_eq!(behind(text, "06 05"), "06\r\n05");
        assert_eq!(behind(text, "174 06"), "174\u{a0}\u{a0}06");
    }

    #[test]
    fn digits_dashes_and_compatibility_forms() {
        let arabic = "\u{661}\u{669}\u{668}\u{665}";
        assert_eq!(View::new(arabic).as_str(), "1985");
        assert_eq!(behind(arabic, "98"), "\u{669}\u{668}");
        assert_eq!(View::new("\u{966}\u{96f}").as_str(), "09");
        assert_eq!(View::new("𝟖𝟓 ８５ ⑴").as_str(), "85 85 (1)");
        assert_eq!(View::new("a–b—c−d‑e").as_str(), "a-b-c-d-e");
        assert_eq!(
            View::new("x＠example．org ＋46").as_str(),
            "x@example.org +46"
        );
        assert_eq!(behind("⑴ ok", "1"), "⑴");
        assert_eq!(View::new("Åsa öppnar ärende").as_str(), "Åsa öppnar ärende");
    }
}
