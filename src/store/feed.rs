//! Each organisation's feed: the events the hub addresses to it, numbered in the order its
//! queue receives them, for partners that read over HTTP (`GET /v1/feed`) or take webhooks.
//!
//! A [`Tx`] collects the feed entries of the events it enqueues for organisations and writes
//! them last, just before its commit, so the row lock on each organisation's feed head is held
//! only for the commit itself; it takes the heads in organisation order, so two transactions
//! never wait on each other in a cycle. Appends to one feed therefore commit in `seq` order
//! (see migration 0010), and a reader can page by "after `seq`" without ever missing a row
//! that commits late. After the commit the store's feed signal ticks, which wakes long polls
//! in this process; other processes sharing the database see the rows on their next read.
//!
//! A feed event does not copy the event's body: it names the outbox row that publishes it
//! (`outbox_id`, migration 0012) and [`Store::feed_after`] reads the body from there, so each
//! body is written once. Retention keeps an outbox row while a feed event names it.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Row;
use time::OffsetDateTime;
use tokio::sync::watch;

use super::rows::{event_id, from_ms, now_ms};
use super::tx::{ROWS_PER_INSERT, Tx, multi_row_insert};
use super::{Store, StoreError};
use crate::event::EventId;
use crate::settings::OrgId;

/// Ticks after every commit that appended to a feed (the value counts commits).
pub(super) type FeedSignal = Arc<watch::Sender<u64>>;

/// A new signal.
pub(super) fn signal() -> FeedSignal {
    Arc::new(watch::Sender::new(0))
}

/// One event for an organisation's feed, waiting in a [`Tx`] for its commit.
#[derive(Debug, Clone)]
pub(super) struct FeedEntry {
    pub(super) org: OrgId,
    pub(super) event_id: EventId,
    pub(super) event_type: String,
    /// The outbox row that publishes it, which holds the body.
    pub(super) outbox_id: i64,
}

/// One event in an organisation's feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Its position in the organisation's feed: 1, 2, 3, … in the order the queue got them.
    pub seq: i64,
    /// The event id.
    pub event_id: EventId,
    /// The CloudEvents type.
    pub event_type: String,
    /// The structured CloudEvent as published.
    pub body: Vec<u8>,
    /// When the hub wrote it.
    pub created_at: OffsetDateTime,
}

impl Tx {
    /// Writes the collected feed entries: take each organisation's next numbers from its head
    /// (one statement for all of them, in organisation order), then insert the rows (one
    /// statement per [`ROWS_PER_INSERT`]). Called by [`Tx::commit`]. Two statements however
    /// many organisations the transaction addresses: on SQLite every statement is a round trip
    /// to the connection's thread, and a need addresses five or so organisations.
    pub(super) async fn append_feeds(&mut self) -> Result<bool, StoreError> {
        let mut entries = std::mem::take(&mut self.feed);
        if entries.is_empty() {
            return Ok(false);
        }
        // Stable: one organisation's events keep the order they were enqueued in.
        entries.sort_by(|a, b| a.org.as_str().cmp(b.org.as_str()));
        let heads = self.advance_heads(&entries).await?;
        let now = now_ms();
        let mut numbered = Vec::with_capacity(entries.len());
        for group in entries.chunk_by(|a, b| a.org == b.org) {
            let last = heads
                .get(group[0].org.as_str())
                .copied()
                .ok_or_else(|| StoreError::from(sqlx::Error::RowNotFound))?;
            let first = last - i64::try_from(group.len()).unwrap_or(i64::MAX) + 1;
            numbered.extend(group.iter().zip(first..));
        }
        for chunk in numbered.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert(
                self.backend(),
                "INSERT INTO org_feed (org_id, seq, event_id, event_type, outbox_id, \
                 created_at_ms) VALUES ",
                chunk.len(),
                6,
                "",
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (entry, seq) in chunk {
                query = query
                    .bind(entry.org.as_str())
                    .bind(*seq)
                    .bind(entry.event_id.as_ref())
                    .bind(entry.event_type.as_str())
                    .bind(entry.outbox_id)
                    .bind(now);
            }
            query.execute(&mut *self.inner).await?;
        }
        Ok(true)
    }

    /// Moves each organisation's head past its entries (sorted by organisation) and returns
    /// the new heads. The rows are locked in organisation order, as the statement lists them,
    /// so two transactions never wait on each other in a cycle.
    async fn advance_heads(
        &mut self,
        entries: &[FeedEntry],
    ) -> Result<HashMap<String, i64>, StoreError> {
        let counts: Vec<(&str, i64)> = entries
            .chunk_by(|a, b| a.org == b.org)
            .map(|group| {
                let count = i64::try_from(group.len()).unwrap_or(i64::MAX);
                (group[0].org.as_str(), count)
            })
            .collect();
        let mut heads = HashMap::with_capacity(counts.len());
        for chunk in counts.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert(
                self.backend(),
                "INSERT INTO org_feed_heads (org_id, last_seq) VALUES ",
                chunk.len(),
                2,
                "",
            ) + " ON CONFLICT (org_id) DO UPDATE \
                 SET last_seq = org_feed_heads.last_seq + excluded.last_seq \
                 RETURNING org_id, last_seq";
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (org, count) in chunk {
                query = query.bind(*org).bind(*count);
            }
            for row in query.fetch_all(&mut *self.inner).await? {
                heads.insert(row.try_get("org_id")?, row.try_get("last_seq")?);
            }
        }
        Ok(heads)
    }
}

impl Store {
    /// Up to `limit` events of `org`'s feed after position `after` (0: from the start), oldest
    /// first. The body comes from the outbox row the event names (events written before
    /// migration 0012 carry their own).
    pub async fn feed_after(
        &self,
        org: &OrgId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<FeedEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.seq, f.event_id, f.event_type, COALESCE(f.body, o.body) AS body, \
             f.created_at_ms FROM org_feed f LEFT JOIN outbox o ON o.id = f.outbox_id \
             WHERE f.org_id = $1 AND f.seq > $2 ORDER BY f.seq LIMIT $3",
        )
        .bind(org.as_str())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pools.reader)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("event_id")?;
                Ok(FeedEvent {
                    seq: row.try_get("seq")?,
                    event_id: event_id(&id, "org_feed.event_id")?,
                    event_type: row.try_get("event_type")?,
                    body: row.try_get("body")?,
                    created_at: from_ms(row.try_get("created_at_ms")?, "org_feed.created_at_ms")?,
                })
            })
            .collect()
    }

    /// The position of `org`'s newest feed event (0 when its feed is empty).
    pub async fn feed_head(&self, org: &OrgId) -> Result<i64, StoreError> {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last_seq FROM org_feed_heads WHERE org_id = $1")
                .bind(org.as_str())
                .fetch_optional(&self.pools.reader)
                .await?;
        Ok(last.unwrap_or(0))
    }

    /// A receiver that changes after every commit in this process that appended to any feed
    /// (wait with `changed()`; re-read the feed after it fires). Commits by other processes do
    /// not tick it: poll as well.
    #[must_use]
    pub fn feed_changes(&self) -> watch::Receiver<u64> {
        self.pools.feed.subscribe()
    }
}
