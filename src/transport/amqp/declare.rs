//! Declaring a [`Topology`] on RabbitMQ: the AMQP-only half of the topology (queue arguments,
//! exchange kinds, short strings), kept apart so the in-process broker and the printed plan use
//! the same data without lapin.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};

use crate::transport::TransportError;
use crate::transport::topology::{ExchangeType, QueueSpec, Topology};

impl ExchangeType {
    fn to_lapin(self) -> ExchangeKind {
        match self {
            Self::Topic => ExchangeKind::Topic,
            Self::Fanout => ExchangeKind::Fanout,
        }
    }
}

impl QueueSpec {
    /// The `x-…` arguments the queue is declared with. Re-declaring with the same arguments is
    /// a no-op; with different ones the broker answers 406 PRECONDITION_FAILED.
    pub fn arguments(&self) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert(
            "x-queue-type".into(),
            AMQPValue::LongString("quorum".into()),
        );
        // A long int (signed 32 bits), as RabbitMQ expects for this argument; validated in
        // `Topology::new`, so the conversion cannot saturate.
        let limit = i32::try_from(self.delivery_limit).unwrap_or(i32::MAX);
        args.insert("x-delivery-limit".into(), AMQPValue::LongInt(limit));
        if let Some(dlx) = self.dead_letter_exchange {
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(dlx.into()),
            );
            args.insert(
                "x-dead-letter-strategy".into(),
                AMQPValue::LongString("at-least-once".into()),
            );
            args.insert(
                "x-overflow".into(),
                AMQPValue::LongString("reject-publish".into()),
            );
        }
        args
    }
}

/// Declare every exchange, queue and binding of `topology` on `channel`, idempotently.
///
/// Safe to run at every start and after every reconnect: declaring what exists with the same
/// arguments changes nothing. An exchange or queue that exists with *other* arguments (for
/// example a classic queue of the same name) fails with [`TransportError::TopologyConflict`]
/// and closes the channel, as AMQP channel errors do.
pub async fn declare(channel: &Channel, topology: &Topology) -> Result<(), TransportError> {
    for exchange in topology.exchanges() {
        let options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        channel
            .exchange_declare(
                exchange.name.into(),
                exchange.kind.to_lapin(),
                options,
                FieldTable::default(),
            )
            .await
            .map_err(|e| TransportError::declare(format!("exchange `{}`", exchange.name), e))?;
    }
    for queue in topology.queues() {
        let name = short_string("queue name", &queue.name)?;
        channel
            .queue_declare(
                name.clone(),
                QueueDeclareOptions::durable(),
                queue.arguments(),
            )
            .await
            .map_err(|e| TransportError::declare(format!("queue `{}`", queue.name), e))?;
        for binding in &queue.bindings {
            channel
                .queue_bind(
                    name.clone(),
                    binding.exchange.into(),
                    short_string("binding key", &binding.routing_key)?,
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|e| {
                    let what = format!(
                        "binding of queue `{}` to `{}` with \"{}\"",
                        queue.name, binding.exchange, binding.routing_key
                    );
                    TransportError::declare(what, e)
                })?;
        }
    }
    tracing::info!(
        exchanges = topology.exchanges().len(),
        queues = topology.queues().len(),
        delivery_limit = topology.delivery_limit(),
        "broker topology declared"
    );
    Ok(())
}

/// An AMQP short string, or `TooLong` (lapin's `From<&str>` panics past 255 bytes).
pub(crate) fn short_string(what: &'static str, s: &str) -> Result<ShortString, TransportError> {
    ShortString::try_new(s).map_err(|_| TransportError::TooLong { what, len: s.len() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::topology::HUB_DEAD_QUEUE;

    fn topology() -> Topology {
        Topology::new(["VGR", "chalmers", "VGR", "partner-001"], 7).unwrap()
    }

    #[test]
    fn every_queue_is_quorum_with_a_long_int_delivery_limit_and_dead_letters_stay() {
        for q in topology().queues() {
            let args = q.arguments();
            let args = args.inner();
            assert_eq!(
                args.get("x-queue-type"),
                Some(&AMQPValue::LongString("quorum".into())),
                "{}",
                q.name
            );
            let limit = if q.name == HUB_DEAD_QUEUE {
                i32::MAX
            } else {
                7
            };
            assert_eq!(
                args.get("x-delivery-limit"),
                Some(&AMQPValue::LongInt(limit)),
                "{}",
                q.name
            );
        }
    }

    #[test]
    fn all_but_the_dead_letter_queue_dead_letter_at_least_once() {
        let t = topology();
        for q in t.queues() {
            let args = q.arguments();
            let args = args.inner();
            let dlx = args.get("x-dead-letter-exchange");
            if q.name == HUB_DEAD_QUEUE {
                assert_eq!(dlx, None);
                assert_eq!(args.get("x-dead-letter-strategy"), None);
            } else {
                assert_eq!(
                    dlx,
                    Some(&AMQPValue::LongString("samverkan.dlx".into())),
                    "{}",
                    q.name
                );
                assert_eq!(
                    args.get("x-dead-letter-strategy"),
                    Some(&AMQPValue::LongString("at-least-once".into()))
                );
                assert_eq!(
                    args.get("x-overflow"),
                    Some(&AMQPValue::LongString("reject-publish".into()))
                );
            }
        }
    }

    #[test]
    fn the_largest_delivery_limit_is_declared_as_a_long_int() {
        let t = Topology::new(["VGR"], i32::MAX as u32).unwrap();
        let args = t.queues()[0].arguments();
        assert_eq!(
            args.inner().get("x-delivery-limit"),
            Some(&AMQPValue::LongInt(i32::MAX))
        );
    }
}
