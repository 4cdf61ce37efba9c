//! One delivery into a transaction: admission, the inbox, the handler for its type, or the
//! refusal — behind a savepoint, so that several deliveries can share one transaction and one
//! commit (the worker's group commit) and each can still be undone on its own.

use super::need::PreparedNeed;
use super::refuse::{self, Refusal};
use super::{Admitted, EventType, Outcome, Pipeline, admit, is_reference, span};
use crate::event::{EventId, RejectReason, Source};
use crate::need::NeedId;
use crate::store::{AuditAction, AuditEntry, StoreError, Tx};
use crate::transport::Inbound;

/// A delivery read and checked ([`admit`]) before anything is written: an admitted event, or
/// the refusal to record.
#[derive(Debug)]
pub struct Admission {
    admitted: Result<Admitted, Box<Refusal>>,
    /// A `need.submitted`'s guard, matching and routing, done at admission (outside any
    /// transaction).
    ///
    /// Holds the event's `data` meanwhile (see [`PreparedNeed`]): nothing reads an admitted
    /// need's data before [`Pipeline::submit_need`] puts it back.
    need: Option<PreparedNeed>,
}

impl Admission {
    /// Whether it is a course or partner change. Those are handled one at a time
    /// ([`Pipeline::handle`]): each is checked against every change committed before it, which
    /// a change still uncommitted in the same transaction would not be.
    #[must_use]
    pub fn is_reference(&self) -> bool {
        matches!(&self.admitted, Ok(admitted) if is_reference(admitted.event.event_type))
    }

    /// The inbox key (source and id) of an admitted event: its delivery records it in the
    /// inbox before anything else ([`Tx::record_inbox`]), so a batch may record it ahead.
    #[must_use]
    pub fn inbox_key(&self) -> Option<(&Source, &EventId)> {
        let admitted = self.admitted.as_ref().ok()?;
        Some((&admitted.event.source, &admitted.event.id))
    }

    /// The need an admitted event concerns (its `subject`), if any: the order in which a batch
    /// takes its deliveries, so that concurrent batches lock need rows in the same order.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.admitted.as_ref().ok()?.event.subject.as_deref()
    }
}

impl Admission {
    /// The `replayed` audit row of a replayed dead letter: the event and need it names, and
    /// the sender it was replayed as.
    fn replay_entry(&self) -> AuditEntry {
        let (event_id, need_id, org) = match &self.admitted {
            Ok(Admitted { sender, event }) => (
                Some(event.id.clone()),
                event.subject.clone(),
                Some(sender.id.clone()),
            ),
            Err(refusal) => {
                let origin = refusal
                    .event
                    .clone()
                    .unwrap_or_default()
                    .origin(refusal.sender.as_ref());
                (
                    origin.event_id,
                    origin.need_id,
                    refusal.sender.as_ref().map(|s| s.id.clone()),
                )
            }
        };
        AuditEntry {
            event_id,
            need_id: need_id.and_then(|id| NeedId::parse(&id).ok()),
            org,
            ..AuditEntry::new(AuditAction::Replayed)
        }
    }
}

impl Pipeline {
    /// Handle one delivery in its own transaction. `Err` is a store failure: nothing was
    /// committed; its [`StoreError::fault`] says whether to retry it, give up on it, or pause
    /// the hub.
    pub async fn handle(&self, inbound: &Inbound) -> Result<Outcome, StoreError> {
        let admission = self.admission(inbound);
        let reference = admission.is_reference();
        if reference {
            // Check a catalogue change against every change recorded so far, not a stale view.
            // Before the transaction: catching up reads through another connection.
            self.catch_up_reference().await?;
        }
        let mut tx = self.store.begin().await?;
        let outcome = self.handle_admitted(&mut tx, inbound, admission).await?;
        tx.commit().await?;
        if reference && matches!(outcome, Outcome::Accepted { .. }) {
            // Committed: the change is durable whatever happens now; the poller applies it if
            // this catch-up fails.
            if let Err(e) = self.catch_up_reference().await {
                tracing::warn!(error = %e, "catalogue catch-up failed; the poller retries");
            }
        }
        Ok(outcome)
    }

    /// Admit `inbound`, recording its ids on the current span; a `need.submitted` is also
    /// guarded, matched and routed here, before any transaction (`PreparedNeed`).
    pub fn admission(&self, inbound: &Inbound) -> Admission {
        let mut admitted = admit(inbound, self.limits, &self.directory, &self.registry);
        let need = match &mut admitted {
            Ok(Admitted { sender, event }) => {
                span::admitted(event, sender);
                (event.event_type == EventType::NeedSubmitted)
                    .then(|| self.prepare_need(event, sender))
            }
            Err(refusal) => {
                span::refused(refusal);
                None
            }
        };
        Admission { admitted, need }
    }

    /// Handle one delivery inside `tx`, which the caller commits; [`Pipeline::admission`] and
    /// [`Pipeline::handle_admitted`].
    pub async fn handle_in(&self, tx: &mut Tx, inbound: &Inbound) -> Result<Outcome, StoreError> {
        let admission = self.admission(inbound);
        self.handle_admitted(tx, inbound, admission).await
    }

    /// Handle an admitted (or refused) delivery inside `tx`, behind a savepoint: on `Ok` its
    /// writes stay in `tx` (the outcome is durable once the caller commits), on `Err` they are
    /// undone and the rest of `tx` is untouched — unless [`Tx::is_broken`], when `tx` must be
    /// rolled back. The caller commits, and for a reference event catches the catalogue up
    /// before and after (as [`Pipeline::handle`] does).
    pub async fn handle_admitted(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        admission: Admission,
    ) -> Result<Outcome, StoreError> {
        let replayed = inbound.replay.as_ref().map(|_| admission.replay_entry());
        tx.savepoint().await?;
        let mut result = self.apply(tx, inbound, admission).await;
        if let (Ok(_), Some(entry)) = (&result, &replayed) {
            // In the same transaction as the replay's effects (or its refusal).
            if let Err(e) = tx.audit(entry).await {
                result = Err(e);
            }
        }
        if result.is_ok()
            && let Err(e) = tx.end_delivery().await
        {
            result = Err(e);
        }
        match result {
            Ok(outcome) => {
                tx.release_savepoint().await?;
                Ok(outcome)
            }
            Err(error) => {
                if tx.rollback_to_savepoint().await.is_ok() {
                    // Best effort: a transaction that cannot release is broken anyway.
                    let _ = tx.release_savepoint().await;
                }
                Err(error)
            }
        }
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        admission: Admission,
    ) -> Result<Outcome, StoreError> {
        let Admitted { sender, mut event } = match admission.admitted {
            Ok(admitted) => admitted,
            Err(refusal) => return self.refuse_in(tx, inbound, &refusal).await,
        };
        if !tx.record_inbox(&event.source, &event.id).await? {
            return Ok(Outcome::Duplicate);
        }
        match event.event_type {
            EventType::NeedSubmitted => {
                let prepared = match admission.need {
                    Some(prepared) => prepared,
                    None => self.prepare_need(&mut event, &sender),
                };
                self.submit_need(tx, inbound, &sender, event, prepared)
                    .await
            }
            EventType::OfferSubmitted | EventType::ProposalSubmitted | EventType::NeedWithdrawn => {
                self.reconcile(tx, inbound, &sender, event).await
            }
            EventType::CourseUpserted | EventType::CourseRemoved | EventType::PartnerUpserted => {
                self.update_reference(tx, inbound, &sender, &event).await
            }
            // `authorize` already refuses these (no organisation may send them); listed so that a
            // new event type must be given a handler here before it compiles.
            EventType::ChallengePublished
            | EventType::CallPublished
            | EventType::ChallengeWithdrawn
            | EventType::NeedStatus
            | EventType::MessageRejected => {
                let rejection = crate::rejection::Rejection {
                    reason: RejectReason::Unauthorized,
                    detail: format!("`{}` is sent by the hub only", event.event_type),
                    errors: vec![],
                };
                self.refuse_after(tx, inbound, &sender, &event, rejection)
                    .await
            }
        }
    }

    /// Record a refusal in its own transaction.
    pub(super) async fn refuse(
        &self,
        inbound: &Inbound,
        refusal: &Refusal,
    ) -> Result<Outcome, StoreError> {
        let mut tx = self.store.begin().await?;
        let outcome = self.refuse_in(&mut tx, inbound, refusal).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Record a refusal in `tx`.
    ///
    /// A refusal is not recorded in the inbox: the sender fixes the event and may well send it
    /// again under the same id, which must then be processed, not skipped as a duplicate.
    pub(super) async fn refuse_in(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        refusal: &Refusal,
    ) -> Result<Outcome, StoreError> {
        refuse::record(tx, inbound, refusal, self.clock.now()).await?;
        // The sender's mistake, not the operator's: INFO, with the span's event id and sender.
        tracing::info!(reason = refusal.rejection.reason.as_str(), "refused");
        let refused = refusal.event.clone().unwrap_or_default();
        let data = refusal.rejection.to_event(refused.as_refused()).data;
        Ok(Outcome::Refused {
            reason: refusal.rejection.reason,
            data: Box::new(data),
        })
    }
}
