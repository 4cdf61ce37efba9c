//! Publishing CloudEvents with publisher confirms: a publish succeeds only when the broker has
//! taken responsibility for the message.
//!
//! RabbitMQ *acks* a message that reached no queue, so confirms alone are not enough: every
//! publish is `mandatory`, and a message the broker returns ([`TransportError::Unroutable`]) or
//! nacks ([`TransportError::Nacked`]) is an error, never a success.
//!
//! [`Publisher::publish_nowait`] writes the message and hands back its [`PendingConfirm`], a
//! future of the broker's answer, so a relay can keep many confirms in flight (a window of
//! pending confirms in a `VecDeque`) instead of waiting once per message; [`Publisher::publish`]
//! is the two steps back to back.
//!
//! lapin pairs a returned message with whichever confirm it completes next, which after a
//! `multiple` ack need not be the returned message's own. A [`PendingConfirm`] therefore checks
//! that a return carries its own `message_id`; if not, it reports
//! [`TransportError::ConfirmAmbiguous`] (publish again) rather than guess.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection, PublisherConfirm};

use super::confirms::Confirm;
use super::convert::outbound_properties;
use super::declare::short_string;
use crate::event::{CloudEvent, STRUCTURED_CONTENT_TYPE};
use crate::transport::Outbound;
use crate::transport::TransportError;

/// `app_id` of every message the hub publishes.
pub(super) const APP_ID: &str = "samverkan";
/// `delivery_mode` of a persistent message.
pub const PERSISTENT: u8 = 2;

/// Publishes structured-mode CloudEvents on one channel in confirm mode.
///
/// Cloning is cheap and clones share the channel (and its confirm sequence).
#[derive(Clone)]
pub struct Publisher {
    channel: Channel,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("channel", &self.channel.id())
            .finish()
    }
}

impl Publisher {
    /// Put `channel` in confirm mode and publish on it.
    pub async fn new(channel: Channel) -> Result<Self, TransportError> {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|source| TransportError::Channel {
                operation: "confirm.select",
                source,
            })?;
        Ok(Self { channel })
    }

    /// Open a new channel on `connection` for publishing.
    pub async fn open(connection: &Connection) -> Result<Self, TransportError> {
        let channel =
            connection
                .create_channel()
                .await
                .map_err(|source| TransportError::Channel {
                    operation: "channel.open",
                    source,
                })?;
        Self::new(channel).await
    }

    /// The underlying channel.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

    /// Publish `event` and wait for the broker's confirm.
    ///
    /// `Ok(())` means the broker routed the message to at least one queue and took
    /// responsibility for it.
    pub async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        event: &CloudEvent,
    ) -> Result<(), TransportError> {
        self.publish_nowait(exchange, routing_key, event)
            .await?
            .await
    }

    /// Publish `event` without waiting for the confirm; await the returned [`PendingConfirm`]
    /// to learn the outcome. Keep a window of them and await the oldest first. Dropping one
    /// un-awaited loses the outcome: the message must then be treated as unconfirmed.
    pub async fn publish_nowait(
        &self,
        exchange: &str,
        routing_key: &str,
        event: &CloudEvent,
    ) -> Result<PendingConfirm, TransportError> {
        let target = Target {
            event_id: event.id.to_string(),
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
        };
        self.publish_mandatory(target, &event.to_json_bytes(), event_properties(event)?)
            .await
    }

    /// `basic.publish` with `mandatory` set; the confirm is matched to `target`.
    async fn publish_mandatory(
        &self,
        target: Target,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<PendingConfirm, TransportError> {
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirm = self
            .channel
            .basic_publish(
                short_string("exchange name", &target.exchange)?,
                short_string("routing key", &target.routing_key)?,
                options,
                body,
                properties,
            )
            .await
            .map_err(|source| TransportError::Channel {
                operation: "basic.publish",
                source,
            })?;
        Ok(PendingConfirm { confirm, target })
    }
}

impl Publisher {
    /// Publish an [`Outbound`] (mandatory, persistent) without waiting for the confirm, like
    /// [`publish_nowait`](Self::publish_nowait). Its confirm names it by `message_id`.
    pub async fn send(&self, message: &Outbound) -> Result<PendingConfirm, TransportError> {
        let target = Target {
            event_id: message.message_id.clone().unwrap_or_default(),
            exchange: message.exchange.clone(),
            routing_key: message.routing_key.clone(),
        };
        self.publish_mandatory(target, &message.body, outbound_properties(message)?)
            .await
    }

    /// [`send`](Self::send) each of `messages`, in order, with their frames queued together:
    /// lapin resolves a `basic.publish` only once its frames are written, so awaiting one send
    /// after the other writes every message on its own (a syscall and a thread hand-off each,
    /// and a read for the broker). Here every send is started before any is awaited, and the
    /// connection's I/O loop writes what has queued in one go. The results are in the order of
    /// `messages`, as are the confirms' delivery tags.
    pub async fn send_all(
        &self,
        messages: &[&Outbound],
    ) -> Vec<Result<PendingConfirm, TransportError>> {
        let mut sends: Vec<_> = messages.iter().map(|m| Box::pin(self.send(m))).collect();
        let mut results: Vec<Option<Result<PendingConfirm, TransportError>>> =
            messages.iter().map(|_| None).collect();
        // Polled in order, so the first poll queues each message's frames in order.
        std::future::poll_fn(|cx| {
            let mut all_done = true;
            for (send, result) in sends.iter_mut().zip(results.iter_mut()) {
                if result.is_none() {
                    match send.as_mut().poll(cx) {
                        Poll::Ready(done) => *result = Some(done),
                        Poll::Pending => all_done = false,
                    }
                }
            }
            if all_done {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        results.into_iter().flatten().collect()
    }
}

/// The AMQP properties of a structured-mode CloudEvent as the hub publishes it: content type
/// `application/cloudevents+json`, persistent, `message_id` = event id, `correlation_id` =
/// subject (the need id) when there is one, `app_id` = `samverkan`, `type` = event type,
/// `timestamp` = event time (seconds).
pub(super) fn event_properties(event: &CloudEvent) -> Result<BasicProperties, TransportError> {
    let mut properties = BasicProperties::default()
        .with_content_type(STRUCTURED_CONTENT_TYPE.into())
        .with_delivery_mode(PERSISTENT)
        .with_message_id(short_string("event id", event.id.as_ref())?)
        .with_app_id(APP_ID.into())
        .with_type(event.event_type.as_str().into());
    if let Some(subject) = &event.subject {
        properties = properties.with_correlation_id(short_string("event subject", subject)?);
    }
    if let Ok(seconds) = u64::try_from(event.time.unix_timestamp()) {
        properties = properties.with_timestamp(seconds);
    }
    Ok(properties)
}

/// The broker's answer to one publish, still to come. Resolves to `Ok(())` on an ack of a
/// routed message and to [`TransportError::Unroutable`], [`TransportError::Nacked`] or
/// [`TransportError::ConfirmLost`] otherwise.
#[must_use = "a publish is not done until its confirm is awaited"]
pub struct PendingConfirm {
    confirm: PublisherConfirm,
    target: Target,
}

/// What was published where, for the outcome and its errors.
#[derive(Debug, Clone)]
struct Target {
    event_id: String,
    exchange: String,
    routing_key: String,
}

impl PendingConfirm {
    /// Id of the event this confirm is for.
    pub fn event_id(&self) -> &str {
        &self.target.event_id
    }

    /// The broker's raw answer, for a caller that pairs returned messages with publishes
    /// itself over a whole batch (see `confirms.rs`).
    pub(crate) async fn confirmation(self) -> lapin::Result<Confirmation> {
        self.confirm.await
    }
}

impl std::fmt::Debug for PendingConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConfirm")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Future for PendingConfirm {
    type Output = Result<(), TransportError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match Pin::new(&mut this.confirm).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(confirmation) => Poll::Ready(outcome(&this.target, confirmation)),
        }
    }
}

/// Only an ack without a returned message is a success.
fn outcome(
    target: &Target,
    confirmation: lapin::Result<Confirmation>,
) -> Result<(), TransportError> {
    let Target {
        event_id,
        exchange,
        routing_key,
    } = target.clone();
    match Confirm::of(confirmation) {
        Confirm::Ack(None) => Ok(()),
        // lapin hands each returned message to the next confirm it completes; after a
        // `multiple` ack that need not be the returned message's own publish. Check.
        Confirm::Ack(Some(returned)) if returned.message_id.as_deref() != Some(&event_id) => {
            Err(TransportError::ConfirmAmbiguous { event_id })
        }
        Confirm::Ack(Some(returned)) => Err(TransportError::Unroutable {
            event_id,
            exchange,
            routing_key,
            reply_code: returned.reply_code,
            reply_text: returned.reply_text,
        }),
        Confirm::Nack(_) => Err(TransportError::Nacked {
            event_id,
            exchange,
            routing_key,
        }),
        Confirm::NotRequested => Err(TransportError::ConfirmsNotEnabled { event_id }),
        Confirm::Lost(source) => Err(TransportError::ConfirmLost { event_id, source }),
        Confirm::Failed(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use lapin::message::{BasicReturnMessage, Delivery};

    use super::*;
    use crate::event::{EventType, Source};

    #[test]
    fn properties_carry_the_wire_contract() {
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some("NEED-2026-0101".into()),
            json!({}),
        );
        let p = event_properties(&event).unwrap();
        assert_eq!(
            p.content_type().as_ref().map(|s| s.as_str()),
            Some(STRUCTURED_CONTENT_TYPE)
        );
        assert_eq!(p.delivery_mode(), &Some(2));
        assert_eq!(
            p.message_id().as_ref().map(|s| s.as_str()),
            Some(event.id.as_ref())
        );
        assert_eq!(
            p.correlation_id().as_ref().map(|s| s.as_str()),
            Some("NEED-2026-0101")
        );
        assert_eq!(p.app_id().as_ref().map(|s| s.as_str()), Some("samverkan"));
        assert_eq!(
            p.kind().as_ref().map(|s| s.as_str()),
            Some("se.samverkan.need.status.v1")
        );
        let seconds = u64::try_from(event.time.unix_timestamp()).unwrap();
        assert_eq!(p.timestamp(), &Some(seconds));
    }

    #[test]
    fn events_without_a_subject_have_no_correlation_id() {
        let event = CloudEvent::new(EventType::PartnerUpserted, Source::hub(), None, json!({}));
        assert_eq!(event_properties(&event).unwrap().correlation_id(), &None);
    }

    fn target() -> Target {
        Target {
            event_id: "e-1".into(),
            exchange: "samverkan.egress".into(),
            routing_key: "VGR.x".into(),
        }
    }

    fn returned(message_id: &str) -> BasicReturnMessage {
        let mut delivery = Delivery::mock(
            0,
            "samverkan.egress".into(),
            "VGR.x".into(),
            false,
            b"{}".to_vec(),
        );
        delivery.properties = BasicProperties::default().with_message_id(message_id.into());
        BasicReturnMessage {
            delivery,
            reply_code: 312,
            reply_text: "NO_ROUTE".into(),
        }
    }

    #[test]
    fn only_a_plain_ack_is_success() {
        assert!(outcome(&target(), Ok(Confirmation::Ack(None))).is_ok());
        let unroutable = outcome(&target(), Ok(Confirmation::Ack(Some(returned("e-1")))));
        assert!(matches!(
            unroutable,
            Err(TransportError::Unroutable {
                reply_code: 312,
                ..
            })
        ));
        let nacked = outcome(&target(), Ok(Confirmation::Nack(None)));
        assert!(matches!(nacked, Err(TransportError::Nacked { .. })));
        let unconfirmed = outcome(&target(), Ok(Confirmation::NotRequested));
        assert!(matches!(
            unconfirmed,
            Err(TransportError::ConfirmsNotEnabled { .. })
        ));
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let lost = outcome(&target(), Err(io.into()));
        assert!(matches!(lost, Err(TransportError::ConfirmLost { .. })));
    }

    #[test]
    fn another_messages_return_makes_the_outcome_ambiguous_not_unroutable() {
        let result = outcome(&target(), Ok(Confirmation::Ack(Some(returned("e-2")))));
        let err = result.unwrap_err();
        assert!(
            matches!(err, TransportError::ConfirmAmbiguous { .. }),
            "{err}"
        );
        assert!(err.is_transient());
    }

    #[test]
    fn an_overlong_subject_is_an_error_not_a_panic() {
        let subject = "N".repeat(256);
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some(subject),
            json!({}),
        );
        let err = event_properties(&event).unwrap_err();
        assert!(matches!(
            err,
            TransportError::TooLong {
                what: "event subject",
                len: 256
            }
        ));
    }
}
