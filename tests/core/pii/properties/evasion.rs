//! Property tests for copy-paste forms: the sample-data test numbers and the
//! false-positive traps, disguised the way copy-paste and word processors
//! disguise them, are read as a person reads them.
//!
//! Disguises: invisible characters inside the number (zero-width space,
//! non-joiner and joiner, word joiner, soft hyphen, BOM); tabs, repeated or
//! exotic spaces and line breaks as separators; digits from other decimal
//! digit sets (mixed within one number); a prefix word glued to the number;
//! phone numbers with `.` or `/` separators or a country code without `+`; a
//! full-width or small `@`. Planted identifiers must be found with their exact
//! original span and redacted in place (nothing of them left); the traps,
//! disguised alike, must stay clean.

use super::*;

const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{AD}', '\u{FEFF}',
];
const WHITESPACE: &[&str] = &[
    " ", "\t", "  ", "\n", "\r\n", "\u{A0}", "\u{2009}", "\u{202F}", "\u{3000}", " \t ",
];
/// The zero of each digit set used: ASCII, Arabic-Indic, extended
/// Arabic-Indic, Devanagari, Bengali, Thai, full-width, mathematical bold.
const DIGIT_ZEROS: &[u32] = &[0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0xFF10, 0x1D7CE];
const AT_SIGNS: &[&str] = &["@", "\u{FF20}", "\u{FE6B}"];
const PREFIX_WORDS: &[&str] = &["", "pnr", "Pnr:", "PNR", "tel", "Tel.", "mobil", "tfn-"];
const TRAP_PREFIX_WORDS: &[&str] = &["", "orgnr", "Orgnr:", "dnr", "artnr", "nr", "kl"];

/// How one character of a value is disguised: the digit set of a digit, the
/// whitespace replacing a space, and an invisible character after it.
#[derive(Clone, Debug)]
struct Disguise {
    digits: usize,
    space: &'static str,
    invisible: Option<char>,
}

/// One disguise per character (reused cyclically for longer values). Half
/// the digits stay ASCII, a quarter of the gaps get an invisible character.
fn disguises() -> impl Strategy<Value = Vec<Disguise>> {
    let digits = prop_oneof![4 => Just(0usize), 4 => 1..DIGIT_ZEROS.len()];
    let invisible =
        prop_oneof![3 => Just(None), 1 => prop::sample::select(INVISIBLE).prop_map(Some)];
    let one = (digits, prop::sample::select(WHITESPACE), invisible).prop_map(
        |(digits, space, invisible)| Disguise {
            digits,
            space,
            invisible,
        },
    );
    prop::collection::vec(one, 24)
}

/// `value` with its digits, spaces and gaps disguised. Invisible characters
/// go only between two characters, so the value's span is the whole result.
fn disguise(value: &str, how: &[Disguise]) -> String {
    let count = value.chars().count();
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        let d = &how[i % how.len()];
        match c.to_digit(10) {
            Some(v) => out.extend(char::from_u32(DIGIT_ZEROS[d.digits] + v)),
            None if c == ' ' => out.push_str(d.space),
            None => out.push(c),
        }
        if i + 1 < count {
            out.extend(d.invisible);
        }
    }
    out
}

/// The sample test numbers also in the forms the base strategy lacks: a
/// space (to be disguised) instead of the dash.
fn identity_number_forms() -> impl Strategy<Value = Planted> {
    prop_oneof![
        3 => identity_number(),
        1 => (0usize..3).prop_map(|which| {
            let (short, kind) = [
                ("850522 9891", PiiKind::Personnummer),
                ("19850522 9891", PiiKind::Personnummer),
                ("781186 2395", PiiKind::Samordningsnummer),
            ][which];
            Planted { text: short.to_owned(), kind }
        }),
    ]
}

/// PTS fiction numbers also with `.` and `/` separators and `46` without `+`.
fn fiction_phone_forms() -> impl Strategy<Value = Planted> {
    let last = (5u8..=99).prop_filter("also a samordningsnummer", |n| {
        !AMBIGUOUS_FICTION.contains(n)
    });
    let more = (last, 0usize..6).prop_map(|(n, form)| {
        let text = match form {
            0 => format!("070.174.06.{n:02}"),
            1 => format!("070/174 06 {n:02}"),
            2 => format!("46 70 174 06 {n:02}"),
            3 => format!("467017406{n:02}"),
            4 => format!("+46.70.174.06.{n:02}"),
            _ => format!("0046 70-174 06 {n:02}"),
        };
        Planted {
            text,
            kind: PiiKind::Phone,
        }
    });
    prop_oneof![fiction_phone(), more]
}

/// Addresses at reserved domains, with `@`, `＠` or `﹫`.
fn email_forms() -> impl Strategy<Value = Planted> {
    let local = prop::sample::select(&["pilot.contact", "åsa.öberg", "a+b", "kontakt"][..]);
    let domain = prop::sample::select(&["example.org", "sub.example.com", "exempel.example"][..]);
    (local, prop::sample::select(AT_SIGNS), domain).prop_map(|(local, at, domain)| Planted {
        text: format!("{local}{at}{domain}"),
        kind: PiiKind::Email,
    })
}

/// `filler delimiter PREFIX NUMBER delimiter filler`, the number disguised;
/// with the text expected after redaction and the number's byte span.
fn embed_disguised(
    planted: impl Strategy<Value = Planted>,
    prefixes: &'static [&'static str],
) -> impl Strategy<Value = (String, Planted, usize, String)> {
    (
        (filler(), prop::sample::select(LEFT_DELIMITERS)),
        prop::sample::select(prefixes),
        (planted, disguises()),
        (prop::sample::select(RIGHT_DELIMITERS), filler()),
    )
        .prop_map(|((before, left), prefix, (planted, how), (right, after))| {
            let planted = Planted {
                text: disguise(&planted.text, &how),
                kind: planted.kind,
            };
            let head = format!("{before}{left}{prefix}");
            let label = planted.kind.redaction_label();
            let text = format!("{head}{}{right}{after}", planted.text);
            let expected = format!("{head}{label}{right}{after}");
            (text, planted, head.len(), expected)
        })
}

/// Found once, with the exact original span, and redacted in place.
fn check_disguised(
    text: &str,
    planted: &Planted,
    start: usize,
    expected: &str,
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
    let one = matches!(&outcome, GuardOutcome::Redacted { findings } if findings.len() == 1);
    prop_assert!(one, "{:?}", outcome);
    prop_assert_eq!(doc["description"].as_str(), Some(expected));
    Ok(())
}

/// HSA-ids (`SE` + orgnr + `-` + series letter + 12 digits, sometimes the
/// digits of a sample test number, which must not be read out of the code),
/// diarienummer, 13-digit article numbers and grouped amounts.
fn code_text() -> impl Strategy<Value = String> {
    let random_local = prop::array::uniform12(0u8..=9)
        .prop_map(|d| d.iter().map(|d| char::from(b'0' + d)).collect());
    let test_number_local =
        prop::sample::select(&["198505229891", "192001011564", "197811862395"][..])
            .prop_map(String::from);
    let hsa = (
        organisation_number_text(),
        prop::sample::select(&["E", "P", "F"][..]),
        prop_oneof![random_local, test_number_local],
    )
        .prop_map(|(orgnr, letter, local)| {
            let digits: String = orgnr
                .chars()
                .filter(char::is_ascii_digit)
                .take(10)
                .collect();
            format!("SE{digits}-{letter}{local}")
        });
    let diarienummer = (
        prop::sample::select(&["RS ", "VGR ", "Dnr ", "dnr"][..]),
        1990u16..=2030,
        0u32..=99_999,
        any::<bool>(),
    )
        .prop_map(|(p, year, serial, slash)| {
            format!("{p}{year}{}{serial:05}", if slash { "/" } else { "-" })
        });
    let article = prop::array::uniform11(0u8..=9).prop_map(|rest| {
        let rest: String = rest.iter().map(|d| char::from(b'0' + d)).collect();
        format!("73{rest}")
    });
    let amount = (1u16..=999, 0u16..=999, 0u16..=999, any::<bool>()).prop_map(|(a, b, c, two)| {
        if two {
            format!("{a} {b:03} {c:03} kr")
        } else {
            format!("{a} {b:03} rör")
        }
    });
    prop_oneof![hsa, diarienummer, article, amount]
}

/// Any trap, disguised, with a prefix word when it starts with a digit.
fn disguised_trap() -> impl Strategy<Value = String> {
    let trap = prop_oneof![organisation_number_text(), date_time_text(), code_text()];
    (trap, disguises(), prop::sample::select(TRAP_PREFIX_WORDS)).prop_map(|(trap, how, prefix)| {
        let glued = if trap.starts_with(|c: char| c.is_ascii_digit()) {
            prefix
        } else {
            ""
        };
        format!("{glued}{}", disguise(&trap, &how))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn disguised_identity_numbers_are_found_and_redacted(
        (text, planted, start, expected) in embed_disguised(identity_number_forms(), PREFIX_WORDS)
    ) {
        check_disguised(&text, &planted, start, &expected)?;
    }

    #[test]
    fn disguised_phone_numbers_are_found_and_redacted(
        (text, planted, start, expected) in embed_disguised(fiction_phone_forms(), PREFIX_WORDS)
    ) {
        check_disguised(&text, &planted, start, &expected)?;
    }

    #[test]
    fn disguised_email_addresses_are_found_and_redacted(
        (text, planted, start, expected) in embed_disguised(email_forms(), &[""])
    ) {
        check_disguised(&text, &planted, start, &expected)?;
    }

    #[test]
    fn disguised_traps_are_not_flagged(
        before in filler(),
        left in prop::sample::select(LEFT_DELIMITERS),
        trap in disguised_trap(),
        right in prop::sample::select(RIGHT_DELIMITERS),
        after in filler(),
    ) {
        let text = format!("{before}{left}{trap}{right}{after}");
        let findings = scan_text(&text, TODAY);
        prop_assert!(findings.is_empty(), "{:?}: {:?}", text, findings);
    }
}
