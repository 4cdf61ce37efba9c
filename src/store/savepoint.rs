//! Savepoints: several deliveries share one transaction (the worker's group commit), and each
//! must be undoable on its own — a refusal or a failed statement discards that delivery's
//! writes and keeps the others'.
//!
//! One level is enough: the pipeline sets the savepoint when it starts a delivery, and the
//! next delivery's savepoint replaces it. What a [`Tx`] buffers in memory for its commit (rows
//! written behind, feed entries, outbox rows for the relay) is rolled back with the rows, so a
//! discarded delivery's events reach no feed and no relay.

use super::connect::Backend;
use super::error::StoreError;
use super::tx::Tx;

impl Tx {
    /// PostgreSQL: a statement of this transaction that waits longer than `millis` for a row
    /// lock fails (SQLSTATE 55P03, a contention fault) instead of waiting on. A transaction
    /// that holds many deliveries' locks must not wait long for another's: while it waits, it
    /// holds up everyone waiting for it, and a cycle of such waits would last until the
    /// database's deadlock check (a second, by default). SQLite has one writer: nothing to do.
    pub async fn limit_lock_waits(&mut self, millis: u64) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            // A number, not a value from outside: formatted into the statement (SET takes no
            // parameters).
            let sql = format!("SET LOCAL lock_timeout = '{millis}ms'");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(())
    }

    /// Writes this transaction without savepoints: [`Tx::savepoint`] and
    /// [`Tx::release_savepoint`] do nothing, and [`Tx::rollback_to_savepoint`] breaks the
    /// transaction ([`StoreError::NoSavepoint`]). A group commit tries this first: on
    /// PostgreSQL every savepoint is a subtransaction and two more statements per delivery,
    /// and a batch seldom needs one (measured in docs/benchmarks.md). When one is needed, the
    /// batch is written again with savepoints.
    pub fn without_savepoints(&mut self) {
        self.savepoints = false;
    }

    /// Marks the point [`Tx::rollback_to_savepoint`] returns to (`SAVEPOINT`): one level, so a
    /// delivery's writes in a shared transaction can be undone without undoing the others'.
    /// Setting it again replaces the previous one.
    pub async fn savepoint(&mut self) -> Result<(), StoreError> {
        if !self.savepoints {
            return Ok(());
        }
        if self.savepoint.is_some() {
            self.release_savepoint().await?;
        }
        // What is pending from before belongs before the savepoint (`pending.rs`).
        self.flush().await?;
        sqlx::query("SAVEPOINT d").execute(&mut *self.inner).await?;
        self.savepoint = Some((self.feed.len(), self.handed_len()));
        Ok(())
    }

    /// Keeps everything written since the savepoint, as part of the transaction
    /// (`RELEASE SAVEPOINT`). Without an open savepoint it does nothing.
    pub async fn release_savepoint(&mut self) -> Result<(), StoreError> {
        if self.savepoint.take().is_some() {
            sqlx::query("RELEASE SAVEPOINT d")
                .execute(&mut *self.inner)
                .await?;
        }
        Ok(())
    }

    /// Undoes everything written since the savepoint — rows and the feed entries collected for
    /// the commit — and keeps the savepoint open (`ROLLBACK TO SAVEPOINT`). On PostgreSQL it
    /// also makes a transaction usable again after a failed statement. Without an open
    /// savepoint it does nothing. If it fails, or the transaction is written
    /// [without savepoints](Tx::without_savepoints), the transaction is
    /// [broken](Tx::is_broken).
    pub async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        if !self.savepoints {
            self.broken = true;
            return Err(StoreError::NoSavepoint);
        }
        let Some((feed, handed)) = self.savepoint else {
            return Ok(());
        };
        if let Err(e) = sqlx::query("ROLLBACK TO SAVEPOINT d")
            .execute(&mut *self.inner)
            .await
        {
            self.broken = true;
            return Err(e.into());
        }
        self.pending.clear();
        self.feed.truncate(feed);
        self.unhand(handed);
        Ok(())
    }

    /// Whether a failed [`Tx::rollback_to_savepoint`] left this transaction unusable: roll it
    /// back.
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}
