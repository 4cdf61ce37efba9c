//! `samverkan tokens issue|list|revoke`: bearer tokens for organisations that take part over
//! HTTP (`POST /v1/events`, `GET /v1/needs`) instead of AMQP.
//!
//! Tokens are kept in the store the hub uses, so a token issued or revoked here counts at once,
//! also while `samverkan run` is running. `issue` prints the token once, on stdout and nowhere
//! else; the store keeps only its hash, and `list` shows ids, organisations and times only.

use std::io::Write;

use anyhow::anyhow;
use serde_json::json;
use time::OffsetDateTime;

use super::{OutputFormat, Status, with_store};
use crate::settings::Settings;
use crate::store::TokenRecord;
use crate::token::NewToken;

/// `tokens issue ORG`: a new token for configured organisation `org`.
pub(super) fn issue(
    settings: &Settings,
    org: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let org = settings.organisation(org).ok_or_else(|| {
        anyhow!(
            "unknown organisation `{org}`: tokens are issued only to organisations configured \
             in [[organisations]]"
        )
    })?;
    let token = NewToken::generate()?;
    let (id, sha256, org_id) = (token.id.clone(), token.sha256.clone(), org.id.clone());
    with_store(settings, |store| async move {
        let now = OffsetDateTime::now_utc();
        store.insert_token(&id, &org_id, &sha256, now).await
    })?;
    match format {
        OutputFormat::Text => writeln!(out, "{}", token.secret)?,
        OutputFormat::Json => writeln!(
            out,
            "{}",
            json!({"token": token.secret, "id": token.id, "org": org.id.as_str()})
        )?,
    }
    Ok(Status::Ok)
}

/// `tokens list`: every token's id, organisation, creation and revocation time.
pub(super) fn list(
    settings: &Settings,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let tokens = with_store(settings, |store| async move { store.tokens().await })?;
    match format {
        OutputFormat::Json => {
            let rows: Vec<_> = tokens.iter().map(as_json).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
        OutputFormat::Text => {
            for t in &tokens {
                let revoked = t
                    .revoked_at
                    .map_or(String::new(), |r| format!("  revoked {}", format_time(r)));
                let created = format_time(t.created_at);
                writeln!(
                    out,
                    "{}  {:<12} created {created}{revoked}",
                    t.id,
                    t.org_id.as_str()
                )?;
            }
        }
    }
    Ok(Status::Ok)
}

/// `tokens revoke ID`: the token stops working at once; exit 1 when there is no such
/// (unrevoked) token.
pub(super) fn revoke(
    settings: &Settings,
    id: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let id_owned = id.to_owned();
    let revoked = with_store(settings, |store| async move {
        store
            .revoke_token(&id_owned, OffsetDateTime::now_utc())
            .await
    })?;
    if revoked {
        writeln!(out, "revoked {id}")?;
        Ok(Status::Ok)
    } else {
        writeln!(err, "{id}: no such token, or revoked already")?;
        Ok(Status::Found)
    }
}

fn as_json(t: &TokenRecord) -> serde_json::Value {
    json!({
        "id": t.id,
        "org": t.org_id.as_str(),
        "created": format_time(t.created_at),
        "revoked": t.revoked_at.map(format_time),
    })
}

fn format_time(t: OffsetDateTime) -> String {
    crate::event::format_time(t)
}
