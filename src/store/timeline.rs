//! Every answer applied to one need, in answer time order: the console's answers timeline.
//!
//! The recipients table keeps only each recipient's latest answer; the answers table keeps
//! all of them, and a coach asking "what came back?" wants the whole sequence (an interest,
//! then a proposal, then a decline). Ids, decisions and times only: the answer's payload (which
//! may hold a sender's free text) is not read.

use time::OffsetDateTime;

use super::Store;
use super::error::StoreError;
use super::rows::{from_ms, org_id};
use crate::need::{Decision, NeedKey};
use crate::settings::OrgId;

/// One applied answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerEntry {
    /// Who answered.
    pub org_id: OrgId,
    /// The answer event's id.
    pub event_id: String,
    /// What they decided.
    pub decision: Decision,
    /// The answer's own time.
    pub time: OffsetDateTime,
    /// When the hub recorded it.
    pub recorded_at: OffsetDateTime,
}

impl Store {
    /// The answers applied to need `key`, oldest answer time first (ties by event id).
    pub async fn answer_timeline(&self, key: &NeedKey) -> Result<Vec<AnswerEntry>, StoreError> {
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT org_id, event_id, decision, time_ms, recorded_at_ms FROM answers \
             WHERE need_id = $1 AND region = $2 ORDER BY time_ms, event_id",
        )
        .bind(key.need_id.as_str())
        .bind(key.region.as_str())
        .fetch_all(&self.pools.reader)
        .await?;
        rows.into_iter()
            .map(|(org, event_id, decision, time_ms, recorded_ms)| {
                Ok(AnswerEntry {
                    org_id: org_id(&org, "answers.org_id")?,
                    event_id,
                    decision: Decision::parse(&decision)
                        .ok_or_else(|| StoreError::corrupt("answers.decision", "not a decision"))?,
                    time: from_ms(time_ms, "answers.time_ms")?,
                    recorded_at: from_ms(recorded_ms, "answers.recorded_at_ms")?,
                })
            })
            .collect()
    }
}
