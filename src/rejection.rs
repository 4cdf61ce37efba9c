//! Telling a sender why its event was refused: one [`Rejection`] per refusal, rendered as a
//! `se.samverkan.message.rejected.v1` event.
//!
//! Every stage that can refuse (envelope, schema, PII guard, later authorization and
//! reconciliation) produces the same shape: a stable reason code, one sentence of detail, and
//! per-location errors. The rejection travels to another organisation and into dead-letter
//! headers, so it is built only from codes, pointers, offsets and fixed sentences — never from
//! the refused event's values. What the sender wrote and a rejection must still name (an
//! unknown type, a property name in a schema error, the refused event's id) is passed through
//! `text::shown`: escaped and bounded, for the sender and for operators alike.

use serde_json::json;

use crate::event::{CloudEvent, EventError, EventType, Issue, RejectReason, Source};
use crate::pii::{GuardRefusal, JsonFinding, PiiKind};
use crate::text::{shown, shown_pointer};

/// The `message-rejected.v1` schema's bounds.
const MAX_ERRORS: usize = 100;
const MAX_TEXT: usize = 2000;
const MAX_POINTER: usize = 1024;
const MAX_REFUSED_ATTRIBUTE: usize = 256;

/// Why an event was refused, ready to be sent back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The stable code.
    pub reason: RejectReason,
    /// One human-readable explanation.
    pub detail: String,
    /// Each problem with a JSON pointer into the refused event.
    pub errors: Vec<Issue>,
}

/// What the hub could read of the refused event (nothing, for malformed JSON).
#[derive(Debug, Clone, Copy, Default)]
pub struct Refused<'a> {
    /// Its `id`.
    pub id: Option<&'a str>,
    /// Its `type` as sent.
    pub event_type: Option<&'a str>,
    /// Its `subject` (the need id for need-scoped types).
    pub subject: Option<&'a str>,
}

impl<'a> Refused<'a> {
    /// The attributes of a parsed event.
    pub fn event(event: &'a CloudEvent) -> Self {
        Self {
            id: Some(event.id.as_ref()),
            event_type: Some(event.event_type.as_str()),
            subject: event.subject.as_deref(),
        }
    }
}

impl Rejection {
    /// An envelope or schema refusal. Schema errors name the sender's property names, so
    /// every pointer and message is shown escaped.
    pub(crate) fn from_event_error(err: &EventError) -> Self {
        Self {
            reason: err.reason(),
            detail: shown(&err.to_string(), MAX_TEXT),
            errors: err.issues().iter().map(shown_issue).collect(),
        }
    }

    /// A PII-guard refusal: kinds and positions, never values.
    pub fn from_guard(refusal: &GuardRefusal) -> Self {
        match refusal {
            GuardRefusal::PersonalData { findings } => Self {
                reason: refusal.reason(),
                detail: "The event contains personal data and was not routed. Remove the \
                         findings below and send it again."
                    .to_owned(),
                errors: findings.iter().map(finding_issue).collect(),
            },
            GuardRefusal::UnscannedAttachment { pointers } => Self {
                reason: refusal.reason(),
                detail: "Attachments must be content-scanned inside the region before an event \
                         can leave it. Scan or remove the attachments below and send it again."
                    .to_owned(),
                errors: pointers
                    .iter()
                    .map(|p| Issue::new(format!("/data{p}"), "attachment not content-scanned"))
                    .collect(),
            },
        }
    }

    /// The `message.rejected` event for the sender, from the hub.
    pub fn to_event(&self, refused: Refused<'_>) -> CloudEvent {
        let errors: Vec<_> = self
            .errors
            .iter()
            .take(MAX_ERRORS)
            .map(|i| {
                let i = shown_issue(i);
                json!({"instancePath": i.instance_path, "message": i.message})
            })
            .collect();
        let attribute = |a: Option<&str>| a.map(|a| shown(a, MAX_REFUSED_ATTRIBUTE));
        let data = json!({
            "rejectedEventId": attribute(refused.id),
            "rejectedEventType": attribute(refused.event_type),
            "reason": self.reason.as_str(),
            "detail": shown(&self.detail, MAX_TEXT),
            "errors": errors,
        });
        let subject = refused.subject.map(str::to_owned);
        CloudEvent::new(EventType::MessageRejected, Source::hub(), subject, data)
    }
}

/// `issue` with its pointer and message escaped and within the schema's bounds.
fn shown_issue(issue: &Issue) -> Issue {
    Issue::new(
        shown_pointer(&issue.instance_path, MAX_POINTER),
        shown(&issue.message, MAX_TEXT),
    )
}

fn finding_issue(f: &JsonFinding) -> Issue {
    let kind = match f.kind {
        PiiKind::Personnummer => "personnummer",
        PiiKind::Samordningsnummer => "samordningsnummer",
        PiiKind::Phone => "Swedish phone number",
        PiiKind::Email => "e-mail address",
    };
    let length = f.end.saturating_sub(f.start);
    Issue::new(
        format!("/data{}", f.pointer),
        format!("{kind} at character offset {}, length {length}", f.start),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pii_findings_become_pointers_with_offsets() {
        let refusal = GuardRefusal::PersonalData {
            findings: vec![JsonFinding {
                kind: PiiKind::Phone,
                pointer: "/description".into(),
                start: 4,
                end: 17,
            }],
        };
        let rejection = Rejection::from_guard(&refusal);
        assert_eq!(rejection.reason, RejectReason::PersonalData);
        assert_eq!(rejection.errors[0].instance_path, "/data/description");
        assert_eq!(
            rejection.errors[0].message,
            "Swedish phone number at character offset 4, length 13"
        );
    }

    #[test]
    fn unreadable_events_give_null_ids_and_long_texts_are_clipped() {
        let err = EventError::MalformedJson {
            detail: "x".repeat(5000),
        };
        let event = Rejection::from_event_error(&err).to_event(Refused::default());
        assert_eq!(event.data["rejectedEventId"], serde_json::Value::Null);
        assert_eq!(event.data["reason"], "malformed_json");
        assert!(
            event.data["detail"]
                .as_str()
                .is_some_and(|d| d.chars().count() == MAX_TEXT)
        );
        assert_eq!(event.subject, None);
    }

    #[test]
    fn sender_text_reaches_neither_detail_nor_errors_nor_ids_raw() {
        let hostile = "\x1b[2J\u{202e}\0";
        let err = EventError::SchemaInvalid {
            schema: "https://schemas.samverkan.se/need.v1.json".into(),
            issues: vec![Issue::new(
                format!("/data/{hostile}"),
                format!("Additional properties are not allowed ('{hostile}' was unexpected)"),
            )],
        };
        let rejection = Rejection::from_event_error(&err);
        let id = format!("id-{hostile}{}", "i".repeat(5000));
        let refused = Refused {
            id: Some(&id),
            event_type: Some(hostile),
            subject: None,
        };
        let event = rejection.to_event(refused);
        let json = event.data.to_string();
        for shown in [&json, &rejection.detail, &rejection.errors[0].message] {
            assert!(!shown.contains(['\x1b', '\u{202e}', '\0']), "{shown}");
            assert!(
                !shown.contains("\\u001b"),
                "a raw ESC was only JSON-escaped: {shown}"
            );
        }
        assert_eq!(
            event.data["errors"][0]["instancePath"],
            "/data/\\u{1b}[2J\\u{202e}\\u{0}"
        );
        let id = event.data["rejectedEventId"].as_str().expect("id");
        assert!(id.starts_with("id-\\u{1b}") && id.chars().count() == MAX_REFUSED_ATTRIBUTE);
    }
}
