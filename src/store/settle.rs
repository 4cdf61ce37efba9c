//! The relay's one write per batch: what became of the batch it published last, and the claim
//! of the batch it publishes next, in one transaction.
//!
//! On SQLite every write transaction takes the one writer, which the pipeline's delivery
//! batches need too. The relay used to take it twice per batch (the claim, then the sent
//! marks), and the next claim waited for the current batch's confirms. Now the relay publishes
//! batch k while the store records batch k − 1 and claims batch k + 1 in one transaction
//! ([`Store::settle_and_claim`]): the writer is taken once per batch, and the store's work
//! happens while the broker confirms. The sent marks of a batch are one statement, and so are
//! its give-backs; a row the broker refused or that can never be sent (rare) is one statement
//! of its own, in the same transaction.
//!
//! Every write carries the claim's token, so it applies only to rows still under that claim
//! (see `outbox.rs`): a relay that recorded late changes nothing another relay holds.

use std::time::Duration;

use super::codes::ReasonCode;
use super::outbox::{IdUpdate, claim_in, retry_later_in, update_ids_in};
use super::parked::park_in;
use super::{OutboxRow, Store, StoreError};

/// What becomes of one claimed outbox row after its publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowFate {
    /// The broker confirmed it: mark it sent.
    Sent,
    /// Not published (the broker was away, or the batch ran out of time): give it back
    /// untouched.
    Release,
    /// The broker refused it: count the attempt, due again after this delay.
    Retry(Duration),
    /// It can never be published: park it with this reason and detail.
    Park(ReasonCode, String),
}

/// The fates of one published batch, under the claim that handed its rows out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settlement {
    /// The claim's token ([`OutboxRow::claim_token`]); `None` applies the fates regardless.
    pub claim: Option<String>,
    /// Row id and fate, one per published row.
    pub fates: Vec<(i64, RowFate)>,
}

impl Settlement {
    /// The fates of a published batch, one settlement per claim token: rows handed over at a
    /// commit (`handoff.rs`) and rows claimed from the database may share a batch.
    #[must_use]
    pub fn of<'a>(fates: impl IntoIterator<Item = (&'a OutboxRow, RowFate)>) -> Vec<Self> {
        let mut settlements: Vec<Self> = Vec::new();
        for (row, fate) in fates {
            let token = row.claim_token.as_deref();
            match settlements.iter_mut().find(|s| s.claim.as_deref() == token) {
                Some(settlement) => settlement.fates.push((row.id, fate)),
                None => settlements.push(Self {
                    claim: token.map(str::to_owned),
                    fates: vec![(row.id, fate)],
                }),
            }
        }
        settlements
    }

    /// Every row of `rows` given back untouched (claimed, but not published).
    #[must_use]
    pub fn release_all(rows: &[OutboxRow]) -> Vec<Self> {
        Self::of(rows.iter().map(|row| (row, RowFate::Release)))
    }
}

/// How much the next claim may take, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    /// Rows at most.
    pub rows: i64,
    /// Bodies and headers in bytes at most (the first row is taken whatever its size).
    pub bytes: i64,
    /// How long other relays skip the claimed rows.
    pub lease: Duration,
}

impl Store {
    /// Records `settled` (the fates of published batches) and, with `next`, claims the next
    /// batch (as [`Store::claim_outbox_within`]), all in one write transaction. Returns the
    /// claimed rows in id order (none without `next`). If it fails nothing is recorded and
    /// nothing claimed: the caller may record the same settlements again.
    pub async fn settle_and_claim(
        &self,
        settled: &[Settlement],
        next: Option<ClaimLimits>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        if next.is_none() && settled.iter().all(|s| s.fates.is_empty()) {
            return Ok(Vec::new());
        }
        // SQLite's clock is read once the write lock is held, not before waiting for it.
        let mut tx = self.write_tx().await?;
        let backend = self.pools.backend;
        for settlement in settled {
            let claim = settlement.claim.as_deref();
            let ids = |wanted: fn(&RowFate) -> bool| -> Vec<i64> {
                settlement
                    .fates
                    .iter()
                    .filter(|(_, fate)| wanted(fate))
                    .map(|(id, _)| *id)
                    .collect()
            };
            let sent = ids(|fate| matches!(fate, RowFate::Sent));
            update_ids_in(&mut tx, backend, IdUpdate::Sent, claim, &sent).await?;
            let released = ids(|fate| matches!(fate, RowFate::Release));
            update_ids_in(&mut tx, backend, IdUpdate::Release, claim, &released).await?;
            for (id, fate) in &settlement.fates {
                match fate {
                    RowFate::Retry(delay) => {
                        retry_later_in(&mut tx, backend, claim, *id, *delay).await?;
                    }
                    RowFate::Park(reason, detail) => {
                        park_in(&mut tx, backend, claim, *id, *reason, detail).await?;
                    }
                    RowFate::Sent | RowFate::Release => {}
                }
            }
        }
        let claimed = match next {
            Some(limits) => {
                claim_in(&mut tx, backend, limits.rows, limits.bytes, limits.lease).await?
            }
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok(claimed)
    }
}
