//! The region's side: publish needs to the ingress exchange as the bench user, with confirms.
//!
//! Publishing is what a region's system does: persistent, `mandatory`, AMQP `user_id` = its
//! broker user (RabbitMQ checks it; the hub authenticates by it), `message_id` = the event id.
//! Confirms are pipelined in a window (awaiting each one costs 8–10× the rate on
//! one broker node), so the load generator is never what limits the run. The instant of each
//! `basic.publish` is kept: latency is measured from it.
//!
//! The connection is opened before either run starts and kept for both, so the bench user's
//! password (set once per bench) is used only right after it was set.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection, PublisherConfirm};

use super::LoadgenError;
use super::world::NeedMessage;
use crate::event::{EventType, STRUCTURED_CONTENT_TYPE};
use crate::transport::INGRESS_EXCHANGE;
use crate::transport::amqp::PERSISTENT;

/// Confirms in flight at most.
const CONFIRM_WINDOW: usize = 1000;

/// A publishing connection as the bench user.
pub(crate) struct Loader {
    connection: Connection,
    channel: Channel,
    user: String,
}

impl Loader {
    /// Connect to `url` (the bench user's credentials and a bench vhost) in confirm mode.
    pub(super) async fn connect(url: &str, user: &str, name: &str) -> Result<Self, LoadgenError> {
        let context = "connecting the load generator as the bench user";
        let (connection, channel) = super::open_channel(url, name, context).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| LoadgenError::amqp(context, "confirm.select", e))?;
        Ok(Self {
            connection,
            channel,
            user: user.to_owned(),
        })
    }

    /// Publish `messages` in the background, at most `rate` per second (flat out when `None`);
    /// the task yields each message's publish instant, in order.
    pub(super) fn spawn(
        &self,
        messages: Arc<[NeedMessage]>,
        rate: Option<u32>,
    ) -> tokio::task::JoinHandle<Result<Vec<Instant>, LoadgenError>> {
        let (channel, user) = (self.channel.clone(), self.user.clone());
        tokio::spawn(async move { publish_all(&channel, &user, &messages, rate).await })
    }

    /// Close the connection.
    pub(super) async fn close(self) {
        crate::transport::amqp::close(&self.connection, "bench done").await;
    }
}

async fn publish_all(
    channel: &Channel,
    user: &str,
    messages: &[NeedMessage],
    rate: Option<u32>,
) -> Result<Vec<Instant>, LoadgenError> {
    let mut sent = Vec::with_capacity(messages.len());
    let mut pending: VecDeque<PublisherConfirm> = VecDeque::with_capacity(CONFIRM_WINDOW);
    let start = tokio::time::Instant::now();
    for (i, message) in messages.iter().enumerate() {
        if let Some(rate) = rate.filter(|r| *r > 0) {
            let offset = Duration::from_secs_f64(i as f64 / f64::from(rate));
            tokio::time::sleep_until(start + offset).await;
        }
        if pending.len() >= CONFIRM_WINDOW
            && let Some(oldest) = pending.pop_front()
        {
            confirmed(oldest).await?;
        }
        sent.push(Instant::now());
        pending.push_back(publish(channel, user, message).await?);
    }
    for confirm in pending {
        confirmed(confirm).await?;
    }
    Ok(sent)
}

async fn publish(
    channel: &Channel,
    user: &str,
    message: &NeedMessage,
) -> Result<PublisherConfirm, LoadgenError> {
    let properties = BasicProperties::default()
        .with_content_type(STRUCTURED_CONTENT_TYPE.into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(message.event_id.as_str().into())
        .with_user_id(user.into());
    let options = BasicPublishOptions {
        mandatory: true,
        immediate: false,
    };
    channel
        .basic_publish(
            INGRESS_EXCHANGE.into(),
            EventType::NeedSubmitted.as_str().into(),
            options,
            &message.body,
            properties,
        )
        .await
        .map_err(|e| LoadgenError::amqp("publishing a need", "basic.publish", e))
}

async fn confirmed(confirm: PublisherConfirm) -> Result<(), LoadgenError> {
    match confirm.await {
        Ok(Confirmation::Ack(None)) => Ok(()),
        Ok(other) => Err(LoadgenError::NotTaken(format!("{other:?}"))),
        Err(e) => Err(LoadgenError::amqp(
            "publishing a need",
            "publisher confirm",
            e,
        )),
    }
}
