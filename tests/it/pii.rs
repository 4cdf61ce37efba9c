//! Integration tests of the PII guard (`samverkan::pii`).
//!
//! Why these tests: personal identifiers must never leave the region, and the
//! guard must not block ordinary needs full of dates, orgnr and HSA-ids. The
//! tests run the sample needs against their `_test.expectedPii` annotations and
//! property-test both directions. They use only Skatteverket's published test
//! numbers and PTS's fiction phone range: never "random valid" personnummer,
//! which could belong to real people.

// Test helpers may panic on missing sample data.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use proptest::prelude::*;
use samverkan::event::Limits;
use samverkan::pii::{
    GuardOutcome, GuardRefusal, PiiGuard, PiiKind, PiiPolicy, scan_json, scan_text,
};
use samverkan::rejection::{Refused, Rejection};
use samverkan::schema::SchemaRegistry;
use serde_json::{Value, json};

const NEED_TYPE: &str = "se.samverkan.need.submitted.v1";
use time::{Date, macros::date};

/// The sample data's reference date.
const TODAY: Date = date!(2026 - 11 - 22);
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data/needs.json");

// ---------------------------------------------------------------------------
// Sample needs
// ---------------------------------------------------------------------------

/// All sample needs, as read (with their `_test` annotations).
fn raw_needs() -> Vec<Value> {
    let text = std::fs::read_to_string(SAMPLE).expect("read sample needs");
    let doc: Value = serde_json::from_str(&text).expect("parse sample needs");
    doc["needs"].as_array().expect("needs array").clone()
}

/// Removes every key starting with `_`, at any depth.
fn strip_test_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with('_'));
            map.values_mut().for_each(strip_test_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_test_keys),
        _ => {}
    }
}

fn expected_kinds(need: &Value) -> BTreeSet<PiiKind> {
    serde_json::from_value(need["_test"]["expectedPii"].clone()).expect("expectedPii kinds")
}

fn need(id: &str) -> Value {
    let mut need = raw_needs()
        .into_iter()
        .find(|n| n["id"] == id)
        .expect("need present");
    strip_test_keys(&mut need);
    need
}

#[test]
fn every_sample_need_yields_exactly_its_expected_kinds() {
    let needs = raw_needs();
    assert!(needs.len() >= 12, "expected the 12 sample needs");
    for raw in needs {
        let expected = expected_kinds(&raw);
        let mut need = raw.clone();
        strip_test_keys(&mut need);
        let found: BTreeSet<PiiKind> = scan_json(&need, TODAY).iter().map(|f| f.kind).collect();
        assert_eq!(found, expected, "{}", raw["id"]);
    }
}

#[test]
fn planted_findings_point_at_the_description() {
    for id in ["NEED-2026-0109", "NEED-2026-0110"] {
        let findings = scan_json(&need(id), TODAY);
        assert!(!findings.is_empty());
        assert!(
            findings.iter().all(|f| f.pointer == "/description"),
            "{findings:?}"
        );
    }
    let n = need("NEED-2026-0109");
    let description: Vec<char> = n["description"].as_str().expect("text").chars().collect();
    let spans: Vec<String> = scan_json(&n, TODAY)
        .iter()
        .map(|f| description[f.start..f.end].iter().collect())
        .collect();
    assert_eq!(spans, ["19850522-9891", "070-174 06 42"]);
}

#[test]
fn false_positive_trap_0111_is_clean() {
    let mut n = need("NEED-2026-0111");
    assert_eq!(scan_json(&n, TODAY), []);
    for policy in [PiiPolicy::Reject, PiiPolicy::Redact] {
        assert_eq!(
            PiiGuard::new(policy).inspect(&mut n, TODAY),
            GuardOutcome::Clean
        );
    }
}

#[test]
fn needs_without_pii_pass_the_guard_untouched() {
    for raw in raw_needs() {
        let id = raw["id"].as_str().expect("id").to_owned();
        if !expected_kinds(&raw).is_empty() || id == "NEED-2026-0112" {
            continue;
        }
        let mut n = need(&id);
        let before = n.clone();
        assert_eq!(
            PiiGuard::default().inspect(&mut n, TODAY),
            GuardOutcome::Clean,
            "{id}"
        );
        assert_eq!(n, before, "{id}");
    }
}

#[test]
fn unscanned_attachment_0112_is_rejected_under_both_policies() {
    for policy in [PiiPolicy::Reject, PiiPolicy::Redact] {
        let mut n = need("NEED-2026-0112");
        let before = n.clone();
        let outcome = PiiGuard::new(policy).inspect(&mut n, TODAY);
        let expected = GuardRefusal::UnscannedAttachment {
            pointers: vec!["/attachments/0".into()],
        };
        assert_eq!(
            outcome,
            GuardOutcome::Rejected(expected.clone()),
            "{policy:?}"
        );
        assert_eq!(expected.reason_code(), "unscanned_attachment");
        assert_eq!(n, before, "{policy:?}");
    }
}

#[test]
fn reject_policy_refuses_planted_needs_untouched() {
    for id in ["NEED-2026-0109", "NEED-2026-0110"] {
        let mut n = need(id);
        let before = n.clone();
        let outcome = PiiGuard::new(PiiPolicy::Reject).inspect(&mut n, TODAY);
        let GuardOutcome::Rejected(refusal) = outcome else {
            panic!("{id}: {outcome:?}")
        };
        assert_eq!(refusal.reason_code(), "personal_data");
        assert!(
            matches!(refusal, GuardRefusal::PersonalData { ref findings } if !findings.is_empty())
        );
        assert_eq!(n, before);
    }
}

#[test]
fn redact_policy_removes_planted_identifiers() {
    let cases = [
        (
            "NEED-2026-0109",
            vec!["19850522-9891", "070-174 06 42"],
            vec!["[personnummer]", "[telefon]"],
        ),
        (
            "NEED-2026-0110",
            vec!["781186-2395", "200101+1564", "pilot.contact@example.org"],
            vec!["[samordningsnummer]", "[personnummer]", "[e-post]"],
        ),
    ];
    for (id, planted, labels) in cases {
        let mut n = need(id);
        let outcome = PiiGuard::new(PiiPolicy::Redact).inspect(&mut n, TODAY);
        assert!(
            matches!(&outcome, GuardOutcome::Redacted { findings } if findings.len() == labels.len())
        );
        let text = n["description"].as_str().expect("description");
        for p in planted {
            assert!(!text.contains(p), "{id}: {p} survived");
        }
        for label in labels {
            assert!(text.contains(label), "{id}: {label} missing in {text}");
        }
        assert_eq!(scan_json(&n, TODAY), [], "{id}: rescan after redaction");
        assert_eq!(
            n["careUnitHsaId"],
            need(id)["careUnitHsaId"],
            "exempt field kept"
        );
    }
}

/// Every substring of 4 or more digits of `digits` (4-digit windows suffice).
fn digit_windows(digits: &str) -> Vec<&str> {
    (0..digits.len().saturating_sub(3))
        .map(|i| &digits[i..i + 4])
        .collect()
}

#[test]
fn debug_output_does_not_leak_planted_values_of_0109() {
    let n = need("NEED-2026-0109");
    let description = n["description"].as_str().expect("description");
    let mut shown = format!("{:?}", scan_text(description, TODAY));
    write!(shown, "{:?}", scan_json(&n, TODAY)).expect("write");
    for policy in [PiiPolicy::Reject, PiiPolicy::Redact] {
        let outcome = PiiGuard::new(policy).inspect(&mut n.clone(), TODAY);
        write!(shown, "{outcome:?}").expect("write");
        if let GuardOutcome::Rejected(refusal) = &outcome {
            shown.push_str(&refusal.to_string());
        }
    }
    assert!(
        shown.contains("Personnummer") && shown.contains("Phone"),
        "{shown}"
    );
    for planted in ["198505229891", "0701740642", "46701740642"] {
        for window in digit_windows(planted) {
            assert!(!shown.contains(window), "{window} leaked in {shown}");
        }
    }
}

#[test]
fn rejection_event_for_0109_names_kinds_and_places_but_no_values() {
    let mut n = need("NEED-2026-0109");
    let GuardOutcome::Rejected(refusal) = PiiGuard::new(PiiPolicy::Reject).inspect(&mut n, TODAY)
    else {
        panic!("0109 must be rejected");
    };
    let refused = Refused {
        id: Some("evt-0109"),
        event_type: Some(NEED_TYPE),
        subject: Some("NEED-2026-0109"),
    };
    let event = Rejection::from_guard(&refusal).to_event(refused);
    let registry = SchemaRegistry::new().expect("schemas compile");
    let bytes = event.to_json_bytes();
    registry
        .validate_bytes(&bytes, Limits::default())
        .expect("a valid message.rejected event");
    assert_eq!(event.data["reason"], "personal_data");
    assert_eq!(event.data["rejectedEventId"], "evt-0109");
    let errors = event.data["errors"].as_array().expect("errors");
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| e["instancePath"] == "/data/description"),
        "{errors:?}"
    );
    // The hub generates `id` (UUIDv7) and `time` itself; their digits may by
    // chance contain a window of a planted number, and they carry nothing
    // from the input. Everything else in the event is checked.
    let mut shown: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let attributes = shown.as_object_mut().expect("an object");
    assert!(attributes.remove("id").is_some() && attributes.remove("time").is_some());
    let text = shown.to_string();
    for planted in ["198505229891", "0701740642", "46701740642"] {
        for window in digit_windows(planted) {
            assert!(!text.contains(window), "{window} leaked in {text}");
        }
    }
}

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
