//! Answers and withdrawals: `offer.submitted`, `proposal.submitted` and `need.withdrawn` go
//! through the pure state machine ([`crate::reconcile`]) with the need row locked, and every
//! change is recorded with its one `need.status` in the same transaction.
//!
//! The need is read with `load_need_for_update` (a row lock on PostgreSQL, the single writer on
//! SQLite) and written back with `record_state`, checked against the version it was read at, so
//! two hub instances on the same PostgreSQL can
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
use crate::event::{CloudEvent, EventType, Issue, RejectReason, Source, Trace};
use crate::need::{Need, NeedId, NeedKey};
use crate::pii::GuardOutcome;
use crate::reconcile::{Answer, Transition, Withdraw, apply_answer, unknown_need, withdraw};
use crate::rejection::Rejection;
use crate::settings::{OrgId, Organisation};
use crate::store::{AuditAction, AuditEntry, StoreError, StoredNeed, Tx};
use crate::transport::Inbound;

impl Pipeline {
    /// Handle an admitted answer or withdrawal inside `tx` (inbox already recorded).
    pub(super) async fn reconcile(
        &self,
        tx: &mut Tx,
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
        let (stored, planned) = self.plan_reconcile(tx, &event, sender, now).await?;
        match planned {
            Planned::Apply {
                transition,
                notices,
            } => {
                // A transition is only ever planned for a need that was found.
                let Some(stored) = stored else {
                    return Err(StoreError::NeedNotFound {
                        need_id: transition.need.key().to_string(),
                    });
                };
                self.record_applied(tx, &stored, &transition, notices, &event, sender)
                    .await?;
            }
            Planned::Nothing => {}
            Planned::Refused(rejection) => {
                return self
                    .refuse_after(tx, inbound, sender, &event, rejection)
                    .await;
            }
        }
        Ok(Outcome::Accepted {
            event_type: event.event_type,
        })
    }

    /// Find the need the event concerns (locked) and check the event against it.
    async fn plan_reconcile(
        &self,
        tx: &mut Tx,
        event: &CloudEvent,
        sender: &Organisation,
        now: time::OffsetDateTime,
    ) -> Result<(Option<StoredNeed>, Planned), StoreError> {
        let need_id = event.subject.as_deref().and_then(|s| NeedId::parse(s).ok());
        let stored = match &need_id {
            Some(id) => match find_need(tx, event, sender, id).await? {
                Lookup::Found(stored) => Some(stored),
                Lookup::Missing => None,
                Lookup::Refused(rejection) => return Ok((None, Planned::Refused(rejection))),
            },
            None => None,
        };
        let need = stored.as_deref();
        let planned = if event.event_type == EventType::NeedWithdrawn {
            self.plan_withdrawal(event, sender, need, now)
        } else {
            self.plan_answer(tx, event, sender, need, now).await?
        };
        Ok((stored, planned))
    }

    /// Record a planned change: the new state and its status, the notices, the audit entry.
    async fn record_applied(
        &self,
        tx: &mut Tx,
        stored: &StoredNeed,
        transition: &Transition,
        notices: Vec<(String, CloudEvent)>,
        event: &CloudEvent,
        sender: &Organisation,
    ) -> Result<(), StoreError> {
        let trace = Trace::of(event);
        self.record_transition(tx, stored, transition, &trace)
            .await?;
        let notices = notices
            .into_iter()
            .map(|(recipient, out)| to_org(&recipient, &trace.stamp(out)))
            .collect();
        tx.enqueue_all(notices).await?;
        tx.audit(&AuditEntry {
            event_id: Some(event.id.clone()),
            need_id: Some(transition.need.need_id.clone()),
            region: Some(transition.need.region.clone()),
            org: Some(sender.id.clone()),
            ..AuditEntry::new(AuditAction::Answered)
        })
        .await
    }

    /// Check and record an answer; [`Planned::Nothing`] when it changes nothing visible (older
    /// or duplicate).
    async fn plan_answer(
        &self,
        tx: &mut Tx,
        event: &CloudEvent,
        sender: &Organisation,
        need: Option<&Need>,
        now: time::OffsetDateTime,
    ) -> Result<Planned, StoreError> {
        let answer = match Answer::from_event(event, &sender.id) {
            Ok(answer) => answer,
            Err(rejection) => return Ok(Planned::Refused(rejection)),
        };
        let decision = {
            let catalogue = self.catalogue.read().unwrap_or_else(|p| p.into_inner());
            apply_answer(need, &answer, &catalogue, now)
        };
        let decision = match decision {
            Ok(decision) => decision,
            Err(rejection) => return Ok(Planned::Refused(rejection)),
        };
        match tx.record_answer(&decision.answer).await {
            Ok(applied) if applied != decision.applied => {
                // The store and the state machine order answers the same way (time, then id
                // byte-wise); a disagreement is a bug worth seeing, not a reason to refuse.
                tracing::warn!(?applied, expected = ?decision.applied, "store and reconcile disagree on the latest answer");
            }
            Ok(_) => {}
            Err(StoreError::NotRecipient { .. }) => {
                return Ok(Planned::Refused(unknown_need(&decision.answer.need_id)));
            }
            Err(e) => return Err(e),
        }
        Ok(decision
            .transition
            .map_or(Planned::Nothing, |transition| Planned::Apply {
                transition: Box::new(transition),
                notices: Vec::new(),
            }))
    }

    /// Check a withdrawal and build the `challenge.withdrawn` notices it sends.
    fn plan_withdrawal(
        &self,
        event: &CloudEvent,
        sender: &Organisation,
        need: Option<&Need>,
        now: time::OffsetDateTime,
    ) -> Planned {
        let withdrawal = match Withdraw::from_event(event, &sender.id)
            .and_then(|request| withdraw(need, &request, now))
        {
            Ok(withdrawal) => withdrawal,
            Err(rejection) => return Planned::Refused(rejection),
        };
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
        Planned::Apply {
            transition: Box::new(withdrawal.transition),
            notices,
        }
    }

    /// Write the new state (checked against the version `stored` was read at) and queue its
    /// `need.status`, carrying the `trace` of the event that caused it.
    pub(super) async fn record_transition(
        &self,
        tx: &mut Tx,
        stored: &StoredNeed,
        transition: &Transition,
        trace: &Trace,
    ) -> Result<(), StoreError> {
        let need = &transition.need;
        tx.record_state(stored, need).await?;
        let status = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some(need.need_id.as_str().to_owned()),
            transition.status.clone(),
        );
        let status = trace.stamp(CloudEvent {
            time: self.clock.now(),
            ..status
        });
        tx.enqueue_all(vec![to_org(need.region.as_str(), &status)])
            .await?;
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

/// What an answer or withdrawal comes to, once checked.
enum Planned {
    /// A change to record, and the notices to send with it (recipient org, event).
    Apply {
        /// Boxed: a transition carries the whole need, the other variants next to nothing.
        transition: Box<Transition>,
        notices: Vec<(String, CloudEvent)>,
    },
    /// Refused: send this back to the sender.
    Refused(Rejection),
    /// Accepted, but nothing visible changes (an older answer, or a duplicate).
    Nothing,
}

/// Which need an answer or withdrawal concerns, as its sender may see it.
enum Lookup {
    /// The need, locked for update.
    Found(StoredNeed),
    /// None: the state machine refuses it as `unknown_need`, like an id nobody uses.
    Missing,
    /// The need id alone is ambiguous and the event does not say which region's it means.
    Refused(Rejection),
}

/// The need `need_id` as `sender` may see it, locked for update.
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
) -> Result<Lookup, StoreError> {
    let found = |stored: Option<StoredNeed>| stored.map_or(Lookup::Missing, Lookup::Found);
    if event.event_type == EventType::NeedWithdrawn {
        let key = NeedKey::new(sender.id.clone(), need_id.clone());
        return Ok(found(tx.load_need_for_update(&key).await?));
    }
    let named = event.data.get("region").and_then(Value::as_str);
    let regions: Vec<OrgId> = tx
        .recipient_regions(need_id, &sender.id)
        .await?
        .into_iter()
        .filter(|r| named.is_none_or(|n| r.as_str() == n))
        .collect();
    match regions.as_slice() {
        [] => Ok(Lookup::Missing),
        [region] => {
            let key = NeedKey::new(region.clone(), need_id.clone());
            Ok(found(tx.load_need_for_update(&key).await?))
        }
        several => Ok(Lookup::Refused(ambiguous(need_id, several))),
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
