//! `samverkan needs list [--region R] [--state S] [--topic T] [--age-days N] [--limit N]`:
//! the newest needs in the store, with how many are in each state.
//!
//! `needs show` answers "where is this need?" for a known id; coaches and operators first need
//! to find it. One store query ([`Store::list_needs`]) serves this command and the console's
//! needs page, so both list the same needs in the same order. The output is ids, codes, counts
//! and times: a need's free text is never printed.

use std::io::Write;

use anyhow::anyhow;
use clap::Args;
use serde_json::json;

use super::{OutputFormat, Status, with_store};
use crate::event::format_time;
use crate::need::NeedState;
use crate::settings::{OrgId, Settings};
use crate::store::{NeedFilter, NeedPage, PageRequest};

/// `needs list` options.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Only needs of this region (organisation id).
    #[arg(long)]
    pub region: Option<String>,
    /// Only needs in this state (received, published, unmatched, rejected, answered, closed,
    /// withdrawn).
    #[arg(long)]
    pub state: Option<String>,
    /// Only needs with this topic as category or tag (e.g. emergency-care).
    #[arg(long)]
    pub topic: Option<String>,
    /// Only needs first stored in the last N days.
    #[arg(long, value_name = "N")]
    pub age_days: Option<u32>,
    /// At most this many needs, newest first.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Parse the options into a filter; `now` anchors `--age-days`.
pub(crate) fn filter(args: &ListArgs, now: time::OffsetDateTime) -> anyhow::Result<NeedFilter> {
    let region = args
        .region
        .as_deref()
        .map(OrgId::parse)
        .transpose()
        .map_err(|e| anyhow!("--region: {e}"))?;
    let state = args
        .state
        .as_deref()
        .map(|s| {
            NeedState::parse(s).ok_or_else(|| {
                anyhow!(
                    "--state: {s:?} is none of {}",
                    NeedState::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        })
        .transpose()?;
    let topic = args.topic.as_deref().map(parse_topic).transpose()?;
    let created_since = args
        .age_days
        .map(|days| now - time::Duration::days(i64::from(days)));
    Ok(NeedFilter {
        region,
        state,
        topic,
        created_since,
    })
}

/// A topic of the shared vocabulary is lowercase ASCII letters, digits and `-`.
pub(crate) fn parse_topic(topic: &str) -> anyhow::Result<String> {
    let ok = !topic.is_empty()
        && topic.len() <= 64
        && topic
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(topic.to_owned())
    } else {
        Err(anyhow!(
            "--topic: a topic is 1 to 64 lowercase letters, digits and '-'"
        ))
    }
}

/// Print the newest needs the options select, and the counts per state.
pub(super) fn list(
    settings: &Settings,
    args: &ListArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let filter = filter(args, time::OffsetDateTime::now_utc())?;
    let page = PageRequest {
        index: 0,
        size: args.limit,
    };
    let listed = with_store(settings, |store| async move {
        store.list_needs(&filter, page).await
    })?;
    match args.format {
        OutputFormat::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(&to_json(&listed))?)?
        }
        OutputFormat::Text => write_text(&listed, out)?,
    }
    Ok(Status::Ok)
}

fn to_json(page: &NeedPage) -> serde_json::Value {
    let needs: Vec<_> = page
        .needs
        .iter()
        .map(|n| {
            json!({
                "needId": n.need_id.as_str(),
                "region": n.region.as_str(),
                "state": n.state.as_str(),
                "category": n.category,
                "tags": n.tags,
                "urgency": n.urgency,
                "recipients": n.recipients,
                "createdAt": format_time(n.created_at),
                "updatedAt": format_time(n.updated_at),
            })
        })
        .collect();
    json!({"total": page.total, "counts": page.counts, "needs": needs})
}

fn write_text(page: &NeedPage, out: &mut dyn Write) -> std::io::Result<()> {
    let counts: Vec<String> = page
        .counts
        .iter()
        .map(|(state, n)| format!("{state} {n}"))
        .collect();
    writeln!(
        out,
        "{} needs ({})",
        page.total,
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        }
    )?;
    for n in &page.needs {
        writeln!(
            out,
            "{:<20} {:<10} {:<10} {:<24} {:>3} recipients  {}",
            n.need_id.as_str(),
            n.region.as_str(),
            n.state.as_str(),
            n.category.as_deref().unwrap_or("-"),
            n.recipients,
            format_time(n.created_at),
        )?;
    }
    Ok(())
}
