//! The inbox: which events were processed, recorded in the same transaction as their effects,
//! so a redelivery or a re-send changes nothing (`tx.rs` explains the transaction).
//!
//! A batch written without savepoints ([`Tx::without_savepoints`]) records all its events with
//! one statement before its deliveries are written ([`Tx::record_inbox_ahead`]); each
//! delivery's [`Tx::record_inbox`] then answers from memory instead of a statement of its
//! own. That is safe only because such a transaction keeps all its deliveries or none: an
//! event recorded ahead whose delivery did not run would claim to be processed, so the commit
//! refuses ([`Ahead::check_all_handled`]).

use std::collections::{HashMap, HashSet};

use sqlx::Row;

use super::StoreError;
use super::rows::now_ms;
use super::tx::{ROWS_PER_INSERT, Tx, multi_row_insert};
use crate::event::{EventId, Source};

/// Events recorded ahead, by (source, id): whether each is still new to its delivery.
#[derive(Debug, Default)]
pub(super) struct Ahead(HashMap<(String, String), bool>);

impl Ahead {
    /// `Some` if recorded ahead: new the first time it is asked for (if the insert was),
    /// a duplicate after that (the same event twice in one batch).
    fn take(&mut self, source: &str, id: &str) -> Option<bool> {
        let fresh = self.0.get_mut(&(source.to_owned(), id.to_owned()))?;
        Some(std::mem::replace(fresh, false))
    }

    /// Every event recorded ahead as new was handled by its delivery.
    ///
    /// # Errors
    ///
    /// [`StoreError::NoSavepoint`] when one was not: its delivery left the transaction, which
    /// only a savepoint could have done; write the batch again with savepoints.
    pub(super) fn check_all_handled(&self) -> Result<(), StoreError> {
        if self.0.values().any(|fresh| *fresh) {
            return Err(StoreError::NoSavepoint);
        }
        Ok(())
    }
}

impl Tx {
    /// Records that the event (`source`, `event_id`) is being processed. `false` means it was
    /// processed before (a redelivery or a re-send): skip its effects and ack it.
    ///
    /// The row is part of this transaction, so if the transaction rolls back the event counts as
    /// unprocessed and a retry can succeed. On PostgreSQL a second instance recording the same
    /// event waits for this transaction and then gets `false`.
    pub async fn record_inbox(
        &mut self,
        source: &Source,
        event_id: &EventId,
    ) -> Result<bool, StoreError> {
        if let Some(fresh) = self.inbox_ahead.take(source.as_ref(), event_id.as_ref()) {
            return Ok(fresh);
        }
        let done = sqlx::query(
            "INSERT INTO inbox (source, event_id, received_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (source, event_id) DO NOTHING",
        )
        .bind(source.as_ref())
        .bind(event_id.as_ref())
        .bind(now_ms())
        .execute(&mut *self.inner)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records `events` in the inbox ahead of their deliveries, one statement per
    /// 50 events: each delivery's [`Tx::record_inbox`] then answers from memory.
    /// Only in a transaction written [without savepoints](Tx::without_savepoints) (with them it
    /// does nothing: a delivery undone at its savepoint must take its inbox row with it).
    /// Every event recorded ahead must then be handled in this transaction, or the commit
    /// fails.
    pub async fn record_inbox_ahead(
        &mut self,
        events: &[(Source, EventId)],
    ) -> Result<(), StoreError> {
        if self.savepoints {
            return Ok(());
        }
        let mut seen = HashSet::new();
        let keys: Vec<(String, String)> = events
            .iter()
            .map(|(source, id)| (source.as_ref().to_owned(), id.as_ref().to_owned()))
            .filter(|key| seen.insert(key.clone()))
            .collect();
        let now = now_ms();
        for chunk in keys.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert(
                self.backend(),
                "INSERT INTO inbox (source, event_id, received_at_ms) VALUES ",
                chunk.len(),
                3,
                "",
            ) + " ON CONFLICT (source, event_id) DO NOTHING RETURNING source, event_id";
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (source, id) in chunk {
                query = query.bind(source.as_str()).bind(id.as_str()).bind(now);
            }
            let rows = query.fetch_all(&mut *self.inner).await?;
            let mut new = HashSet::with_capacity(rows.len());
            for row in rows {
                new.insert((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?));
            }
            for key in chunk {
                let fresh = new.contains(key);
                self.inbox_ahead.0.insert(key.clone(), fresh);
            }
        }
        Ok(())
    }
}
