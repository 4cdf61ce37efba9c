//! `samverkan listen --as ORG`: show what the hub sends an organisation — its challenges,
//! calls, statuses and, above all, its `message.rejected` verdicts — as it happens.
//!
//! Regional IT wants to watch its verdicts while its real consumer keeps running, so by default
//! `listen` never touches the organisation's queue: it declares its own tap, a server-named,
//! exclusive, auto-delete queue bound to the egress exchange with the queue's own binding
//! (`<org>.#`), and reads copies from there. The tap lives only as long as the command, sees
//! only what is published while it runs, and takes nothing from anyone. Declaring and binding
//! a queue needs `configure` and `write` rights that onboarded organisations do not have
//! (`configure = ^$`), so the tap connects with `amqp.url`, the hub's or an operator's user.
//!
//! `--consume` reads the organisation's own queue instead, as the organisation (its password
//! from `--password-env`, like `publish`), acking each message once printed: that takes the
//! messages away from the organisation's real consumer, so it is for an organisation whose
//! system is not yet consuming, and never the default.
//!
//! Output: one line per event; with `--format json` the event itself as compact JSON (hub
//! output, whose sender text is already escaped), else its type, id, subject and, for a
//! rejection, the reason and the refused event's id. Ends after `--count N` events or Ctrl-C.

use std::io::Write;

use anyhow::{Context, anyhow};
use futures_lite::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Channel, Consumer};
use serde_json::Value;

use super::credentials::org_url;
use super::{OutputFormat, Status};
use crate::settings::{Organisation, Settings};
use crate::transport::amqp::{close_settled, connect};
use crate::transport::{EGRESS_EXCHANGE, Topology};

/// Options of `samverkan listen`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// The organisation whose events to show.
    #[arg(long = "as", value_name = "ORG")]
    pub org: String,
    /// Output format: one line per event.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Stop after this many events (default: until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Consume the organisation's own queue as the organisation, taking the messages from
    /// its real consumer (default: a tap that takes nothing, with the `amqp.url` user).
    #[arg(long)]
    pub consume: bool,
    /// With `--consume`: environment variable holding the organisation's broker password.
    #[arg(long, value_name = "VAR", default_value = "SAMVERKAN_PUBLISH_PASSWORD")]
    pub password_env: String,
}

/// Show `args.org`'s events on `out` until the count is reached or Ctrl-C; `err` says where
/// it listens once it does.
pub(super) fn run(
    settings: &Settings,
    args: &ListenArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let org = settings.organisation(&args.org).ok_or_else(|| {
        anyhow!(
            "organisation `{}` is not configured (see [[organisations]])",
            args.org
        )
    })?;
    let url = if args.consume {
        org_url(&settings.amqp.url, org, &args.password_env)?
    } else {
        settings.amqp.url.clone()
    };
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let connection = connect(&url, &format!("samverkan-listen-{}", org.id)).await?;
        let channel = connection.create_channel().await?;
        let (consumer, what) = open(&channel, org, args.consume).await?;
        writeln!(err, "listening to {what}; Ctrl-C ends")?;
        let printed = tokio::select! {
            printed = print(consumer, args, out) => printed?,
            signal = tokio::signal::ctrl_c() => signal.map(|()| 0)?,
        };
        close_settled(&connection, &channel, "done").await;
        writeln!(err, "{printed} events")?;
        anyhow::Ok(())
    })?;
    Ok(Status::Ok)
}

/// Start consuming: from a new tap, or from the organisation's queue with `consume`. Returns
/// the consumer and a description of what it reads.
async fn open(
    channel: &Channel,
    org: &Organisation,
    consume: bool,
) -> anyhow::Result<(Consumer, String)> {
    let org_queue = Topology::org_queue_name(org.id.as_str());
    let queue = if consume {
        org_queue.clone()
    } else {
        let options = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let tap = channel
            .queue_declare("".into(), options, FieldTable::default())
            .await
            .context("cannot declare the tap queue (it needs the hub's or an operator's user in amqp.url)")?;
        let key = format!("{}.#", org.id);
        channel
            .queue_bind(
                tap.name().clone(),
                EGRESS_EXCHANGE.into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .context("cannot bind the tap queue to the egress exchange")?;
        tap.name().as_str().to_owned()
    };
    channel.basic_qos(32, BasicQosOptions::default()).await?;
    let consumer = channel
        .basic_consume(
            queue.as_str().into(),
            "samverkan-listen".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .with_context(|| format!("cannot consume {queue}"))?;
    let what = if consume {
        format!("{org_queue} (consuming: its messages are taken)")
    } else {
        format!("a tap of {org_queue} (its messages stay)")
    };
    Ok((consumer, what))
}

/// Print deliveries, acking each once printed, until `args.count`; returns how many.
async fn print(
    mut consumer: Consumer,
    args: &ListenArgs,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut printed = 0;
    while args.count.is_none_or(|n| printed < n) {
        let Some(delivery) = consumer.next().await else {
            break;
        };
        let delivery = delivery?;
        writeln!(out, "{}", line(&delivery.data, args.format))?;
        out.flush()?;
        delivery.acker.ack(BasicAckOptions::default()).await?;
        printed += 1;
    }
    Ok(printed)
}

/// One output line for a message body.
fn line(body: &[u8], format: OutputFormat) -> String {
    let Ok(event) = serde_json::from_slice::<Value>(body) else {
        return match format {
            OutputFormat::Json => serde_json::json!({"unreadable": body.len()}).to_string(),
            OutputFormat::Text => format!("(not JSON, {} bytes)", body.len()),
        };
    };
    if format == OutputFormat::Json {
        return event.to_string();
    }
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut line = format!(
        "{} {} id={} subject={}",
        text(&event["time"]),
        text(&event["type"]),
        text(&event["id"]),
        text(&event["subject"])
    );
    if let Some(reason) = event["data"]["reason"].as_str() {
        line.push_str(&format!(" reason={reason}"));
    }
    if let Some(id) = event["data"]["rejectedEventId"].as_str() {
        line.push_str(&format!(" rejectedEventId={id}"));
    }
    line.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_shows_its_reason_and_the_refused_id() {
        let body = br#"{"type": "se.samverkan.message.rejected.v1", "id": "r-1",
            "time": "2026-11-22T12:00:00Z", "subject": "NEED-1",
            "data": {"reason": "personal_data", "rejectedEventId": "e-1"}}"#;
        assert_eq!(
            line(body, OutputFormat::Text),
            "2026-11-22T12:00:00Z se.samverkan.message.rejected.v1 id=r-1 subject=NEED-1 \
             reason=personal_data rejectedEventId=e-1"
        );
        let json: Value = serde_json::from_str(&line(body, OutputFormat::Json)).unwrap();
        assert_eq!(json["data"]["reason"], "personal_data");
        assert_eq!(line(b"\x1b[2J", OutputFormat::Text), "(not JSON, 4 bytes)");
    }
}
