//! The health strip on every page: broker, store, paused or not, the outbox's depth and oldest
//! age, refusals per reason in the last hour.
//!
//! The same sources as `/readyz` and `/metrics`, read concurrently, each with a deadline, so a
//! hung database makes the strip say so rather than hang the page. The store is asked on a
//! reader connection (`SELECT 1`), not with `/readyz`'s write probe: a page view must not take
//! the writer's lock; a store that cannot write shows as the hub being paused. Refusals are
//! counted from the audit trail, where every refusal the pipeline records is written in its
//! own transaction; deliveries dead-lettered as `retries_exhausted` (the store could not
//! write) are not in it and so not counted.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use crate::http::HttpState;
use crate::transport::amqp::LinkStatus;

/// How long each part of the strip may take.
const DEADLINE: Duration = Duration::from_secs(1);

/// What the strip shows; `None` where the store did not answer in time.
#[derive(Debug, Clone)]
pub(crate) struct Health {
    /// `connected`, `reconnecting` or `none` (the in-process broker).
    pub(crate) broker: &'static str,
    /// `ok` or `down`.
    pub(crate) store: &'static str,
    pub(crate) paused: bool,
    pub(crate) outbox_pending: Option<i64>,
    /// Seconds the oldest unsent outbox row has waited; 0 when none waits.
    pub(crate) outbox_oldest_secs: Option<i64>,
    pub(crate) refusals: Option<BTreeMap<String, u64>>,
}

/// Read the strip's figures now.
pub(crate) async fn gather(http: &HttpState) -> Health {
    let store = http.pipeline.store();
    let now = OffsetDateTime::now_utc();
    let (ping, pending, oldest, refusals) = tokio::join!(
        tokio::time::timeout(DEADLINE, store.ping()),
        tokio::time::timeout(DEADLINE, store.outbox_pending_count()),
        tokio::time::timeout(DEADLINE, store.outbox_oldest_unsent_ms()),
        tokio::time::timeout(
            DEADLINE,
            store.refusals_since(now - time::Duration::hours(1))
        ),
    );
    let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let link = |status: &Option<LinkStatus>| match status {
        None => "none",
        Some(link) if link.is_connected() => "connected",
        Some(_) => "reconnecting",
    };
    Health {
        broker: match (link(&http.broker), link(&http.publisher)) {
            ("reconnecting", _) | (_, "reconnecting") => "reconnecting",
            ("none", "none") => "none",
            _ => "connected",
        },
        store: if matches!(ping, Ok(Ok(()))) {
            "ok"
        } else {
            "down"
        },
        paused: http.pipeline.pause().is_paused(),
        outbox_pending: pending.ok().and_then(Result::ok),
        outbox_oldest_secs: oldest
            .ok()
            .and_then(Result::ok)
            .map(|o| o.map_or(0, |created| (now_ms - created).max(0) / 1000)),
        refusals: refusals.ok().and_then(Result::ok),
    }
}
