//! E-mail address detection.
//!
//! `firstname.lastname@…` identifies a person, so every address in free text is
//! flagged. The detector is hand-written around the `@` rather
//! than a regex: there is no pattern to compile (and so nothing that could fail
//! at run time and silently switch detection off), and texts without `@` cost a
//! single `memchr`. It matches what the pragmatic pattern
//! `[\w.%+-]+@[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}` matches, with letters widened to
//! Unicode (å, ä, ö in local parts and internationalised domains).

use super::finding::{Candidate, PiiKind};
use super::text::char_at;

/// Finds every e-mail address in `text`.
pub(crate) fn collect(text: &str, out: &mut Vec<Candidate>) {
    for (at, _) in text.match_indices('@') {
        if let Some(candidate) = match_at(text, at) {
            out.push(candidate);
        }
    }
}

fn is_local(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

fn is_label(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

fn match_at(text: &str, at: usize) -> Option<Candidate> {
    let start = text
        .get(..at)?
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_local(c))
        .last()
        .map(|(i, _)| i)?;
    let end = domain_end(text, at + 1)?;
    let normalized = text.get(start..end)?.to_lowercase();
    Some(Candidate {
        kind: PiiKind::Email,
        start,
        end,
        normalized,
    })
}

/// Reads dot-separated labels after the `@` and returns the end of the longest
/// domain whose last label starts with at least two letters (the TLD).
fn domain_end(text: &str, from: usize) -> Option<usize> {
    let mut labels: Vec<(usize, usize)> = Vec::with_capacity(4);
    let mut pos = from;
    loop {
        let len: usize = text
            .get(pos..)?
            .chars()
            .take_while(|&c| is_label(c))
            .map(char::len_utf8)
            .sum();
        if len == 0 {
            break;
        }
        labels.push((pos, pos + len));
        pos += len;
        let dot_then_label =
            char_at(text, pos) == Some('.') && char_at(text, pos + 1).is_some_and(is_label);
        if !dot_then_label {
            break;
        }
        pos += 1;
    }
    labels.iter().skip(1).rev().find_map(|&(start, end)| {
        let label = text.get(start..end)?;
        let letters: usize = label
            .chars()
            .take_while(|c| c.is_alphabetic())
            .map(char::len_utf8)
            .sum();
        (label.chars().take_while(|c| c.is_alphabetic()).count() >= 2).then_some(start + letters)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        collect(text, &mut out);
        out.iter()
            .filter_map(|c| text.get(c.start..c.end))
            .collect()
    }

    #[test]
    fn finds_addresses() {
        assert_eq!(
            spans("mejla pilot.contact@example.org."),
            ["pilot.contact@example.org"]
        );
        assert_eq!(spans("(a+b@sub.example.com)"), ["a+b@sub.example.com"]);
        assert_eq!(
            spans("åsa.öberg@exempel.example, tack"),
            ["åsa.öberg@exempel.example"]
        );
        assert_eq!(spans("x@example.se-adressen"), ["x@example.se"]);
    }

    #[test]
    fn normalises_to_lower_case() {
        let mut out = Vec::new();
        collect("Pilot.Contact@Example.ORG", &mut out);
        assert_eq!(
            out.first().map(|c| c.normalized.as_str()),
            Some("pilot.contact@example.org")
        );
    }

    #[test]
    fn ignores_non_addresses() {
        for text in [
            "@home",
            "a@localhost",
            "a @example.org",
            "a@.org",
            "a@b.c",
            "kl. 14@30",
            "a@b.123",
        ] {
            assert!(spans(text).is_empty(), "{text}");
        }
    }
}
