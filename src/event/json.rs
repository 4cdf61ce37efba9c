//! Bytes → JSON with limits checked first, so hostile input costs at most one linear scan.
//!
//! serde_json stops at 128 levels with a generic syntax error; checking nesting ourselves gives
//! the sender a precise reason code (`too_deep`) and keeps the limit configurable.

use serde_json::Value;

use super::error::EventError;

/// Input limits, from `[limits]` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted body in bytes.
    pub max_message_bytes: usize,
    /// Deepest accepted nesting of JSON arrays and objects.
    pub max_depth: usize,
    /// Most headers accepted on one message.
    pub max_headers: usize,
    /// Largest accepted sum of header name and value bytes (values as the transport renders
    /// them).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 1024 * 1024,
            max_depth: 32,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// Parse a JSON body under `limits`: size, emptiness and depth are checked before parsing.
pub fn parse_json(body: &[u8], limits: Limits) -> Result<Value, EventError> {
    if body.len() > limits.max_message_bytes {
        return Err(EventError::TooLarge {
            size: body.len(),
            limit: limits.max_message_bytes,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EventError::Empty);
    }
    check_depth(body, limits.max_depth)?;
    serde_json::from_slice(body).map_err(|e| EventError::MalformedJson {
        // serde_json's messages name the position and the expected token, never the content.
        detail: e.to_string(),
    })
}

/// Fail when arrays/objects nest deeper than `max`, ignoring brackets inside strings.
fn check_depth(body: &[u8], max: usize) -> Result<(), EventError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(EventError::TooDeep { limit: max });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RejectReason;

    fn reason(body: &[u8]) -> RejectReason {
        parse_json(
            body,
            Limits {
                max_message_bytes: 64,
                max_depth: 4,
                ..Limits::default()
            },
        )
        .unwrap_err()
        .reason()
    }

    #[test]
    fn limits_are_checked_with_precise_reasons() {
        assert_eq!(reason(b""), RejectReason::EmptyMessage);
        assert_eq!(reason(b" \n\t"), RejectReason::EmptyMessage);
        assert_eq!(reason(&[b' '; 65]), RejectReason::TooLarge);
        assert_eq!(reason(b"[[[[[1]]]]]"), RejectReason::TooDeep);
        assert_eq!(reason(b"{\"a\":"), RejectReason::MalformedJson);
        assert_eq!(
            reason(&[0xff, 0xfe, 0x00, 0x12]),
            RejectReason::MalformedJson
        );
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let body = br#"{"a": "[[[[[[[[\"{{{{{{"}"#;
        let limits = Limits {
            max_message_bytes: 64,
            max_depth: 2,
            ..Limits::default()
        };
        assert!(parse_json(body, limits).is_ok());
    }
}
