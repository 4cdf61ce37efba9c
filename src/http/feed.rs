//! `GET /v1/feed`: an organisation reads the events the hub addresses to it over HTTP, in the
//! order its queue receives them — the pull counterpart of its AMQP queue, for partners that
//! run no AMQP client.
//!
//! Paging is by position, not by offset or time: the store numbers each organisation's feed
//! 1, 2, 3, … and appends to one feed commit in that order (`src/store/feed.rs`), so "the
//! events after n" never skips one that committed late. The position is handed out wrapped in
//! an opaque, versioned cursor (hex of `v1:<seq>`), so the encoding may change without
//! breaking clients that just send back the `next` they were given. Positions are never
//! reused, also after retention pruned old events: an old cursor continues from the oldest
//! kept event.
//!
//! A client that has read everything may ask to wait (`wait`, up to 30 s) instead of polling
//! in a loop. The handler then waits on the store's feed signal, which ticks after every
//! commit in this process that appended to a feed, and re-reads about once a second as well,
//! since another hub instance sharing the PostgreSQL database commits without ticking it. It
//! answers as soon as there is an event, with an empty page when the wait is over, and at once
//! when the hub shuts down (so a long poll never holds up a shutdown).
//!
//! Delivery is at least once: a client that loses an answer asks again with its old cursor
//! and gets the same events again, so it dedupes by event id.

use std::ops::RangeInclusive;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::HttpState;
use super::auth::Caller;
use super::error::ApiError;
use crate::pipeline::Pipeline;
use crate::settings::OrgId;
use crate::store::{FeedEvent, StoreError};
use crate::transport::Shutdown;

/// Events per page when `limit` is not given, and the range it may take.
pub(crate) const DEFAULT_LIMIT: u32 = 100;
pub(crate) const LIMITS: RangeInclusive<u32> = 1..=1000;
/// Seconds a long poll may wait.
pub(crate) const WAITS: RangeInclusive<u32> = 0..=30;
/// How often a long poll re-reads the feed without a signal (for other hub instances' commits).
const REREAD_EVERY: Duration = Duration::from_secs(1);
/// Stored event bytes a page holds at most (it always holds one event, however large).
pub(crate) const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// The version prefix of a cursor's text.
const CURSOR_V1: &str = "v1:";

/// `GET /v1/feed` query parameters, as text so that bad values get this API's own 400.
#[derive(Debug, Deserialize)]
pub(crate) struct FeedQuery {
    after: Option<String>,
    limit: Option<String>,
    wait: Option<String>,
}

/// A request, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ask {
    /// The position after which to read (0: from the beginning).
    after: i64,
    limit: u32,
    wait: Duration,
}

/// The handler.
pub(crate) async fn read_feed(
    State(state): State<HttpState>,
    Caller(org): Caller,
    query: Result<Query<FeedQuery>, QueryRejection>,
    shutdown: Option<Extension<Shutdown>>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::BadQuery("the query string cannot be read; use after, limit and wait".into())
    })?;
    let ask = parse(&query)?;
    let pipeline = &state.pipeline;
    available(pipeline)?;
    if ask.after > 0 {
        let head = pipeline
            .store()
            .feed_head(&org.id)
            .await
            .map_err(|e| read_failure(&e))?;
        if ask.after > head {
            return Err(ApiError::InvalidCursor(
                "the cursor is beyond the end of your feed; send a `next` that your own feed gave",
            ));
        }
    }
    let shutdown = shutdown.map(|Extension(s)| s);
    let events = wait_for_page(pipeline, &org.id, ask, shutdown.as_ref()).await?;
    page(&org.id, ask.after, fit(events))
}

/// The query's values, or why not.
fn parse(query: &FeedQuery) -> Result<Ask, ApiError> {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let after = match given(&query.after) {
        None => 0,
        Some(cursor) => decode_cursor(&cursor).ok_or(ApiError::InvalidCursor(
            "`after` must be a `next` this API gave, unchanged (or absent, to read from the \
             beginning)",
        ))?,
    };
    let limit = bounded("limit", given(&query.limit), DEFAULT_LIMIT, LIMITS)?;
    let wait = bounded("wait", given(&query.wait), 0, WAITS)?;
    Ok(Ask {
        after,
        limit,
        wait: Duration::from_secs(u64::from(wait)),
    })
}

/// `value` as an integer in `range`, `default` when absent.
fn bounded(
    name: &str,
    value: Option<String>,
    default: u32,
    range: RangeInclusive<u32>,
) -> Result<u32, ApiError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .parse::<u32>()
        .ok()
        .filter(|n| value.bytes().all(|b| b.is_ascii_digit()) && range.contains(n))
        .ok_or_else(|| {
            ApiError::BadQuery(format!(
                "{name} must be an integer from {} to {}",
                range.start(),
                range.end()
            ))
        })
}

/// Reads a page; when it is empty, waits up to `ask.wait` for events and reads again.
async fn wait_for_page(
    pipeline: &Pipeline,
    org: &OrgId,
    ask: Ask,
    shutdown: Option<&Shutdown>,
) -> Result<Vec<FeedEvent>, ApiError> {
    let store = pipeline.store();
    // Subscribed before the first read, so a commit between that read and the wait wakes it.
    let mut changes = store.feed_changes();
    let deadline = Instant::now() + ask.wait;
    loop {
        let events = store
            .feed_after(org, ask.after, ask.limit)
            .await
            .map_err(|e| read_failure(&e))?;
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            return Ok(events);
        }
        let nap = (deadline - now).min(REREAD_EVERY);
        let stopping = async {
            match shutdown {
                Some(shutdown) => shutdown.wait().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = changes.changed() => {
                // The signal is gone only with the store: fall back to re-reading.
                if changed.is_err() {
                    tokio::time::sleep(nap).await;
                }
            }
            () = tokio::time::sleep(nap) => {}
            () = stopping => return Ok(events),
        }
        available(pipeline)?;
    }
}

/// The first events of `events` that fit in [`MAX_PAGE_BYTES`] (at least one).
fn fit(mut events: Vec<FeedEvent>) -> Vec<FeedEvent> {
    let mut bytes = 0usize;
    let keep = events
        .iter()
        .position(|e| {
            bytes = bytes.saturating_add(e.body.len());
            bytes > MAX_PAGE_BYTES
        })
        .map_or(events.len(), |over| over.max(1));
    events.truncate(keep);
    events
}

/// The answer: the events as JSON objects, and the cursor to continue from.
fn page(org: &OrgId, after: i64, events: Vec<FeedEvent>) -> Result<Json<Value>, ApiError> {
    let next = events.last().map_or(after, |e| e.seq);
    let events = events
        .iter()
        .map(|e| {
            serde_json::from_slice::<Value>(&e.body).map_err(|error| {
                // The hub wrote it from a serialized event: the store is damaged.
                tracing::error!(
                    org = org.as_str(),
                    event_id = %e.event_id,
                    %error,
                    "a stored feed event is not JSON"
                );
                ApiError::Internal
            })
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(Json(json!({"events": events, "next": encode_cursor(next)})))
}

/// 503 while the hub is paused, as for every other request that needs the store.
fn available(pipeline: &Pipeline) -> Result<(), ApiError> {
    if pipeline.pause().is_paused() {
        return Err(ApiError::Unavailable);
    }
    Ok(())
}

fn read_failure(error: &StoreError) -> ApiError {
    tracing::warn!(error = %error, "cannot read a feed for the HTTP API");
    ApiError::Unavailable
}

/// The cursor of position `seq`: lower-case hex of `v1:<seq>`.
pub(crate) fn encode_cursor(seq: i64) -> String {
    format!("{CURSOR_V1}{seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The position of a cursor [`encode_cursor`] made, or `None` for anything else.
pub(crate) fn decode_cursor(cursor: &str) -> Option<i64> {
    // "v1:" and the 19 digits of i64::MAX, two hex digits each.
    if cursor.len() > 2 * (CURSOR_V1.len() + 19) || !cursor.len().is_multiple_of(2) {
        return None;
    }
    let digits: Vec<u32> = cursor
        .chars()
        .map(|c| c.to_digit(16))
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = digits
        .chunks(2)
        .map(|pair| u8::try_from(pair[0] * 16 + pair[1]).ok())
        .collect::<Option<_>>()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let seq = text.strip_prefix(CURSOR_V1)?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    seq.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_gives_back_its_position_and_nothing_else_is_a_cursor() {
        for seq in [0, 1, 42, i64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq), "{seq}");
        }
        assert_eq!(encode_cursor(42), "76313a3432");
        assert_eq!(decode_cursor("76313A3432"), Some(42), "either case");
        let v2 = "v2:42"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let minus = "v1:-1"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let plus = "v1:+1"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let huge = "v1:99999999999999999999"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        for bad in [
            "",
            "42",
            "76313a",
            "76313a343",
            "zz313a3432",
            "+6313a3432",
            "v1:42",
            &v2,
            &minus,
            &plus,
            &huge,
            "ff",
        ] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
    }

    fn query(after: Option<&str>, limit: Option<&str>, wait: Option<&str>) -> FeedQuery {
        FeedQuery {
            after: after.map(str::to_owned),
            limit: limit.map(str::to_owned),
            wait: wait.map(str::to_owned),
        }
    }

    #[test]
    fn limits_and_waits_out_of_range_are_refused_and_absent_ones_take_defaults() {
        let defaults = parse(&query(None, None, None)).expect("defaults");
        let expected = Ask {
            after: 0,
            limit: 100,
            wait: Duration::ZERO,
        };
        assert_eq!(defaults, expected);
        assert_eq!(
            parse(&query(Some(""), Some(""), Some(""))).ok(),
            Some(expected)
        );
        let full = parse(&query(Some(&encode_cursor(7)), Some("1000"), Some("30"))).expect("ok");
        assert_eq!((full.after, full.limit, full.wait.as_secs()), (7, 1000, 30));
        for (limit, wait) in [
            ("0", "0"),
            ("1001", "0"),
            ("ten", "0"),
            ("+5", "0"),
            ("-1", "0"),
            ("1", "31"),
            ("1", "1.5"),
        ] {
            let refused = parse(&query(None, Some(limit), Some(wait)));
            assert!(
                matches!(refused, Err(ApiError::BadQuery(_))),
                "{limit} {wait}"
            );
        }
        assert!(matches!(
            parse(&query(Some("nope"), None, None)),
            Err(ApiError::InvalidCursor(_))
        ));
    }

    fn event(seq: i64, bytes: usize) -> FeedEvent {
        FeedEvent {
            seq,
            event_id: crate::event::EventId::parse(&format!("e-{seq}")).expect("id"),
            event_type: "se.samverkan.need.status.v1".into(),
            body: vec![b' '; bytes],
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_page_stops_before_its_byte_limit_but_always_holds_one_event() {
        let half = MAX_PAGE_BYTES / 2;
        let seqs = |events: Vec<FeedEvent>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
        let three = vec![event(1, half), event(2, half), event(3, 1)];
        assert_eq!(seqs(fit(three)), [1, 2]);
        assert_eq!(
            seqs(fit(vec![event(1, MAX_PAGE_BYTES + 1), event(2, 1)])),
            [1]
        );
        assert_eq!(seqs(fit(vec![event(1, 1), event(2, 1)])), [1, 2]);
        assert!(fit(vec![]).is_empty());
    }
}
