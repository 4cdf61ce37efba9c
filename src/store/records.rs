//! The plain data that goes into the store and comes back out of it.
//!
//! Inputs (`New…`, [`OutboxMessage`], [`AuditEntry`]) hold only parsed types — ids, enums,
//! JSON the caller built — so the store never has to validate a string. Outputs
//! ([`StoredNeed`], [`OutboxRow`], [`AuditRecord`]) are what the pipeline, the relay and
//! `samverkan needs show` read. The need itself is [`crate::need::Need`]; the store adds only
//! its optimistic-lock version, which stays inside the store.

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::codes::{AuditAction, ReasonCode};
use crate::event::EventId;
use crate::need::{Need, NeedId, NeedState, RecipientKind};
use crate::settings::OrgId;

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
    /// The PII-free need view (what challenges and calls carry), never the raw submission, as
    /// JSON text: serialised when the need is prepared, so the writer only writes it.
    pub view: String,
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

/// A need as the store read it: the [`Need`] and the store's optimistic-lock version.
///
/// The version is the store's own token: it grows by one with every state change, and
/// `Tx::record_state` takes this value back to check that nobody
/// changed the need in between. The state machine works on the plain [`Need`] (this derefs to
/// it) and never sees the version; callers can read it ([`StoredNeed::version`]) but not make
/// one up.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNeed {
    /// The need.
    pub need: Need,
    pub(super) version: i64,
}

impl StoredNeed {
    /// The need's version: 1 when inserted, one more with every state change.
    #[must_use]
    pub fn version(&self) -> i64 {
        self.version
    }
}

impl std::ops::Deref for StoredNeed {
    type Target = Need;

    fn deref(&self) -> &Need {
        &self.need
    }
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
    /// The organisation an event is addressed to: writing the row also appends the event to
    /// that organisation's feed. Not kept in the outbox (its routing key says where it goes),
    /// so rows read back have `None`.
    pub recipient: Option<OrgId>,
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
