//! `samverkan needs show NEED-ID [--region ORG]`: a need's reconciled state, read from the
//! store. Need ids are unique within a region, so `--region` is needed only when several
//! regions use the id; the command then lists them instead of picking one.
//!
//! Innovation coaches and regional IT ask "where is this need?"; the answer is in the store,
//! not in anyone's inbox. The output names recipients, scores and latest answers, and the
//! state's reason; it carries no free text beyond what already passed the PII guard.

use std::io::Write;

use anyhow::{Context, anyhow};

use super::{OutputFormat, Status};
use crate::need::{NeedId, NeedKey};
use crate::reconcile::{Counts, need_report};
use crate::settings::{OrgId, Settings};
use crate::store::{Store, StoreError, StoredNeed};

/// Print need `id` (of `region`, when given); exit 1 when it is not in the store or, without
/// `region`, several regions have a need with this id.
pub(super) fn show(
    settings: &Settings,
    id: &str,
    region: Option<&str>,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let (need_id, region) = need_key(id, region)?;
    let runtime = super::runtime()?;
    let found = runtime.block_on(async {
        let store = Store::from_settings(&settings.store).await?;
        let found = find(&store, &need_id, region).await;
        store.close().await;
        found
    });
    let found = found.with_context(|| format!("cannot read {}", settings.store.redacted_url()))?;
    let Some(record) = found.one(id, err)? else {
        return Ok(Status::Found);
    };
    let Some(need) = record else {
        writeln!(
            err,
            "{id}: not in the store ({})",
            settings.store.redacted_url()
        )?;
        return Ok(Status::Found);
    };
    match format {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&need_report(&need))?
        )?,
        OutputFormat::Text => write_text(&need, out)?,
    }
    Ok(Status::Ok)
}

/// The need id and optional region given on the command line, parsed.
pub(super) fn need_key(id: &str, region: Option<&str>) -> anyhow::Result<(NeedId, Option<OrgId>)> {
    let need_id = NeedId::parse(id).map_err(|e| anyhow!("{e}"))?;
    let region = region
        .map(OrgId::parse)
        .transpose()
        .map_err(|e| anyhow!("--region: {e}"))?;
    Ok((need_id, region))
}

/// What the store holds under a need id.
pub(super) enum Found {
    /// The need of the given (or the only) region, if any.
    One(Option<StoredNeed>),
    /// No region given, and these regions each have a need with the id.
    Several(Vec<OrgId>),
}

impl Found {
    /// The one need (or none); `None` after telling `err` that several regions have the id.
    pub(super) fn one(
        self,
        id: &str,
        err: &mut dyn Write,
    ) -> std::io::Result<Option<Option<StoredNeed>>> {
        match self {
            Self::One(record) => Ok(Some(record)),
            Self::Several(regions) => {
                let regions: Vec<&str> = regions.iter().map(OrgId::as_str).collect();
                writeln!(
                    err,
                    "{id}: regions {} each have a need with this id; choose one with --region",
                    regions.join(", ")
                )?;
                Ok(None)
            }
        }
    }
}

pub(super) async fn find(
    store: &Store,
    need_id: &NeedId,
    region: Option<OrgId>,
) -> Result<Found, StoreError> {
    let region = match region {
        Some(region) => region,
        None => {
            let mut regions = store.regions_with_need(need_id).await?;
            match regions.len() {
                0 => return Ok(Found::One(None)),
                1 => regions.remove(0),
                _ => return Ok(Found::Several(regions)),
            }
        }
    };
    let key = NeedKey::new(region, need_id.clone());
    Ok(Found::One(store.need(&key).await?))
}

fn write_text(need: &StoredNeed, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}  ({})", need.need_id.as_str(), need.region)?;
    writeln!(out, "  state:      {}", need.state.as_str())?;
    if let Some(reason) = &need.state_reason {
        writeln!(out, "  reason:     {reason}")?;
    }
    if let Some(at) = need.respond_by {
        writeln!(out, "  respond by: {}", crate::event::format_time(at))?;
    }
    let c = Counts::of(need);
    writeln!(
        out,
        "  answers:    {} offers, {} proposals, {} interests, {} declines, {} unanswered",
        c.offers, c.proposals, c.interests, c.declines, c.unanswered
    )?;
    for r in &need.recipients {
        let latest = r
            .latest
            .as_ref()
            .map_or("no answer yet", |a| a.decision.as_str());
        writeln!(
            out,
            "  {:<12} {:<10} score {:.2}  {latest}",
            r.org_id.as_str(),
            r.kind.as_str(),
            r.score
        )?;
    }
    Ok(())
}
