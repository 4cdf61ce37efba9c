//! One unit of durable work: everything an inbound event changes, committed together or not at
//! all.
//!
//! The pipeline opens a [`Tx`], records the event in the inbox, applies its effects (need,
//! recipients, answers, audit) and writes every outbound message to the outbox, then commits —
//! and only then acks the delivery. A crash before the commit leaves nothing
//! behind, so the redelivery starts clean; a crash after it finds the inbox row, so the
//! redelivery changes nothing. Dropping a [`Tx`] without [`Tx::commit`] rolls it back.
//!
//! Do not hold a [`Tx`] across broker I/O: on SQLite it is the single writer, and every other
//! write waits for it.

use std::fmt;

use sqlx::{Any, Transaction};

use super::connect::{Backend, Pools};
use super::error::StoreError;
use super::feed::{FeedEntry, FeedSignal};
use super::records::StoredNeed;
use super::records::{NewNeed, ReferenceEntry};
use super::rows::{fetch_need, now_ms, org_id, to_json, to_ms};
use crate::need::{AnswerApplied, Need, NeedId, NeedKey, NeedState, NewAnswer};
use crate::settings::OrgId;

/// The PostgreSQL advisory lock key that orders reference-event ids ("samverka" in ASCII).
const REFERENCE_LOCK: i64 = 0x7361_6d76_6572_6b61;

/// Rows per multi-row `INSERT`: well under SQLite's 999 and PostgreSQL's 65,535 parameters.
pub(super) const ROWS_PER_INSERT: usize = 50;

/// `prefix` followed by `rows` tuples of `columns` placeholders and `tail` each, where every
/// `?` in `tail` is one more value of that row (bound after its columns); the rest of `tail` is
/// constant. Only placeholders and constants are spliced in; every value is bound, row by row.
/// Placeholders as [`placeholders`] writes them.
pub(super) fn multi_row_insert(
    backend: Backend,
    prefix: &str,
    rows: usize,
    columns: usize,
    tail: &str,
) -> String {
    let mut row = String::with_capacity(columns * 3 + tail.len() + 2);
    row.push('(');
    for column in 0..columns {
        if column > 0 {
            row.push_str(", ");
        }
        row.push('?');
    }
    row.push_str(tail);
    row.push(')');
    let mut sql = String::with_capacity(prefix.len() + rows * (row.len() + 2));
    sql.push_str(prefix);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&row);
    }
    placeholders(backend, &sql)
}

/// `sql` with every `?` a placeholder of `backend`, in order: `$1, $2, …` on PostgreSQL, `?` as
/// it is on SQLite. `sql` must hold no other `?` (no string constants with one).
///
/// SQLite keeps the names of named or numbered parameters in a list it searches linearly, and
/// sqlx asks for the name of every parameter as it binds, so a statement of n `$N` parameters
/// cost O(n²) there (`sqlite3_bind_parameter_name` was 4.6 % of the hub's CPU in a profile of
/// `samverkan bench`); plain `?` parameters have no name to look up.
pub(super) fn placeholders(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Sqlite => sql.to_owned(),
        Backend::Postgres => {
            let mut numbered = String::with_capacity(sql.len() + sql.len() / 2);
            for (i, part) in sql.split('?').enumerate() {
                if i > 0 {
                    numbered.push('$');
                    numbered.push_str(&i.to_string());
                }
                numbered.push_str(part);
            }
            numbered
        }
    }
}

/// An open write transaction: the inbox row, the effects and the outbox rows of one event,
/// committed together by [`Tx::commit`] or not at all (dropping it rolls back). Ack the delivery
/// only after the commit, and do not hold a `Tx` across broker I/O.
pub struct Tx {
    pub(super) inner: Transaction<'static, Any>,
    backend: Backend,
    /// Rows written behind (`pending.rs`): recipients, outbox rows, audit entries.
    pub(super) pending: super::pending::Pending,
    /// Events recorded in the inbox ahead of their deliveries (`inbox.rs`), and whether each
    /// is still new to its delivery.
    pub(super) inbox_ahead: super::inbox::Ahead,
    /// Feed entries of the events enqueued for organisations, written just before the commit.
    pub(super) feed: Vec<FeedEntry>,
    signal: FeedSignal,
    /// The lengths of `feed` and of the handed rows at the open savepoint, if one is open.
    pub(super) savepoint: Option<(usize, usize)>,
    /// When this process's relay opened a handoff (`handoff.rs`): whether this transaction's
    /// outbox rows go to it at the commit, and the rows written so far.
    pub(super) handing: Option<super::tx_outbox::Handing>,
    /// A savepoint could not be rolled back to: the transaction is unusable.
    pub(super) broken: bool,
    /// Savepoints are set (the default); without them a delivery cannot be undone alone.
    pub(super) savepoints: bool,
    /// SQLite: the intake's turn at the writer, held until the transaction ends (after
    /// `inner`, which is dropped first and so returns the writer before the turn passes on).
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl fmt::Debug for Tx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Tx {
    /// SQLite: `BEGIN IMMEDIATE` takes the write lock now, so the transaction cannot fail later
    /// with `SQLITE_BUSY` when it first writes; a second process waits for the busy timeout.
    /// On SQLite it first waits for the intake's turn at the writer (`connect::IntakeTurn`), so
    /// that the relay never queues behind more than one pipeline transaction.
    pub(super) async fn begin(pools: &Pools) -> Result<Self, StoreError> {
        // Before the writer: waiting for the relay's handoff must not hold it up.
        let handing = match pools.handoff.current() {
            Some(handoff) => Some(super::tx_outbox::Handing::new(&handoff).await),
            None => None,
        };
        let (inner, turn) = match pools.backend {
            Backend::Sqlite => {
                // The semaphore is never closed; if it were, go on without a turn.
                let turn = pools.intake.clone().acquire_owned().await.ok();
                (pools.writer.begin_with("BEGIN IMMEDIATE").await?, turn)
            }
            Backend::Postgres => (pools.writer.begin().await?, None),
        };
        Ok(Self {
            inner,
            _turn: turn,
            backend: pools.backend,
            pending: super::pending::Pending::default(),
            inbox_ahead: super::inbox::Ahead::default(),
            feed: Vec::new(),
            signal: pools.feed.clone(),
            savepoint: None,
            handing,
            broken: false,
            savepoints: true,
        })
    }

    /// The database this transaction runs on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Inserts a need at version 1.
    ///
    /// # Errors
    ///
    /// [`StoreError::NeedExists`] when its region already has a need with this id (the
    /// transaction stays usable). Another region's need with the same id is no conflict.
    ///
    /// Without savepoints ([`Tx::without_savepoints`]) it is written behind (`pending.rs`): a
    /// need id in use then breaks the transaction when it is written
    /// ([`StoreError::NoSavepoint`]), since only a savepoint could undo that delivery alone.
    pub async fn insert_need(&mut self, need: &NewNeed) -> Result<(), StoreError> {
        if !self.savepoints {
            return self.insert_need_behind(need).await;
        }
        let inserted = self.insert_needs(&[(now_ms(), need.clone())]).await?;
        if inserted == 0 {
            return Err(StoreError::NeedExists {
                need_id: NeedKey::new(need.region.clone(), need.need_id.clone()).to_string(),
            });
        }
        Ok(())
    }

    /// Reads a need and its recipients for changing it. On PostgreSQL the need row stays locked
    /// (`SELECT … FOR UPDATE`) until this transaction ends, so a competing instance handling an
    /// answer to the same need waits instead of overwriting; on SQLite this transaction is
    /// already the only writer.
    ///
    /// Hand the [`StoredNeed`] back to `Tx::record_state` with the changed need: it carries
    /// the version the write is checked against.
    pub async fn load_need_for_update(
        &mut self,
        key: &NeedKey,
    ) -> Result<Option<StoredNeed>, StoreError> {
        self.flush().await?;
        let lock = self.backend == Backend::Postgres;
        fetch_need(&mut self.inner, key, lock).await
    }

    /// The regions whose need `need_id` was sent to `org`, in id order: how an answer, which
    /// names only the need id, finds its need. Usually one; more when regions happen to use
    /// the same id and both needs went to `org`. Recipients never change after routing, so
    /// reading them before the need is locked is safe.
    pub async fn recipient_regions(
        &mut self,
        need_id: &NeedId,
        org: &OrgId,
    ) -> Result<Vec<OrgId>, StoreError> {
        self.flush().await?;
        let regions: Vec<String> = sqlx::query_scalar(
            "SELECT region FROM recipients WHERE need_id = $1 AND org_id = $2 ORDER BY region",
        )
        .bind(need_id.as_str())
        .bind(org.as_str())
        .fetch_all(&mut *self.inner)
        .await?;
        regions
            .iter()
            .map(|r| org_id(r, "recipients.region"))
            .collect()
    }

    /// Stores `changed`'s state and state reason on the need `loaded` was read as, checked
    /// against the version it was read at, and returns the new version. `changed` is `loaded`'s
    /// need after the state machine's change (same key).
    ///
    /// # Errors
    ///
    /// As [`Tx::update_need_state`].
    pub(crate) async fn record_state(
        &mut self,
        loaded: &StoredNeed,
        changed: &Need,
    ) -> Result<i64, StoreError> {
        debug_assert_eq!(loaded.key(), changed.key(), "a transition keeps its need");
        self.update_need_state(
            &loaded.key(),
            loaded.version,
            changed.state,
            changed.state_reason.as_deref(),
        )
        .await
    }

    /// Moves the need `key` to `state` if it is still at `expected_version`, and returns its new
    /// version. `reason` is what the region will read: a reason code or a PII-checked sentence.
    /// This is the compare-and-set beneath `Tx::record_state`, which the pipeline uses.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] when the need is at another version (someone changed it since
    /// it was read: reload and re-apply; it is transient), [`StoreError::NeedNotFound`] when
    /// there is no such need.
    pub async fn update_need_state(
        &mut self,
        key: &NeedKey,
        expected_version: i64,
        state: NeedState,
        reason: Option<&str>,
    ) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "UPDATE needs SET state = $1, state_reason = $2, version = version + 1, \
             updated_at_ms = $3 WHERE need_id = $4 AND region = $5 AND version = $6",
        )
        .bind(state.as_str())
        .bind(reason)
        .bind(now_ms())
        .bind(key.need_id.as_str())
        .bind(key.region.as_str())
        .bind(expected_version)
        .execute(&mut *self.inner)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(expected_version + 1);
        }
        let exists = sqlx::query("SELECT 1 FROM needs WHERE need_id = $1 AND region = $2")
            .bind(key.need_id.as_str())
            .bind(key.region.as_str())
            .fetch_optional(&mut *self.inner)
            .await?
            .is_some();
        Err(if exists {
            StoreError::Conflict {
                need_id: key.to_string(),
                expected: expected_version,
            }
        } else {
            StoreError::NeedNotFound {
                need_id: key.to_string(),
            }
        })
    }

    /// Appends an answer to the history and makes it the recipient's latest answer if it is
    /// newer than the current one: later `time` wins, equal times are ordered by event id. The
    /// comparison is in the `UPDATE`'s `WHERE`, so it holds even without the need lock.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotRecipient`] when the organisation is not a recipient of the need (on
    /// PostgreSQL the transaction is then aborted: roll it back).
    pub async fn record_answer(&mut self, answer: &NewAnswer) -> Result<AnswerApplied, StoreError> {
        self.flush().await?;
        let time = to_ms(answer.time);
        let detail = to_json(&answer.detail, "answers.payload")?;
        let inserted = sqlx::query(
            "INSERT INTO answers (event_source, event_id, need_id, region, org_id, time_ms, \
             decision, payload, recorded_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (event_source, event_id) DO NOTHING",
        )
        .bind(answer.source.as_ref())
        .bind(answer.event_id.as_ref())
        .bind(answer.need_id.as_str())
        .bind(answer.region.as_str())
        .bind(answer.org_id.as_str())
        .bind(time)
        .bind(answer.decision.as_str())
        .bind(detail.as_str())
        .bind(now_ms())
        .execute(&mut *self.inner)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::NotRecipient {
                    need_id: NeedKey::new(answer.region.clone(), answer.need_id.clone())
                        .to_string(),
                    org_id: answer.org_id.to_string(),
                }
            }
            _ => StoreError::Database(e),
        })?;
        if inserted.rows_affected() == 0 {
            return Ok(AnswerApplied::Duplicate);
        }
        let updated = sqlx::query(
            "UPDATE recipients SET answer_event_id = $1, answer_time_ms = $2, decision = $3, \
             detail = $4 WHERE need_id = $5 AND region = $6 AND org_id = $7 \
             AND (answer_time_ms IS NULL OR answer_time_ms < $2 \
             OR (answer_time_ms = $2 AND answer_event_id < $1))",
        )
        .bind(answer.event_id.as_ref())
        .bind(time)
        .bind(answer.decision.as_str())
        .bind(detail)
        .bind(answer.need_id.as_str())
        .bind(answer.region.as_str())
        .bind(answer.org_id.as_str())
        .execute(&mut *self.inner)
        .await?;
        Ok(if updated.rows_affected() == 1 {
            AnswerApplied::Latest
        } else {
            AnswerApplied::Superseded
        })
    }

    /// Records a reference-data event (`course.upserted`, `course.removed`,
    /// `partner.upserted`); every hub instance applies them to its catalogue in id order.
    ///
    /// Ids must become visible in id order, or a hub reading "ids after the last I applied"
    /// could skip one that commits late. SQLite has one writer, so they do. On PostgreSQL an
    /// identity value is taken at insert, not at commit, so the insert first takes a
    /// transaction-scoped advisory lock: the next reference event cannot get its id until this
    /// transaction has committed. Reference data changes rarely; the lock costs nothing else.
    ///
    /// When the change replaces its whole catalogue entry, the entry's earlier rows are deleted
    /// first: a hub that has not applied them yet needs only this one, and the log stays about
    /// as long as the catalogue instead of growing with every change.
    pub async fn record_reference(
        &mut self,
        event_type: &str,
        org_id: &OrgId,
        data: &serde_json::Value,
        entry: &ReferenceEntry,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(REFERENCE_LOCK)
                .execute(&mut *self.inner)
                .await?;
        }
        if entry.replaces_earlier {
            sqlx::query("DELETE FROM reference_events WHERE entity_key = $1")
                .bind(&entry.key)
                .execute(&mut *self.inner)
                .await?;
        }
        sqlx::query(
            "INSERT INTO reference_events (event_type, org_id, data, recorded_at_ms, entity_key) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event_type)
        .bind(org_id.as_str())
        .bind(data.to_string())
        .bind(now_ms())
        .bind(&entry.key)
        .execute(&mut *self.inner)
        .await?;
        Ok(())
    }

    /// Makes everything in this transaction durable. Ack the delivery only after this returns
    /// `Ok`.
    ///
    /// # Errors
    ///
    /// [`StoreError::NoSavepoint`], committing nothing, when the transaction is
    /// [broken](Tx::is_broken) or an event recorded in the inbox ahead was not handled.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::NoSavepoint);
        }
        self.inbox_ahead.check_all_handled()?;
        self.flush().await?;
        let appended = self.append_feeds().await?;
        self.inner.commit().await?;
        if let Some(handing) = self.handing.take() {
            handing.hand_over();
        }
        if appended {
            self.signal
                .send_modify(|commits| *commits = commits.wrapping_add(1));
        }
        Ok(())
    }

    /// Discards everything in this transaction (dropping it does the same, later).
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.inner.rollback().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Backend, multi_row_insert};

    #[test]
    fn multi_row_inserts_number_their_placeholders_row_by_row_on_postgres() {
        assert_eq!(
            multi_row_insert(
                Backend::Postgres,
                "INSERT INTO t (a, b, c) VALUES ",
                2,
                2,
                ", 0"
            ),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, 0), ($3, $4, 0)"
        );
        assert_eq!(
            multi_row_insert(Backend::Postgres, "V ", 2, 1, ", 7 + ?, ?"),
            "V ($1, 7 + $2, $3), ($4, 7 + $5, $6)"
        );
    }

    #[test]
    fn multi_row_inserts_use_plain_placeholders_on_sqlite() {
        assert_eq!(
            multi_row_insert(Backend::Sqlite, "V ", 2, 2, ", 0 + ?"),
            "V (?, ?, 0 + ?), (?, ?, 0 + ?)"
        );
    }
}
