//! `samverkan.hub.dead` on RabbitMQ: looking without taking, and replaying
//! ([`AmqpDeadLetters`], the [`DeadLetterAdmin`] of a real broker).
//!
//! An operator asking "what was refused, and why?" must not lose the evidence by asking. So
//! [`peek`] takes up to `limit` messages with `basic.get` and manual acknowledgement and never
//! acknowledges them: when the caller closes the channel, the broker puts every one back, in
//! order. (On a quorum queue that counts as a delivery; the dead-letter queue's delivery limit
//! is practically unbounded, so nothing is ever dropped for being looked at.) `show` and
//! `replay` find a dead letter the same way, by going through the queue; a replay acks only
//! the dead letters whose replay the broker confirmed, and closing the connection gives back
//! everything else.
//!
//! What is shown is what the hub wrote on the dead letter (see
//! [`describe`](crate::transport::dead_letter_admin::describe)) or, for a message the broker
//! dead-lettered itself (delivery limit reached), RabbitMQ's `x-first-death-reason`. Bodies are
//! never shown: a refused need may be refused precisely because it carries personal data.

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions};
use lapin::{Acker, Channel, Connection};

use super::convert::inbound;
use super::publish::Publisher;
use super::{close, close_settled, connect};
use crate::transport::dead_letter_admin::{
    AdminFuture, DeadLetterAdmin, DeadLetterDetail, DeadLetters, ReplayOutcome, ReplayReport,
    Selector, decide, describe, detail, replay_message,
};
use crate::transport::{HUB_DEAD_QUEUE, Inbound, TransportError};

pub use crate::transport::dead_letter_admin::DeadLetter;

/// Look at up to `limit` messages of the hub's dead-letter queue, oldest first, leaving them
/// there once `channel` is closed (the caller closes it; nothing is acknowledged here).
pub async fn peek(channel: &Channel, limit: usize) -> Result<DeadLetters, TransportError> {
    let total = ready(channel).await?;
    let taken = take(channel, limit).await?;
    let messages = taken.iter().map(|(m, _)| describe(m)).collect();
    Ok(DeadLetters::of(total, messages))
}

/// Messages ready in the dead-letter queue (a passive declare).
async fn ready(channel: &Channel) -> Result<u32, TransportError> {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let queue = channel
        .queue_declare(HUB_DEAD_QUEUE.into(), passive, Default::default())
        .await
        .map_err(|source| TransportError::Channel {
            operation: "queue.declare (passive) samverkan.hub.dead; declare the topology \
                        with `samverkan topology --declare` or start the hub",
            source,
        })?;
    Ok(queue.message_count())
}

/// Take up to `limit` dead letters, unacknowledged, oldest first.
async fn take(channel: &Channel, limit: usize) -> Result<Vec<(Inbound, Acker)>, TransportError> {
    let mut taken = Vec::new();
    while taken.len() < limit {
        let got = channel
            .basic_get(HUB_DEAD_QUEUE.into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(|source| TransportError::Channel {
                operation: "basic.get samverkan.hub.dead",
                source,
            })?;
        let Some(message) = got else { break };
        taken.push(inbound(message.delivery));
    }
    Ok(taken)
}

/// The dead letters of the broker at `url`, for `dead-letters list|show|replay` and the
/// console. Each call opens its own connection and closes it, which gives back every dead
/// letter it looked at and did not replay.
#[derive(Debug, Clone)]
pub struct AmqpDeadLetters {
    url: String,
    connection_name: String,
}

impl AmqpDeadLetters {
    /// The dead letters on the broker at `url` (`amqp.url`); connections are named
    /// `connection_name` in the management UI.
    #[must_use]
    pub fn new(url: impl Into<String>, connection_name: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connection_name: connection_name.into(),
        }
    }

    async fn open(&self) -> Result<(Connection, Channel), TransportError> {
        let connection = connect(&self.url, &self.connection_name).await?;
        let channel =
            connection
                .create_channel()
                .await
                .map_err(|source| TransportError::Channel {
                    operation: "channel.open",
                    source,
                })?;
        Ok((connection, channel))
    }

    async fn list_now(&self, limit: usize) -> Result<DeadLetters, TransportError> {
        let (connection, channel) = self.open().await?;
        let seen = peek(&channel, limit).await;
        // Closing returns every message taken, unacknowledged, to the queue.
        close(&connection, "looked").await;
        seen
    }

    async fn show_now(&self, id: &str) -> Result<Option<DeadLetterDetail>, TransportError> {
        let (connection, channel) = self.open().await?;
        let found = async {
            let total = ready(&channel).await?;
            let taken = take(&channel, total as usize).await?;
            Ok(taken
                .iter()
                .find(|(m, _)| describe(m).id == id)
                .map(|(m, _)| detail(m)))
        }
        .await;
        close(&connection, "looked").await;
        found
    }

    async fn replay_now(
        &self,
        selector: &Selector,
        dry_run: bool,
    ) -> Result<ReplayReport, TransportError> {
        let (connection, channel) = self.open().await?;
        let report = async {
            let publisher = Publisher::open(&connection).await?;
            let total = ready(&channel).await?;
            let taken = take(&channel, total as usize).await?;
            let mut items = Vec::new();
            for (message, acker) in &taken {
                let Some((mut item, go)) = decide(message, selector, dry_run) else {
                    continue;
                };
                if go {
                    item.outcome = replay_one(&publisher, message, acker).await;
                }
                items.push(item);
            }
            Ok(ReplayReport::of(selector, dry_run, items))
        }
        .await;
        // The channel first, so the replayed dead letters' acks are settled; closing gives back
        // every dead letter taken and not acknowledged.
        close_settled(&connection, &channel, "replayed").await;
        report
    }
}

/// Publish the replay of `message` with a confirm, then ack the dead letter.
async fn replay_one(publisher: &Publisher, message: &Inbound, acker: &Acker) -> ReplayOutcome {
    let confirmed = match publisher.send(&replay_message(message)).await {
        Ok(pending) => pending.await,
        Err(e) => Err(e),
    };
    if let Err(e) = confirmed {
        return ReplayOutcome::Failed {
            error: e.to_string(),
        };
    }
    match acker.ack(BasicAckOptions::default()).await {
        Ok(true) => ReplayOutcome::Replayed,
        // Replayed, but the dead letter stays and may be replayed again: the inbox makes that
        // second replay a duplicate.
        Ok(false) | Err(_) => ReplayOutcome::Failed {
            error: "replayed, but the dead letter could not be removed; \
                    a second replay of it is a duplicate"
                .to_owned(),
        },
    }
}

impl DeadLetterAdmin for AmqpDeadLetters {
    fn list(&self, limit: usize) -> AdminFuture<'_, DeadLetters> {
        Box::pin(self.list_now(limit))
    }

    fn show<'a>(&'a self, id: &'a str) -> AdminFuture<'a, Option<DeadLetterDetail>> {
        Box::pin(self.show_now(id))
    }

    fn replay<'a>(&'a self, selector: &'a Selector) -> AdminFuture<'a, ReplayReport> {
        Box::pin(self.replay_now(selector, false))
    }

    fn check<'a>(&'a self, selector: &'a Selector) -> AdminFuture<'a, ReplayReport> {
        Box::pin(self.replay_now(selector, true))
    }
}
