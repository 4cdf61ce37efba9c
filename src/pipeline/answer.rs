//! Answers and withdrawals: `offer.submitted`, `proposal.submitted` and `need.withdrawn` go
//! through the pure state machine ([`crate::reconcile`]) with the need row locked, and every
//! change is recorded with its one `need.status` in the same transaction.
//!
//! The need is read with `load_need_for_update` (a row lock on PostgreSQL, the single writer on
//! SQLite) and written back with its version, so two hub instances on the same PostgreSQL can
//! neither lose nor double-apply an answer: the second waits, then sees the first one's effect
//! (and a redelivered answer is caught by the inbox before it gets here).
//!
//! Which need an event concerns follows the need-identity rule (README, "Need identity"): a
//! withdrawal concerns the sender's own need with that id; an answer the need with that id that
//! was sent to the sender — in the region `data.region` names, when needs with that id from
//! several regions were. Anything else is, to the sender, a need that does not exist.

use serde_json::Value;

use super::outbox::to_org;
use super::{Outcome, Pipeline};
use crate::event::{CloudEvent, EventType, Issue, RejectReason, Source};
use crate::pii::GuardOutcome;
use crate::reconcile::{Answer, Transition, Withdraw, apply_answer, unknown_need, withdraw};
use crate::rejection::Rejection;
use crate::settings::{OrgId, Organisation};
use crate::store::{AuditAction, AuditEntry, NeedId, NeedKey, NeedRecord, StoreError, Tx};
use crate::transport::Inbound;

impl Pipeline {
    /// Handle an admitted answer or withdrawal inside `tx` (inbox already recorded).
    pub(super) async fn reconcile(
        &self,
        mut tx: Tx,
        inbound: &Inbound,
        sender: &Organisation,
        mut event: CloudEvent,
    ) -> Result<Outcome, StoreError> {
        let now = self.clock.now();
        // Answers and withdrawal reasons are free text too.
        if let GuardOutcome::Rejected(refusal) = self
            .guard
            .inspect(&mut event.data, crate::clock::stockholm_date(now))
        {
            let rejection = Rejection::from_guard(&refusal);
            return self
                .refuse_after(tx, inbound, sender, &event, rejection)
                .await;
        }
        let need_id = event.subject.as_deref().and_then(|s| NeedId::parse(s).ok());
        let need = match &need_id {
            Some(id) => match find_need(&mut tx, &event, sender, id).await? {
                Ok(need) => need,
                Err(rejection) => {
                    return self
                        .refuse_after(tx, inbound, sender, &event, rejection)
                        .await;
                }
            },
            None => None,
        };
        let planned = if event.event_type == EventType::NeedWithdrawn {
            self.plan_withdrawal(&event, sender, need.as_ref(), now)
        } else {
            self.plan_answer(&mut tx, &event, sender, need.as_ref(), now)
                .await?
        };
        let (transition, notices) = match planned {
            Ok(Some(planned)) => planned,
            Ok(None) => {
                tx.commit().await?;
                return Ok(Outcome::Accepted {
                    event_type: event.event_type,
                });
            }
            Err(rejection) => {
                return self
                    .refuse_after(tx, inbound, sender, &event, rejection)
                    .await;
            }
        };
        let version = need.as_ref().map_or(0, |n| n.version);
        self.record_transition(&mut tx, &transition, version)
            .await?;
        for (recipient, out) in notices {
            tx.enqueue(&to_org(&recipient, &out)).await?;
        }
        tx.audit(&AuditEntry {
            event_id: Some(event.id.clone()),
            need_id: Some(transition.need.need_id.clone()),
            region: Some(transition.need.region.clone()),
            org: Some(sender.id.clone()),
            ..AuditEntry::new(AuditAction::Answered)
        })
        .await?;
        tx.commit().await?;
        Ok(Outcome::Accepted {
            event_type: event.event_type,
        })
    }

    /// Check and record an answer; `None` when it changes nothing visible (older or duplicate).
    async fn plan_answer(
        &self,
        tx: &mut Tx,
        event: &CloudEvent,
        sender: &Organisation,
        need: Option<&crate::store::NeedRecord>,
        now: time::OffsetDateTime,
    ) -> Result<Result<Option<Planned>, Rejection>, StoreError> {
        let answer = match Answer::from_event(event, &sender.id) {
            Ok(answer) => answer,
            Err(rejection) => return Ok(Err(rejection)),
        };
        let decision = {
            let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
            apply_answer(need, &answer, &catalogue, now)
        };
        let decision = match decision {
            Ok(decision) => decision,
            Err(rejection) => return Ok(Err(rejection)),
        };
        match tx.record_answer(&decision.answer).await {
            Ok(applied) if applied != decision.applied => {
                // The store and the state machine order answers the same way (time, then id
                // byte-wise); a disagreement is a bug worth seeing, not a reason to refuse.
                tracing::warn!(?applied, expected = ?decision.applied, "store and reconcile disagree on the latest answer");
            }
            Ok(_) => {}
            Err(StoreError::NotRecipient { .. }) => {
                return Ok(Err(unknown_need(&decision.answer.need_id)));
            }
            Err(e) => return Err(e),
        }
        Ok(Ok(decision.transition.map(|t| (t, Vec::new()))))
    }

    fn plan_withdrawal(
        &self,
        event: &CloudEvent,
        sender: &Organisation,
        need: Option<&crate::store::NeedRecord>,
        now: time::OffsetDateTime,
    ) -> Result<Option<Planned>, Rejection> {
        let request = Withdraw::from_event(event, &sender.id)?;
        let withdrawal = withdraw(need, &request, now)?;
        let need_id = withdrawal.transition.need.need_id.as_str().to_owned();
        let notices = withdrawal
            .notices
            .into_iter()
            .map(|n| {
                let out = CloudEvent::new(
                    EventType::ChallengeWithdrawn,
                    Source::hub(),
                    Some(need_id.clone()),
                    n.data,
                );
                (
                    n.recipient.as_str().to_owned(),
                    CloudEvent { time: now, ..out },
                )
            })
            .collect();
        Ok(Some((withdrawal.transition, notices)))
    }

    /// Write the new state (checked against `version`) and queue its `need.status`.
    pub(super) async fn record_transition(
        &self,
        tx: &mut Tx,
        transition: &Transition,
        version: i64,
    ) -> Result<(), StoreError> {
        let need = &transition.need;
        tx.update_need_state(
            &need.key(),
            version,
            need.state,
            need.state_reason.as_deref(),
        )
        .await?;
        let status = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some(need.need_id.as_str().to_owned()),
            transition.status.clone(),
        );
        let status = CloudEvent {
            time: self.clock.now(),
            ..status
        };
        tx.enqueue(&to_org(need.region.as_str(), &status)).await?;
        if transition.state_changed() {
            tx.audit(&AuditEntry {
                need_id: Some(need.need_id.clone()),
                region: Some(need.region.clone()),
                org: Some(need.region.clone()),
                ..AuditEntry::new(AuditAction::StateChanged)
            })
            .await?;
        }
        Ok(())
    }
}

/// A transition and the notices to send with it (recipient org, event).
type Planned = (Transition, Vec<(String, CloudEvent)>);

/// The need `need_id` as `sender` may see it, locked for update; `Ok(None)` when there is none,
/// which the state machine refuses as `unknown_need` like an id nobody uses.
///
/// A withdrawal concerns the sender's own need. An answer concerns the need with this id that
/// was sent to the sender; when needs with this id from several regions were, `data.region`
/// must say which, or the answer is refused as `schema_invalid` at `/data/region` (the sender
/// received every one of them, so naming their regions tells it nothing new).
async fn find_need(
    tx: &mut Tx,
    event: &CloudEvent,
    sender: &Organisation,
    need_id: &NeedId,
) -> Result<Result<Option<NeedRecord>, Rejection>, StoreError> {
    if event.event_type == EventType::NeedWithdrawn {
        let key = NeedKey::new(sender.id.clone(), need_id.clone());
        return Ok(Ok(tx.load_need_for_update(&key).await?));
    }
    let named = event.data.get("region").and_then(Value::as_str);
    let regions: Vec<OrgId> = tx
        .recipient_regions(need_id, &sender.id)
        .await?
        .into_iter()
        .filter(|r| named.is_none_or(|n| r.as_str() == n))
        .collect();
    match regions.as_slice() {
        [] => Ok(Ok(None)),
        [region] => {
            let key = NeedKey::new(region.clone(), need_id.clone());
            Ok(Ok(tx.load_need_for_update(&key).await?))
        }
        several => Ok(Err(ambiguous(need_id, several))),
    }
}

fn ambiguous(need_id: &NeedId, regions: &[OrgId]) -> Rejection {
    let regions: Vec<&str> = regions.iter().map(OrgId::as_str).collect();
    Rejection {
        reason: RejectReason::SchemaInvalid,
        detail: format!(
            "needs with id {need_id} from several regions ({}) were sent to you: name the one \
             you answer in data.region (the need's region, as in its challenge or call)",
            regions.join(", ")
        ),
        errors: vec![Issue::new(
            "/data/region",
            "required when the need id alone is ambiguous",
        )],
    }
}

impl Pipeline {
    /// Close the need `key` if its respond-by date has passed; true when it was closed now.
    pub async fn close_need(&self, key: &NeedKey) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let Some(need) = tx.load_need_for_update(key).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        let Some(transition) = crate::reconcile::close(&need, self.clock.now()) else {
            tx.rollback().await?;
            return Ok(false);
        };
        self.record_transition(&mut tx, &transition, need.version)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
