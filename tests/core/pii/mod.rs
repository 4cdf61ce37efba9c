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

mod properties;
