//! Property tests: the sample-data test numbers in every accepted format inside random
//! Swedish/English text are found and redacted; organisation numbers, dates and times are not.
//! `evasion` runs the same in the forms copy-paste produces.

use super::*;

mod evasion;

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

const WORDS: &[&str] = &[
    "patient",
    "remiss",
    "mottagning",
    "ring",
    "mig",
    "gärna",
    "på",
    "vårdcentral",
    "född",
    "läkare",
    "sjuksköterska",
    "åtgärd",
    "öppen",
    "ärende",
    "kväll",
    "här",
    "är",
    "numret",
    "the",
    "patient's",
    "number",
    "call",
    "please",
    "or",
    "and",
    "contact",
    "ward",
    "är",
    "Åsa",
    "Örebro",
    "ÄNDRING",
    "se",
    "bifogad",
    "text",
];
const PUNCTUATION: &[&str] = &[
    ",", ".", "(", ")", "\"", "'", "!", "?", ":", ";", "\n", "–", "«", "»",
];
const LEFT_DELIMITERS: &[&str] = &[" ", " (", " \"", "\n", " «", ": ", ", ", "\t", " ("];
const RIGHT_DELIMITERS: &[&str] = &[" ", ") ", "\" ", ", ", ". ", "\n", "!", "?", ";", "»", ")"];
const DASHES: &[&str] = &[
    "-", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2212}",
];
/// Numbers in PTS's fiction range that are also valid samordningsnummer.
const AMBIGUOUS_FICTION: &[u8] = &[7, 15, 23, 31, 49, 56, 64, 72, 80, 98];

/// Random Swedish/English words and punctuation, without digits.
fn filler() -> impl Strategy<Value = String> {
    let token =
        prop_oneof![3 => prop::sample::select(WORDS), 1 => prop::sample::select(PUNCTUATION)];
    prop::collection::vec(token, 0..8).prop_map(|tokens| tokens.join(" "))
}

/// A dash or `+` separator with an optional single space on either side.
fn spaced(sign: &'static str) -> impl Strategy<Value = String> {
    (any::<bool>(), any::<bool>()).prop_map(move |(before, after)| {
        format!(
            "{}{sign}{}",
            if before { " " } else { "" },
            if after { " " } else { "" }
        )
    })
}

/// A planted identifier as written, with its expected kind.
#[derive(Clone, Debug)]
struct Planted {
    text: String,
    kind: PiiKind,
}

/// Skatteverket test numbers from the sample data, in every accepted form.
fn identity_number() -> impl Strategy<Value = Planted> {
    let dash = prop::sample::select(DASHES).prop_flat_map(spaced);
    (0usize..3, 0usize..4, dash, spaced("+")).prop_map(|(which, form, dash, plus)| {
        let (full, kind, needs_plus) = [
            ("198505229891", PiiKind::Personnummer, false),
            ("192001011564", PiiKind::Personnummer, true),
            ("197811862395", PiiKind::Samordningsnummer, false),
        ][which];
        let (century, short, serial) = (&full[..2], &full[2..8], &full[8..]);
        let text = match (form, needs_plus) {
            (0 | 1, true) => format!("{short}{plus}{serial}"),
            (0, false) => format!("{short}{dash}{serial}"),
            (1, false) => format!("{short}{serial}"),
            (2, _) => full.to_owned(),
            _ => format!("{century}{short}{dash}{serial}"),
        };
        Planted { text, kind }
    })
}

/// PTS fiction numbers 070-174 06 05 … 99 (minus the ambiguous ten), in many forms.
fn fiction_phone() -> impl Strategy<Value = Planted> {
    let last = (5u8..=99).prop_filter("also a samordningsnummer", |n| {
        !AMBIGUOUS_FICTION.contains(n)
    });
    (last, 0usize..12, prop::sample::select(DASHES)).prop_map(|(n, form, d)| {
        let text = match form {
            0 => format!("070{d}174 06 {n:02}"),
            1 => format!("070 174 06 {n:02}"),
            2 => format!("070{d}17406{n:02}"),
            3 => format!("07017406{n:02}"),
            4 => format!("070 {d} 174 06 {n:02}"),
            5 => format!("+46 70 174 06 {n:02}"),
            6 => format!("+46 (0)70{d}174 06 {n:02}"),
            7 => format!("+467017406{n:02}"),
            8 => format!("0046 70 174 06 {n:02}"),
            9 => format!("00467017406{n:02}"),
            10 => format!("+46 70{d}174 06 {n:02}"),
            _ => format!("070{d}174\u{a0}06\u{a0}{n:02}"),
        };
        Planted {
            text,
            kind: PiiKind::Phone,
        }
    })
}

/// `filler delimiter NUMBER delimiter filler`, with the number's byte span.
fn embed(
    planted: impl Strategy<Value = Planted>,
) -> impl Strategy<Value = (String, Planted, usize)> {
    (
        filler(),
        prop::sample::select(LEFT_DELIMITERS),
        planted,
        prop::sample::select(RIGHT_DELIMITERS),
        filler(),
    )
        .prop_map(|(before, left, planted, right, after)| {
            let start = before.len() + left.len();
            (
                format!("{before}{left}{}{right}{after}", planted.text),
                planted,
                start,
            )
        })
}

fn check_found_and_redacted(
    text: &str,
    planted: &Planted,
    start: usize,
) -> Result<(), TestCaseError> {
    let findings = scan_text(text, TODAY);
    prop_assert_eq!(
        findings.len(),
        1,
        "{:?} in {:?}: {:?}",
        planted,
        text,
        findings
    );
    prop_assert_eq!(findings[0].kind, planted.kind);
    prop_assert_eq!(
        (findings[0].byte_start, findings[0].byte_end),
        (start, start + planted.text.len())
    );

    let mut doc = json!({ "description": text });
    let outcome = PiiGuard::new(PiiPolicy::Redact).inspect(&mut doc, TODAY);
    let redacted_finding =
        matches!(&outcome, GuardOutcome::Redacted { findings } if findings.len() == 1);
    prop_assert!(redacted_finding, "{:?}", outcome);
    let out = doc["description"].as_str().unwrap_or_default();
    prop_assert!(out.contains(planted.kind.redaction_label()), "{}", out);
    let digits: String = planted.text.chars().filter(char::is_ascii_digit).collect();
    for window in digit_windows(&digits) {
        prop_assert!(!out.contains(window), "{} survived in {:?}", window, out);
    }
    Ok(())
}

/// Organisationsnummer-shaped strings: digit 3 in 2–9, Luhn-valid or not.
fn organisation_number_text() -> impl Strategy<Value = String> {
    (
        1u8..=9,
        0u8..=9,
        2u8..=9,
        prop::array::uniform7(0u8..=9),
        any::<bool>(),
        0usize..6,
    )
        .prop_map(|(d0, d1, d2, rest, fix_luhn, form)| {
            let mut digits: Vec<u8> = [d0, d1, d2].into_iter().chain(rest).collect();
            if fix_luhn {
                let sum: u32 = digits[..9]
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| {
                        let v = u32::from(d) * if i % 2 == 0 { 2 } else { 1 };
                        if v > 9 { v - 9 } else { v }
                    })
                    .sum();
                digits[9] = u8::try_from((10 - sum % 10) % 10).unwrap_or(0);
            }
            let s: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            match form {
                0 => format!("{}-{}", &s[..6], &s[6..]),
                1 => s,
                2 => format!("16{s}"),
                3 => format!("16{}-{}", &s[..6], &s[6..]),
                4 => format!("SE{s}01"),
                _ => format!("{}\u{2013}{}", &s[..6], &s[6..]),
            }
        })
}

/// ISO dates, date-times, clock times and ranges.
fn date_time_text() -> impl Strategy<Value = String> {
    (
        1900u16..=2099,
        1u8..=12,
        1u8..=28,
        0u8..=23,
        0u8..=59,
        0usize..8,
    )
        .prop_map(|(y, mo, d, h, mi, form)| match form {
            0 => format!("{y:04}-{mo:02}-{d:02}"),
            1 => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}"),
            2 => format!("{h:02}:{mi:02}"),
            3 => format!("{h:02}.{mi:02}"),
            4 => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}"),
            5 => format!("kl. {h:02}.{mi:02}–{mi:02}.{h:02}"),
            6 => format!("{y:04}-{mo:02}-{d:02}–{y:04}-{d:02}-{mo:02}"),
            _ => format!("{d}–{mi} minuter"),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn identity_numbers_are_found_and_redacted((text, planted, start) in embed(identity_number())) {
        check_found_and_redacted(&text, &planted, start)?;
    }

    #[test]
    fn fiction_phone_numbers_are_found_and_redacted((text, planted, start) in embed(fiction_phone())) {
        check_found_and_redacted(&text, &planted, start)?;
    }

    #[test]
    fn organisation_numbers_are_not_flagged(
        before in filler(), number in organisation_number_text(), after in filler()
    ) {
        let text = format!("{before} {number} {after}");
        let findings = scan_text(&text, TODAY);
        prop_assert!(findings.is_empty(), "{:?}: {:?}", text, findings);
    }

    #[test]
    fn dates_and_times_are_not_flagged(
        before in filler(), value in date_time_text(), after in filler()
    ) {
        let text = format!("{before} {value} {after}");
        let findings = scan_text(&text, TODAY);
        prop_assert!(findings.is_empty(), "{:?}: {:?}", text, findings);
    }
}
