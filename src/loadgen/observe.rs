//! The organisations' side: consume every organisation queue and report each arrival.
//!
//! One consumer per queue, without acks (nothing is redelivered to a bench), each stamping the
//! arrival instant as soon as its delivery comes off the connection and handing it to the run
//! over a channel. The run matches arrivals to needs by `correlation_id` ([`super::tally`]);
//! the observer itself does no parsing, so it costs the same in both runs.

use std::time::{Duration, Instant};

use futures_lite::StreamExt as _;
use lapin::Connection;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use tokio::sync::mpsc;

use super::LoadgenError;
use crate::transport::Topology;

/// One message taken from an organisation's queue.
#[derive(Debug)]
pub(crate) struct Arrival {
    /// Index of the queue in [`Observer::queues`].
    pub queue: usize,
    /// When it came off the connection.
    pub at: Instant,
    /// AMQP `correlation_id`.
    pub correlation: Option<String>,
    /// The routing key it was published with.
    pub routing_key: String,
    /// AMQP `type`.
    pub kind: Option<String>,
    /// AMQP `content_type`.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Consumers on every organisation queue of a topology.
pub(crate) struct Observer {
    connection: Connection,
    /// Organisation ids, in the order of [`Arrival::queue`].
    pub org_ids: Vec<String>,
    arrivals: mpsc::UnboundedReceiver<Arrival>,
}

impl Observer {
    /// Connect to `url` (the hub's user on the run's vhost) and consume every organisation
    /// queue of `topology` (declared already).
    pub(super) async fn start(url: &str, topology: &Topology) -> Result<Self, LoadgenError> {
        let context = "starting the observer of the organisation queues";
        let (connection, channel) =
            super::open_channel(url, "samverkan-bench-observer", context).await?;
        let (sender, arrivals) = mpsc::unbounded_channel();
        let org_ids = topology.org_ids().to_vec();
        for (queue, org) in org_ids.iter().enumerate() {
            let options = BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            };
            let name = Topology::org_queue_name(org);
            let consumer = channel
                .basic_consume(
                    name.as_str().into(),
                    "".into(),
                    options,
                    FieldTable::default(),
                )
                .await
                .map_err(|e| LoadgenError::amqp(context, "basic.consume", e))?;
            tokio::spawn(forward(consumer, queue, sender.clone()));
        }
        Ok(Self {
            connection,
            org_ids,
            arrivals,
        })
    }

    /// The index of `org`'s queue.
    pub(super) fn queue_of(&self, org: &str) -> Option<usize> {
        self.org_ids.iter().position(|o| o == org)
    }

    /// The next arrival, or `None` when nothing arrives within `wait`.
    pub(super) async fn next(&mut self, wait: Duration) -> Option<Arrival> {
        tokio::time::timeout(wait, self.arrivals.recv())
            .await
            .ok()
            .flatten()
    }

    /// Stop consuming.
    pub(super) async fn close(self) {
        crate::transport::amqp::close(&self.connection, "bench done").await;
    }
}

/// Hand each delivery of one consumer to the run until the consumer ends.
async fn forward(
    mut consumer: lapin::Consumer,
    queue: usize,
    sender: mpsc::UnboundedSender<Arrival>,
) {
    while let Some(Ok(delivery)) = consumer.next().await {
        let at = Instant::now();
        let text = |s: &Option<lapin::types::ShortString>| s.as_ref().map(|s| s.to_string());
        let properties = &delivery.properties;
        let arrival = Arrival {
            queue,
            at,
            correlation: text(properties.correlation_id()),
            routing_key: delivery.routing_key.to_string(),
            kind: text(properties.kind()),
            content_type: text(properties.content_type()),
            body: delivery.data,
        };
        if sender.send(arrival).is_err() {
            return;
        }
    }
}
