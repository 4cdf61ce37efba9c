//! The close timer's one step: a need whose respond-by date has passed becomes `closed`, with
//! its final `need.status`, in one transaction.
//!
//! It is its own step, apart from answers and withdrawals, because no delivery drives it: the
//! timer (`crate::hub`) asks the store which needs are due and calls [`Pipeline::close_need`]
//! for each. The need is loaded with its row lock and the state machine decides again
//! ([`crate::reconcile::close`]), so a need that changed since the timer looked is left alone.

use super::Pipeline;
use crate::need::NeedKey;
use crate::store::StoreError;

impl Pipeline {
    /// Close the need `key` if its respond-by date has passed; true when it was closed now.
    pub(crate) async fn close_need(&self, key: &NeedKey) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let Some(stored) = tx.load_need_for_update(key).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        let Some(transition) = crate::reconcile::close(&stored, self.clock.now()) else {
            tx.rollback().await?;
            return Ok(false);
        };
        self.record_transition(&mut tx, &stored, &transition)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
