//! The plain data that goes into the store and comes back out of it.
//!
//! Inputs (`New…`, [`OutboxMessage`], [`AuditEntry`]) hold only parsed types — ids, enums,
//! JSON the caller built — so the store never has to validate a string. Outputs (`…Record`,
//! [`OutboxRow`]) are what the reconciler, the relay and `samverkan needs show` read.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::codes::{AuditAction, Decision, NeedId, NeedState, ReasonCode, RecipientKind};
use crate::event::{EventId, Source};
use crate::settings::OrgId;

/// A need's identity: the region that submitted it and the region's id for it.
///
/// Need ids are unique within a region, not across regions (README, "Need identity"): two
/// regions may use the same id for different needs, and neither can take, see or block the
/// other's. Every read or change of one need is by its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NeedKey {
    /// The owning region.
    pub region: OrgId,
    /// The region's id for the need.
    pub need_id: NeedId,
}

impl NeedKey {
    /// The key of `region`'s need `need_id`.
    #[must_use]
    pub fn new(region: OrgId, need_id: NeedId) -> Self {
        Self { region, need_id }
    }
}

impl std::fmt::Display for NeedKey {
    /// `NEED-2026-0101 of VGR`: both parts are checked identifiers, safe to log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {}", self.need_id, self.region)
    }
}

/// A need to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNeed {
    /// The region's id for the need.
    pub need_id: NeedId,
    /// The region that owns it.
    pub region: OrgId,
    /// Its first state (usually `received`, or directly the routing outcome).
    pub state: NeedState,
    /// Why it is in that state, as the region will read it: a reason code or a sentence that has
    /// passed the PII guard.
    pub state_reason: Option<String>,
    /// The answer deadline given to recipients, if anything is published.
    pub respond_by: Option<OffsetDateTime>,
    /// The PII-free need view (what challenges and calls carry), never the raw submission.
    pub view: Value,
}

/// A matched recipient of a need's challenge or call.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecipient {
    /// The university or company.
    pub org_id: OrgId,
    /// Which of the two.
    pub kind: RecipientKind,
    /// Match score.
    pub score: f64,
    /// Human-readable match reasons, built by the hub from catalogue data.
    pub reasons: Vec<String>,
    /// The matched courses (universities) as sent in the challenge; `[]` for companies.
    pub courses: Value,
}

/// An answer (offer, interest, proposal, decline) to apply to a need.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnswer {
    /// The need answered.
    pub need_id: NeedId,
    /// The region that owns it.
    pub region: OrgId,
    /// The answering recipient.
    pub org_id: OrgId,
    /// CloudEvents `source` of the answer event.
    pub source: Source,
    /// CloudEvents `id` of the answer event.
    pub event_id: EventId,
    /// CloudEvents `time` of the answer event: the latest answer of a recipient wins.
    pub time: OffsetDateTime,
    /// What was answered.
    pub decision: Decision,
    /// The answer's data after the PII guard (course code, period, summary, …).
    pub detail: Value,
}

/// What [`Tx::record_answer`](super::Tx::record_answer) did with an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerApplied {
    /// It is now the recipient's latest answer.
    Latest,
    /// Recorded in the history, but the recipient has a later answer (by time, then id).
    Superseded,
    /// This event was recorded before; nothing changed.
    Duplicate,
}

/// A need as stored, with its recipients.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedRecord {
    /// The need's id.
    pub need_id: NeedId,
    /// The owning region.
    pub region: OrgId,
    /// Current state.
    pub state: NeedState,
    /// Why it is in that state.
    pub state_reason: Option<String>,
    /// Answer deadline.
    pub respond_by: Option<OffsetDateTime>,
    /// The PII-free need view.
    pub view: Value,
    /// Grows by one with every state change; pass it back to
    /// [`Tx::update_need_state`](super::Tx::update_need_state).
    pub version: i64,
    /// When the need was first stored.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// Who received it, best match first.
    pub recipients: Vec<RecipientRecord>,
}

impl NeedRecord {
    /// The need's key: region and id.
    #[must_use]
    pub fn key(&self) -> NeedKey {
        NeedKey::new(self.region.clone(), self.need_id.clone())
    }

    /// The recipient with this id.
    #[must_use]
    pub fn recipient(&self, org_id: &OrgId) -> Option<&RecipientRecord> {
        self.recipients.iter().find(|r| &r.org_id == org_id)
    }
}

/// A recipient of a need, with its latest answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipientRecord {
    /// The university or company.
    pub org_id: OrgId,
    /// Which of the two.
    pub kind: RecipientKind,
    /// Match score.
    pub score: f64,
    /// Match reasons.
    pub reasons: Vec<String>,
    /// Matched courses.
    pub courses: Value,
    /// The answer that currently counts, if any.
    pub latest: Option<LatestAnswer>,
}

/// The answer of a recipient that currently counts.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestAnswer {
    /// Id of the answer event.
    pub event_id: EventId,
    /// Its CloudEvents `time`.
    pub time: OffsetDateTime,
    /// What was answered.
    pub decision: Decision,
    /// The answer's data.
    pub detail: Value,
}

/// One message for the relay to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The event id: AMQP `message_id`, and what receivers dedupe by.
    pub event_id: EventId,
    /// Exchange to publish to.
    pub exchange: String,
    /// Routing key, e.g. `chalmers.se.samverkan.challenge.published.v1`.
    pub routing_key: String,
    /// AMQP `content_type`.
    pub content_type: String,
    /// AMQP `correlation_id`: the need id, when the message concerns one.
    pub correlation_id: Option<String>,
    /// AMQP `type` (the CloudEvents type, for events).
    pub kind: Option<String>,
    /// AMQP `message_id` when it is not the event id (a dead letter carries the refused
    /// event's id, which may be refused, and recorded, more than once).
    pub message_id: Option<String>,
    /// Extra AMQP headers (string values).
    pub headers: BTreeMap<String, String>,
    /// The body as published.
    pub body: Vec<u8>,
}

/// The catalogue entry a reference-data change touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceEntry {
    /// `course:<org>:<courseCode>` or `partner:<id>`.
    pub key: String,
    /// Whether the change replaces the whole entry (an upsert, removing a whole course), so
    /// the entry's earlier changes are no longer needed.
    pub replaces_earlier: bool,
}

/// A recorded reference-data event (`course.upserted`, `course.removed`, `partner.upserted`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceEvent {
    /// Row id: the order in which every hub instance applies the events.
    pub id: i64,
    /// The event type, e.g. `se.samverkan.course.upserted.v1`.
    pub event_type: String,
    /// The organisation that sent it.
    pub org_id: String,
    /// The event's data.
    pub data: serde_json::Value,
}

/// An outbox row not yet confirmed by the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Row id; rows are published in id order.
    pub id: i64,
    /// What to publish.
    pub message: OutboxMessage,
    /// When it was written.
    pub created_at: OffsetDateTime,
    /// Publish attempts so far.
    pub attempts: i64,
    /// The token of the claim that handed the row out (`None` when it was read, not claimed):
    /// the relay's later writes to the row pass it, so they apply only while the claim holds.
    pub claim_token: Option<String>,
}

/// One audit trail entry: ids and codes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// What happened.
    pub action: AuditAction,
    /// The event concerned.
    pub event_id: Option<EventId>,
    /// The need concerned.
    pub need_id: Option<NeedId>,
    /// The region of the need concerned, where known (need ids are unique within a region).
    pub region: Option<OrgId>,
    /// The organisation concerned (sender or recipient).
    pub org: Option<OrgId>,
    /// Why, for refusals and state changes.
    pub reason: Option<ReasonCode>,
}

impl AuditEntry {
    /// An entry with only its action set; fill in the rest with struct update syntax.
    #[must_use]
    pub fn new(action: AuditAction) -> Self {
        Self {
            action,
            event_id: None,
            need_id: None,
            region: None,
            org: None,
            reason: None,
        }
    }
}

/// An audit trail entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Row id, in insertion order.
    pub id: i64,
    /// When it was written.
    pub at: OffsetDateTime,
    /// What happened.
    pub action: AuditAction,
    /// The event concerned.
    pub event_id: Option<String>,
    /// The need concerned.
    pub need_id: Option<String>,
    /// The region of the need concerned, where it was known.
    pub region: Option<String>,
    /// The organisation concerned.
    pub org_id: Option<String>,
    /// The reason code.
    pub reason_code: Option<String>,
}
