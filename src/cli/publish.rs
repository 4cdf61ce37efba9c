//! `samverkan publish --as ORG FILE...`: a test client that sends events the way an
//! organisation's system does.
//!
//! It connects as the organisation's broker user (password from `--password-env`, default
//! `SAMVERKAN_PUBLISH_PASSWORD`, or `amqp.url` when that names the user; anything else is
//! refused before connecting, naming what to set — see `credentials`) and sets the AMQP `user_id` to that user, which RabbitMQ checks:
//! that is how the hub knows who sent what. Files are sent as they are — invalid ones too, so a
//! partner can watch the hub's rejections — with confirms and `mandatory`.

use std::io::Write;

use anyhow::{Context, anyhow};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Confirmation};
use serde_json::Value;

use super::Status;
use super::credentials::org_url;
use super::input::{Input, read_limited};
use crate::event::STRUCTURED_CONTENT_TYPE;
use crate::settings::Settings;
use crate::transport::INGRESS_EXCHANGE;
use crate::transport::amqp::{PERSISTENT, close, connect};

/// Publish `files` as organisation `org`.
pub(super) fn run(
    settings: &Settings,
    org: &str,
    password_env: &str,
    files: &[String],
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let org = settings
        .organisation(org)
        .ok_or_else(|| anyhow!("organisation `{org}` is not configured (see [[organisations]])"))?;
    let url = org_url(&settings.amqp.url, org, password_env)?;
    let limit = settings.limits.max_message_bytes;
    let mut bodies = Vec::new();
    for file in files {
        match read_limited(file, limit).with_context(|| format!("{file}: cannot read"))? {
            Input::Bytes(body) => bodies.push((file.clone(), body)),
            Input::TooLarge { size } => anyhow::bail!("{file}: {size} bytes is over the limit"),
        }
    }
    let runtime = super::runtime()?;
    runtime.block_on(async {
        let connection = connect(&url, &format!("samverkan-publish-{}", org.id)).await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        for (file, body) in &bodies {
            let routing_key = routing_key(body);
            let properties = BasicProperties::default()
                .with_content_type(STRUCTURED_CONTENT_TYPE.into())
                .with_delivery_mode(PERSISTENT)
                .with_user_id(org.broker_user.as_str().into());
            let options = BasicPublishOptions {
                mandatory: true,
                immediate: false,
            };
            let confirm = channel
                .basic_publish(
                    INGRESS_EXCHANGE.into(),
                    routing_key.as_str().into(),
                    options,
                    body,
                    properties,
                )
                .await?
                .await?;
            match confirm {
                Confirmation::Ack(None) => writeln!(out, "{file}: published as {}", org.id)?,
                other => anyhow::bail!("{file}: the broker did not take it ({other:?})"),
            }
        }
        close(&connection, "done").await;
        anyhow::Ok(())
    })?;
    Ok(Status::Ok)
}

/// The event's `type` as routing key, or `unknown` for a body that has none.
fn routing_key(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .filter(|t| t.len() < 200 && !t.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routing_key_is_the_events_type() {
        assert_eq!(routing_key(b"{\"type\": \"se.x\"}"), "se.x");
        assert_eq!(routing_key(b"garbage"), "unknown");
    }
}
