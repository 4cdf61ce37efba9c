//! Write-behind: the rows of a transaction that nothing in it reads back — a need's recipients,
//! outbox rows, audit entries — are kept in memory and written together, one multi-row
//! statement per table, when the transaction next needs them in the database.
//!
//! **Why.** A group commit writes many deliveries in one transaction, and each statement costs
//! more than its rows: on PostgreSQL a parse, plan and round trip in the backend, on SQLite a
//! round trip to the connection's thread (a third of the hub's CPU went to threads waking each
//! other, measured with perf in docs/benchmarks.md). Written one delivery at a time, a batch of
//! 32 needs was 96 such statements; written behind, it is a handful.
//!
//! **When they are written** ([`Tx::flush`]):
//! - at the commit, before the feeds (which name the outbox rows' ids);
//! - before a statement that could see them: reading a need and its recipients, an answer
//!   (its foreign key names a recipient), an outbox row written at once ([`Tx::enqueue`], whose
//!   id must come after theirs);
//! - at the end of each delivery that has a savepoint of its own ([`Tx::end_delivery`]): then
//!   a row that fails to be written fails its own delivery, which is undone alone. Without
//!   savepoints ([`Tx::without_savepoints`]) a failure undoes the whole transaction anyway, so
//!   the rows wait for the commit;
//! - when one kind of row fills a statement ([`ROWS_PER_INSERT`]), so memory stays bounded.
//!
//! Rolling back to a savepoint discards what is pending: it is all the undone delivery's,
//! since a delivery with a savepoint of its own writes its rows before the next one starts.
//! Outbox rows keep their order (ids follow it, and the relay publishes in id order).

use super::StoreError;
use super::records::{AuditEntry, NewNeed, NewRecipient, OutboxMessage};
use super::rows::{now_ms, to_json, to_ms};
use super::tx::{ROWS_PER_INSERT, Tx, multi_row_insert};
use crate::need::{NeedId, NeedKey};
use crate::settings::OrgId;

/// Rows waiting to be written, in the order they were given.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// With the time each was given (its `created_at_ms`).
    needs: Vec<(i64, NewNeed)>,
    recipients: Vec<(NeedKey, NewRecipient)>,
    /// With the time each was enqueued (its `created_at_ms`).
    outbox: Vec<(OutboxMessage, i64)>,
    /// With the time of each entry.
    audit: Vec<(i64, AuditEntry)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.needs.is_empty()
            && self.recipients.is_empty()
            && self.outbox.is_empty()
            && self.audit.is_empty()
    }

    fn full(&self) -> bool {
        [
            self.needs.len(),
            self.recipients.len(),
            self.outbox.len(),
            self.audit.len(),
        ]
        .into_iter()
        .any(|len| len >= ROWS_PER_INSERT)
    }

    /// Forgets them (the delivery that wrote them was rolled back).
    pub(super) fn clear(&mut self) {
        *self = Self::default();
    }
}

impl Tx {
    /// A need at version 1, written behind (only without savepoints: see [`Tx::insert_need`]).
    pub(super) async fn insert_need_behind(&mut self, need: &NewNeed) -> Result<(), StoreError> {
        self.pending.needs.push((now_ms(), need.clone()));
        self.flush_if_full().await
    }

    /// Records who the need `key` was sent to, with score and reasons (written behind). Each
    /// organisation at most once per need: the caller merges duplicates (the primary key would
    /// refuse them, at the latest at the commit).
    pub async fn insert_recipients(
        &mut self,
        key: &NeedKey,
        recipients: &[NewRecipient],
    ) -> Result<(), StoreError> {
        self.pending
            .recipients
            .extend(recipients.iter().map(|r| (key.clone(), r.clone())));
        self.flush_if_full().await
    }

    /// Writes messages for the relay to publish once this transaction commits (written behind,
    /// in the order given, which their ids follow).
    pub async fn enqueue_all(&mut self, messages: Vec<OutboxMessage>) -> Result<(), StoreError> {
        let now = now_ms();
        self.pending
            .outbox
            .extend(messages.into_iter().map(|m| (m, now)));
        self.flush_if_full().await
    }

    /// Appends to the audit trail (written behind). The entry holds ids and codes only, by type.
    pub async fn audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.pending.audit.push((now_ms(), entry.clone()));
        self.flush_if_full().await
    }

    /// Ends a delivery: with a savepoint of its own its pending rows are written now, so that
    /// if they fail, it alone is undone; without, they wait for the commit.
    pub async fn end_delivery(&mut self) -> Result<(), StoreError> {
        if self.savepoints {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is pending now (a batch does before its commit, so that a need id in use
    /// is found while the batch can still be written again).
    pub async fn write_pending(&mut self) -> Result<(), StoreError> {
        self.flush().await
    }

    async fn flush_if_full(&mut self) -> Result<(), StoreError> {
        if self.pending.full() {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes every pending row: one statement per table and [`ROWS_PER_INSERT`] rows. If one
    /// fails, what was pending is gone from memory: with savepoints the delivery is rolled back
    /// to its savepoint (it held all of it); without, the transaction is
    /// [broken](Tx::is_broken), never committed short of rows.
    pub(super) async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let written = self.write_all_pending().await;
        if written.is_err() && !self.savepoints {
            self.broken = true;
        }
        written
    }

    async fn write_all_pending(&mut self) -> Result<(), StoreError> {
        let Pending {
            needs,
            recipients,
            outbox,
            audit,
        } = std::mem::take(&mut self.pending);
        // Needs first: recipients name them.
        for chunk in needs.chunks(ROWS_PER_INSERT) {
            self.write_needs(chunk).await?;
        }
        for chunk in recipients.chunks(ROWS_PER_INSERT) {
            self.write_recipients(chunk).await?;
        }
        let mut outbox = outbox;
        while !outbox.is_empty() {
            let rest = outbox.split_off(outbox.len().min(ROWS_PER_INSERT));
            self.insert(outbox).await?;
            outbox = rest;
        }
        for chunk in audit.chunks(ROWS_PER_INSERT) {
            self.write_audit(chunk).await?;
        }
        Ok(())
    }

    /// Inserts needs at version 1 (only without savepoints); one whose id its region already
    /// uses fails with [`StoreError::NoSavepoint`], which breaks the transaction: refusing
    /// that delivery alone takes a savepoint.
    async fn write_needs(&mut self, chunk: &[(i64, NewNeed)]) -> Result<(), StoreError> {
        if self.insert_needs(chunk).await? < chunk.len() as u64 {
            tracing::debug!("a need id in use inside a batch without savepoints");
            return Err(StoreError::NoSavepoint);
        }
        Ok(())
    }

    /// Inserts needs at version 1, each created at its time, in one statement, skipping any
    /// whose id its region already uses; how many were inserted.
    pub(super) async fn insert_needs(
        &mut self,
        chunk: &[(i64, NewNeed)],
    ) -> Result<u64, StoreError> {
        let sql = multi_row_insert(
            self.backend(),
            "INSERT INTO needs (need_id, region, state, state_reason, respond_by_ms, view, \
             created_at_ms, updated_at_ms, version) VALUES ",
            chunk.len(),
            8,
            ", 1",
        ) + " ON CONFLICT (need_id, region) DO NOTHING";
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (at_ms, need) in chunk {
            query = query
                .bind(need.need_id.as_str())
                .bind(need.region.as_str())
                .bind(need.state.as_str())
                .bind(need.state_reason.as_deref())
                .bind(need.respond_by.map(to_ms))
                .bind(need.view.as_str())
                .bind(*at_ms)
                .bind(*at_ms);
        }
        Ok(query.execute(&mut *self.inner).await?.rows_affected())
    }

    async fn write_recipients(
        &mut self,
        chunk: &[(NeedKey, NewRecipient)],
    ) -> Result<(), StoreError> {
        let sql = multi_row_insert(
            self.backend(),
            "INSERT INTO recipients (need_id, region, org_id, kind, score, reasons, courses) \
             VALUES ",
            chunk.len(),
            7,
            "",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (key, r) in chunk {
            query = query
                .bind(key.need_id.as_str())
                .bind(key.region.as_str())
                .bind(r.org_id.as_str())
                .bind(r.kind.as_str())
                .bind(r.score)
                .bind(to_json(&r.reasons, "recipients.reasons")?)
                .bind(to_json(&r.courses, "recipients.courses")?);
        }
        query.execute(&mut *self.inner).await?;
        Ok(())
    }

    async fn write_audit(&mut self, chunk: &[(i64, AuditEntry)]) -> Result<(), StoreError> {
        let sql = multi_row_insert(
            self.backend(),
            "INSERT INTO audit (at_ms, action, event_id, need_id, region, org_id, reason_code) \
             VALUES ",
            chunk.len(),
            7,
            "",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (at_ms, entry) in chunk {
            query = query
                .bind(*at_ms)
                .bind(entry.action.as_str())
                .bind(entry.event_id.as_ref().map(AsRef::<str>::as_ref))
                .bind(entry.need_id.as_ref().map(NeedId::as_str))
                .bind(entry.region.as_ref().map(OrgId::as_str))
                .bind(entry.org.as_ref().map(|o| o.as_str()))
                .bind(entry.reason.map(|r| r.as_str()));
        }
        query.execute(&mut *self.inner).await?;
        Ok(())
    }
}
