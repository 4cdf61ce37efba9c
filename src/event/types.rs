//! The event types of the wire contract, each tied to its data schema.
//!
//! A type is parsed into [`EventType`] at the edge, so the rest of the hub matches on an enum
//! instead of comparing strings. The table here is the single source of truth for
//! "type → schema file → `dataschema` URI → does it need a `subject`".

use std::fmt;

/// Base URI of every schema `$id`; the `dataschema` of an event is `SCHEMA_BASE` + file name.
pub const SCHEMA_BASE: &str = "https://schemas.samverkan.se/";

/// Every event type the hub knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// region → hub: an improvement need.
    NeedSubmitted,
    /// region → hub: the region withdraws a need.
    NeedWithdrawn,
    /// hub → university: a PII-free need with matched courses.
    ChallengePublished,
    /// hub → company: a PII-free need as an innovation call.
    CallPublished,
    /// hub → recipients: a challenge or call is withdrawn.
    ChallengeWithdrawn,
    /// university → hub: a course offer or decline.
    OfferSubmitted,
    /// company → hub: interest, proposal or decline.
    ProposalSubmitted,
    /// hub → region: the reconciled status of a need.
    NeedStatus,
    /// university → hub: a catalogue entry is created or changed.
    CourseUpserted,
    /// university → hub: a catalogue entry (or one instance) is removed.
    CourseRemoved,
    /// registry → hub: a partner entry is created or changed.
    PartnerUpserted,
    /// hub → sender: an event was refused, with the reason code.
    MessageRejected,
}

impl EventType {
    /// All types, in contract order.
    pub const ALL: [EventType; 12] = [
        Self::NeedSubmitted,
        Self::NeedWithdrawn,
        Self::ChallengePublished,
        Self::CallPublished,
        Self::ChallengeWithdrawn,
        Self::OfferSubmitted,
        Self::ProposalSubmitted,
        Self::NeedStatus,
        Self::CourseUpserted,
        Self::CourseRemoved,
        Self::PartnerUpserted,
        Self::MessageRejected,
    ];

    /// The CloudEvents `type` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NeedSubmitted => "se.samverkan.need.submitted.v1",
            Self::NeedWithdrawn => "se.samverkan.need.withdrawn.v1",
            Self::ChallengePublished => "se.samverkan.challenge.published.v1",
            Self::CallPublished => "se.samverkan.call.published.v1",
            Self::ChallengeWithdrawn => "se.samverkan.challenge.withdrawn.v1",
            Self::OfferSubmitted => "se.samverkan.offer.submitted.v1",
            Self::ProposalSubmitted => "se.samverkan.proposal.submitted.v1",
            Self::NeedStatus => "se.samverkan.need.status.v1",
            Self::CourseUpserted => "se.samverkan.course.upserted.v1",
            Self::CourseRemoved => "se.samverkan.course.removed.v1",
            Self::PartnerUpserted => "se.samverkan.partner.upserted.v1",
            Self::MessageRejected => "se.samverkan.message.rejected.v1",
        }
    }

    /// Parse a CloudEvents `type`; `None` for a type the hub does not know.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The schema file (under `schemas/`) that describes this type's `data`.
    pub const fn schema_file(self) -> &'static str {
        match self {
            Self::NeedSubmitted => "need.v1.json",
            Self::NeedWithdrawn => "need-withdrawn.v1.json",
            Self::ChallengePublished => "challenge.v1.json",
            Self::CallPublished => "call.v1.json",
            Self::ChallengeWithdrawn => "challenge-withdrawn.v1.json",
            Self::OfferSubmitted => "offer.v1.json",
            Self::ProposalSubmitted => "proposal.v1.json",
            Self::NeedStatus => "need-status.v1.json",
            Self::CourseUpserted => "course.v1.json",
            Self::CourseRemoved => "course-removed.v1.json",
            Self::PartnerUpserted => "partner.v1.json",
            Self::MessageRejected => "message-rejected.v1.json",
        }
    }

    /// The `dataschema` URI an event of this type must carry (the schema's `$id`).
    pub fn dataschema(self) -> String {
        format!("{SCHEMA_BASE}{}", self.schema_file())
    }

    /// Where in `data` the need id lives, for types that concern one need. For these the
    /// CloudEvents `subject` is required and must equal that id; it also becomes the AMQP
    /// `correlation_id`.
    pub const fn need_id_pointer(self) -> Option<&'static str> {
        match self {
            Self::NeedSubmitted => Some("/id"),
            Self::NeedWithdrawn
            | Self::ChallengePublished
            | Self::CallPublished
            | Self::ChallengeWithdrawn
            | Self::OfferSubmitted
            | Self::ProposalSubmitted
            | Self::NeedStatus => Some("/needId"),
            Self::CourseUpserted
            | Self::CourseRemoved
            | Self::PartnerUpserted
            | Self::MessageRejected => None,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_has_a_distinct_schema() {
        let mut files = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert!(files.insert(t.schema_file()));
            assert!(t.dataschema().starts_with(SCHEMA_BASE));
        }
        assert_eq!(EventType::parse("se.samverkan.need.submitted.v2"), None);
    }
}
