//! Character properties the normalised view needs, from the Unicode data.
//!
//! The standard library knows whitespace and control codes but not which code
//! points are invisible (Default_Ignorable_Code_Point), which are decimal
//! digits of other scripts (general category Nd) or dashes (Pd); these are
//! kept here, apart from the view's bookkeeping, with their sources named.

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::{IsNormalized, is_nfkc_quick};

/// Default_Ignorable_Code_Point (Unicode 16, DerivedCoreProperties.txt).
const DEFAULT_IGNORABLE: &[(char, char)] = &[
    ('\u{AD}', '\u{AD}'),
    ('\u{34F}', '\u{34F}'),
    ('\u{61C}', '\u{61C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Whether `c` is a default-ignorable code point (invisible when rendered).
pub(crate) fn is_default_ignorable(c: char) -> bool {
    DEFAULT_IGNORABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// The ASCII digit for a Unicode decimal digit (Nd), if `c` is one.
///
/// Unicode encodes every decimal digit set as ten consecutive code points
/// from 0 to 9, and adjacent sets (the mathematical digits) follow each other
/// without gaps, so the value is the distance from the start of the run.
pub(crate) fn decimal_digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    if get_general_category(c) != GeneralCategory::DecimalNumber {
        return None;
    }
    let mut zero = u32::from(c);
    while zero > 0
        && char::from_u32(zero - 1)
            .is_some_and(|p| get_general_category(p) == GeneralCategory::DecimalNumber)
    {
        zero -= 1;
    }
    let value = (u32::from(c) - zero) % 10;
    char::from_digit(value, 10)
}

/// Whether `c` is its own view: printable ASCII, or a character that is not
/// whitespace, invisible, a control code, a non-ASCII digit or dash, and is
/// its own NFKC form.
pub(crate) fn is_stable(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_graphic();
    }
    // Latin-1 and Latin Extended-A letters up to U+0131 (å, ä, ö, é, ü, …).
    if ('\u{C0}'..='\u{131}').contains(&c) {
        return true;
    }
    let category = get_general_category(c);
    !c.is_whitespace()
        && !c.is_control()
        && !is_default_ignorable(c)
        && c != '\u{2212}'
        && category != GeneralCategory::DecimalNumber
        && category != GeneralCategory::DashPunctuation
        && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digit_values() {
        assert_eq!(decimal_digit('7'), Some('7'));
        assert_eq!(decimal_digit('\u{667}'), Some('7'));
        assert_eq!(decimal_digit('\u{1d7d5}'), Some('7'));
        assert_eq!(decimal_digit('\u{1d7ff}'), Some('9'));
        assert_eq!(decimal_digit('\u{1049}'), Some('9'));
        assert_eq!(decimal_digit('²'), None);
        assert_eq!(decimal_digit('x'), None);
    }

    #[test]
    fn default_ignorable_table() {
        for c in [
            '\u{ad}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}',
        ] {
            assert!(is_default_ignorable(c), "{c:?}");
        }
        assert!(is_default_ignorable('\u{e0041}'));
        for c in ['a', ' ', '\u{a0}', '-', '\u{2010}', '\u{1d7d5}'] {
            assert!(!is_default_ignorable(c), "{c:?}");
        }
    }

    #[test]
    fn stable_characters() {
        for c in ['a', '7', '-', 'å', 'Ö', '“', '€'] {
            assert!(is_stable(c), "{c:?}");
        }
        for c in [
            ' ', '\t', '\u{a0}', '\u{200b}', '\u{2013}', '\u{2212}', '\u{661}', '\u{ff10}',
            '\u{ff20}',
        ] {
            assert!(!is_stable(c), "{c:?}");
        }
    }
}
