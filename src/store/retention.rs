//! Retention: old rows that nothing needs any more are deleted, so the store does not grow with
//! every message ever handled.
//!
//! Four tables grow with traffic, each with its own reason to keep rows for a while:
//!
//! - **outbox, sent rows**: for looking back ("was this status published?"); a short
//!   retention (days) is enough. Unsent and parked rows are never pruned, and neither is a
//!   row a feed event still names: the feed reads its body from there (stored once).
//! - **inbox**: the idempotency record. A row must outlive every possible redelivery or re-send
//!   of its event, or a late duplicate would be processed twice; keep it far longer than any
//!   redelivery window (weeks).
//! - **audit**: the trail of what happened to each need, for people (a year).
//! - **org_feed**: each organisation's feed (`GET /v1/feed`), for partners that read late or
//!   fell behind (a month). The feed heads (`org_feed_heads`) are never pruned: positions
//!   must never be reused, and a reader whose cursor points at a pruned event simply
//!   continues from the next kept one. What a webhook still has to deliver is kept: parked
//!   events, and the backlog of a webhook whose delivery task ran within the period.
//!
//! [`Store::prune`] deletes in batches of `batch` rows, each its own short statement, so a
//! large first pruning never holds the SQLite writer or PostgreSQL row locks for long and the
//! pipeline's transactions get in between. Cut-offs are compared with the `*_ms` columns, which
//! the store writes from this host's clock.

use std::time::Duration;

use time::OffsetDateTime;

use super::rows::to_ms;
use super::{Store, StoreError};
use crate::settings::RetentionSettings;

/// How long each kind of row is kept; `None` keeps it for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Outbox rows the broker confirmed, counted from when it confirmed them.
    pub outbox_sent: Option<Duration>,
    /// Inbox rows, counted from when the event was received.
    pub inbox: Option<Duration>,
    /// Audit trail entries, counted from when they were written.
    pub audit: Option<Duration>,
    /// Organisations' feed events, counted from when they were appended.
    pub feed: Option<Duration>,
    /// Rows deleted per statement (at least 1).
    pub batch: i64,
}

impl Retention {
    /// What `[retention]` asks for: days become durations, 0 days keeps for ever.
    #[must_use]
    pub fn from_settings(settings: &RetentionSettings) -> Self {
        const DAY: Duration = Duration::from_secs(24 * 60 * 60);
        let days = |n: u32| (n > 0).then(|| DAY * n);
        Self {
            outbox_sent: days(settings.outbox_sent_days),
            inbox: days(settings.inbox_days),
            audit: days(settings.audit_days),
            feed: days(settings.feed_days),
            batch: i64::from(settings.batch_rows),
        }
    }
}

/// Rows deleted by one [`Store::prune`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Sent outbox rows.
    pub outbox: u64,
    /// Inbox rows.
    pub inbox: u64,
    /// Audit entries.
    pub audit: u64,
    /// Feed events.
    pub feed: u64,
}

impl Pruned {
    /// Rows deleted in all.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.outbox + self.inbox + self.audit + self.feed
    }
}

/// One batch of old outbox rows that no feed event names (`org_feed_by_outbox`): `$1`
/// cut-off, `$2` batch size.
const PRUNE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN (SELECT o.id FROM outbox o \
     WHERE o.sent_at_ms IS NOT NULL AND o.sent_at_ms < $1 \
     AND NOT EXISTS (SELECT 1 FROM org_feed f WHERE f.outbox_id = o.id) LIMIT $2)";
/// One batch of old inbox rows (the key is two columns; row values work on both databases).
const PRUNE_INBOX: &str = "DELETE FROM inbox WHERE (source, event_id) IN (SELECT source, \
     event_id FROM inbox WHERE received_at_ms < $1 LIMIT $2)";
/// One batch of old audit entries.
const PRUNE_AUDIT: &str =
    "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at_ms < $1 LIMIT $2)";
/// One batch of old feed events (by the `org_feed_by_age` index; heads are kept), except what
/// a webhook still has to deliver: parked events, and events past the delivered position of a
/// webhook whose delivery task was alive within the retention period (one removed long ago no
/// longer holds its backlog).
const PRUNE_FEED: &str = "DELETE FROM org_feed WHERE (org_id, seq) IN (SELECT f.org_id, f.seq \
     FROM org_feed f WHERE f.created_at_ms < $1 \
     AND NOT EXISTS (SELECT 1 FROM webhook_parked p WHERE p.org_id = f.org_id AND p.seq = f.seq) \
     AND NOT EXISTS (SELECT 1 FROM webhook_state w WHERE w.org_id = f.org_id \
     AND f.seq > w.delivered_seq AND w.leased_until_ms >= $1) LIMIT $2)";

impl Store {
    /// Deletes what `retention` no longer keeps as of `now`, in batches, and says how much.
    pub async fn prune(
        &self,
        retention: &Retention,
        now: OffsetDateTime,
    ) -> Result<Pruned, StoreError> {
        let batch = retention.batch.max(1);
        // A retention reaching before the representable past keeps everything.
        let cutoff = |keep: Option<Duration>| {
            let keep = time::Duration::try_from(keep?).ok()?;
            now.checked_sub(keep).map(to_ms)
        };
        // The feed first: an outbox row is kept while a feed event names it.
        let feed = self
            .prune_table(PRUNE_FEED, cutoff(retention.feed), batch)
            .await?;
        Ok(Pruned {
            outbox: self
                .prune_table(PRUNE_OUTBOX, cutoff(retention.outbox_sent), batch)
                .await?,
            inbox: self
                .prune_table(PRUNE_INBOX, cutoff(retention.inbox), batch)
                .await?,
            audit: self
                .prune_table(PRUNE_AUDIT, cutoff(retention.audit), batch)
                .await?,
            feed,
        })
    }

    /// Runs `delete` until a batch deletes less than `batch` rows.
    async fn prune_table(
        &self,
        delete: &'static str,
        cutoff: Option<i64>,
        batch: i64,
    ) -> Result<u64, StoreError> {
        let Some(cutoff) = cutoff else {
            return Ok(0);
        };
        let mut deleted = 0;
        loop {
            let done = sqlx::query(delete)
                .bind(cutoff)
                .bind(batch)
                .execute(&self.pools.writer)
                .await?;
            deleted += done.rows_affected();
            if i64::try_from(done.rows_affected()).unwrap_or(i64::MAX) < batch {
                return Ok(deleted);
            }
            // Let the pipeline's transactions in between batches.
            tokio::task::yield_now().await;
        }
    }
}
