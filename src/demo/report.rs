//! The demo's last word: every need's reconciled status, read back from the store.

use std::io::Write;

use super::Stage;
use super::story::needs;
use crate::need::{NeedId, NeedKey};
use crate::reconcile::Counts;
use crate::settings::OrgId;
use crate::store::AuditAction;

/// One row per sample need: state, recipients, answer counts, and why.
pub(crate) async fn final_table(
    stage: &Stage,
    text: &str,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writeln!(out, "\n== 5. Every need's reconciled status")?;
    writeln!(
        out,
        "  {:<15} {:<6} {:<10} {:>10}  {:>6} {:>9} {:>8}  why",
        "need", "region", "state", "recipients", "offers", "proposals", "declines"
    )?;
    for need in needs(text)? {
        let id = NeedId::parse(need["id"].as_str().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let region = need["region"].as_str().unwrap_or_default();
        let key = NeedKey::new(
            OrgId::parse(region).map_err(|e| anyhow::anyhow!("{e}"))?,
            id.clone(),
        );
        let Some(record) = stage.pipeline.store().need(&key).await? else {
            let reason = stage
                .pipeline
                .store()
                .audit_trail(&id)
                .await?
                .into_iter()
                .rev()
                .find(|a| a.action == AuditAction::Rejected)
                .and_then(|a| a.reason_code)
                .unwrap_or_else(|| "not stored".to_owned());
            writeln!(
                out,
                "  {:<15} {region:<6} {:<10} {:>10}  {:>6} {:>9} {:>8}  {reason}",
                id.as_str(),
                "refused",
                "-",
                "-",
                "-",
                "-"
            )?;
            continue;
        };
        let counts = Counts::of(&record);
        let why = record
            .state_reason
            .as_deref()
            .map(|r| r.split(": ").next().unwrap_or(r))
            .unwrap_or("");
        writeln!(
            out,
            "  {:<15} {region:<6} {:<10} {:>10}  {:>6} {:>9} {:>8}  {why}",
            id.as_str(),
            record.state.as_str(),
            record.recipients.len(),
            counts.offers,
            counts.proposals,
            counts.declines
        )?;
    }
    Ok(())
}
