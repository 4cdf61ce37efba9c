//! Between Rust values and the portable column types: times as unix milliseconds, JSON as text,
//! enums as their codes, rows as [`crate::need`] types. Reading a need lives here too, because a transaction
//! ([`Tx::load_need_for_update`](super::Tx::load_need_for_update)) and a plain read
//! ([`Store::need`](super::Store::need)) share it.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::codes::AuditAction;
use super::error::StoreError;
use super::records::{AuditRecord, OutboxMessage, OutboxRow, StoredNeed};
use crate::event::EventId;
use crate::need::RecipientKind;
use crate::need::{Decision, LatestAnswer, Need, NeedId, NeedKey, NeedState, Recipient};
use crate::settings::OrgId;

const SELECT_NEED: &str = "SELECT need_id, region, state, state_reason, respond_by_ms, view, \
     version, created_at_ms, updated_at_ms FROM needs WHERE need_id = $1 AND region = $2";

/// PostgreSQL only: the row lock makes competing instances take turns on a need. SQLite has no
/// `FOR UPDATE` and needs none: its writer transactions already run one at a time.
const SELECT_NEED_FOR_UPDATE: &str = "SELECT need_id, region, state, state_reason, \
     respond_by_ms, view, version, created_at_ms, updated_at_ms FROM needs WHERE need_id = $1 \
     AND region = $2 FOR UPDATE";

const SELECT_RECIPIENTS: &str = "SELECT org_id, kind, score, reasons, courses, answer_event_id, \
     answer_time_ms, decision, detail FROM recipients WHERE need_id = $1 AND region = $2 \
     ORDER BY score DESC, org_id";

/// Reads the need `key` and its recipients on `conn`, locking the need row when `lock` is set.
///
/// Two statements, not a join: under PostgreSQL's READ COMMITTED the recipients query starts
/// after the row lock is granted, so it sees every answer the previous lock holder committed.
pub(super) async fn fetch_need(
    conn: &mut AnyConnection,
    key: &NeedKey,
    lock: bool,
) -> Result<Option<StoredNeed>, StoreError> {
    let sql = if lock {
        SELECT_NEED_FOR_UPDATE
    } else {
        SELECT_NEED
    };
    let Some(row) = sqlx::query(sql)
        .bind(key.need_id.as_str())
        .bind(key.region.as_str())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut stored = need_from_row(&row)?;
    let rows = sqlx::query(SELECT_RECIPIENTS)
        .bind(key.need_id.as_str())
        .bind(key.region.as_str())
        .fetch_all(&mut *conn)
        .await?;
    stored.need.recipients = rows
        .iter()
        .map(recipient_from_row)
        .collect::<Result<_, _>>()?;
    Ok(Some(stored))
}

/// Unix milliseconds, the stored form of every time.
pub(super) fn to_ms(t: OffsetDateTime) -> i64 {
    // i64 milliseconds cover ±292 million years; `time` stops at ±9999.
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn from_ms(ms: i64, what: &'static str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

pub(super) fn to_json<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::corrupt(what, e))
}

fn from_json<T: DeserializeOwned>(text: &str, what: &'static str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

fn code<T>(text: &str, parse: fn(&str) -> Option<T>, what: &'static str) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::corrupt(what, "not a known code"))
}

pub(super) fn org_id(text: &str, what: &'static str) -> Result<OrgId, StoreError> {
    OrgId::parse(text).map_err(|_| StoreError::corrupt(what, "not an organisation id"))
}

pub(super) fn event_id(text: &str, what: &'static str) -> Result<EventId, StoreError> {
    EventId::parse(text).map_err(|_| StoreError::corrupt(what, "not an event id"))
}

fn need_from_row(row: &AnyRow) -> Result<StoredNeed, StoreError> {
    let need_id: String = row.try_get("need_id")?;
    let respond_by: Option<i64> = row.try_get("respond_by_ms")?;
    let need = Need {
        need_id: NeedId::parse(&need_id)
            .map_err(|_| StoreError::corrupt("needs.need_id", "not a need id"))?,
        region: org_id(&row.try_get::<String, _>("region")?, "needs.region")?,
        state: code(
            &row.try_get::<String, _>("state")?,
            NeedState::parse,
            "needs.state",
        )?,
        state_reason: row.try_get("state_reason")?,
        respond_by: respond_by
            .map(|ms| from_ms(ms, "needs.respond_by_ms"))
            .transpose()?,
        view: from_json(&row.try_get::<String, _>("view")?, "needs.view")?,
        created_at: from_ms(row.try_get("created_at_ms")?, "needs.created_at_ms")?,
        updated_at: from_ms(row.try_get("updated_at_ms")?, "needs.updated_at_ms")?,
        recipients: Vec::new(),
    };
    Ok(StoredNeed {
        need,
        version: row.try_get("version")?,
    })
}

fn recipient_from_row(row: &AnyRow) -> Result<Recipient, StoreError> {
    Ok(Recipient {
        org_id: org_id(&row.try_get::<String, _>("org_id")?, "recipients.org_id")?,
        kind: code(
            &row.try_get::<String, _>("kind")?,
            RecipientKind::parse,
            "recipients.kind",
        )?,
        score: row.try_get("score")?,
        reasons: from_json(&row.try_get::<String, _>("reasons")?, "recipients.reasons")?,
        courses: from_json(&row.try_get::<String, _>("courses")?, "recipients.courses")?,
        latest: latest_from_row(row)?,
    })
}

fn latest_from_row(row: &AnyRow) -> Result<Option<LatestAnswer>, StoreError> {
    let Some(id) = row.try_get::<Option<String>, _>("answer_event_id")? else {
        return Ok(None);
    };
    let time: Option<i64> = row.try_get("answer_time_ms")?;
    let decision: Option<String> = row.try_get("decision")?;
    let detail: Option<String> = row.try_get("detail")?;
    let (Some(time), Some(decision), Some(detail)) = (time, decision, detail) else {
        return Err(StoreError::corrupt(
            "recipients.answer_*",
            "latest answer columns are partly empty",
        ));
    };
    Ok(Some(LatestAnswer {
        event_id: event_id(&id, "recipients.answer_event_id")?,
        time: from_ms(time, "recipients.answer_time_ms")?,
        decision: code(&decision, Decision::parse, "recipients.decision")?,
        detail: from_json(&detail, "recipients.detail")?,
    }))
}

pub(super) fn outbox_from_row(row: &AnyRow) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: row.try_get("id")?,
        message: OutboxMessage {
            event_id: event_id(&row.try_get::<String, _>("event_id")?, "outbox.event_id")?,
            exchange: row.try_get("exchange")?,
            routing_key: row.try_get("routing_key")?,
            content_type: row.try_get("content_type")?,
            correlation_id: row.try_get("correlation_id")?,
            kind: row.try_get("amqp_type")?,
            message_id: row.try_get("message_id")?,
            headers: from_json(&row.try_get::<String, _>("headers")?, "outbox.headers")?,
            body: row.try_get("body")?,
            recipient: None,
        },
        created_at: from_ms(row.try_get("created_at_ms")?, "outbox.created_at_ms")?,
        attempts: row.try_get("attempts")?,
        claim_token: row.try_get("claim_token")?,
    })
}

pub(super) fn audit_from_row(row: &AnyRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: from_ms(row.try_get("at_ms")?, "audit.at_ms")?,
        action: code(
            &row.try_get::<String, _>("action")?,
            AuditAction::parse,
            "audit.action",
        )?,
        event_id: row.try_get("event_id")?,
        need_id: row.try_get("need_id")?,
        region: row.try_get("region")?,
        org_id: row.try_get("org_id")?,
        reason_code: row.try_get("reason_code")?,
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn times_round_trip_at_millisecond_precision() {
        let t = datetime!(2027-06-05 14:30:15.123 UTC);
        assert_eq!(to_ms(t), 1_812_205_815_123);
        assert_eq!(from_ms(to_ms(t), "t").expect("valid"), t);
        let fine = datetime!(2027-06-05 14:30:15.123456 UTC);
        assert_eq!(from_ms(to_ms(fine), "t").expect("valid"), t);
        assert!(from_ms(i64::MAX, "t").is_err());
    }
}
