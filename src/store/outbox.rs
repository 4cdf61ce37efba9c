//! The outbox as the relay sees it: claim rows, mark them sent, give failed ones back.
//!
//! Several relays may share one database (hub instances on one PostgreSQL, or a restarted hub
//! next to what its previous life left behind). So that each unsent row goes on the wire once,
//! a relay does not just read the unsent rows, it *claims* them: [`Store::claim_outbox`] sets
//! `claimed_until_ms` to now plus a lease on up to `limit` unsent rows whose claim is absent or
//! expired, in one statement, and returns exactly those. Another relay skips them until the
//! lease runs out.
//!
//! - **PostgreSQL**: the rows are picked with `FOR UPDATE SKIP LOCKED`, so two relays claiming
//!   at the same moment lock disjoint rows instead of waiting for each other. The pick is a
//!   `MATERIALIZED` CTE, not an `IN (subquery)`: the planner may re-run an `IN` subquery and
//!   lock more rows than its `LIMIT`. Time is the database's clock (`statement_timestamp()`),
//!   so hub hosts need not agree on the time.
//! - **SQLite**: one `UPDATE … RETURNING` inside a `BEGIN IMMEDIATE` transaction; SQLite has a
//!   single writer, so two claims cannot interleave. Time is this host's clock (every process
//!   on one SQLite file runs on one host).
//!
//! A claim ends in one of three ways: [`Store::mark_sent`] (confirmed: never handed out
//! again), [`Store::record_attempt`] (the publish failed: the claim is cleared, so the next
//! relay pass, this one's or another's, takes the row at once), or the lease running out (the
//! relay died or hangs between claim and confirm: the row is published again, and receivers
//! dedupe by event id). A relay must therefore finish publishing a batch well within the lease;
//! if it does not, another relay publishes the batch too — a duplicate, never a loss.

use std::time::Duration;

use super::rows::{now_ms, outbox_from_row};
use super::{Backend, OutboxRow, Store, StoreError};

/// Rows per statement in [`Store::mark_sent`], well under both databases' parameter limits.
const MARK_SENT_CHUNK: usize = 500;

/// Longest lease in milliseconds: keeps `now + lease` far from `BIGINT` overflow.
const MAX_LEASE_MS: i64 = i64::MAX / 4;

/// The columns of an [`OutboxRow`], for `SELECT` and `RETURNING`.
const OUTBOX_COLUMNS: &str = "id, event_id, exchange, routing_key, content_type, \
     correlation_id, headers, body, created_at_ms, attempts";

/// SQLite: `$1` claimed until, `$2` now, `$3` limit.
const CLAIM_SQLITE: &str = "UPDATE outbox SET claimed_until_ms = $1 WHERE id IN ( \
     SELECT id FROM outbox WHERE sent_at_ms IS NULL \
     AND (claimed_until_ms IS NULL OR claimed_until_ms <= $2) ORDER BY id LIMIT $3) \
     RETURNING ";

/// PostgreSQL: `$1` lease in milliseconds, `$2` limit.
const CLAIM_POSTGRES: &str = "WITH picked AS MATERIALIZED ( \
     SELECT id FROM outbox WHERE sent_at_ms IS NULL AND (claimed_until_ms IS NULL \
     OR claimed_until_ms <= CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)) \
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) \
     UPDATE outbox SET claimed_until_ms = \
     CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT) + $1 \
     WHERE id IN (SELECT id FROM picked) RETURNING ";

impl Store {
    /// Up to `limit` outbox rows the broker has not confirmed, oldest first, claimed or not. At
    /// start this is everything a crash left unconfirmed. The relay uses
    /// [`Store::claim_outbox`]; this is for looking (is the outbox flushed?).
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE sent_at_ms IS NULL ORDER BY id LIMIT $1"
        );
        // Only constants are spliced in; the limit is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pools.reader)
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// How many outbox rows the broker has not confirmed yet (a gauge for `/metrics`).
    pub async fn outbox_pending_count(&self) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE sent_at_ms IS NULL")
            .fetch_one(&self.pools.reader)
            .await?;
        Ok(count)
    }

    /// Claims up to `limit` unsent outbox rows, oldest first, that no relay holds (no claim, or
    /// an expired one) for `lease`, and returns them in id order. Rows another relay holds, or
    /// is claiming at this moment, are skipped. The claim ends with [`Store::mark_sent`], with
    /// [`Store::record_attempt`] (given back at once), or when the lease runs out.
    pub async fn claim_outbox(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let lease_ms = i64::try_from(lease.as_millis())
            .unwrap_or(i64::MAX)
            .min(MAX_LEASE_MS);
        // SQLite's clock is read once the write lock is held, not before waiting for it.
        let mut tx = self.write_tx().await?;
        // Only constants are spliced in; every value is bound. The limit is the last parameter.
        let query = match self.pools.backend {
            Backend::Sqlite => {
                let now = now_ms();
                let sql = format!("{CLAIM_SQLITE}{OUTBOX_COLUMNS}");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(now.saturating_add(lease_ms))
                    .bind(now)
            }
            Backend::Postgres => {
                let sql = format!("{CLAIM_POSTGRES}{OUTBOX_COLUMNS}");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(lease_ms)
            }
        };
        let rows = query.bind(limit).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut claimed = rows
            .iter()
            .map(outbox_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // `RETURNING` promises no order.
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    /// Marks outbox rows as confirmed by the broker, so they are not published again.
    pub async fn mark_sent(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        for chunk in ids.chunks(MARK_SENT_CHUNK) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            // Only generated placeholders are spliced in; every value is bound.
            let sql = format!(
                "UPDATE outbox SET sent_at_ms = $1 WHERE sent_at_ms IS NULL AND id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Counts a failed publish attempt of an outbox row (for the relay's backoff and for
    /// operators) and releases its claim, so the next relay pass takes it again at once.
    pub async fn record_attempt(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, claimed_until_ms = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&self.pools.writer)
        .await?;
        Ok(())
    }
}
