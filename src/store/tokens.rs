//! API tokens: the HTTP counterpart of a broker user (`samverkan tokens`, `crate::http::auth`).
//!
//! Tokens live in the store, not in the configuration, so `samverkan tokens issue` works while
//! the hub runs and a token is usable (or, revoked, refused) at once, on every hub instance
//! sharing the store. The store holds only each token's SHA-256 ([`crate::token`]); it can
//! answer "whose token is this?" but never give a token back.

use time::OffsetDateTime;

use super::rows::{from_ms, org_id, to_ms};
use super::{Store, StoreError};
use crate::settings::OrgId;

/// One issued token as `tokens list` shows it: ids and times, never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token's id (what `tokens revoke` takes).
    pub id: String,
    /// The organisation it identifies.
    pub org_id: OrgId,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
}

impl Store {
    /// Record a new token for `org` under `id`, by its hash.
    pub async fn insert_token(
        &self,
        id: &str,
        org: &OrgId,
        sha256: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, token_sha256, created_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(org.as_str())
        .bind(sha256)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The organisation whose unrevoked token has this hash.
    pub async fn token_org(&self, sha256: &str) -> Result<Option<OrgId>, StoreError> {
        let org: Option<String> = sqlx::query_scalar(
            "SELECT org_id FROM api_tokens WHERE token_sha256 = $1 AND revoked_at_ms IS NULL",
        )
        .bind(sha256)
        .fetch_optional(&self.pools.reader)
        .await?;
        org.map(|o| org_id(&o, "api_tokens.org_id")).transpose()
    }

    /// Every token ever issued, oldest first.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, org_id, created_at_ms, revoked_at_ms FROM api_tokens \
             ORDER BY created_at_ms, id",
        )
        .fetch_all(&self.pools.reader)
        .await?;
        rows.into_iter()
            .map(|(id, org, created, revoked)| {
                Ok(TokenRecord {
                    id,
                    org_id: org_id(&org, "api_tokens.org_id")?,
                    created_at: from_ms(created, "api_tokens.created_at_ms")?,
                    revoked_at: revoked
                        .map(|r| from_ms(r, "api_tokens.revoked_at_ms"))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// Revoke token `id`; `false` when there is no such token or it was revoked already.
    pub async fn revoke_token(&self, id: &str, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
