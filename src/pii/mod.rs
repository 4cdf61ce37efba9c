//! PII guard: keeps personal identifiers written in free text inside the region.
//!
//! Care staff write needs in free text and sometimes paste a patient's
//! personnummer, their own mobile number or an e-mail address into them. Such
//! data must never be routed to universities or companies. This module finds
//! Swedish personnummer and samordningsnummer, Swedish phone numbers and
//! e-mail addresses (README, "PII guard"), and lets the pipeline refuse or redact a
//! document before it leaves the region.
//!
//! * [`scan_text`]: findings in one text (sorted, non-overlapping);
//! * [`scan_json`]: findings in every string of a JSON document, by pointer;
//! * [`PiiGuard::inspect`]: applies a [`PiiPolicy`] (`reject` or `redact`) and
//!   fails closed on attachments that were not content-scanned.
//!
//! The detectors read the text as a person reads it: a normalised view (NFKC,
//! invisible characters removed, every decimal digit ASCII, every dash `-`,
//! every whitespace run one space) with an offset map back to the original,
//! so an identifier hidden by copy-paste artefacts is still found, and its
//! findings and redaction cover the whole original span (see `view`).
//! The number detectors are a hand-written single pass over that view (no
//! regexes to compile). Dates are checked against an
//! injected `today`, so results are reproducible and the module never reads the
//! system clock. Values are never logged: [`Finding`]'s `Debug` shows spans only
//! and the JSON-level types hold pointers and offsets, not values.

mod email;
mod finding;
mod personnummer;
mod phone;
mod policy;
mod scan;
mod text;
mod unicode;
mod view;

pub use finding::{Finding, PiiKind};
pub use policy::{GuardOutcome, GuardRefusal, PiiGuard, PiiPolicy, redact};
pub use scan::{JsonFinding, scan_json};

use finding::Candidate;
use time::Date;
use view::View;

/// Finds personal identifiers in `text`, as of `today` (birth dates after
/// `today` are not personnummer). Findings are sorted by `byte_start` and do
/// not overlap; their spans are in `text` as given.
#[must_use]
pub fn scan_text(text: &str, today: Date) -> Vec<Finding> {
    let view = View::new(text);
    let mut candidates = Vec::new();
    email::collect(view.as_str(), &mut candidates);
    let mut email_ends: Vec<usize> = candidates.iter().map(|c| c.end).collect();
    email_ends.sort_unstable();
    collect_numbers(view.as_str(), today, &email_ends, &mut candidates);
    for c in &mut candidates {
        (c.start, c.end) = view.original_span(c.start, c.end);
    }
    finding::resolve(text, candidates)
}

/// One pass over the view's bytes: every position that can start a number (a
/// digit, `+` or `(`; the view has ASCII digits only) with a clean left boundary,
/// or right after an e-mail address, is handed to the personnummer and phone
/// detectors.
fn collect_numbers(text: &str, today: Date, email_ends: &[usize], out: &mut Vec<Candidate>) {
    for (i, &b) in text.as_bytes().iter().enumerate() {
        let may_start = b.is_ascii_digit() || matches!(b, b'+' | b'(');
        if !may_start {
            continue;
        }
        if !text::left_ok(text, i) && !after_email(text, i, email_ends) {
            continue;
        }
        if let Some(c) = personnummer::match_at(text, i, today) {
            out.push(c);
        }
        if let Some(c) = phone::match_at(text, i) {
            out.push(c);
        }
    }
}

/// Whether `i` directly follows an e-mail address, or a dash or `+` after one. The address is
/// redacted as a whole, so a number glued to its top-level domain (`a@b.se197811862395`,
/// `a@b.se-850522-9891`) stands alone once the address is replaced by its label: it must be
/// found before that, or redaction would reveal it.
fn after_email(text: &str, i: usize, email_ends: &[usize]) -> bool {
    let ends_at = |pos: usize| email_ends.binary_search(&pos).is_ok();
    ends_at(i)
        || text::char_before(text, i)
            .filter(|&c| text::is_dash(c) || text::is_plus(c))
            .is_some_and(|c| ends_at(i - c.len_utf8()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 22);

    fn kinds(text: &str) -> Vec<PiiKind> {
        scan_text(text, TODAY).iter().map(|f| f.kind).collect()
    }

    #[test]
    fn planted_need_texts() {
        let t109 = "Exempel från i måndags: patient 19850522-9891 fick sin remiss skickad. \
                    Ring mig gärna på 070-174 06 42 om ni vill veta mer.";
        assert_eq!(kinds(t109), [PiiKind::Personnummer, PiiKind::Phone]);
        let t110 = "coordination number 781186-2395 avoided readmission, and our oldest \
                    participant (200101+1564) managed. Contact pilot.contact@example.org.";
        assert_eq!(
            kinds(t110),
            [
                PiiKind::Samordningsnummer,
                PiiKind::Personnummer,
                PiiKind::Email
            ]
        );
    }

    #[test]
    fn false_positive_traps() {
        let trap = "regionen (organisationsnummer 232100-0131, i tolvsiffrig form 162321000131) \
            och leverantören 552901-0174. HSA-id SE2321000131-E999000000106, diarienummer \
            RS 2026-01234 och VGR 2026-00123. Mellan 2026-10-03 och 2026-11-14, 1 200 rör, \
            kl. 14:30 och 15:45, 2026-11-03T14:30, artikelnummer 7310865004512, version 4.2.1, \
            12 % och 2 %, 30–45 minuter, moms SE556036079301, 03-11-2026.";
        assert!(
            scan_text(trap, TODAY).is_empty(),
            "{:?}",
            scan_text(trap, TODAY)
        );
    }

    #[test]
    fn phone_that_is_also_a_samordningsnummer_is_reported_once() {
        let found = scan_text("ring 0701740607 nu", TODAY);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].byte_start, found[0].byte_end), (5, 15));
    }

    #[test]
    fn findings_are_sorted_with_char_offsets() {
        let text = "Åsa ö: 070-174 06 05, ärende 850522-9891";
        let found = scan_text(text, TODAY);
        assert_eq!(found.len(), 2);
        assert!(found[0].byte_end <= found[1].byte_start);
        let chars: Vec<char> = text.chars().collect();
        let second: String = chars[found[1].char_start..found[1].char_end]
            .iter()
            .collect();
        assert_eq!(second, "850522-9891");
        assert_eq!(found[1].normalized(), "198505229891");
        assert_eq!(found[0].normalized(), "+46701740605");
    }

    #[test]
    fn full_width_digits_are_read() {
        let found = scan_text("pnr ８５０５２２－９８９１", TODAY);
        assert_eq!(
            found.iter().map(|f| f.kind).collect::<Vec<_>>(),
            [PiiKind::Personnummer]
        );
    }

    #[test]
    fn copy_paste_forms_are_read() {
        for (text, kind, span) in [
            ("pnr198505229891 ok", PiiKind::Personnummer, "198505229891"),
            ("pnr:8505229891", PiiKind::Personnummer, "8505229891"),
            ("tel0701740605", PiiKind::Phone, "0701740605"),
            ("tel-070.174.06.05", PiiKind::Phone, "070.174.06.05"),
            ("Tel: 46 70 174 06 05", PiiKind::Phone, "46 70 174 06 05"),
            (
                "8505\u{200b}22-9891.",
                PiiKind::Personnummer,
                "8505\u{200b}22-9891",
            ),
            ("id\t850522\n9891", PiiKind::Personnummer, "850522\n9891"),
            (
                "pilot.contact＠example.org",
                PiiKind::Email,
                "pilot.contact＠example.org",
            ),
            (
                "a\u{200b}b@example.org",
                PiiKind::Email,
                "a\u{200b}b@example.org",
            ),
        ] {
            let found = scan_text(text, TODAY);
            assert_eq!(found.len(), 1, "{text:?}: {found:?}");
            assert_eq!(found[0].kind, kind, "{text:?}");
            let shown = text.get(found[0].byte_start..found[0].byte_end);
            assert_eq!(shown, Some(span), "{text:?}");
        }
    }

    #[test]
    fn false_positive_traps_written_with_the_same_tricks() {
        let trap = "orgnr232100\u{200b}-0131, 16\u{2060}2321000131, leverantör\t552901\n0174. \
            HSA-id SE2321000131\u{ad}-E999000000106, SE\u{200b}2321000131-E999000000106, \
            dnr RS\t2026-01234 och VGR\u{a0}2026\u{2011}00123, \u{662}\u{660}\u{662}\u{666}-10-03, \
            ０３.１１.２０２６, 03/11/2026 kl. 07.30\u{2013}08.45, 14\u{200b}:30, \
            artnr7310865004512, 7310\u{200b}865004512, moms SE556036079301, 46 1 200 000 kr.";
        let found = scan_text(trap, TODAY);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn redaction_covers_invisible_characters() {
        let text = "pnr 8505\u{200b}22-98\u{ad}91\u{feff}, tel 07\u{2060}0\t174 06 05.";
        let out = redact(text, &scan_text(text, TODAY));
        assert_eq!(out, "pnr [personnummer]\u{feff}, tel [telefon].");
    }

    #[test]
    fn a_number_glued_to_an_email_address_is_found_before_redaction() {
        // Found by fuzzing (fuzz/regressions/email-glued-samordningsnummer): the address ends
        // where its top-level domain's letters end, and the digits after it were skipped for
        // having a letter on their left; redacting the address then exposed them.
        for (text, redacted) in [
            (
                "samord@example.org197811862395",
                "[e-post][samordningsnummer]",
            ),
            ("a@b.se-850522-9891", "[e-post]-[personnummer]"),
            ("a@b.se+46701740605.", "[e-post][telefon]."),
        ] {
            let out = redact(text, &scan_text(text, TODAY));
            assert_eq!(out, redacted, "{text}");
            assert!(scan_text(&out, TODAY).is_empty(), "{out}");
        }
        assert_eq!(kinds("info@firma.se2026"), [PiiKind::Email]);
    }

    #[test]
    fn redact_text() {
        let text = "pnr 850522-9891, tel 070-174 06 05.";
        let out = redact(text, &scan_text(text, TODAY));
        assert_eq!(out, "pnr [personnummer], tel [telefon].");
    }
}
