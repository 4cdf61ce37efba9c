//! Walking JSON documents: every string (and integer) at any depth is scanned.
//!
//! PII does not stay in the fields one expects: staff paste identifiers into
//! titles, tags, roles and attachment names, and partners nest data freely.
//! The walk therefore visits every value rather than a list of known free-text
//! fields, and reports each hit with an RFC 6901 JSON pointer (`~` → `~0`,
//! `/` → `~1`) and char offsets inside that string. Integers are scanned as
//! their decimal text, because a 12-digit personnummer is easily stored as a
//! JSON number. Object keys are not scanned (they cannot be redacted in place).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;

use super::finding::{Finding, PiiKind};
use super::scan_text;

/// One finding inside a JSON document. Carries no part of the value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JsonFinding {
    /// What was found.
    pub kind: PiiKind,
    /// RFC 6901 pointer to the string that holds it.
    pub pointer: String,
    /// Char offset of the first char inside that string (before any redaction).
    pub start: usize,
    /// Char offset just past the last char.
    pub end: usize,
}

/// Scans every string and integer in `value`. Findings are in document order.
#[must_use]
pub fn scan_json(value: &Value, today: Date) -> Vec<JsonFinding> {
    let mut out = Vec::new();
    walk(value, &mut String::new(), &mut |pointer, text| {
        out.extend(json_findings(pointer, text, today));
    });
    out
}

/// The findings for one string, located by `pointer`.
pub(crate) fn json_findings(pointer: &str, text: &str, today: Date) -> Vec<JsonFinding> {
    scan_text(text, today)
        .iter()
        .map(|f| JsonFinding::located(pointer, f))
        .collect()
}

impl JsonFinding {
    /// Places a text finding at `pointer`.
    pub(crate) fn located(pointer: &str, finding: &Finding) -> Self {
        Self {
            kind: finding.kind,
            pointer: pointer.to_owned(),
            start: finding.char_start,
            end: finding.char_end,
        }
    }
}

/// Appends one escaped reference token to `pointer`.
pub(crate) fn push_token(pointer: &mut String, token: &str) {
    pointer.push('/');
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

pub(crate) fn push_index(pointer: &mut String, index: usize) {
    pointer.push('/');
    pointer.push_str(&index.to_string());
}

/// The text of a scalar worth scanning: strings, and integers as decimals.
fn scannable(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            Some(std::borrow::Cow::Owned(n.to_string()))
        }
        _ => None,
    }
}

/// Calls `visit(pointer, text)` for every scannable value.
pub(crate) fn walk(value: &Value, pointer: &mut String, visit: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                push_index(pointer, i);
                walk(item, pointer, visit);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                push_token(pointer, key);
                walk(item, pointer, visit);
                pointer.truncate(len);
            }
        }
        other => {
            if let Some(text) = scannable(other) {
                visit(pointer, &text);
            }
        }
    }
}

/// Like [`walk`], but `visit` may return a replacement text, which is written
/// back as a JSON string (an integer holding PII becomes a string label).
pub(crate) fn walk_mut(
    value: &mut Value,
    pointer: &mut String,
    visit: &mut dyn FnMut(&str, &str) -> Option<String>,
) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                push_index(pointer, i);
                walk_mut(item, pointer, visit);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let len = pointer.len();
                push_token(pointer, key);
                walk_mut(item, pointer, visit);
                pointer.truncate(len);
            }
        }
        other => {
            let replacement = scannable(other).and_then(|text| visit(pointer, &text));
            if let Some(new_text) = replacement {
                *other = Value::String(new_text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 22);

    #[test]
    fn pointers_are_escaped() {
        let mut p = String::new();
        push_token(&mut p, "a/b~c");
        assert_eq!(p, "/a~1b~0c");
    }

    #[test]
    fn walks_every_depth_and_reports_char_offsets() {
        let doc = json!({
            "title": "ok",
            "x/y": {"deep": ["nothing", "Åsa: 850522-9891"]},
            "ints": [198_505_229_891_u64, 42],
        });
        let found = scan_json(&doc, TODAY);
        let pointers: Vec<_> = found
            .iter()
            .map(|f| (f.pointer.as_str(), f.start, f.end))
            .collect();
        assert!(pointers.contains(&("/x~1y/deep/1", 5, 16)), "{pointers:?}");
        assert!(pointers.contains(&("/ints/0", 0, 12)), "{pointers:?}");
        assert_eq!(found.len(), 2);
        let pointed = doc.pointer("/x~1y/deep/1").and_then(Value::as_str);
        assert_eq!(pointed, Some("Åsa: 850522-9891"));
    }

    #[test]
    fn serialises_without_values() {
        let f = JsonFinding {
            kind: PiiKind::Phone,
            pointer: "/description".into(),
            start: 3,
            end: 9,
        };
        let text = serde_json::to_string(&f).ok();
        assert_eq!(
            text.as_deref(),
            Some(r#"{"kind":"phone","pointer":"/description","start":3,"end":9}"#)
        );
    }

    #[test]
    fn walk_mut_replaces_scalars() {
        let mut doc = json!({"a": ["x", 7]});
        walk_mut(&mut doc, &mut String::new(), &mut |_, t| {
            (t == "7").then(|| "seven".into())
        });
        assert_eq!(doc, json!({"a": ["x", "seven"]}));
    }
}
