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
//! A claim ends in one of these ways: [`Store::mark_sent`] (confirmed: never handed out
//! again), [`Store::retry_later`] (the broker refused this row: it waits until its own
//! `next_attempt_ms`, so it never holds back the rows behind it), [`Store::release`] (the
//! broker was unreachable: the row is given back as it was), [`Store::park`] (the row can never
//! be sent: set aside for operators, `parked.rs`), or the lease running out (the relay died or
//! hangs between claim and confirm: the row is published again, and receivers dedupe by event
//! id). A relay must therefore finish publishing a batch well within the lease; if it does not,
//! another relay publishes the batch too — a duplicate, never a loss.
//!
//! A claim is capped in bytes as well as rows (body plus headers, summed in id order; the first
//! row is always taken), so a backlog of large messages cannot pull hundreds of megabytes into
//! the relay at once. Parked rows leave the `outbox_unsent` index, so any number of them costs
//! a claim nothing; rows waiting for their next attempt stay in it and are skipped.

use std::time::Duration;

use super::rows::{now_ms, outbox_from_row};
use super::tx::placeholders;
use sqlx::AnyConnection;

use super::{Backend, OutboxRow, Store, StoreError};

/// Rows per statement in [`Store::mark_sent`] and [`Store::release`], well under both
/// databases' parameter limits.
const IDS_CHUNK: usize = 500;

/// Longest lease or delay in milliseconds: keeps `now + lease` far from `BIGINT` overflow.
const MAX_LEASE_MS: i64 = i64::MAX / 4;

/// The columns of an [`OutboxRow`], for `SELECT` and `RETURNING`.
const OUTBOX_COLUMNS: &str = "id, event_id, exchange, routing_key, content_type, \
     correlation_id, amqp_type, message_id, headers, body, created_at_ms, attempts, claim_token";

/// The relay's backlog: not confirmed, not parked.
pub(super) const UNSENT: &str = "sent_at_ms IS NULL AND parked_at_ms IS NULL";

/// What [`update_ids_in`] does to the rows it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdUpdate {
    /// Mark them sent, now; only rows not yet marked.
    Sent,
    /// Give their claim back, nothing else; only rows neither sent nor parked.
    Release,
}

impl IdUpdate {
    /// The `SET` clause. A sent mark's time is bound as the statement's first value, not
    /// spliced in: a statement whose text changes every millisecond is prepared anew every
    /// time (and pushes the hot statements out of the connection's statement cache).
    fn set(self) -> &'static str {
        match self {
            Self::Sent => "sent_at_ms = ?",
            Self::Release => "claimed_until_ms = NULL",
        }
    }

    /// Which rows it may change.
    fn only(self) -> &'static str {
        match self {
            Self::Sent => "sent_at_ms IS NULL",
            Self::Release => UNSENT,
        }
    }

    /// The value bound as `$1`, if [`IdUpdate::set`] has one.
    fn now(self) -> Option<i64> {
        (self == Self::Sent).then(now_ms)
    }
}

/// SQLite: `$1` claimed until, `$2` now, `$3` row limit, `$4` byte budget, `$5` the claim's
/// token. Sizes are computed in the innermost query, which reads only row headers' lengths,
/// not the bodies.
const CLAIM_SQLITE: &str = "UPDATE outbox SET claimed_until_ms = $1, claim_token = $5 WHERE id IN ( \
     SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n, \
     SUM(size) OVER (ORDER BY id) AS running FROM ( \
     SELECT id, length(body) + length(CAST(headers AS BLOB)) AS size FROM outbox \
     WHERE sent_at_ms IS NULL AND parked_at_ms IS NULL AND next_attempt_ms <= $2 \
     AND (claimed_until_ms IS NULL OR claimed_until_ms <= $2) ORDER BY id LIMIT $3)) \
     WHERE n = 1 OR running <= $4) RETURNING ";

/// PostgreSQL: `$1` lease in milliseconds, `$2` row limit, `$3` byte budget, `$4` the claim's
/// token. The window
/// functions run over the locked pick, not in it (PostgreSQL refuses `FOR UPDATE` with them);
/// picked rows over the budget stay unclaimed and their locks end with the transaction.
const CLAIM_POSTGRES: &str = "WITH picked AS MATERIALIZED ( \
     SELECT id, octet_length(body) + octet_length(headers) AS size FROM outbox \
     WHERE sent_at_ms IS NULL AND parked_at_ms IS NULL \
     AND next_attempt_ms <= CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT) \
     AND (claimed_until_ms IS NULL \
     OR claimed_until_ms <= CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)) \
     ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED), \
     sized AS (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n, \
     SUM(size) OVER (ORDER BY id) AS running FROM picked) \
     UPDATE outbox SET claimed_until_ms = \
     CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT) + $1, claim_token = $4 \
     WHERE id IN (SELECT id FROM sized WHERE n = 1 OR running <= $3) RETURNING ";

/// The database's "now" in unix milliseconds, for statements that schedule a row: the
/// database's clock on PostgreSQL (as the claims use), this host's on SQLite.
pub(super) fn now_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
    }
}

/// Milliseconds of `d`, capped far below overflow.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis())
        .unwrap_or(i64::MAX)
        .min(MAX_LEASE_MS)
}

impl Store {
    /// Up to `limit` outbox rows the broker has not confirmed and that are not parked, oldest
    /// first, claimed or not, due or not. At start this is everything a crash left
    /// unconfirmed. The relay uses [`Store::claim_outbox`]; this is for looking (is the outbox
    /// flushed?).
    pub async fn pending_outbox(&self, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let sql =
            format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE {UNSENT} ORDER BY id LIMIT $1");
        // Only constants are spliced in; the limit is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pools.reader)
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// When the oldest outbound message the broker has not confirmed (and that is not parked)
    /// was written, in unix ms; `None` when every one is confirmed. For the `/metrics` age.
    pub(crate) async fn outbox_oldest_unsent_ms(&self) -> Result<Option<i64>, StoreError> {
        let sql = format!("SELECT min(created_at_ms) FROM outbox WHERE {UNSENT}");
        // Only constants are spliced in.
        let oldest: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pools.reader)
            .await?;
        Ok(oldest)
    }

    /// How many outbox rows wait for the broker: not confirmed, not parked (a gauge for
    /// `/metrics`).
    pub async fn outbox_pending_count(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT count(*) FROM outbox WHERE {UNSENT}");
        // Only constants are spliced in.
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pools.reader)
            .await?;
        Ok(count)
    }

    /// Claims up to `limit` due outbox rows, oldest first, that no relay holds (no claim, or an
    /// expired one) for `lease`, and returns them in id order. Rows another relay holds, or is
    /// claiming at this moment, are skipped, and so are parked rows and rows whose next attempt
    /// is still to come. The claim ends with [`Store::mark_sent`], [`Store::retry_later`],
    /// [`Store::release`], [`Store::park`], or when the lease runs out.
    pub async fn claim_outbox(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.claim_outbox_within(limit, i64::MAX, lease).await
    }

    /// [`Store::claim_outbox`] that also stops before the rows' bodies and headers add up to
    /// more than `max_bytes` (the first row is always taken, whatever its size).
    pub async fn claim_outbox_within(
        &self,
        limit: i64,
        max_bytes: i64,
        lease: Duration,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        // SQLite's clock is read once the write lock is held, not before waiting for it.
        let mut tx = self.write_tx().await?;
        let claimed = claim_in(&mut tx, self.pools.backend, limit, max_bytes, lease).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Marks outbox rows as confirmed by the broker, so they are not published again. With
    /// `claim` (a relay's [`OutboxRow::claim_token`]), only rows still under that claim: a
    /// relay whose lease ran out cannot mark rows another relay has claimed since; `None` marks
    /// them regardless (tools and tests).
    pub async fn mark_sent(&self, claim: Option<&str>, ids: &[i64]) -> Result<(), StoreError> {
        self.update_ids(IdUpdate::Sent, claim, ids).await
    }

    /// Gives claimed rows back untouched — no attempt counted, due at once — because the
    /// broker could not be reached: the failure says nothing about the rows, and another relay
    /// (with a working link) may take them now.
    /// With `claim`, only rows still under that claim (see [`Store::mark_sent`]).
    pub async fn release(&self, claim: Option<&str>, ids: &[i64]) -> Result<(), StoreError> {
        self.update_ids(IdUpdate::Release, claim, ids).await
    }

    /// [`update_ids_in`] in a transaction of its own.
    async fn update_ids(
        &self,
        update: IdUpdate,
        claim: Option<&str>,
        ids: &[i64],
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.write_tx().await?;
        update_ids_in(&mut tx, self.pools.backend, update, claim, ids).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Counts a failed publish attempt of an outbox row and releases its claim, so the next
    /// relay pass takes it again at once. The relay uses [`Store::retry_later`].
    pub async fn record_attempt(&self, claim: Option<&str>, id: i64) -> Result<(), StoreError> {
        self.retry_later(claim, id, Duration::ZERO).await
    }

    /// Counts a failed publish attempt of an outbox row, releases its claim and makes it wait
    /// `delay` (by the database's clock) before any relay takes it again. The rows behind it
    /// are not held back.
    /// With `claim`, only while the row is still under that claim (see [`Store::mark_sent`]).
    pub async fn retry_later(
        &self,
        claim: Option<&str>,
        id: i64,
        delay: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.pools.writer.acquire().await?;
        retry_later_in(&mut conn, self.pools.backend, claim, id, delay).await
    }
}

/// The claim of [`Store::claim_outbox_within`] on `conn` (inside the caller's write
/// transaction), rows in id order.
pub(super) async fn claim_in(
    conn: &mut AnyConnection,
    backend: Backend,
    limit: i64,
    max_bytes: i64,
    lease: Duration,
) -> Result<Vec<OutboxRow>, StoreError> {
    let lease_ms = millis(lease);
    // Only constants are spliced in; every value is bound. Limit and budget come last.
    let query = match backend {
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
    // A fresh token per claim: later writes by this relay touch only rows still carrying it.
    let token = uuid::Uuid::new_v4().to_string();
    let rows = query
        .bind(limit)
        .bind(max_bytes.max(1))
        .bind(token)
        .fetch_all(&mut *conn)
        .await?;
    let mut claimed = rows
        .iter()
        .map(outbox_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    // `RETURNING` promises no order.
    claimed.sort_by_key(|row| row.id);
    Ok(claimed)
}

/// `UPDATE outbox SET {set} WHERE {only} [AND claim_token = claim] AND id IN (ids)` on `conn`
/// (`set` and `only` of `update`), one statement per [`IDS_CHUNK`] ids (one for any relay
/// batch). The time of a sent mark, the token and every id are bound.
pub(super) async fn update_ids_in(
    conn: &mut AnyConnection,
    backend: Backend,
    update: IdUpdate,
    claim: Option<&str>,
    ids: &[i64],
) -> Result<(), StoreError> {
    let (set, only, now) = (update.set(), update.only(), update.now());
    let owned = if claim.is_some() {
        "AND claim_token = ? "
    } else {
        ""
    };
    for chunk in ids.chunks(IDS_CHUNK) {
        let sql = format!(
            "UPDATE outbox SET {set} WHERE {only} {owned}AND id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let sql = placeholders(backend, &sql);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(now) = now {
            query = query.bind(now);
        }
        if let Some(token) = claim {
            query = query.bind(token.to_owned());
        }
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`Store::retry_later`] on `conn`.
pub(super) async fn retry_later_in(
    conn: &mut AnyConnection,
    backend: Backend,
    claim: Option<&str>,
    id: i64,
    delay: Duration,
) -> Result<(), StoreError> {
    let now = now_sql(backend);
    let sql = format!(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = {now} + $2, \
         claimed_until_ms = NULL WHERE id = $1 AND {UNSENT} \
         AND ($3 IS NULL OR claim_token = $3)"
    );
    // Only constants are spliced in; every value is bound.
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(millis(delay))
        .bind(claim.map(str::to_owned))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
