//! RabbitMQ side: a throwaway virtual host, publishing that survives a broker restart, and
//! reading organisation queues.

use std::collections::HashMap;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_lite::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Confirmation, Connection};
use samverkan::event::CloudEvent;
use samverkan::transport::INGRESS_EXCHANGE;
use samverkan::transport::amqp::connect;

/// The broker under test, chosen once at start (`--amqp-port`, `--management-port`,
/// `--rabbitmqctl`; scripts/faults passes them for `--broker 3.10` or `--broker 4`).
pub(crate) struct Broker {
    /// AMQP port on 127.0.0.1.
    pub(crate) amqp_port: u16,
    /// Management API port on 127.0.0.1 (the hub sets its queue policies through it).
    pub(crate) management_port: u16,
    /// The command (and leading arguments) of the `rabbitmqctl` that drives this broker's node.
    pub(crate) rabbitmqctl: Vec<String>,
}

static BROKER: OnceLock<Broker> = OnceLock::new();

impl Broker {
    /// Choose the broker for the whole run (once).
    pub(crate) fn set(broker: Broker) {
        assert!(BROKER.set(broker).is_ok(), "the broker is chosen once");
    }

    pub(crate) fn get() -> &'static Broker {
        BROKER.get().expect("the broker is chosen at start")
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.amqp_port)
    }

    pub(crate) fn management_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.management_port)
    }
}

/// Publishes on behalf of the organisations (tag `impersonator`), as tests/it/hub_faults does.
const PUBLISHER: &str = "samverkan-faults-impersonator";
const PUBLISHER_PASSWORD: &str = "samverkan-faults";
pub(crate) const VHOST_PREFIX: &str = "samverkan-faults-";

pub(crate) fn rabbitmqctl(args: &[&str]) -> anyhow::Result<String> {
    let (program, leading) = Broker::get()
        .rabbitmqctl
        .split_first()
        .context("--rabbitmqctl is empty")?;
    let output = Command::new(program)
        .args(leading)
        .args(args)
        .output()
        .context("rabbitmqctl")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        Ok(text)
    } else {
        bail!("rabbitmqctl {}: {text}", args.join(" "))
    }
}

/// `rabbitmqctl` off the runtime's threads.
pub(crate) async fn rabbitmqctl_async(args: &[&str]) -> anyhow::Result<String> {
    let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rabbitmqctl(&args)
    })
    .await?
}

/// A fresh virtual host, deleted when dropped.
pub(crate) struct Vhost {
    pub name: String,
}

impl Vhost {
    pub(crate) fn create(fault: &str) -> anyhow::Result<Self> {
        if let Err(out) = rabbitmqctl(&["add_user", PUBLISHER, PUBLISHER_PASSWORD])
            && !out.to_string().contains("already exists")
        {
            return Err(out);
        }
        rabbitmqctl(&["set_user_tags", PUBLISHER, "impersonator"])?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let name = format!("{VHOST_PREFIX}{fault}-{}", &id[20..]);
        rabbitmqctl(&["add_vhost", &name])?;
        let vhost = Self { name };
        for user in ["guest", PUBLISHER] {
            rabbitmqctl(&["set_permissions", "-p", &vhost.name, user, ".*", ".*", ".*"])?;
        }
        Ok(vhost)
    }

    pub(crate) fn url(&self, user: &str, password: &str) -> String {
        format!(
            "amqp://{user}:{password}@{}/{}",
            Broker::get().host(),
            self.name
        )
    }

    pub(crate) fn publisher_url(&self) -> String {
        self.url(PUBLISHER, PUBLISHER_PASSWORD)
    }

    /// Ready messages of `queue`; `None` when the broker or the queue is not there.
    pub(crate) async fn ready(&self, queue: &str) -> Option<u32> {
        let connection = connect(&self.url("guest", "guest"), "faults-look")
            .await
            .ok()?;
        let channel = connection.create_channel().await.ok()?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await;
        connection.close(200, "done".into()).await.ok();
        declared.ok().map(|q| q.message_count())
    }

    /// Messages of every queue of the vhost, ready or delivered and not yet acknowledged.
    pub(crate) async fn messages(&self) -> anyhow::Result<HashMap<String, u64>> {
        let listed = rabbitmqctl_async(&[
            "list_queues",
            "-p",
            &self.name,
            "-q",
            "--no-table-headers",
            "name",
            "messages",
        ])
        .await?;
        Ok(listed
            .lines()
            .filter_map(|line| {
                let (name, messages) = line.split_once('\t')?;
                Some((name.to_owned(), messages.trim().parse().ok()?))
            })
            .collect())
    }

    /// Everything in `queue`, taken off it (no acknowledgement, so nothing is redelivered).
    pub(crate) async fn drain(&self, queue: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let connection = connect(&self.url("guest", "guest"), "faults-drain").await?;
        let channel = connection.create_channel().await?;
        let options = BasicConsumeOptions {
            no_ack: true,
            ..Default::default()
        };
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                "faults-drain".into(),
                options,
                FieldTable::default(),
            )
            .await?;
        let mut bodies = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(2), consumer.next()).await {
                Ok(Some(delivery)) => bodies.push(delivery?.data),
                Ok(None) => break,
                Err(_) if self.ready(queue).await == Some(0) => break,
                Err(_) => {}
            }
        }
        connection.close(200, "done".into()).await.ok();
        Ok(bodies)
    }

    /// Delete the vhost (and everything in it).
    pub(crate) fn delete(&self) {
        if let Err(error) = rabbitmqctl(&["delete_vhost", &self.name]) {
            eprintln!("faults: could not delete vhost {}: {error}", self.name);
        }
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Publishes `(broker user, event)` pairs to ingress with confirms; when the broker goes away
/// it reconnects and publishes what was not confirmed again (so the hub may see an event
/// twice, as it would from a real sender that retries).
pub(crate) struct Publisher {
    url: String,
    link: Option<(Connection, lapin::Channel)>,
    pub republished: usize,
}

impl Publisher {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            link: None,
            republished: 0,
        }
    }

    async fn channel(&mut self) -> anyhow::Result<&lapin::Channel> {
        let usable = self
            .link
            .as_ref()
            .is_some_and(|(c, ch)| c.status().connected() && ch.status().connected());
        if !usable {
            if let Some((connection, _)) = self.link.take() {
                connection.close(200, "reconnect".into()).await.ok();
            }
            let connection = connect(&self.url, "faults-publisher").await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            self.link = Some((connection, channel));
        }
        Ok(&self.link.as_ref().expect("just set").1)
    }

    /// Publish `batch`, retrying what was not confirmed, for up to `limit`.
    pub(crate) async fn publish(
        &mut self,
        batch: &[(String, CloudEvent)],
        limit: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let mut pending: Vec<&(String, CloudEvent)> = batch.iter().collect();
        let mut first = true;
        while !pending.is_empty() {
            if !first {
                if Instant::now() > deadline {
                    bail!("{} events not confirmed within {limit:?}", pending.len());
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let again = !first;
            first = false;
            match self.try_publish(&pending).await {
                Ok(unconfirmed) => {
                    if again {
                        self.republished += pending.len();
                    }
                    pending = unconfirmed;
                }
                Err(_) => {
                    self.link = None;
                }
            }
        }
        Ok(())
    }

    /// Publish `events` on one channel; the ones the broker did not confirm. An error when
    /// there is no channel to publish on.
    async fn try_publish<'a>(
        &mut self,
        events: &[&'a (String, CloudEvent)],
    ) -> anyhow::Result<Vec<&'a (String, CloudEvent)>> {
        let channel = self.channel().await?.clone();
        let mut confirms = Vec::with_capacity(events.len());
        for &pair in events {
            let (user, event) = pair;
            let properties = BasicProperties::default()
                .with_content_type("application/cloudevents+json".into())
                .with_delivery_mode(2)
                .with_user_id(user.as_str().into());
            let options = BasicPublishOptions {
                mandatory: true,
                immediate: false,
            };
            let confirm = channel
                .basic_publish(
                    INGRESS_EXCHANGE.into(),
                    event.event_type.as_str().into(),
                    options,
                    &event.to_json_bytes(),
                    properties,
                )
                .await;
            confirms.push((pair, confirm));
        }
        let mut unconfirmed = Vec::new();
        for (pair, confirm) in confirms {
            let confirmed = match confirm {
                Ok(confirm) => matches!(
                    tokio::time::timeout(Duration::from_secs(10), confirm).await,
                    Ok(Ok(Confirmation::Ack(None)))
                ),
                Err(_) => false,
            };
            if !confirmed {
                unconfirmed.push(pair);
            }
        }
        if !unconfirmed.is_empty() {
            self.link = None;
        }
        Ok(unconfirmed)
    }

    pub(crate) async fn close(mut self) {
        if let Some((connection, _)) = self.link.take() {
            connection.close(200, "done".into()).await.ok();
        }
    }
}
