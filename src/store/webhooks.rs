//! Webhooks in the store: the URLs organisations registered through the API, and the events
//! their delivery parked.
//!
//! Registrations live in the store, not the configuration, for the same reason API tokens do:
//! `PUT /v1/webhook` takes effect at once, on every hub instance sharing the database. An
//! operator's configured webhook never comes here; it wins over a registration (the HTTP side
//! answers 409 to an organisation that tries to register over it). The delivery state of each
//! organisation is in `webhook_state.rs`.
//!
//! A parked event keeps its feed position, ids, type and what went wrong (a status code or an
//! error kind), never the body, which stays in the feed. `samverkan webhooks redeliver` marks
//! it requeued, and the dispatcher tries it before the rest of the feed.

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::rows::{from_ms, org_id, to_ms};
use super::{Store, StoreError};
use crate::settings::{OrgId, WebhookSecret};

/// A webhook an organisation registered through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// The organisation.
    pub org_id: OrgId,
    /// Its URL, as registered.
    pub url: String,
    /// The signing secret (`whsec_…`).
    pub secret: WebhookSecret,
    /// When it was first registered.
    pub created_at: OffsetDateTime,
}

/// A parked webhook event as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedWebhookEvent {
    /// The organisation whose feed it is in.
    pub org_id: OrgId,
    /// Its position in that feed.
    pub seq: i64,
    /// The event id (the `webhook-id` it was sent with).
    pub event_id: String,
    /// The CloudEvents type.
    pub event_type: String,
    /// The last answer's status code (`503`) or the error kind (`timeout`, `connect`, …).
    pub last_error: String,
    /// Attempts made before it was parked.
    pub attempts: i64,
    /// When it was parked.
    pub parked_at: OffsetDateTime,
}

impl Store {
    /// The webhook `org` registered through the API, if any.
    pub async fn webhook_registration(
        &self,
        org: &OrgId,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        let row = sqlx::query(
            "SELECT org_id, url, secret, created_at_ms FROM webhooks WHERE org_id = $1",
        )
        .bind(org.as_str())
        .fetch_optional(&self.pools.reader)
        .await?;
        row.as_ref().map(registration_from_row).transpose()
    }

    /// Every webhook registered through the API, by organisation.
    pub async fn webhook_registrations(&self) -> Result<Vec<WebhookRegistration>, StoreError> {
        let rows =
            sqlx::query("SELECT org_id, url, secret, created_at_ms FROM webhooks ORDER BY org_id")
                .fetch_all(&self.pools.reader)
                .await?;
        rows.iter().map(registration_from_row).collect()
    }

    /// Registers (or replaces) `org`'s webhook.
    pub async fn put_webhook(
        &self,
        org: &OrgId,
        url: &str,
        secret: &WebhookSecret,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO webhooks (org_id, url, secret, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (org_id) DO UPDATE SET \
             url = excluded.url, secret = excluded.secret, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(org.as_str())
        .bind(url)
        .bind(secret.expose())
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes `org`'s registered webhook; `false` when it had none. Its delivery state and
    /// parked events stay (a later registration resumes where delivery stopped).
    pub async fn delete_webhook(&self, org: &OrgId) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM webhooks WHERE org_id = $1")
            .bind(org.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Up to `limit` parked webhook events (of `org`, or of everyone), oldest parking first.
    /// Events put back by [`Store::requeue_webhook_events`] are not listed.
    pub async fn webhook_parked(
        &self,
        org: Option<&OrgId>,
        limit: i64,
    ) -> Result<Vec<ParkedWebhookEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT org_id, seq, event_id, event_type, last_error, attempts, parked_at_ms \
             FROM webhook_parked WHERE requeued_at_ms IS NULL AND ($1 = '' OR org_id = $1) \
             ORDER BY parked_at_ms, org_id, seq LIMIT $2",
        )
        .bind(org.map_or("", OrgId::as_str))
        .bind(limit)
        .fetch_all(&self.pools.reader)
        .await?;
        rows.iter().map(parked_from_row).collect()
    }

    /// How many webhook events are parked (of `org`, or of everyone): a gauge for `/metrics`.
    pub async fn webhook_parked_count(&self, org: Option<&OrgId>) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_parked WHERE requeued_at_ms IS NULL \
             AND ($1 = '' OR org_id = $1)",
        )
        .bind(org.map_or("", OrgId::as_str))
        .fetch_one(&self.pools.reader)
        .await?;
        Ok(count)
    }

    /// Puts `org`'s parked events at these feed positions back for delivery (before the rest
    /// of its feed); returns the positions that were parked, in order.
    pub async fn requeue_webhook_events(
        &self,
        org: &OrgId,
        seqs: &[i64],
        now: OffsetDateTime,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut requeued = Vec::new();
        for &seq in seqs {
            let done = sqlx::query(
                "UPDATE webhook_parked SET requeued_at_ms = $3 WHERE org_id = $1 AND seq = $2 \
                 AND requeued_at_ms IS NULL",
            )
            .bind(org.as_str())
            .bind(seq)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                requeued.push(seq);
            }
        }
        tx.commit().await?;
        Ok(requeued)
    }

    /// The lowest feed position of `org`'s requeued events, which go out before the feed.
    pub(crate) async fn next_requeued_webhook_event(
        &self,
        org: &OrgId,
    ) -> Result<Option<i64>, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT min(seq) FROM webhook_parked WHERE org_id = $1 AND requeued_at_ms IS NOT NULL",
        )
        .bind(org.as_str())
        .fetch_one(&self.pools.reader)
        .await?;
        Ok(seq)
    }
}

fn registration_from_row(row: &AnyRow) -> Result<WebhookRegistration, StoreError> {
    Ok(WebhookRegistration {
        org_id: org_id(&row.try_get::<String, _>("org_id")?, "webhooks.org_id")?,
        url: row.try_get("url")?,
        secret: WebhookSecret::new(row.try_get::<String, _>("secret")?),
        created_at: from_ms(row.try_get("created_at_ms")?, "webhooks.created_at_ms")?,
    })
}

fn parked_from_row(row: &AnyRow) -> Result<ParkedWebhookEvent, StoreError> {
    Ok(ParkedWebhookEvent {
        org_id: org_id(
            &row.try_get::<String, _>("org_id")?,
            "webhook_parked.org_id",
        )?,
        seq: row.try_get("seq")?,
        event_id: row.try_get("event_id")?,
        event_type: row.try_get("event_type")?,
        last_error: row.try_get("last_error")?,
        attempts: row.try_get("attempts")?,
        parked_at: from_ms(row.try_get("parked_at_ms")?, "webhook_parked.parked_at_ms")?,
    })
}
