//! The CloudEvents distributed-tracing extension: `traceparent` and `tracestate` carried from
//! an inbound event to every event it causes, so a partner's trace continues through the hub.
//!
//! Both are partner text that the hub would repeat to other organisations, so they travel only
//! when they have the W3C Trace Context shape (`00-<32 hex>-<16 hex>-<2 hex>`; a `tracestate`
//! of at most 32 `key=value` members and 512 bytes). Anything else is dropped, not repaired or
//! echoed; a `tracestate` without a valid `traceparent` means nothing and is dropped too.
//!
//! A transport may carry a trace context beside the event: an HTTP client instrumented with
//! OpenTelemetry sends the plain W3C `traceparent` / `tracestate` headers rather than the
//! CloudEvents extension. That context, validated the same way, is the event's own when the
//! event has none that is valid ([`Trace::fill`]); the event's own always wins.

use std::collections::BTreeMap;

use serde_json::Value;

use super::envelope::CloudEvent;

/// The extension attribute names.
const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
/// W3C Trace Context bounds for `tracestate`.
const MAX_TRACESTATE_BYTES: usize = 512;
const MAX_TRACESTATE_MEMBERS: usize = 32;

/// A validated trace context (possibly empty), ready to stamp on outbound events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    traceparent: Option<String>,
    tracestate: Option<String>,
}

impl Trace {
    /// No trace context (for statics; [`Trace::default`] is the same).
    pub const NONE: Self = Self {
        traceparent: None,
        tracestate: None,
    };

    /// The trace context of `traceparent` and `tracestate` values, each kept only if valid.
    pub fn new(traceparent: Option<&str>, tracestate: Option<&str>) -> Self {
        let Some(parent) = traceparent.filter(|p| is_traceparent(p)) else {
            return Self::default();
        };
        Self {
            traceparent: Some(parent.to_owned()),
            tracestate: tracestate.filter(|s| is_tracestate(s)).map(str::to_owned),
        }
    }

    /// The trace context of an event's extension attributes.
    pub fn of(event: &CloudEvent) -> Self {
        Self::from_extensions(&event.extensions)
    }

    /// The trace context of extension attributes (as parsed, or sniffed from a refused body).
    pub(crate) fn from_extensions(extensions: &BTreeMap<String, Value>) -> Self {
        let text = |name: &str| extensions.get(name).and_then(Value::as_str);
        Self::new(text(TRACEPARENT), text(TRACESTATE))
    }

    /// The validated `traceparent`, if any.
    pub fn traceparent(&self) -> Option<&str> {
        self.traceparent.as_deref()
    }

    /// The validated `tracestate`, if any.
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// This trace context, or `fallback` when this one has no `traceparent`.
    #[must_use]
    pub fn or(self, fallback: &Self) -> Self {
        if self.traceparent.is_some() {
            self
        } else {
            fallback.clone()
        }
    }

    /// `event` with this trace context when the event carries no valid one of its own (the
    /// transport's context under an event without the extension); otherwise `event` unchanged.
    #[must_use]
    pub fn fill(&self, event: CloudEvent) -> CloudEvent {
        if self.traceparent.is_none() || Self::of(&event).traceparent.is_some() {
            return event;
        }
        self.stamp(event)
    }

    /// `event` carrying this trace context (replacing any it had).
    pub fn stamp(&self, mut event: CloudEvent) -> CloudEvent {
        for name in [TRACEPARENT, TRACESTATE] {
            event.extensions.remove(name);
        }
        if let Some(parent) = &self.traceparent {
            event
                .extensions
                .insert(TRACEPARENT.to_owned(), Value::String(parent.clone()));
        }
        if let Some(state) = &self.tracestate {
            event
                .extensions
                .insert(TRACESTATE.to_owned(), Value::String(state.clone()));
        }
        event
    }
}

/// `00-<trace-id>-<parent-id>-<flags>` in lower-case hex, with non-zero ids (W3C Trace
/// Context, version 00: the only version whose exact shape is known).
fn is_traceparent(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let [version, trace_id, parent_id, flags] = parts.as_slice() else {
        return false;
    };
    let hex = |p: &str, len: usize| {
        p.len() == len
            && p.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let zero = |p: &str| p.bytes().all(|b| b == b'0');
    *version == "00"
        && hex(trace_id, 32)
        && !zero(trace_id)
        && hex(parent_id, 16)
        && !zero(parent_id)
        && hex(flags, 2)
}

/// A W3C `tracestate`: comma-separated `key=value` members (empty members allowed), keys
/// unique, within the size bounds.
fn is_tracestate(s: &str) -> bool {
    if s.len() > MAX_TRACESTATE_BYTES {
        return false;
    }
    let mut keys = Vec::new();
    for member in s.split(',') {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let Some((key, value)) = member.split_once('=') else {
            return false;
        };
        if !is_key(key) || !is_value(value) || keys.contains(&key) {
            return false;
        }
        keys.push(key);
    }
    keys.len() <= MAX_TRACESTATE_MEMBERS
}

/// `simple-key` or `tenant-id@system-id`.
fn is_key(key: &str) -> bool {
    let part = |p: &str, max: usize, first_digit: bool| {
        let mut bytes = p.bytes();
        let first_ok = bytes
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || (first_digit && b.is_ascii_digit()));
        first_ok
            && p.len() <= max
            && bytes.all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'_' | b'-' | b'*' | b'/')
            })
    };
    match key.split_once('@') {
        None => part(key, 256, true),
        Some((tenant, system)) => part(tenant, 241, true) && part(system, 14, false),
    }
}

/// 1–256 printable ASCII characters other than `,` and `=`, not ending in a space.
fn is_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 256
        && !value.ends_with(' ')
        && value
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b',' && b != b'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_w3c_traceparent_is_kept_with_its_tracestate() {
        let trace = Trace::new(
            Some(PARENT),
            Some("rojo=00f067aa0ba902b7, congo@t61=t61rcWkgMzE"),
        );
        assert_eq!(trace.traceparent(), Some(PARENT));
        assert_eq!(
            trace.tracestate(),
            Some("rojo=00f067aa0ba902b7, congo@t61=t61rcWkgMzE")
        );
    }

    #[test]
    fn a_malformed_traceparent_is_dropped_with_its_tracestate() {
        let bad = [
            "00-abc-def-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "\u{1b}[2J",
            "",
        ];
        for parent in bad {
            assert_eq!(
                Trace::new(Some(parent), Some("a=b")),
                Trace::default(),
                "{parent:?}"
            );
        }
        assert_eq!(Trace::new(None, Some("a=b")), Trace::default());
    }

    #[test]
    fn a_malformed_or_oversized_tracestate_is_dropped_alone() {
        let many = (0..33)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join(",");
        let long = format!("a={}", "v".repeat(257));
        let bad = [
            "novalue",
            "UPPER=x",
            "a=b,a=c",
            "a=b=c",
            "a=\u{1b}x",
            "a=é",
            &many,
            &long,
        ];
        for state in bad {
            let trace = Trace::new(Some(PARENT), Some(state));
            assert_eq!(trace.traceparent(), Some(PARENT));
            assert_eq!(trace.tracestate(), None, "{state:?}");
        }
        let over = (0..20)
            .map(|i| format!("k{i}={}", "v".repeat(24)))
            .collect::<Vec<_>>();
        assert_eq!(
            Trace::new(Some(PARENT), Some(&over.join(","))).tracestate(),
            None
        );
    }

    #[test]
    fn stamping_replaces_what_an_event_carried() {
        let mut extensions = BTreeMap::new();
        extensions.insert(TRACEPARENT.to_owned(), Value::from("00-abc-def-01"));
        extensions.insert(TRACESTATE.to_owned(), Value::from("a=b"));
        assert_eq!(Trace::from_extensions(&extensions), Trace::default());
        let event = CloudEvent::new(
            crate::event::EventType::NeedStatus,
            crate::event::Source::hub(),
            None,
            serde_json::json!({}),
        );
        let event = Trace::default().stamp(Trace::new(Some(PARENT), Some("a=b")).stamp(event));
        assert!(event.extensions.is_empty());
        let event = Trace::new(Some(PARENT), None).stamp(event);
        assert_eq!(event.to_value()[TRACEPARENT], PARENT);
        assert!(event.to_value().get(TRACESTATE).is_none());
    }

    fn event_with(extensions: &[(&str, &str)]) -> CloudEvent {
        let mut event = CloudEvent::new(
            crate::event::EventType::NeedStatus,
            crate::event::Source::hub(),
            None,
            serde_json::json!({}),
        );
        for (name, value) in extensions {
            event
                .extensions
                .insert((*name).to_owned(), Value::from(*value));
        }
        event
    }

    #[test]
    fn a_transport_trace_fills_in_only_where_the_event_has_no_valid_one() {
        const OTHER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let transport = Trace::new(Some(OTHER), Some("congo=t61rcWkgMzE"));
        let own = transport.fill(event_with(&[(TRACEPARENT, PARENT)]));
        assert_eq!(Trace::of(&own), Trace::new(Some(PARENT), None), "own wins");
        for extensions in [&[][..], &[(TRACEPARENT, "00-bad-01"), (TRACESTATE, "a=b")]] {
            let filled = transport.fill(event_with(extensions));
            assert_eq!(Trace::of(&filled), transport, "{extensions:?}");
        }
        let untouched = Trace::NONE.fill(event_with(&[(TRACESTATE, "a=b")]));
        assert_eq!(untouched.extensions[TRACESTATE], "a=b");
        assert_eq!(Trace::NONE.or(&transport), transport);
        assert_eq!(transport.clone().or(&Trace::NONE), transport);
    }
}
