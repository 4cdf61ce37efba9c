//! Each organisation's webhook delivery state, and the lease that lets one hub instance at a
//! time deliver it.
//!
//! The state row says how far the feed is delivered and how the event being tried now has
//! failed so far, so a restarted hub resumes where it stopped: an event counts delivered only
//! once its 2xx is recorded here, and one whose answer was lost in a crash is sent again
//! (at-least-once; receivers dedupe by `webhook-id`).
//!
//! Hub instances sharing PostgreSQL each run a dispatcher per organisation, and only one may
//! deliver an organisation's webhooks, or the receiver would get every event twice and out of
//! order. So a dispatcher first takes the row's lease ([`Store::lease_webhook`]): a fresh token
//! and `leased_until_ms` = now + lease, granted only when no other token holds an unexpired
//! lease — one conditional `UPDATE`, which PostgreSQL's row lock makes atomic between
//! instances (and SQLite's single writer within one host). The holder renews it while it
//! works, and every write it makes names its token, so an instance that stalled past its lease
//! finds its writes refused ([`Store::save_webhook_state`] returns `false`) and stops. Lease
//! times use the database's clock (as the relay's claims do); delivery times use the hub's.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::outbox::now_sql;
use super::rows::{from_ms, org_id, to_ms};
use super::{Store, StoreError};
use crate::settings::OrgId;

/// The columns of a [`WebhookState`].
const STATE_COLUMNS: &str = "org_id, url, validated_at_ms, delivered_seq, current_seq, \
     attempts, first_failure_ms, next_attempt_ms, last_error";

/// One organisation's webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookState {
    /// The organisation.
    pub org_id: OrgId,
    /// The URL the handshake state is about; a different URL needs a new handshake.
    pub url: String,
    /// When `url` passed the handshake; `None`: no events go to it yet.
    pub validated_at: Option<OffsetDateTime>,
    /// Feed position of the last event delivered (or parked) in order; 0 before the first.
    pub delivered_seq: i64,
    /// The feed position the failure fields below are about (0: the handshake).
    pub current_seq: i64,
    /// Failed attempts at `current_seq` (or at the handshake).
    pub attempts: i64,
    /// When the first of them failed.
    pub first_failure: Option<OffsetDateTime>,
    /// Not to be tried again before this.
    pub next_attempt: OffsetDateTime,
    /// The last failure: a status code or an error kind.
    pub last_error: Option<String>,
}

impl WebhookState {
    /// Forget the failures of the current event or handshake.
    pub(crate) fn clear_failures(&mut self) {
        self.attempts = 0;
        self.first_failure = None;
        self.next_attempt = OffsetDateTime::UNIX_EPOCH;
        self.last_error = None;
    }
}

/// A leased state row: the token every write must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookLease {
    /// The lease's token (fresh per lease).
    pub token: String,
    /// The state as the lease found it.
    pub state: WebhookState,
}

impl Store {
    /// Takes the lease on `org`'s delivery for `lease` (creating its state row, about `url`,
    /// if it has none); `None` while another holder's lease has not run out.
    pub async fn lease_webhook(
        &self,
        org: &OrgId,
        url: &str,
        lease: Duration,
    ) -> Result<Option<WebhookLease>, StoreError> {
        let now = now_sql(self.pools.backend);
        let token = uuid::Uuid::new_v4().to_string();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO webhook_state (org_id, url) VALUES ($1, $2) \
             ON CONFLICT (org_id) DO NOTHING",
        )
        .bind(org.as_str())
        .bind(url)
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "UPDATE webhook_state SET lease_token = $2, leased_until_ms = {now} + $3 \
             WHERE org_id = $1 AND (leased_until_ms IS NULL OR leased_until_ms <= {now}) \
             RETURNING {STATE_COLUMNS}"
        );
        // Only constants are spliced in; every value is bound.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(&token)
            .bind(millis(lease))
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(WebhookLease {
            token,
            state: state_from_row(&row)?,
        }))
    }

    /// Extends the lease `token` holds on `org`'s delivery; `false` when it holds none.
    pub async fn renew_webhook_lease(
        &self,
        org: &OrgId,
        token: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_sql(self.pools.backend);
        let sql = format!(
            "UPDATE webhook_state SET leased_until_ms = {now} + $3 \
             WHERE org_id = $1 AND lease_token = $2"
        );
        // Only constants are spliced in; every value is bound.
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .bind(token)
            .bind(millis(lease))
            .execute(&self.pools.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up the lease `token` holds (at shutdown, or when the webhook is removed), so
    /// another instance may take over at once.
    pub async fn release_webhook_lease(&self, org: &OrgId, token: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_state SET lease_token = NULL, leased_until_ms = NULL \
             WHERE org_id = $1 AND lease_token = $2",
        )
        .bind(org.as_str())
        .bind(token)
        .execute(&self.pools.writer)
        .await?;
        Ok(())
    }

    /// Writes `state` while `token` holds the lease; `false` (nothing written) when it does not.
    pub async fn save_webhook_state(
        &self,
        token: &str,
        state: &WebhookState,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let saved = update_state(&mut tx, token, state).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Parks the event at `seq` (ids, type, last error, attempts) and writes `state` in one
    /// transaction, while `token` holds the lease; `false` (nothing written) when it does not.
    pub async fn park_webhook_event(
        &self,
        token: &str,
        state: &WebhookState,
        event: &super::ParkedWebhookEvent,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        if !update_state(&mut tx, token, state).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO webhook_parked (org_id, seq, event_id, event_type, last_error, \
             attempts, parked_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (org_id, seq) DO UPDATE SET last_error = excluded.last_error, \
             attempts = excluded.attempts, parked_at_ms = excluded.parked_at_ms, \
             requeued_at_ms = NULL",
        )
        .bind(event.org_id.as_str())
        .bind(event.seq)
        .bind(event.event_id.as_str())
        .bind(event.event_type.as_str())
        .bind(event.last_error.as_str())
        .bind(event.attempts)
        .bind(to_ms(event.parked_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A requeued event at `seq` was delivered: drop its parked row and write `state`, in one
    /// transaction, while `token` holds the lease.
    pub async fn unpark_webhook_event(
        &self,
        token: &str,
        state: &WebhookState,
        seq: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        if !update_state(&mut tx, token, state).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM webhook_parked WHERE org_id = $1 AND seq = $2")
            .bind(state.org_id.as_str())
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// `org`'s delivery state, if its webhook ever ran.
    pub async fn webhook_state(&self, org: &OrgId) -> Result<Option<WebhookState>, StoreError> {
        let sql = format!("SELECT {STATE_COLUMNS} FROM webhook_state WHERE org_id = $1");
        // Only constants are spliced in.
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.as_str())
            .fetch_optional(&self.pools.reader)
            .await?;
        row.as_ref().map(state_from_row).transpose()
    }

    /// Every organisation's delivery state, by organisation (`samverkan webhooks list`).
    pub async fn webhook_states(&self) -> Result<Vec<WebhookState>, StoreError> {
        let sql = format!("SELECT {STATE_COLUMNS} FROM webhook_state ORDER BY org_id");
        // Only constants are spliced in.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pools.reader)
            .await?;
        rows.iter().map(state_from_row).collect()
    }
}

async fn update_state(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    token: &str,
    state: &WebhookState,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE webhook_state SET url = $3, validated_at_ms = $4, delivered_seq = $5, \
         current_seq = $6, attempts = $7, first_failure_ms = $8, next_attempt_ms = $9, \
         last_error = $10 WHERE org_id = $1 AND lease_token = $2",
    )
    .bind(state.org_id.as_str())
    .bind(token)
    .bind(state.url.as_str())
    .bind(state.validated_at.map(to_ms))
    .bind(state.delivered_seq)
    .bind(state.current_seq)
    .bind(state.attempts)
    .bind(state.first_failure.map(to_ms))
    .bind(to_ms(state.next_attempt))
    .bind(state.last_error.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn state_from_row(row: &AnyRow) -> Result<WebhookState, StoreError> {
    let optional_time = |column: &'static str| -> Result<Option<OffsetDateTime>, StoreError> {
        row.try_get::<Option<i64>, _>(column)?
            .map(|ms| from_ms(ms, column))
            .transpose()
    };
    Ok(WebhookState {
        org_id: org_id(&row.try_get::<String, _>("org_id")?, "webhook_state.org_id")?,
        url: row.try_get("url")?,
        validated_at: optional_time("validated_at_ms")?,
        delivered_seq: row.try_get("delivered_seq")?,
        current_seq: row.try_get("current_seq")?,
        attempts: row.try_get("attempts")?,
        first_failure: optional_time("first_failure_ms")?,
        next_attempt: from_ms(
            row.try_get("next_attempt_ms")?,
            "webhook_state.next_attempt_ms",
        )?,
        last_error: row.try_get("last_error")?,
    })
}

/// Milliseconds of `d`, capped far below overflow.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis())
        .unwrap_or(i64::MAX)
        .min(i64::MAX / 4)
}
