//! Fuzz target: one inbound message through what the hub does before any I/O.
//!
//! decode (structured or binary mode) → schema check → PII guard (reject and redact), plus the
//! PII scanner over the raw body as text, with invariants asserted at every step.
//!
//! Input format (see docs/fuzzing.md):
//!
//! * an input that does not start with a NUL byte is the message body, with no content type and
//!   no headers (so any JSON file is a seed as it is);
//! * an input that starts with a NUL byte carries a header block: lines `name: value` up to the
//!   first empty line (`\n\n`), then the body. The line `content-type: …` sets the AMQP content
//!   type; every other line is a header (`ce-id: …`, `cloudEvents_type: …`, `x-other: …`).
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use samverkan::event::{CloudEvent, Limits, RawMessage, decode, parse_json};
use samverkan::pii::{Finding, GuardOutcome, GuardRefusal, PiiGuard, PiiPolicy, redact, scan_text};
use samverkan::schema::SchemaRegistry;
use serde_json::Value;
use time::Date;
use time::macros::date;

/// The date the sample data is written against: birth dates after it are not personnummer.
const TODAY: Date = date!(2026 - 11 - 22);

/// Compiled once, as the hub does at start-up.
fn registry() -> &'static SchemaRegistry {
    static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| SchemaRegistry::new().expect("embedded schemas compile"))
}

struct Message<'a> {
    body: &'a [u8],
    content_type: Option<String>,
    headers: BTreeMap<String, String>,
}

fn split(data: &[u8]) -> Message<'_> {
    let Some(rest) = data.strip_prefix(b"\0") else {
        return Message {
            body: data,
            content_type: None,
            headers: BTreeMap::new(),
        };
    };
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut content_type = None;
    let mut headers = BTreeMap::new();
    for line in head.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let line = String::from_utf8_lossy(line);
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        if name == "content-type" {
            content_type = Some(value.to_owned());
        } else {
            headers.insert(name.to_owned(), value.to_owned());
        }
    }
    Message {
        body,
        content_type,
        headers,
    }
}

fuzz_target!(|data: &[u8]| {
    let msg = split(data);
    let limits = Limits::default();
    let raw = RawMessage {
        body: msg.body,
        content_type: msg.content_type.as_deref(),
        headers: &msg.headers,
    };
    let decoded = decode(raw, limits);
    // Decoding is a pure function of the message.
    assert_eq!(decoded, decode(raw, limits), "decode is not deterministic");
    match decoded {
        Ok(event) => decoded_event(event, limits),
        Err(err) => {
            // Every refusal has a stable reason code and a message (must not panic).
            let _ = (err.reason().as_str(), err.to_string(), err.issues());
            // The guard still sees any JSON the body holds, so scan_json gets varied documents.
            if let Ok(mut doc) = parse_json(msg.body, limits) {
                guard(&mut doc);
            }
        }
    }
    // The raw body as text, as an operator's log line or a dead letter would hold it.
    text(&String::from_utf8_lossy(msg.body));
});

fn decoded_event(event: CloudEvent, limits: Limits) {
    // The structured form of an accepted event is accepted again, unchanged. Binary-mode data
    // sits one level deeper once wrapped in an envelope, and the envelope adds bytes.
    let relaxed = Limits {
        max_depth: limits.max_depth + 1,
        max_message_bytes: usize::MAX,
        ..limits
    };
    let again = CloudEvent::parse(&event.to_json_bytes(), relaxed);
    assert_eq!(
        again.as_ref(),
        Ok(&event),
        "structured round trip changed the event"
    );

    match registry().check(&event) {
        Ok(()) => {}
        Err(err) => {
            assert!(err.issues().len() <= samverkan::schema::MAX_ISSUES);
            let _ = (err.reason().as_str(), err.to_string());
        }
    }
    let mut data = event.data;
    guard(&mut data);
}

/// Both policies over one document, with their invariants.
fn guard(doc: &mut Value) {
    let original = doc.clone();

    let rejected = PiiGuard::new(PiiPolicy::Reject).inspect(doc, TODAY);
    assert_eq!(*doc, original, "the reject policy changed the document");
    if let GuardOutcome::Rejected(GuardRefusal::PersonalData { findings }) = &rejected {
        assert!(!findings.is_empty());
        for f in findings {
            let text = scalar_text(&original, &f.pointer);
            let len = text.chars().count();
            assert!(
                f.start < f.end && f.end <= len,
                "finding {}..{} outside {:?} ({len} chars)",
                f.start,
                f.end,
                f.pointer
            );
        }
    }

    let redacted = PiiGuard::new(PiiPolicy::Redact).inspect(doc, TODAY);
    match (&rejected, &redacted) {
        (GuardOutcome::Clean, GuardOutcome::Clean) => assert_eq!(*doc, original),
        (
            GuardOutcome::Rejected(GuardRefusal::PersonalData { findings: a }),
            GuardOutcome::Redacted { findings: b },
        ) => {
            assert_eq!(a, b, "reject and redact found different things");
            // What redaction leaves behind holds no personal data.
            let after = PiiGuard::new(PiiPolicy::Reject).inspect(doc, TODAY);
            assert_eq!(
                after,
                GuardOutcome::Clean,
                "redacted document still has PII"
            );
        }
        (
            GuardOutcome::Rejected(GuardRefusal::UnscannedAttachment { pointers: a }),
            GuardOutcome::Rejected(GuardRefusal::UnscannedAttachment { pointers: b }),
        ) => {
            assert_eq!(a, b);
            assert_eq!(*doc, original, "a refused attachment changed the document");
        }
        (a, b) => panic!("policies disagree: reject {a:?}, redact {b:?}"),
    }
}

/// The scanned text of the scalar at `pointer`: a string, or an integer's decimals.
fn scalar_text(doc: &Value, pointer: &str) -> String {
    match doc.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        other => panic!("finding at {pointer:?} points at {other:?}"),
    }
}

/// `scan_text` and `redact` over one text.
fn text(text: &str) {
    let findings = scan_text(text, TODAY);
    check_spans(text, &findings);
    let out = redact(text, &findings);
    for f in &findings {
        let span = &text[f.byte_start..f.byte_end];
        // Redaction removes every finding; the same characters may only survive where the text
        // held them outside any finding.
        if out.contains(span) {
            assert!(
                occurs_outside(text, span, &findings),
                "redaction left a finding's text behind: {f:?}"
            );
        }
    }
}

fn check_spans(text: &str, findings: &[Finding]) {
    let mut last_end = 0;
    for f in findings {
        assert!(
            f.byte_start < f.byte_end && f.byte_end <= text.len(),
            "span {f:?} outside text of {} bytes",
            text.len()
        );
        assert!(
            text.is_char_boundary(f.byte_start) && text.is_char_boundary(f.byte_end),
            "span {f:?} not on char boundaries"
        );
        assert!(f.byte_start >= last_end, "findings overlap or are unsorted");
        last_end = f.byte_end;
        assert_eq!(f.char_start, text[..f.byte_start].chars().count(), "{f:?}");
        assert_eq!(f.char_end, text[..f.byte_end].chars().count(), "{f:?}");
    }
}

/// Whether `span` occurs in `text` somewhere not wholly inside a finding.
fn occurs_outside(text: &str, span: &str, findings: &[Finding]) -> bool {
    text.match_indices(span).any(|(at, _)| {
        !findings
            .iter()
            .any(|f| f.byte_start <= at && at + span.len() <= f.byte_end)
    })
}
