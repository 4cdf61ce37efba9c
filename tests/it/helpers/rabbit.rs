//! RabbitMQ for the service tests: a fresh organisation per test, its topology, and publishing
//! to ingress as an organisation's broker user (the AMQP `user_id` the hub authenticates).
//!
//! RabbitMQ is required: when it cannot be reached these tests fail and say how to start it.
//!
//! Which broker: `SAMVERKAN__AMQP__URL` and `SAMVERKAN__AMQP__MANAGEMENT_URL` (else the local
//! 3.10 defaults, 127.0.0.1:5672 and :15672), and the `rabbitmqctl` that drives that broker's
//! node, `SAMVERKAN_TEST_RABBITMQCTL` (a command and its leading arguments, split at
//! whitespace; else `rabbitmqctl`). `scripts/test` runs this binary once per broker, setting
//! all three; every test reaches the broker through [`amqp_url`](crate::amqp_url),
//! [`broker_address`], [`management_url`] and [`rabbitmqctl`], never a fixed port.

use std::process::Command;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation};
use samverkan::transport::amqp::connect;
use samverkan::transport::{DEFAULT_DELIVERY_LIMIT, INGRESS_EXCHANGE, Topology};

/// How to get a broker, for the failure message.
pub const START_BROKER: &str = "start RabbitMQ 3.10 (:5672) with `rabbitmq-server -detached` \
    or RabbitMQ 4.x (:5673) with scripts/rabbitmq4, or run scripts/test --services-only";

/// The management API of the broker under test: `SAMVERKAN__AMQP__MANAGEMENT_URL`, else the
/// default of `config/default.toml` (credentials come from it or from the AMQP URL).
pub fn management_url() -> String {
    std::env::var("SAMVERKAN__AMQP__MANAGEMENT_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:15672".to_owned())
}

/// `host:port` of the broker under test (of [`amqp_url`](crate::amqp_url)).
pub fn broker_address() -> String {
    let url = crate::amqp_url();
    let uri: lapin::uri::AMQPUri = url
        .parse()
        .unwrap_or_else(|e| panic!("SAMVERKAN__AMQP__URL is not an AMQP URL: {e}"));
    format!("{}:{}", uri.authority.host, uri.authority.port)
}

/// The URL of virtual host `vhost` on the broker under test, as `user`.
pub fn vhost_url(user: &str, password: &str, vhost: &str) -> String {
    format!("amqp://{user}:{password}@{}/{vhost}", broker_address())
}

/// The variable naming the `rabbitmqctl` of the broker under test.
const RABBITMQCTL_VAR: &str = "SAMVERKAN_TEST_RABBITMQCTL";

/// A `rabbitmqctl` command for the broker under test: `SAMVERKAN_TEST_RABBITMQCTL` (e.g.
/// `scripts/rabbitmq4 ctl`), else the host's `rabbitmqctl`, which drives the host's node and so
/// is only right for a broker on the default port.
fn rabbitmqctl_command() -> Command {
    let spec = match std::env::var(RABBITMQCTL_VAR) {
        Ok(spec) => spec,
        Err(_) => {
            let address = broker_address();
            let port = address.rsplit(':').next().unwrap_or_default();
            assert!(
                port == "5672",
                "the broker under test is {address}, so the host's `rabbitmqctl` (its node is \
                 on :5672) would manage the wrong broker: set {RABBITMQCTL_VAR} to the command \
                 that drives it (for scripts/rabbitmq4's node: \
                 {RABBITMQCTL_VAR}=\"$PWD/scripts/rabbitmq4 ctl\"), or run scripts/test"
            );
            "rabbitmqctl".to_owned()
        }
    };
    let mut words = spec.split_whitespace();
    let program = words
        .next()
        .unwrap_or_else(|| panic!("{RABBITMQCTL_VAR} is empty"));
    let mut command = Command::new(program);
    command.args(words);
    command
}

/// How long a publish the broker refuses may take to come back refused.
const REFUSAL_WAIT: Duration = Duration::from_secs(20);

/// What [`refused_publish`] returns when the broker closed the channel but lapin never
/// resolved the publish.
pub const CLOSED_BY_BROKER: &str = "the broker closed the channel";

/// Awaits `publish` on `channel` — a publish (and its confirm) the broker is expected to
/// refuse — and returns its outcome. lapin can lose a refused publish: when the broker's
/// `channel.close` is handled before the publish's confirm is registered, the confirm never
/// resolves (seen once in a full run on a loaded machine). So if `publish` has not finished
/// within [`REFUSAL_WAIT`], a channel the broker closed counts as the refusal
/// (`Err(CLOSED_BY_BROKER)`); one still open fails the test, naming the wait.
pub async fn refused_publish<T>(
    channel: &Channel,
    publish: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    match tokio::time::timeout(REFUSAL_WAIT, publish).await {
        Ok(outcome) => outcome,
        Err(_) if !channel.status().connected() => Err(CLOSED_BY_BROKER.to_owned()),
        Err(_) => panic!(
            "a publish was neither confirmed nor refused within {REFUSAL_WAIT:?}, \
             and its channel is still open"
        ),
    }
}

/// Run `rabbitmqctl args` against the broker under test: its output (stdout then stderr) when
/// it succeeds, else the same text as the error. Fails the test when it cannot be run at all.
pub fn rabbitmqctl(args: &[&str]) -> Result<String, String> {
    let output = rabbitmqctl_command()
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("these tests manage the broker with `rabbitmqctl` ({e}); {START_BROKER}")
        });
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

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
