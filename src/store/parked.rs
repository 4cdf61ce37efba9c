//! Parked outbox rows: messages the relay set aside because they can never be published.
//!
//! Retrying a message the broker can never take — a `correlation_id` over AMQP's 255 bytes, a
//! header table bigger than the negotiated frame, a body over the limit — only burns attempts,
//! and when the relay retried such a row in every batch, one bad row stopped all outbound
//! traffic. So the relay *parks* it instead ([`Store::park`]): the row stays in the outbox with
//! `parked_at_ms`, a stable reason code and a detail naming sizes and limits (never a value),
//! is never claimed again, and operators list it with `samverkan dead-letters parked`
//! ([`Store::parked_outbox`]). Rows the broker kept refusing after a bounded number of attempts
//! are parked the same way. Parked rows are not pruned by retention: they wait for a person.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::OffsetDateTime;

use super::codes::ReasonCode;
use super::outbox::now_sql;
use super::rows::from_ms;
use super::{Backend, Store, StoreError};

/// Longest stored detail, in characters.
const MAX_DETAIL_CHARS: usize = 500;

/// A parked outbox row as operators see it: where it was going, why it was set aside, how big
/// it is. Not its body or headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedRow {
    /// Outbox row id.
    pub id: i64,
    /// The event id (AMQP `message_id`).
    pub event_id: String,
    /// Exchange it was to be published to.
    pub exchange: String,
    /// Routing key it was to be published with.
    pub routing_key: String,
    /// Failed publish attempts before it was parked.
    pub attempts: i64,
    /// When it was written to the outbox.
    pub created_at: OffsetDateTime,
    /// When it was parked.
    pub parked_at: OffsetDateTime,
    /// Why: a stable reason code such as `property_too_long`.
    pub reason: String,
    /// Sizes and limits behind the reason.
    pub detail: Option<String>,
    /// Body size in bytes.
    pub body_bytes: i64,
}

impl Store {
    /// Sets a claimed, unsent outbox row aside for good: it is never claimed again and shows
    /// up in [`Store::parked_outbox`]. `detail` must name sizes and limits only, never a value
    /// from the message; it is cut to 500 characters.
    pub async fn park(
        &self,
        claim: Option<&str>,
        id: i64,
        reason: ReasonCode,
        detail: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.pools.writer.acquire().await?;
        park_in(&mut conn, self.pools.backend, claim, id, reason, detail).await
    }

    /// Up to `limit` parked outbox rows, oldest parking first.
    pub async fn parked_outbox(&self, limit: i64) -> Result<Vec<ParkedRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, event_id, exchange, routing_key, attempts, created_at_ms, parked_at_ms, \
             parked_reason, parked_detail, CAST(length(body) AS BIGINT) AS body_bytes \
             FROM outbox WHERE parked_at_ms IS NOT NULL ORDER BY parked_at_ms, id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pools.reader)
        .await?;
        rows.iter().map(parked_from_row).collect()
    }

    /// How many outbox rows are parked, by reason code.
    pub async fn parked_by_reason(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let counts: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT parked_reason, count(*) FROM outbox WHERE parked_at_ms IS NOT NULL \
             GROUP BY parked_reason ORDER BY parked_reason",
        )
        .fetch_all(&self.pools.reader)
        .await?;
        Ok(counts
            .into_iter()
            .map(|(reason, n)| (reason.unwrap_or_default(), n))
            .collect())
    }

    /// How many outbox rows are parked (a gauge for `/metrics`).
    pub async fn outbox_parked_count(&self) -> Result<i64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE parked_at_ms IS NOT NULL")
                .fetch_one(&self.pools.reader)
                .await?;
        Ok(count)
    }
}

fn parked_from_row(row: &AnyRow) -> Result<ParkedRow, StoreError> {
    Ok(ParkedRow {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        exchange: row.try_get("exchange")?,
        routing_key: row.try_get("routing_key")?,
        attempts: row.try_get("attempts")?,
        created_at: from_ms(row.try_get("created_at_ms")?, "outbox.created_at_ms")?,
        parked_at: from_ms(row.try_get("parked_at_ms")?, "outbox.parked_at_ms")?,
        reason: row
            .try_get::<Option<String>, _>("parked_reason")?
            .unwrap_or_default(),
        detail: row.try_get("parked_detail")?,
        body_bytes: row.try_get("body_bytes")?,
    })
}

/// [`Store::park`] on `conn`.
pub(super) async fn park_in(
    conn: &mut AnyConnection,
    backend: Backend,
    claim: Option<&str>,
    id: i64,
    reason: ReasonCode,
    detail: &str,
) -> Result<(), StoreError> {
    let now = now_sql(backend);
    let sql = format!(
        "UPDATE outbox SET parked_at_ms = {now}, parked_reason = $2, parked_detail = $3, \
         claimed_until_ms = NULL WHERE id = $1 AND sent_at_ms IS NULL \
         AND parked_at_ms IS NULL AND ($4 IS NULL OR claim_token = $4)"
    );
    let detail = crate::text::clip(detail, MAX_DETAIL_CHARS);
    // Only constants are spliced in; every value is bound.
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(reason.as_str())
        .bind(detail)
        .bind(claim.map(str::to_owned))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
