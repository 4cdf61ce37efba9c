//! The baseline: a worker that moves messages exactly as the hub does, and does nothing else.
//!
//! It consumes `samverkan.hub.ingress` with the hub's consumer ([`AmqpConsumer`]: same
//! topology declaration, same prefetch, one ack per delivery) and, for each delivery, publishes
//! the fan-out the hub published for the warm-up need — the same number of messages, to the
//! same organisation queues, with the same routing keys and body sizes — through the hub's
//! confirmed, mandatory [`Publisher`], the fan-out's frames queued together as the hub's relay
//! queues a chunk of its batch. Confirms are pipelined across deliveries (a settle task
//! awaits them in order while the loop goes on publishing) and a delivery is acked only after
//! all of its fan-out is confirmed, which is the hub's settlement rule without the store: no
//! decode, no validation, no matching, no transaction. What the hub costs beyond this is the
//! price of its work.
//!
//! Each copy gets `correlation_id` = the ingress `message_id` (the need's event id), so the
//! observer can tell which need it belongs to without parsing a body.

use tokio::sync::mpsc;

use super::LoadgenError;
use crate::transport::amqp::{
    AmqpConsumer, AmqpDelivery, ConsumerConfig, Endpoint, PendingConfirm, Publisher, connect,
};
use crate::transport::{Consume, Delivery, Outbound, Settle, Shutdown};
use crate::transport::{HUB_INGRESS_QUEUE, Topology};

/// What the pass-through worker needs.
#[derive(Debug, Clone)]
pub(crate) struct PassThrough {
    /// The broker URL with the run's vhost (the hub's user).
    pub url: String,
    /// Declared at start, as the hub does.
    pub topology: Topology,
    /// The hub's prefetch.
    pub prefetch: u16,
    /// One need's fan-out, in the hub's shape: exchange, routing key, body, type.
    pub fan_out: Vec<Outbound>,
}

/// A delivery and the confirms of its fan-out.
type InFlight = (AmqpDelivery, Vec<PendingConfirm>);

impl PassThrough {
    /// Consume and fan out until `shutdown`; then settle what is in flight and close.
    pub(super) async fn serve(mut self, shutdown: Shutdown) -> Result<(), LoadgenError> {
        let context = "starting the pass-through worker";
        let endpoint = Endpoint::new(
            self.url.clone(),
            "samverkan-bench-pass-consumer",
            self.topology.clone(),
        );
        let config = ConsumerConfig {
            endpoint,
            queue: HUB_INGRESS_QUEUE.to_owned(),
            prefetch: self.prefetch,
        };
        let mut consumer = AmqpConsumer::connect(config, shutdown)
            .await
            .map_err(|e| LoadgenError::broker(context, e))?;
        let connection = connect(&self.url, "samverkan-bench-pass-publisher")
            .await
            .map_err(|e| LoadgenError::broker(context, e))?;
        let publisher = Publisher::open(&connection)
            .await
            .map_err(|e| LoadgenError::broker(context, e))?;
        let (in_flight, settling) = mpsc::channel(usize::from(self.prefetch.max(1)));
        let settler = tokio::spawn(settle(settling, self.fan_out.len()));
        while let Some(delivery) = consumer.next().await {
            let confirms = self
                .publish(&publisher, delivery.inbound().message_id.clone())
                .await;
            if in_flight.send((delivery, confirms)).await.is_err() {
                break;
            }
        }
        drop(in_flight);
        settler.await.ok();
        consumer.close().await;
        crate::transport::amqp::close(&connection, "bench done").await;
        Ok(())
    }

    /// Publish one need's fan-out without waiting for the confirms.
    async fn publish(
        &mut self,
        publisher: &Publisher,
        correlation: Option<String>,
    ) -> Vec<PendingConfirm> {
        let correlation = correlation.unwrap_or_default();
        for (k, message) in self.fan_out.iter_mut().enumerate() {
            message.message_id = Some(format!("{correlation}.{k}"));
            message.correlation_id = Some(correlation.clone());
        }
        // Queued together, as the hub's relay sends a batch (`Publisher::send_all`).
        let fan_out: Vec<&Outbound> = self.fan_out.iter().collect();
        let mut confirms = Vec::with_capacity(fan_out.len());
        for sent in publisher.send_all(&fan_out).await {
            match sent {
                Ok(confirm) => confirms.push(confirm),
                Err(e) => tracing::warn!(error = %e, "pass-through publish failed"),
            }
        }
        confirms
    }
}

/// Await each delivery's confirms in order; ack when all `fan_out` messages were published and
/// confirmed, else requeue (as the hub would retry).
async fn settle(mut in_flight: mpsc::Receiver<InFlight>, fan_out: usize) {
    while let Some((delivery, confirms)) = in_flight.recv().await {
        let mut confirmed = 0;
        for confirm in confirms {
            match confirm.await {
                Ok(()) => confirmed += 1,
                Err(e) => tracing::warn!(error = %e, "pass-through confirm failed"),
            }
        }
        let how = if confirmed == fan_out {
            Settle::Ack
        } else {
            Settle::Requeue
        };
        if let Err(e) = delivery.settle(how).await {
            tracing::debug!(error = %e, "pass-through settle failed");
        }
    }
}
