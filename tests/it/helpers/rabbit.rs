//! RabbitMQ for the service tests: a fresh organisation per test, its topology, and publishing
//! to ingress as an organisation's broker user (the AMQP `user_id` the hub authenticates).
//!
//! RabbitMQ is required: when it cannot be reached these tests fail and say how to start it.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation};
use samverkan::transport::amqp::connect;
use samverkan::transport::{DEFAULT_DELIVERY_LIMIT, INGRESS_EXCHANGE, Topology};

/// How to get a broker, for the failure message.
pub const START_BROKER: &str =
    "start RabbitMQ with `rabbitmq-server -detached` (or run scripts/test --services-only)";

/// A fresh organisation id for one test, valid by the `orgId` schema.
pub fn test_org() -> String {
    let uuid = uuid::Uuid::now_v7().simple().to_string();
    // The tail of a v7 UUID is random; the head is the clock and repeats between tests.
    format!("it-{}", &uuid[20..])
}

/// The topology of the one organisation `org`, with the default delivery limit.
pub fn topology_for(org: &str) -> Topology {
    Topology::new([org], DEFAULT_DELIVERY_LIMIT).expect("test org ids are valid")
}

/// One message to ingress, published with `user_id` set to `user`.
pub struct AsUser {
    /// The broker user the message claims (RabbitMQ checks it against the connection's user
    /// unless that user may impersonate).
    pub user: String,
    /// The routing key (the event type).
    pub routing_key: String,
    /// The body.
    pub body: Vec<u8>,
    /// Extra AMQP headers.
    pub headers: FieldTable,
}

impl AsUser {
    /// `body` as `user`, routed by `routing_key`, no extra headers.
    pub fn new(user: &str, routing_key: &str, body: Vec<u8>) -> Self {
        Self {
            user: user.to_owned(),
            routing_key: routing_key.to_owned(),
            body,
            headers: FieldTable::default(),
        }
    }
}

/// Publish `messages` to ingress over one connection to `url`, persistent and mandatory,
/// confirms pipelined; every one must be acknowledged.
pub async fn publish_as(url: &str, client: &str, messages: &[AsUser]) {
    let connection = connect(url, client)
        .await
        .unwrap_or_else(|e| panic!("cannot reach RabbitMQ ({e}): {START_BROKER}"));
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let mut confirms = Vec::with_capacity(messages.len());
    for message in messages {
        let properties = BasicProperties::default()
            .with_content_type("application/cloudevents+json".into())
            .with_delivery_mode(2)
            .with_user_id(message.user.as_str().into())
            .with_headers(message.headers.clone());
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let confirm = channel
            .basic_publish(
                INGRESS_EXCHANGE.into(),
                message.routing_key.as_str().into(),
                options,
                &message.body,
                properties,
            )
            .await
            .expect("publish");
        confirms.push(confirm);
    }
    for confirm in confirms {
        assert_eq!(confirm.await.expect("confirm"), Confirmation::Ack(None));
    }
    connection.close(200, "done".into()).await.ok();
}
