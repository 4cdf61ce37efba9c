//! Savepoints: several deliveries share one transaction (the worker's group commit), and each
//! must be undoable on its own — a refusal or a failed statement discards that delivery's
//! writes and keeps the others'.
//!
//! One level is enough: the pipeline sets the savepoint when it starts a delivery, and the
//! next delivery's savepoint replaces it. What a [`Tx`] buffers in memory for its commit (feed
//! entries) is rolled back with the rows, so a discarded delivery's events reach no feed.

use super::error::StoreError;
use super::tx::Tx;

impl Tx {
    /// Marks the point [`Tx::rollback_to_savepoint`] returns to (`SAVEPOINT`): one level, so a
    /// delivery's writes in a shared transaction can be undone without undoing the others'.
    /// Setting it again replaces the previous one.
    pub async fn savepoint(&mut self) -> Result<(), StoreError> {
        if self.savepoint.is_some() {
            self.release_savepoint().await?;
        }
        sqlx::query("SAVEPOINT d").execute(&mut *self.inner).await?;
        self.savepoint = Some(self.feed.len());
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
    /// savepoint it does nothing. If it fails, the transaction is [broken](Tx::is_broken).
    pub async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        let Some(mark) = self.savepoint else {
            return Ok(());
        };
        if let Err(e) = sqlx::query("ROLLBACK TO SAVEPOINT d")
            .execute(&mut *self.inner)
            .await
        {
            self.broken = true;
            return Err(e.into());
        }
        self.feed.truncate(mark);
        Ok(())
    }

    /// Whether a failed [`Tx::rollback_to_savepoint`] left this transaction unusable: roll it
    /// back.
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.broken
    }
}
