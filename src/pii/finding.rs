//! What the detectors report, and how overlapping candidates become findings.
//!
//! A finding carries the span of an identifier and its normalised form (used
//! only to redact). The value itself must never reach a log, an error message
//! or an event, so [`Finding`] has a hand-written `Debug` that prints the kind
//! and spans only, and it deliberately does not implement `Serialize`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kinds of personal data the guard detects in free text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// Swedish personal identity number (personnummer).
    Personnummer,
    /// Swedish coordination number (samordningsnummer, day + 60).
    Samordningsnummer,
    /// Swedish phone number.
    Phone,
    /// E-mail address.
    Email,
}

impl PiiKind {
    /// Stable machine name, equal to the serde form.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Personnummer => "personnummer",
            Self::Samordningsnummer => "samordningsnummer",
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }

    /// The Swedish placeholder that replaces the value when redacting.
    #[must_use]
    pub fn redaction_label(&self) -> &'static str {
        match self {
            Self::Personnummer => "[personnummer]",
            Self::Samordningsnummer => "[samordningsnummer]",
            Self::Phone => "[telefon]",
            Self::Email => "[e-post]",
        }
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One identifier found in a text. Spans are half-open, in bytes and in chars.
#[derive(Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was found.
    pub kind: PiiKind,
    /// Byte offset of the first byte.
    pub byte_start: usize,
    /// Byte offset just past the last byte.
    pub byte_end: usize,
    /// Char (Unicode scalar) offset of the first char.
    pub char_start: usize,
    /// Char offset just past the last char.
    pub char_end: usize,
    normalized: String,
}

impl Finding {
    /// Normalised value: 12-digit personnummer/samordningsnummer, E.164 phone
    /// number, lower-cased e-mail. Tests compare it; nothing else may read it.
    #[cfg(test)]
    pub(crate) fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Debug for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finding")
            .field("kind", &self.kind)
            .field("bytes", &(self.byte_start..self.byte_end))
            .field("chars", &(self.char_start..self.char_end))
            .finish_non_exhaustive()
    }
}

/// A detector hit before overlap resolution (byte span only).
pub(crate) struct Candidate {
    pub(crate) kind: PiiKind,
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) normalized: String,
}

/// Sorts candidates, merges overlapping ones and adds char offsets.
///
/// Overlaps are merged rather than dropped: the earliest (then longest) hit
/// keeps its kind and is widened to cover the other, so redaction can never
/// leave part of an identifier behind. A number that is both a phone number
/// and a samordningsnummer is thereby reported once.
pub(crate) fn resolve(text: &str, mut candidates: Vec<Candidate>) -> Vec<Finding> {
    candidates.sort_by(|a, b| {
        (a.start, std::cmp::Reverse(a.end), a.kind).cmp(&(
            b.start,
            std::cmp::Reverse(b.end),
            b.kind,
        ))
    });
    let mut merged: Vec<Candidate> = Vec::with_capacity(candidates.len());
    for c in candidates {
        match merged.last_mut() {
            Some(last) if c.start < last.end => last.end = last.end.max(c.end),
            _ => merged.push(c),
        }
    }
    let mut chars_seen = 0;
    let mut byte_seen = 0;
    let mut char_offset = |byte: usize| {
        chars_seen += text.get(byte_seen..byte).map_or(0, |s| s.chars().count());
        byte_seen = byte;
        chars_seen
    };
    merged
        .into_iter()
        .map(|c| {
            let char_start = char_offset(c.start);
            let char_end = char_offset(c.end);
            Finding {
                kind: c.kind,
                byte_start: c.start,
                byte_end: c.end,
                char_start,
                char_end,
                normalized: c.normalized,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(kind: PiiKind, start: usize, end: usize) -> Candidate {
        Candidate {
            kind,
            start,
            end,
            normalized: String::from("secret-value"),
        }
    }

    #[test]
    fn labels_and_names() {
        assert_eq!(PiiKind::Phone.as_str(), "phone");
        assert_eq!(PiiKind::Phone.redaction_label(), "[telefon]");
        assert_eq!(PiiKind::Email.redaction_label(), "[e-post]");
        let json = serde_json::to_string(&PiiKind::Samordningsnummer).ok();
        assert_eq!(json.as_deref(), Some("\"samordningsnummer\""));
    }

    #[test]
    fn overlapping_candidates_are_merged_once() {
        let text = "ring 0123456789 nu";
        let out = resolve(
            text,
            vec![
                cand(PiiKind::Phone, 5, 15),
                cand(PiiKind::Samordningsnummer, 5, 15),
                cand(PiiKind::Email, 10, 17),
            ],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, PiiKind::Samordningsnummer);
        assert_eq!((out[0].byte_start, out[0].byte_end), (5, 17));
    }

    #[test]
    fn char_offsets_count_multibyte_chars() {
        let text = "åäö 12 ö 34";
        let out = resolve(
            text,
            vec![cand(PiiKind::Phone, 13, 15), cand(PiiKind::Phone, 7, 9)],
        );
        assert_eq!((out[0].char_start, out[0].char_end), (4, 6));
        assert_eq!((out[1].char_start, out[1].char_end), (9, 11));
    }

    #[test]
    fn debug_hides_the_value() {
        let out = resolve("0123456789", vec![cand(PiiKind::Phone, 0, 10)]);
        let shown = format!("{:?}", out[0]);
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("Phone"));
    }
}
