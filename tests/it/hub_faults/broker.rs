//! RabbitMQ side: vhosts, the impersonating publisher, watching org queues.

#[allow(unused_imports)]
use super::*;
use crate::{AsUser, broker_address, publish_as, rabbitmqctl, vhost_url};

// ---------------------------------------------------------------------------------------------
// The broker: a virtual host per test, publishing, watching a queue.

/// The impersonating publisher exists once per broker; creating it again is harmless.
pub(crate) fn ensure_relay_user() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(out) = rabbitmqctl(&["add_user", RELAY_USER, RELAY_PASSWORD]) {
            assert!(out.contains("already exists"), "add_user: {out}");
        }
        rabbitmqctl(&["set_user_tags", RELAY_USER, "impersonator"])
            .unwrap_or_else(|out| panic!("set_user_tags: {out}"));
    });
}

/// A fresh virtual host, deleted when dropped (also when the test fails).
pub(crate) struct Vhost {
    pub(crate) name: String,
}

impl Vhost {
    pub(crate) async fn create() -> Self {
        let address = broker_address();
        if let Err(e) = tokio::net::TcpStream::connect(&address).await {
            panic!("RabbitMQ at {address} is unreachable ({e}): {START_BROKER}");
        }
        ensure_relay_user();
        let id = uuid::Uuid::now_v7().simple().to_string();
        let name = format!("it-faults-{}", &id[16..]);
        rabbitmqctl(&["add_vhost", &name]).unwrap_or_else(|out| panic!("add_vhost: {out}"));
        let vhost = Self { name };
        for user in ["guest", RELAY_USER] {
            rabbitmqctl(&["set_permissions", "-p", &vhost.name, user, ".*", ".*", ".*"])
                .unwrap_or_else(|out| panic!("set_permissions {user}: {out}"));
        }
        vhost
    }

    pub(crate) fn url(&self, user: &str, password: &str) -> String {
        vhost_url(user, password, &self.name)
    }

    pub(crate) async fn channel(&self) -> (Connection, Channel) {
        let connection = connect(&self.url("guest", "guest"), "it-faults-client")
            .await
            .unwrap_or_else(|e| panic!("cannot reach RabbitMQ ({e}): {START_BROKER}"));
        let channel = connection.create_channel().await.expect("channel");
        (connection, channel)
    }

    /// (ready messages, consumers) of `queue`, `None` while it does not exist.
    pub(crate) async fn queue_counts(&self, queue: &str) -> Option<(u32, u32)> {
        // A failed passive declare closes the channel, so each look gets a fresh one.
        let (connection, channel) = self.channel().await;
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare(queue.into(), passive, Default::default())
            .await;
        connection.close(200, "done".into()).await.ok();
        declared
            .ok()
            .map(|q| (q.message_count(), q.consumer_count()))
    }

    /// Messages in `queue`, ready or delivered and not yet acknowledged.
    pub(crate) fn messages(&self, queue: &str) -> Option<u64> {
        let listed = rabbitmqctl(&[
            "list_queues",
            "-p",
            &self.name,
            "-q",
            "--no-table-headers",
            "name",
            "messages",
        ])
        .unwrap_or_else(|out| panic!("list_queues: {out}"));
        listed.lines().find_map(|line| {
            let (name, messages) = line.split_once('\t')?;
            (name == queue).then(|| messages.trim().parse().ok())?
        })
    }

    /// Publish `(broker user, event)` pairs to ingress with confirms, as the impersonating user.
    pub(crate) async fn publish(&self, messages: Vec<(String, CloudEvent)>) {
        publish(self.url(RELAY_USER, RELAY_PASSWORD), messages).await;
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        if let Err(out) = rabbitmqctl(&["delete_vhost", &self.name]) {
            eprintln!("could not delete vhost {}: {out}", self.name);
        }
    }
}

/// Publish `(broker user, event)` pairs to ingress over one connection, confirms pipelined.
pub(crate) async fn publish(url: String, messages: Vec<(String, CloudEvent)>) {
    let messages: Vec<AsUser> = messages
        .iter()
        .map(|(user, event)| AsUser::new(user, event.event_type.as_str(), event.to_json_bytes()))
        .collect();
    publish_as(&url, "it-faults-publisher", &messages).await;
}

/// Everything taken so far from one queue (consumed: duplicates show up as they arrive).
pub(crate) struct Watch {
    pub(crate) connection: Connection,
    pub(crate) channel: Channel,
    pub(crate) queue: String,
    pub(crate) events: Vec<Value>,
}

impl Watch {
    pub(crate) async fn open(vhost: &Vhost, queue: &str) -> Self {
        let (connection, channel) = vhost.channel().await;
        Self {
            connection,
            channel,
            queue: queue.to_owned(),
            events: Vec::new(),
        }
    }

    /// Take what the queue holds now.
    pub(crate) async fn poll(&mut self) {
        while let Some(message) = self
            .channel
            .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            let event = serde_json::from_slice(&message.delivery.data).expect("a JSON event");
            self.events.push(event);
        }
    }

    /// The `need.status` events taken so far.
    pub(crate) fn statuses(&self) -> impl Iterator<Item = &Value> {
        self.events
            .iter()
            .filter(|e| e["type"] == EventType::NeedStatus.as_str())
    }

    /// Needs with a status in `state`.
    /// Poll until every need in `ids` has a `published` status (an `unmatched` one fails the
    /// test), calling `alive` to check the hub(s) each round; at most 60 s.
    pub(crate) async fn wait_until_published(
        &mut self,
        ids: &BTreeSet<String>,
        mut alive: impl FnMut(),
    ) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            self.poll().await;
            let published = self.subjects_in("published");
            if published.is_superset(ids) {
                return;
            }
            let unmatched = self.subjects_in("unmatched");
            assert!(unmatched.is_empty(), "needs not published: {unmatched:?}");
            alive();
            assert!(
                Instant::now() < deadline,
                "only {} of {} needs published within 60 s",
                published.intersection(ids).count(),
                ids.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn subjects_in(&self, state: &str) -> BTreeSet<String> {
        self.statuses()
            .filter(|e| e["data"]["state"] == state)
            .filter_map(|e| e["subject"].as_str().map(str::to_owned))
            .collect()
    }

    pub(crate) async fn close(self) {
        self.connection.close(200, "done".into()).await.ok();
    }
}
