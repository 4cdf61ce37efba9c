//! Small text helpers shared by the modules that put text on the wire or in front of a person.
//!
//! [`shown`] is the one way sender-controlled text (an event's `type`, `dataschema`, `id`, an
//! attribute or header name, a routing key …) is echoed into a refusal, a dead-letter detail, a
//! log line or `samverkan dead-letters list`. A partner controls those bytes; printed raw, an
//! escape sequence (`ESC [2J`) rewrites the operator's terminal and a bidi override (U+202E)
//! makes a line read differently from what it says. So every character that is not plainly
//! visible is written as a `\u{…}` escape, and the text is cut to a bound.
//!
//! [`terms`] is the tokenizer behind text relevance: the catalogue runs it on course and
//! partner text at upsert, matching on need text, so it lives here where both can take it.

pub(crate) mod terms;

use unicode_general_category::{GeneralCategory, get_general_category};

/// At most `max` characters, ending in `…` when cut (schemas bound string lengths in
/// characters, and a cut sentence should look cut).
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How much sender text a refusal or a listing echoes, in characters.
pub(crate) const MAX_SHOWN: usize = 120;

/// `text` safe to show: control characters (NUL, ESC, newline, DEL, C1), format characters
/// (bidi overrides and isolates U+202A–U+202E, U+2066–U+2069, zero-width characters, BOM, soft
/// hyphen), line and paragraph separators, spaces other than U+0020, private-use, unassigned
/// and blank-looking code points become `\u{hex}`; at most `max` characters, ending in `…` when
/// cut, never inside an escape. Showing shown text again changes nothing.
pub(crate) fn shown(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max.saturating_mul(4)));
    let (mut count, mut fits) = (0usize, 0usize);
    for c in text.chars() {
        if is_hidden(c) {
            let escape = format!("\\u{{{:x}}}", u32::from(c));
            count += escape.len();
            out.push_str(&escape);
        } else {
            count += 1;
            out.push(c);
        }
        if count < max {
            fits = out.len();
        }
        if count > max {
            out.truncate(fits);
            out.push('…');
            return out;
        }
    }
    out
}

/// A JSON pointer [`shown`]: still a pointer when cut (never ends in a lone `~`).
pub(crate) fn shown_pointer(pointer: &str, max: usize) -> String {
    let shown = shown(pointer, max);
    match shown.strip_suffix("~…") {
        Some(cut) => format!("{cut}…"),
        None => shown,
    }
}

/// Whether `c` could not be seen, or changes how the text around it is laid out.
fn is_hidden(c: char) -> bool {
    use GeneralCategory as G;
    match get_general_category(c) {
        G::Control
        | G::Format
        | G::Surrogate
        | G::PrivateUse
        | G::Unassigned
        | G::LineSeparator
        | G::ParagraphSeparator => true,
        G::SpaceSeparator => c != ' ',
        // Letters and a symbol that render as blanks (Hangul fillers, braille blank).
        _ => matches!(
            c,
            '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' | '\u{2800}'
        ),
    }
}

/// Luhn as Sweden uses it for personnummer, samordningsnummer and organisationsnummer:
/// weights 2,1,2,1,… from the left over the ten digit *values* (0–9); valid when the sum of
/// digit sums is a multiple of 10.
pub(crate) fn luhn_valid(ten: &[u8; 10]) -> bool {
    let sum: u32 = ten
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let v = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
            if v > 9 { v - 9 } else { v }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::{MAX_SHOWN, clip, shown, shown_pointer};

    #[test]
    fn terminal_escapes_nul_and_newlines_are_shown_as_escapes() {
        assert_eq!(
            shown("a\x1b[2Jb\0c\nd\te\x7f\u{9b}", 80),
            "a\\u{1b}[2Jb\\u{0}c\\u{a}d\\u{9}e\\u{7f}\\u{9b}"
        );
        assert!(!shown("\x1b]0;title\x07", 80).contains(['\x1b', '\x07']));
    }

    #[test]
    fn bidi_overrides_and_invisible_characters_are_shown_as_escapes() {
        for (c, escape) in [
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
            ('\u{200b}', "\\u{200b}"),
            ('\u{feff}', "\\u{feff}"),
            ('\u{ad}', "\\u{ad}"),
            ('\u{2028}', "\\u{2028}"),
            ('\u{a0}', "\\u{a0}"),
            ('\u{e000}', "\\u{e000}"),
            ('\u{3164}', "\\u{3164}"),
        ] {
            assert_eq!(
                shown(&format!("x{c}y"), 80),
                format!("x{escape}y"),
                "{escape}"
            );
        }
    }

    #[test]
    fn visible_text_is_kept_as_it_is() {
        let text = "se.samverkan.need.submitted.v1 Västra Götaland – 東京 ✓ `x` \\n";
        assert_eq!(shown(text, 200), text);
    }

    #[test]
    fn long_text_is_cut_to_the_bound_never_inside_an_escape() {
        let long = "x".repeat(100_000);
        let cut = shown(&long, MAX_SHOWN);
        assert_eq!(cut.chars().count(), MAX_SHOWN);
        assert!(cut.ends_with('…'));
        // 8 characters, then escapes of 6 (`\u{1b}`): the cut falls between whole escapes.
        let cut = shown(&format!("{}{}", "y".repeat(8), "\x1b".repeat(50)), 20);
        assert_eq!(cut, "yyyyyyyy\\u{1b}…");
        assert_eq!(shown("abc", 3), "abc");
        assert_eq!(shown("abcd", 3), "ab…");
    }

    #[test]
    fn a_cut_pointer_does_not_end_in_half_an_escape() {
        assert_eq!(shown_pointer("/ab~1cd", 5), "/ab…");
        assert_eq!(shown_pointer("/a\x1b", 20), "/a\\u{1b}");
    }

    #[test]
    fn showing_twice_changes_nothing() {
        let once = shown(&format!("\u{202e}evil\x1b[31m{}", "z".repeat(300)), 50);
        assert_eq!(shown(&once, 50), once);
    }

    #[test]
    fn clips_on_characters_and_marks_the_cut() {
        assert_eq!(clip("åäö", 3), "åäö");
        assert_eq!(clip("åäöx", 3), "åä…");
        assert_eq!(clip("abc", 0), "…");
    }
}
