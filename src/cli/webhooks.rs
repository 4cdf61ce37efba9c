//! `samverkan webhooks list|parked|redeliver`: what the hub's webhook delivery is doing, the
//! events it parked, and putting them back.
//!
//! Like `tokens`, these talk to the store the hub uses, so they work while `samverkan run`
//! runs, on any host that reaches the database, and see every hub instance's work. URLs are
//! shown without credentials, query string or fragment; secrets never.

use std::io::Write;

use anyhow::anyhow;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{OutputFormat, Status, with_store};
use crate::event::format_time;
use crate::settings::{OrgId, Organisation, Settings};
use crate::store::{ParkedWebhookEvent, Store, StoreError};
use crate::webhook::target::{shown_url, target_of, with_webhooks};

/// `webhooks list`: each organisation with a webhook, where its delivery stands.
pub(super) fn list(
    settings: &Settings,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let orgs = &settings.organisations;
    let rows = with_store(settings, |store| async move { rows(&store, orgs).await })?;
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        OutputFormat::Text => {
            for r in &rows {
                writeln!(
                    out,
                    "{:<12} {:<6} validated={:<5} delivered={} backlog={} parked={}  {}",
                    text(&r["org"]),
                    text(&r["origin"]),
                    r["validated"],
                    r["delivered"],
                    r["backlog"],
                    r["parked"],
                    text(&r["url"]),
                )?;
            }
        }
    }
    Ok(Status::Ok)
}

/// One `webhooks list` row per organisation with a webhook.
async fn rows(store: &Store, organisations: &[Organisation]) -> Result<Vec<Value>, StoreError> {
    let mut rows = Vec::new();
    for org in with_webhooks(store, organisations).await? {
        let Some(target) = target_of(store, org).await? else {
            continue;
        };
        let state = store.webhook_state(&org.id).await?;
        let head = store.feed_head(&org.id).await?;
        let delivered = state.as_ref().map_or(0, |s| s.delivered_seq);
        let validated = state
            .as_ref()
            .is_some_and(|s| s.url == target.url && s.validated_at.is_some());
        rows.push(json!({
            "org": org.id.as_str(),
            "url": shown_url(&target.url),
            "origin": target.origin.as_str(),
            "validated": validated,
            "delivered": delivered,
            "backlog": (head - delivered).max(0),
            "parked": store.webhook_parked_count(Some(&org.id)).await?,
        }));
    }
    Ok(rows)
}

/// `webhooks parked [--org ORG]`: parked events, oldest parking first.
pub(super) fn parked(
    settings: &Settings,
    org: Option<&str>,
    limit: usize,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let org = org.map(|id| configured(settings, id)).transpose()?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let events = with_store(settings, |store| async move {
        store.webhook_parked(org.as_ref(), limit).await
    })?;
    match format {
        OutputFormat::Json => {
            let rows: Vec<Value> = events.iter().map(as_json).collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        }
        OutputFormat::Text => {
            for e in &events {
                writeln!(
                    out,
                    "{:<12} seq={:<6} {} {}  last={} attempts={} parked {}",
                    e.org_id.as_str(),
                    e.seq,
                    e.event_id,
                    e.event_type,
                    e.last_error,
                    e.attempts,
                    format_time(e.parked_at)
                )?;
            }
        }
    }
    Ok(Status::Ok)
}

/// `webhooks redeliver ORG SEQ…`: put parked events back; exit 1 when one of them was not
/// parked.
pub(super) fn redeliver(
    settings: &Settings,
    org: &str,
    seqs: &[i64],
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let org = configured(settings, org)?;
    let wanted = seqs.to_vec();
    let id = org.clone();
    let requeued = with_store(settings, |store| async move {
        store
            .requeue_webhook_events(&id, &wanted, OffsetDateTime::now_utc())
            .await
    })?;
    for seq in &requeued {
        writeln!(out, "{org} seq {seq}: put back for delivery")?;
    }
    let missing: Vec<String> = seqs
        .iter()
        .filter(|s| !requeued.contains(s))
        .map(i64::to_string)
        .collect();
    if missing.is_empty() {
        return Ok(Status::Ok);
    }
    writeln!(err, "{org}: not parked: {}", missing.join(", "))?;
    Ok(Status::Found)
}

fn configured(settings: &Settings, id: &str) -> anyhow::Result<OrgId> {
    settings
        .organisation(id)
        .map(|o| o.id.clone())
        .ok_or_else(|| anyhow!("unknown organisation `{id}`: not configured in [[organisations]]"))
}

fn as_json(e: &ParkedWebhookEvent) -> Value {
    json!({
        "org": e.org_id.as_str(),
        "seq": e.seq,
        "eventId": e.event_id,
        "type": e.event_type,
        "lastError": e.last_error,
        "attempts": e.attempts,
        "parkedAt": format_time(e.parked_at),
    })
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}
