//! `samverkan audit NEED-ID [--region R]`: a need's history, from the append-only audit trail
//! and the need record.
//!
//! An innovation coach asks "what happened to this need?": when it arrived, whether it was
//! refused and why, whom it was published to, who answered what and when, how its state moved,
//! and whether an operator replayed something for it. Every line is ids, codes and times:
//! the audit trail holds nothing else by construction (its columns are checked to be codes),
//! and from the need record only its state and organisation ids, kinds, scores, decisions and
//! times are taken, never a need's or an answer's free text (nor the state's reason, which for
//! a withdrawal is the region's own words).
//!
//! Need ids are unique within a region; as with `needs show`, `--region` is needed only when
//! several regions use the id. Audit rows written before a need's region was known (a refusal
//! of an event that named the need) are shown for every region.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;

use super::needs::find;
use super::{OutputFormat, Status};
use crate::event::format_time;
use crate::need::NeedId;
use crate::settings::{OrgId, Settings};
use crate::store::{AuditRecord, Store, StoredNeed};
use crate::text::shown;

/// The history as printed with `--format json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct History {
    need_id: String,
    region: Option<String>,
    state: Option<String>,
    recipients: Vec<RecipientLine>,
    trail: Vec<TrailLine>,
}

/// Whom the need was published to, and its latest answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RecipientLine {
    org: String,
    kind: String,
    score: f64,
    answer: Option<String>,
    answered_at: Option<String>,
    answer_event_id: Option<String>,
}

/// One audit row.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TrailLine {
    at: String,
    action: String,
    event_id: Option<String>,
    org: Option<String>,
    reason: Option<String>,
}

/// Print the history of need `id` (of `region`, when given); exit 1 when the store knows
/// nothing of it or, without `region`, several regions have a need with this id.
pub(super) fn show(
    settings: &Settings,
    id: &str,
    region: Option<&str>,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let (need_id, region) = super::needs::need_key(id, region)?;
    let read = super::runtime()?.block_on(async {
        let store = Store::from_settings(&settings.store).await?;
        let read = async {
            let found = find(&store, &need_id, region.clone()).await?;
            let trail = store.audit_trail(&need_id).await?;
            Ok::<_, crate::store::StoreError>((found, trail))
        }
        .await;
        store.close().await;
        read
    });
    let (found, trail) =
        read.with_context(|| format!("cannot read {}", settings.store.redacted_url()))?;
    let Some(need) = found.one(id, err)? else {
        return Ok(Status::Found);
    };
    let region = need.as_ref().map(|n| n.need.region.clone()).or(region);
    let trail: Vec<AuditRecord> = trail
        .into_iter()
        .filter(|r| match (&r.region, &region) {
            (Some(row), Some(wanted)) => row == wanted.as_str(),
            _ => true,
        })
        .collect();
    if need.is_none() && trail.is_empty() {
        writeln!(
            err,
            "{id}: neither a need nor any audit entry in the store ({})",
            settings.store.redacted_url()
        )?;
        return Ok(Status::Found);
    }
    let history = history(&need_id, region.as_ref(), need.as_ref(), &trail);
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&history)?)?,
        OutputFormat::Text => write_text(&history, out)?,
    }
    Ok(Status::Ok)
}

fn history(
    need_id: &NeedId,
    region: Option<&OrgId>,
    need: Option<&StoredNeed>,
    trail: &[AuditRecord],
) -> History {
    let recipients = need
        .map(|n| {
            n.need
                .recipients
                .iter()
                .map(|r| RecipientLine {
                    org: r.org_id.as_str().to_owned(),
                    kind: r.kind.as_str().to_owned(),
                    score: r.score,
                    answer: r.latest.as_ref().map(|a| a.decision.as_str().to_owned()),
                    answered_at: r.latest.as_ref().map(|a| format_time(a.time)),
                    answer_event_id: r.latest.as_ref().map(|a| a.event_id.as_ref().to_owned()),
                })
                .collect()
        })
        .unwrap_or_default();
    let trail = trail
        .iter()
        .map(|r| TrailLine {
            at: format_time(r.at),
            action: r.action.as_str().to_owned(),
            event_id: r.event_id.clone(),
            org: r.org_id.clone(),
            reason: r.reason_code.clone(),
        })
        .collect();
    History {
        need_id: need_id.as_str().to_owned(),
        region: region.map(|r| r.as_str().to_owned()),
        state: need.map(|n| n.need.state.as_str().to_owned()),
        recipients,
        trail,
    }
}

fn write_text(h: &History, out: &mut dyn Write) -> std::io::Result<()> {
    let region = h.region.as_deref().unwrap_or("region unknown");
    writeln!(out, "{}  ({region})", h.need_id)?;
    // Not the state's reason: a withdrawal's reason is the region's own words.
    match &h.state {
        Some(state) => writeln!(out, "  state: {state}")?,
        None => writeln!(
            out,
            "  not in the store as a need (refused, or not yet arrived)"
        )?,
    }
    if !h.recipients.is_empty() {
        writeln!(out, "published to:")?;
    }
    for r in &h.recipients {
        let answer = match (&r.answer, &r.answered_at) {
            (Some(kind), Some(at)) => format!("{kind} at {at}"),
            _ => "no answer yet".to_owned(),
        };
        writeln!(
            out,
            "  {:<14} {:<10} score {:.2}  {answer}",
            r.org, r.kind, r.score
        )?;
    }
    writeln!(out, "trail:")?;
    for t in &h.trail {
        let dash = |v: &Option<String>| shown(v.as_deref().unwrap_or("-"), 255);
        writeln!(
            out,
            "  {}  {:<14} {:<38} {:<14} {}",
            t.at,
            t.action,
            dash(&t.event_id),
            dash(&t.org),
            dash(&t.reason)
        )?;
    }
    Ok(())
}
