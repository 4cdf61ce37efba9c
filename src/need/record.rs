//! A need as it stands: state, deadline, PII-free view and recipients with their latest
//! answers. This is what the state machine reads and returns changed; how the store keeps it
//! (and guards concurrent writes to it) is the store's business.

use serde_json::Value;
use time::OffsetDateTime;

use super::id::{NeedId, NeedKey};
use super::recipient::Recipient;
use super::state::NeedState;
use crate::settings::OrgId;

/// A need with its recipients.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
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
    /// When the need was first stored.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// Who received it, best match first.
    pub recipients: Vec<Recipient>,
}

impl Need {
    /// The need's key: region and id.
    #[must_use]
    pub fn key(&self) -> NeedKey {
        NeedKey::new(self.region.clone(), self.need_id.clone())
    }

    /// The recipient with this id.
    #[must_use]
    pub fn recipient(&self, org_id: &OrgId) -> Option<&Recipient> {
        self.recipients.iter().find(|r| &r.org_id == org_id)
    }
}
