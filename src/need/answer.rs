//! What recipients answer: the decision, the answer that currently counts per recipient, an
//! answer to record, and what recording it did.
//!
//! The latest answer of a recipient wins: by event `time`, ties by event id. The state machine
//! and the store both order answers that way, so [`AnswerApplied`] is one outcome both sides
//! name alike.

use serde_json::Value;
use time::OffsetDateTime;

use super::id::NeedId;
use crate::event::{EventId, Source};
use crate::settings::OrgId;

/// What a recipient answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// A university offers a course instance for the need.
    Offer,
    /// A company is interested.
    Interest,
    /// A company proposes something concrete.
    Proposal,
    /// Not this time (it still counts as an answer).
    Decline,
}

super::string_enum!(Decision {
    Offer => "offer",
    Interest => "interest",
    Proposal => "proposal",
    Decline => "decline",
});

impl Decision {
    /// Whether the answer moves a need from `published` to `answered`.
    #[must_use]
    pub const fn is_positive(self) -> bool {
        !matches!(self, Decision::Decline)
    }
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

/// An answer (offer, interest, proposal, decline) to record against a need.
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

/// What recording an answer does to a recipient's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerApplied {
    /// It is now the recipient's latest answer.
    Latest,
    /// Recorded in the history, but the recipient has a later answer (by time, then id).
    Superseded,
    /// This event was recorded before; nothing changed.
    Duplicate,
}
