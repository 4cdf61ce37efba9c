//! The guard: what happens to a document that contains personal data.
//!
//! Personal identifiers written by care staff must never leave the region.
//! [`PiiGuard::inspect`] applies the configured [`PiiPolicy`]: `Reject` leaves
//! the document untouched and refuses it, `Redact` replaces each finding in
//! place by a label such as `[personnummer]`. Attachments whose content has
//! not been scanned cannot be judged at all, so they fail closed under both
//! policies and are checked first. Structured identifier fields that are meant
//! to be there (by default `/careUnitHsaId`) are exempt from scanning.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

use super::finding::Finding;
use super::scan::{JsonFinding, push_index, push_token, walk, walk_mut};
use super::scan_text;
use crate::event::RejectReason;

/// What to do with a document that contains personal data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiPolicy {
    /// Refuse the document and leave it untouched (the safe default).
    #[default]
    Reject,
    /// Replace each finding by its redaction label and let the document pass.
    Redact,
}

/// Why a document was refused. Carries pointers and spans, never values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GuardRefusal {
    /// Personal data was found in free text.
    #[error("personal data found ({} finding(s))", findings.len())]
    PersonalData {
        /// Where the personal data is.
        findings: Vec<JsonFinding>,
    },
    /// One or more attachments have not been content-scanned.
    #[error("attachment(s) not content-scanned: {}", pointers.join(", "))]
    UnscannedAttachment {
        /// Pointers to the attachment objects.
        pointers: Vec<String>,
    },
}

impl GuardRefusal {
    /// Stable machine-readable reason (equal to the serde `reason` tag).
    #[must_use]
    pub fn reason_code(&self) -> &'static str {
        self.reason().as_str()
    }

    /// The reason as the hub's typed code.
    #[must_use]
    pub fn reason(&self) -> RejectReason {
        match self {
            Self::PersonalData { .. } => RejectReason::PersonalData,
            Self::UnscannedAttachment { .. } => RejectReason::UnscannedAttachment,
        }
    }
}

/// The result of [`PiiGuard::inspect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuardOutcome {
    /// Nothing found; the document is unchanged.
    Clean,
    /// Personal data was found and replaced in place.
    Redacted {
        /// What was replaced (offsets refer to the strings before redaction).
        findings: Vec<JsonFinding>,
    },
    /// The document must not leave the region; it is unchanged.
    Rejected(GuardRefusal),
}

impl GuardOutcome {}

/// Scans documents and applies a [`PiiPolicy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PiiGuard {
    policy: PiiPolicy,
    exempt_pointers: Vec<String>,
}

impl Default for PiiGuard {
    fn default() -> Self {
        Self::new(PiiPolicy::default())
    }
}

impl PiiGuard {
    /// Fields exempt by default: structured identifiers that belong there.
    pub(crate) const DEFAULT_EXEMPT_POINTERS: &'static [&'static str] = &["/careUnitHsaId"];

    /// A guard with `policy` and the default exemptions.
    #[must_use]
    pub fn new(policy: PiiPolicy) -> Self {
        let exempt_pointers = Self::DEFAULT_EXEMPT_POINTERS
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
        Self {
            policy,
            exempt_pointers,
        }
    }

    /// Replaces the exempt pointers. A pointer exempts its whole subtree;
    /// the empty pointer `""` would exempt the whole document.
    #[must_use]
    pub(crate) fn with_exempt_pointers<I, S>(mut self, pointers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exempt_pointers = pointers.into_iter().map(Into::into).collect();
        self
    }

    /// The configured policy.
    #[must_use]
    pub fn policy(&self) -> PiiPolicy {
        self.policy
    }

    /// The configured exempt pointers.
    #[must_use]
    pub(crate) fn exempt_pointers(&self) -> &[String] {
        &self.exempt_pointers
    }

    /// Inspects `data` (a need, or any document) as of `today`.
    ///
    /// Unscanned attachments are refused first under both policies. Then
    /// `Reject` refuses a document with findings and leaves it untouched, and
    /// `Redact` replaces each finding in place and reports what it replaced.
    #[must_use]
    pub fn inspect(&self, data: &mut Value, today: Date) -> GuardOutcome {
        let unscanned = unscanned_attachments(data);
        if !unscanned.is_empty() {
            return GuardOutcome::Rejected(GuardRefusal::UnscannedAttachment {
                pointers: unscanned,
            });
        }
        let findings = match self.policy {
            PiiPolicy::Reject => self.findings(data, today),
            PiiPolicy::Redact => self.redact_in_place(data, today),
        };
        match (findings.is_empty(), self.policy) {
            (true, _) => GuardOutcome::Clean,
            (false, PiiPolicy::Reject) => {
                GuardOutcome::Rejected(GuardRefusal::PersonalData { findings })
            }
            (false, PiiPolicy::Redact) => GuardOutcome::Redacted { findings },
        }
    }

    fn is_exempt(&self, pointer: &str) -> bool {
        self.exempt_pointers.iter().any(|exempt| {
            pointer
                .strip_prefix(exempt.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    fn findings(&self, data: &Value, today: Date) -> Vec<JsonFinding> {
        let mut out = Vec::new();
        walk(data, &mut String::new(), &mut |pointer, text| {
            if !self.is_exempt(pointer) {
                out.extend(
                    scan_text(text, today)
                        .iter()
                        .map(|f| JsonFinding::located(pointer, f)),
                );
            }
        });
        out
    }

    fn redact_in_place(&self, data: &mut Value, today: Date) -> Vec<JsonFinding> {
        let mut out = Vec::new();
        walk_mut(data, &mut String::new(), &mut |pointer, text| {
            if self.is_exempt(pointer) {
                return None;
            }
            let found = scan_text(text, today);
            if found.is_empty() {
                return None;
            }
            out.extend(found.iter().map(|f| JsonFinding::located(pointer, f)));
            Some(redact(text, &found))
        });
        out
    }
}

/// Replaces each finding's byte span in `text` by its redaction label.
/// `findings` must come from [`scan_text`](super::scan_text) on the same text.
#[must_use]
pub fn redact(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for f in findings {
        if f.byte_start < copied {
            continue;
        }
        out.push_str(text.get(copied..f.byte_start).unwrap_or_default());
        out.push_str(f.kind.redaction_label());
        copied = f.byte_end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// Pointers of attachment entries that are not positively marked as scanned.
///
/// Any array under a key `attachments`, at any depth, is checked. An entry
/// passes only if it is an object with `"contentScanned": true`; a missing
/// flag or a bare value counts as unscanned (fail closed).
fn unscanned_attachments(data: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_unscanned(data, &mut String::new(), &mut out);
    out
}

fn collect_unscanned(value: &Value, pointer: &mut String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                push_token(pointer, key);
                if let (true, Value::Array(entries)) = (key == "attachments", item) {
                    for (i, entry) in entries.iter().enumerate() {
                        if entry.get("contentScanned") != Some(&Value::Bool(true)) {
                            let mut at = pointer.clone();
                            push_index(&mut at, i);
                            out.push(at);
                        }
                    }
                }
                collect_unscanned(item, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                push_index(pointer, i);
                collect_unscanned(item, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 22);

    #[test]
    fn policy_serde_and_default() {
        assert_eq!(PiiPolicy::default(), PiiPolicy::Reject);
        let p: Result<PiiPolicy, _> = serde_json::from_str("\"redact\"");
        assert_eq!(p.ok(), Some(PiiPolicy::Redact));
    }

    #[test]
    fn reject_leaves_data_untouched() {
        let mut doc = json!({"description": "ring 070-174 06 05", "careUnitHsaId": "x"});
        let before = doc.clone();
        let outcome = PiiGuard::new(PiiPolicy::Reject).inspect(&mut doc, TODAY);
        assert_eq!(doc, before);
        let GuardOutcome::Rejected(refusal) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(refusal.reason_code(), "personal_data");
    }

    #[test]
    fn redact_replaces_in_place() {
        let mut doc = json!({"a": {"b": ["ring 070-174 06 05 eller pilot@example.org"]}});
        let outcome = PiiGuard::new(PiiPolicy::Redact).inspect(&mut doc, TODAY);
        assert!(matches!(&outcome, GuardOutcome::Redacted { findings } if findings.len() == 2));
        assert_eq!(doc, json!({"a": {"b": ["ring [telefon] eller [e-post]"]}}));
    }

    #[test]
    fn exempt_pointers_cover_subtrees_only() {
        let guard = PiiGuard::new(PiiPolicy::Reject).with_exempt_pointers(["/ids"]);
        assert!(guard.is_exempt("/ids") && guard.is_exempt("/ids/0"));
        assert!(!guard.is_exempt("/idsx") && !guard.is_exempt("/careUnitHsaId"));
        let mut doc = json!({"ids": ["070-174 06 05"]});
        assert_eq!(guard.inspect(&mut doc, TODAY), GuardOutcome::Clean);
    }

    #[test]
    fn attachments_fail_closed_at_any_depth() {
        let mut doc = json!({"data": {"attachments": [
            {"contentScanned": true}, {"contentScanned": false}, {"fileName": "x.png"}, "y.pdf"
        ]}});
        let outcome = PiiGuard::new(PiiPolicy::Redact).inspect(&mut doc, TODAY);
        let expected = vec![
            "/data/attachments/1".to_owned(),
            "/data/attachments/2".to_owned(),
            "/data/attachments/3".to_owned(),
        ];
        assert_eq!(
            outcome,
            GuardOutcome::Rejected(GuardRefusal::UnscannedAttachment { pointers: expected })
        );
    }

    #[test]
    fn refusal_serialises_with_reason_tag() {
        let r = GuardRefusal::UnscannedAttachment {
            pointers: vec!["/attachments/0".into()],
        };
        let text = serde_json::to_string(&r).ok();
        assert_eq!(
            text.as_deref(),
            Some(r#"{"reason":"unscanned_attachment","pointers":["/attachments/0"]}"#)
        );
        assert_eq!(
            r.to_string(),
            "attachment(s) not content-scanned: /attachments/0"
        );
    }
}
