//! `need.submitted`: guard, match, route and build every row to write when the delivery is
//! admitted (`prepare_need`, pure, outside any transaction), then record everything in one
//! transaction (`submit_need`).
//!
//! The PII guard runs before anything is built from the need, so a need with personal data
//! never reaches matching, the outbox or the store (only its refusal does). Everything the need
//! causes — the need row, its recipients, every challenge, call and status — is written with
//! the inbox row in one transaction: either all of it happens once, or none of it. Matching is
//! CPU work; doing it before the transaction keeps SQLite's one writer free for writing while
//! the next needs are matched. What a prepared need keeps while it waits for the writer is
//! only what will be written (the outbound events already serialised), not the match outcome
//! or the events' JSON trees: up to `amqp.prefetch` needs wait, so their size is the hub's
//! memory.

use serde_json::{Map, Value, json};
use time::{Date, OffsetDateTime};

use super::outbox::to_org;
use super::refuse::{Refusal, RefusedEvent};
use super::{Outcome, Pipeline};
use crate::event::{CloudEvent, EventType, Issue, RejectReason, Source, Trace};
use crate::matching::{MatchOutcome, NeedProfile, match_need_for};
use crate::need::{NeedId, NeedKey, NeedState, RecipientKind};
use crate::pii::{GuardOutcome, JsonFinding, PiiGuard, PiiPolicy};
use crate::rejection::Rejection;
use crate::routing;
use crate::settings::Organisation;
use crate::store::{AuditAction, AuditEntry, NewNeed, NewRecipient, OutboxMessage, StoreError, Tx};
use crate::transport::{Inbound, KeptBody};

/// A `need.submitted` guarded, matched and routed before any transaction: pure work from the
/// event, the catalogue and the clock, done when the delivery is admitted
/// ([`Pipeline::prepare_need`]) so that a batch's transaction — on SQLite, the one writer —
/// is held for writing only, while the next batch's needs are matched beside it.
#[derive(Debug)]
pub(crate) struct PreparedNeed {
    /// What to write, or the first reason to refuse it.
    step: Result<Ready, Refused>,
}

/// A need refused before anything was written, with the event's `data` as guarded (redacted
/// in place when the policy redacts), for its dead letter.
#[derive(Debug)]
struct Refused {
    rejection: Rejection,
    data: Value,
}

/// A need that passed the guard and was routed: the rows to write.
#[derive(Debug)]
struct Ready {
    /// Whether the guard redacted personal data from it.
    redacted: bool,
    need: NewNeed,
    recipients: Vec<NewRecipient>,
    /// Challenges, calls and the region's status, serialised.
    outbound: Vec<OutboxMessage>,
}

impl Pipeline {
    /// Guard, match and route `event` (a `need.submitted` from `region`): everything but the
    /// writes. Takes the event's `data` (left `null`): a routed need's rows are built from it
    /// and it is dropped (nothing written later reads it, and up to `amqp.prefetch` prepared
    /// needs wait for the writer); a refused need keeps it, and [`Pipeline::submit_need`] puts
    /// it back for the dead letter.
    pub(crate) fn prepare_need(
        &self,
        event: &mut CloudEvent,
        region: &Organisation,
    ) -> PreparedNeed {
        let now = self.clock.now();
        let mut data = std::mem::take(&mut event.data);
        // Guarded in place: a refusal reads only the event's attributes, never its data.
        let redacted = match self
            .guard
            .inspect(&mut data, crate::clock::stockholm_date(now))
        {
            GuardOutcome::Clean => Vec::new(),
            GuardOutcome::Redacted { findings } => findings,
            GuardOutcome::Rejected(refusal) => {
                let rejection = Rejection::from_guard(&refusal);
                let step = Err(Refused { rejection, data });
                return PreparedNeed { step };
            }
        };
        let step = self.plan(&data, now).and_then(|mut plan| {
            let need_id = event
                .subject
                .as_deref()
                .and_then(|s| NeedId::parse(s).ok())
                .ok_or_else(invalid_need_id)?;
            plan.note_redactions(&redacted);
            let stamp = Stamp {
                trace: Trace::of(event),
                now,
            };
            Ok(plan.into_ready(need_id, region, &redacted, &stamp))
        });
        let step = step.map_err(|rejection| Refused { rejection, data });
        PreparedNeed { step }
    }

    /// Record a prepared `need.submitted` inside `tx` (inbox already recorded); `event` is the
    /// one `prepared` was taken from.
    pub(super) async fn submit_need(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        sender: &Organisation,
        mut event: CloudEvent,
        prepared: PreparedNeed,
    ) -> Result<Outcome, StoreError> {
        let Ready {
            redacted,
            need,
            recipients,
            outbound,
        } = match prepared.step {
            Ok(ready) => ready,
            Err(Refused { rejection, data }) => {
                event.data = data;
                return self
                    .refuse_after(tx, inbound, sender, &event, rejection)
                    .await;
            }
        };
        match tx.insert_need(&need).await {
            Err(StoreError::NeedExists { .. }) => {
                let rejection = need_exists();
                // Its data is gone, and the body as sent holds what the guard redacted.
                let body = if redacted {
                    KeptBody::Withheld
                } else {
                    self.kept_body(&event, rejection.reason)
                };
                return self
                    .refuse_after_keeping(tx, inbound, sender, &event, rejection, body)
                    .await;
            }
            other => other?,
        }
        let key = NeedKey::new(sender.id.clone(), need.need_id.clone());
        tx.insert_recipients(&key, &recipients).await?;
        tx.enqueue_all(outbound).await?;
        let routed = AuditEntry {
            event_id: Some(event.id.clone()),
            need_id: Some(need.need_id),
            region: Some(sender.id.clone()),
            org: Some(sender.id.clone()),
            ..AuditEntry::new(AuditAction::Routed)
        };
        tx.audit(&routed).await?;
        Ok(Outcome::Accepted {
            event_type: EventType::NeedSubmitted,
        })
    }

    /// Match and build the outbound messages.
    fn plan(&self, data: &Value, now: OffsetDateTime) -> Result<Plan, Rejection> {
        let profile = NeedProfile::from_need(data).map_err(|e| {
            tracing::warn!(error = %e, "schema-valid need could not be profiled");
            Rejection {
                reason: RejectReason::SchemaInvalid,
                detail: "the need could not be read for matching".to_owned(),
                errors: vec![Issue::new(
                    "/data",
                    "a field matching needs is missing or malformed",
                )],
            }
        })?;
        let mut outcome = {
            let catalogue = self
                .catalogue
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // Reasons only for organisations this hub has: the others are dropped just below.
            match_need_for(
                &profile,
                &catalogue,
                &self.match_options,
                crate::clock::stockholm_date(now),
                &|id| self.directory.by_id(id).is_some(),
            )
        };
        // Only configured organisations have a queue, and only of the right kind: a catalogue
        // entry of an organisation that is not onboarded, or is not a university (courses) or
        // a company (partners), receives nothing.
        routing::keep_configured(&mut outcome, |id| self.directory.by_id(id).map(|o| o.kind));
        let messages = routing::outbound(data, &outcome, now).map_err(|e| {
            tracing::error!(error = %e, need_id = %profile.id, "outbound events could not be built");
            Rejection {
                reason: RejectReason::SchemaInvalid,
                detail: "the need could not be turned into challenges or calls".to_owned(),
                errors: vec![],
            }
        })?;
        let respond_by = routing::respond_by(
            &outcome,
            profile.deadline,
            crate::clock::stockholm_date(now),
        );
        Ok(Plan {
            identity: json!({"needId": data["id"], "region": data["region"]}),
            outcome,
            messages,
            respond_by,
        })
    }

    /// Undo this delivery's writes in `tx` (back to its savepoint, with the inbox row) and
    /// record the refusal instead.
    pub(super) async fn refuse_after(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        sender: &Organisation,
        event: &CloudEvent,
        rejection: Rejection,
    ) -> Result<Outcome, StoreError> {
        let body = self.kept_body(event, rejection.reason);
        self.refuse_after_keeping(tx, inbound, sender, event, rejection, body)
            .await
    }

    /// [`Pipeline::refuse_after`], with the dead letter keeping `body`.
    async fn refuse_after_keeping(
        &self,
        tx: &mut Tx,
        inbound: &Inbound,
        sender: &Organisation,
        event: &CloudEvent,
        rejection: Rejection,
        body: KeptBody,
    ) -> Result<Outcome, StoreError> {
        tx.rollback_to_savepoint().await?;
        let refusal = Refusal {
            rejection,
            sender: Some(sender.clone()),
            event: Some(RefusedEvent::of(event)),
            body,
        };
        self.refuse_in(tx, inbound, &refusal).await
    }

    /// What the dead letter of an admitted event refused for `reason` may keep. Personal data
    /// never reaches the broker: a `personal_data` refusal keeps the event with every finding
    /// replaced by its label, an `unscanned_attachment` refusal keeps nothing (the attachment
    /// itself is what could not be checked).
    fn kept_body(&self, event: &CloudEvent, reason: RejectReason) -> KeptBody {
        match reason {
            RejectReason::PersonalData => {
                let mut redacted = event.clone();
                let redactor = PiiGuard::new(PiiPolicy::Redact)
                    .with_exempt_pointers(self.guard.exempt_pointers().iter());
                let today = crate::clock::stockholm_date(self.clock.now());
                match redactor.inspect(&mut redacted.data, today) {
                    GuardOutcome::Clean | GuardOutcome::Redacted { .. } => {
                        KeptBody::Redacted(redacted.to_json_bytes())
                    }
                    GuardOutcome::Rejected(_) => KeptBody::Withheld,
                }
            }
            RejectReason::UnscannedAttachment => KeptBody::Withheld,
            _ => KeptBody::Original,
        }
    }
}

/// The trace and time every event a need causes carries.
struct Stamp {
    trace: Trace,
    now: OffsetDateTime,
}

/// What routing a need decided.
#[derive(Debug)]
struct Plan {
    /// `needId` and `region`: the stored view of a need that was sent nowhere.
    identity: Value,
    outcome: MatchOutcome,
    messages: Vec<routing::Outbound>,
    respond_by: Option<Date>,
}

impl Plan {
    /// The rows to write for need `need_id` of `region`: the plan's outbound events built and
    /// serialised, the match outcome reduced to the recipients.
    fn into_ready(
        mut self,
        need_id: NeedId,
        region: &Organisation,
        redacted: &[JsonFinding],
        stamp: &Stamp,
    ) -> Ready {
        let need = self.new_need(need_id, region, redacted);
        let recipients = self.recipients();
        let outbound = std::mem::take(&mut self.messages)
            .into_iter()
            .map(|message| {
                let out = CloudEvent::new(
                    message.event_type,
                    Source::hub(),
                    Some(need.need_id.as_str().to_owned()),
                    message.data,
                );
                let event = CloudEvent {
                    time: stamp.now,
                    ..out
                };
                to_org(&message.recipient, &stamp.trace.stamp(event))
            })
            .collect();
        Ready {
            redacted: !redacted.is_empty(),
            need,
            recipients,
            outbound,
        }
    }

    fn new_need(
        &self,
        need_id: NeedId,
        region: &Organisation,
        redacted: &[JsonFinding],
    ) -> NewNeed {
        let (state, mut reason) = match &self.outcome.not_routed {
            None => (NeedState::Published, None),
            Some(not_routed) => (NeedState::Unmatched, Some(not_routed.reason())),
        };
        if !redacted.is_empty() {
            let kinds: Vec<&str> = redacted.iter().map(|f| f.kind.as_str()).collect();
            let note = format!("redacted before routing: {}", kinds.join(", "));
            reason = Some(reason.map_or(note.clone(), |r| format!("{r}; {note}")));
        }
        NewNeed {
            need_id,
            region: region.id.clone(),
            state,
            state_reason: reason,
            respond_by: self.respond_by.map(crate::reconcile::deadline::closes_at),
            view: self.view(),
        }
    }

    /// Tell the region, in its status, what the guard redacted (kinds and places, no values).
    fn note_redactions(&mut self, redacted: &[JsonFinding]) {
        if redacted.is_empty() {
            return;
        }
        let places: Vec<String> = redacted
            .iter()
            .map(|f| {
                format!(
                    "{} at {} (chars {}..{})",
                    f.kind.as_str(),
                    f.pointer,
                    f.start,
                    f.end
                )
            })
            .collect();
        let note = format!(
            "personal data redacted before routing: {}",
            places.join(", ")
        );
        for message in self
            .messages
            .iter_mut()
            .filter(|m| m.event_type == EventType::NeedStatus)
        {
            let changed = message.data["changed"].as_str().unwrap_or("").to_owned();
            let text = if changed.is_empty() {
                note.clone()
            } else {
                format!("{note}; {changed}")
            };
            message.data["changed"] = Value::String(crate::text::clip(&text, 500));
        }
    }

    /// The PII-free view sent out with challenges and calls, or the bare identity when nothing
    /// was sent, as JSON text.
    fn view(&self) -> String {
        self.messages
            .iter()
            .find_map(|m| m.data.get("need"))
            .unwrap_or(&self.identity)
            .to_string()
    }

    fn recipients(&self) -> Vec<NewRecipient> {
        let universities = self.outcome.universities.iter().filter_map(|u| {
            Some(NewRecipient {
                org_id: u.university.parse().ok()?,
                kind: RecipientKind::University,
                score: u.best_score(),
                reasons: u.courses.iter().flat_map(|c| c.reasons.clone()).collect(),
                courses: u
                    .courses
                    .iter()
                    .map(|c| {
                        Value::Object(Map::from_iter([
                            ("courseCode".to_owned(), c.course_code.as_str().into()),
                            ("instanceId".to_owned(), c.instance_id.as_str().into()),
                            ("score".to_owned(), c.score.into()),
                        ]))
                    })
                    .collect(),
            })
        });
        let companies = self.outcome.companies.iter().filter_map(|c| {
            Some(NewRecipient {
                org_id: c.partner_id.parse().ok()?,
                kind: RecipientKind::Company,
                score: c.score,
                reasons: c.reasons.clone(),
                courses: Value::Array(Vec::new()),
            })
        });
        universities.chain(companies).collect()
    }
}

fn invalid_need_id() -> Rejection {
    Rejection {
        reason: RejectReason::InvalidAttribute,
        detail: "`subject` must be the need id (e.g. NEED-2026-0101)".to_owned(),
        errors: vec![Issue::new("/subject", "not a need id")],
    }
}

fn need_exists() -> Rejection {
    Rejection {
        reason: RejectReason::InvalidAttribute,
        detail: "your region already submitted a need with this id; use a new id, or withdraw \
                 the old need"
            .to_owned(),
        errors: vec![Issue::new("/data/id", "need id already in use")],
    }
}
