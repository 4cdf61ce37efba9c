//! `samverkan topology [--declare]`: the broker topology for the configured organisations.
//!
//! Regional IT reviews what the hub will create before pointing it at a shared broker, and can
//! create it ahead of the first start (e.g. to set permissions per organisation queue). The
//! hub declares the same topology itself at every start and reconnect, so `--declare` is
//! idempotent.

use std::io::Write;

use super::Status;
use crate::onboard::policy::{DEAD_LETTER_POLICY, ORG_QUEUE_POLICY, apply_configured};
use crate::settings::Settings;
use crate::transport::amqp::{close, connect, declare};

/// Print the topology; with `declare`, also create it on the configured broker.
pub(super) fn run(
    settings: &Settings,
    declare_it: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let topology = crate::hub::topology(settings)?;
    write!(out, "{topology}")?;
    if !declare_it {
        return Ok(Status::Ok);
    }
    let runtime = super::runtime()?;
    let policies = runtime.block_on(async {
        let connection = connect(&settings.amqp.url, &settings.amqp.connection_name).await?;
        let channel = connection.create_channel().await?;
        declare(&channel, &topology).await?;
        close(&connection, "topology declared").await;
        let policies = apply_configured(settings).await?;
        anyhow::Ok(policies)
    })?;
    writeln!(out, "declared on {}", settings.amqp.redacted_url())?;
    let limit = |n: u64, unit: &str| match n {
        0 => "no limit".to_owned(),
        n => format!("{n} {unit}"),
    };
    let (dead, orgs) = (policies.dead_letters, policies.org_queues);
    writeln!(
        out,
        "dead-letter retention (policy {DEAD_LETTER_POLICY}): {}, {}",
        limit(dead.max_messages, "messages"),
        limit(dead.max_age_hours, "hours"),
    )?;
    writeln!(
        out,
        "organisation queue bounds (policy {ORG_QUEUE_POLICY}, reject-publish): {}, {}",
        limit(orgs.max_messages, "messages"),
        limit(orgs.max_bytes, "bytes"),
    )?;
    Ok(Status::Ok)
}
