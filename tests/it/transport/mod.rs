//! Transport tests: the in-process broker's RabbitMQ semantics, the AMQP consumer and
//! publisher against a real RabbitMQ, and their reconnects.
//!
//! The RabbitMQ tests need a broker (`scripts/test` starts one) and fail, never skip, when there
//! is none. Each uses its own organisation (its own queue, deleted at the end, pass or fail) and
//! its own connection name, so tests run in parallel with each other and with a live hub: the
//! reconnect tests close only their own connections (`rabbitmqctl close_connection`, found by
//! the `connection_name` client property), never everyone's.

use std::collections::{BTreeMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use crate::{amqp_url, chain, test_org, topology_for};
use futures_lite::FutureExt as _;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection};
use samverkan::transport::amqp::{
    AmqpConsumer, AmqpPublisher, CloseOutcome, ConsumerConfig, Endpoint, PublisherConfig,
    close_settled_within, close_within, connect,
};
use samverkan::transport::memory::{
    FIRST_DEATH_QUEUE_HEADER, FIRST_DEATH_REASON_HEADER, MemoryBroker,
};
use samverkan::transport::{
    Consume, Delivery, Outbound, Publish, Settle, Shutdown, TransportError,
};
use samverkan::transport::{
    DEAD_LETTER_EXCHANGE, DEFAULT_DELIVERY_LIMIT, EGRESS_EXCHANGE, HUB_DEAD_QUEUE,
    HUB_INGRESS_QUEUE, INGRESS_EXCHANGE, Topology,
};

/// A message for `org`'s queue through the egress exchange (reaching no other queue, unlike
/// ingress, which the hub's own queue takes everything from).
fn to_org(org: &str, id: &str) -> Outbound {
    Outbound {
        exchange: EGRESS_EXCHANGE.to_owned(),
        routing_key: format!("{org}.se.samverkan.need.status.v1"),
        body: format!("{{\"id\":\"{id}\"}}").into_bytes(),
        content_type: Some("application/cloudevents+json".to_owned()),
        message_id: Some(id.to_owned()),
        correlation_id: Some("NEED-2026-0001".to_owned()),
        kind: Some("se.samverkan.need.status.v1".to_owned()),
        headers: BTreeMap::from([("ce-extra".to_owned(), "x".to_owned())]),
    }
}

/// One RabbitMQ test's own organisation, connection name and broker connection (for setup and
/// inspection).
struct Rabbit {
    org: String,
    /// Connection name of the transport objects under test (closed by the reconnect tests).
    name: String,
    admin: Connection,
}

impl Rabbit {
    fn endpoint(&self) -> Endpoint {
        Endpoint::new(amqp_url(), self.name.clone(), topology_for(&self.org))
    }

    fn queue(&self) -> String {
        Topology::org_queue_name(&self.org)
    }

    async fn consumer(&self, prefetch: u16, shutdown: Shutdown) -> AmqpConsumer {
        let config = ConsumerConfig {
            endpoint: self.endpoint(),
            queue: self.queue(),
            prefetch,
        };
        match AmqpConsumer::connect(config, shutdown).await {
            Ok(consumer) => consumer,
            Err(e) => panic!("consumer: {}", chain(&e)),
        }
    }

    async fn publisher(&self) -> AmqpPublisher {
        let config = PublisherConfig::new(self.endpoint());
        match AmqpPublisher::connect(config).await {
            Ok(publisher) => publisher,
            Err(e) => panic!("publisher: {}", chain(&e)),
        }
    }

    /// Messages ready in this test's queue.
    async fn ready(&self) -> u32 {
        let channel = self.admin.create_channel().await.expect("a channel");
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let queue = channel
            .queue_declare(self.queue().into(), passive, FieldTable::default())
            .await
            .expect("the test queue exists");
        let _ = channel.close(200, "done".into()).await;
        queue.message_count()
    }
}

/// Run `body` with a fresh organisation, then delete its queue whatever happened, and only
/// then let a failed assertion fail the test. Fails (never skips) without a broker.
async fn with_rabbit(body: impl AsyncFnOnce(&Rabbit)) {
    let admin = match connect(&amqp_url(), "samverkan-it-transport").await {
        Ok(connection) => connection,
        Err(e) => panic!(
            "the transport tests need RabbitMQ (`scripts/test` starts a local one for you):\n{}",
            chain(&e)
        ),
    };
    let org = test_org();
    let rabbit = Rabbit {
        name: format!("samverkan-it-{org}"),
        org,
        admin,
    };
    let outcome = AssertUnwindSafe(body(&rabbit)).catch_unwind().await;
    let cleanup = async {
        let channel = rabbit.admin.create_channel().await?;
        channel
            .queue_delete(rabbit.queue().into(), QueueDeleteOptions::default())
            .await?;
        rabbit.admin.close(200, "test done".into()).await
    };
    let cleaned = cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    if let Err(e) = cleaned {
        panic!("could not delete the test queue: {}", chain(&e));
    }
}

/// Close every broker connection whose `connection_name` is `name` (and no other), as an
/// operator or a broker restart would; returns how many were closed.
async fn close_connections_named(name: &str) -> usize {
    let pids = connection_pids(name).await;
    close_connections(pids).await
}

/// The broker's ids of the connections named `name` (the `connection_name` client property).
async fn connection_pids(name: &str) -> Vec<String> {
    let listed = rabbitmqctl(vec![
        "list_connections".into(),
        "-q".into(),
        "--no-table-headers".into(),
        "pid".into(),
        "client_properties".into(),
    ])
    .await;
    // client_properties is an Erlang term: [..., {"connection_name","NAME"}, ...]
    let needle = format!("{{\"connection_name\",\"{name}\"}}");
    listed
        .lines()
        .filter(|line| line.contains(&needle))
        .filter_map(|line| line.split('\t').next())
        .map(str::to_owned)
        .collect()
}

async fn close_connections(pids: Vec<String>) -> usize {
    for pid in &pids {
        let reason = "test: simulated broker outage".to_owned();
        rabbitmqctl(vec!["close_connection".into(), pid.clone(), reason]).await;
    }
    pids.len()
}

async fn rabbitmqctl(args: Vec<String>) -> String {
    let run = move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::rabbitmqctl(&args).unwrap_or_else(|out| panic!("rabbitmqctl {args:?}: {out}"))
    };
    tokio::task::spawn_blocking(run)
        .await
        .expect("rabbitmqctl ran")
}

/// Add every message id the consumer yields to `seen` until it holds all of `expected`,
/// acking each; returns how many deliveries that took.
async fn consume_until_seen(
    consumer: &mut AmqpConsumer,
    expected: &HashSet<String>,
    seen: &mut HashSet<String>,
    deadline: Duration,
) -> usize {
    let until = Instant::now() + deadline;
    let mut deliveries = 0;
    while !expected.is_subset(seen) {
        let next = tokio::time::timeout_at(until.into(), consumer.next()).await;
        let delivery = next
            .unwrap_or_else(|_| panic!("saw {} of {} in time", seen.len(), expected.len()))
            .expect("the consumer does not end");
        seen.insert(delivery.inbound().message_id.clone().unwrap_or_default());
        deliveries += 1;
        // A settle may fail after a reconnect; the broker then redelivers.
        let _ = delivery.settle(Settle::Ack).await;
    }
    deliveries
}

#[tokio::test]
async fn an_amqp_round_trip_carries_every_field_and_an_ack_empties_the_queue() {
    with_rabbit(async |rabbit: &Rabbit| {
        let (trigger, shutdown) = Shutdown::new();
        let mut consumer = rabbit.consumer(10, shutdown).await;
        let publisher = rabbit.publisher().await;
        let id = format!("e-{}", uuid::Uuid::now_v7());
        let results = publisher.publish_all(&[to_org(&rabbit.org, &id)]).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");

        // And one published by hand, with a `user_id` (RabbitMQ checks it is the connection's
        // user) and headers of several AMQP types, as other clients send them.
        let channel = rabbit.admin.create_channel().await.unwrap();
        let mut headers = FieldTable::default();
        headers.insert("ce-id".into(), AMQPValue::LongString("bin-1".into()));
        headers.insert("ce-time".into(), AMQPValue::Timestamp(1_767_225_600));
        headers.insert("ce-count".into(), AMQPValue::LongInt(3));
        let properties = BasicProperties::default()
            .with_user_id("guest".into())
            .with_message_id("m-2".into())
            .with_headers(headers);
        let routing_key = format!("{}.x", rabbit.org);
        channel
            .basic_publish(
                EGRESS_EXCHANGE.into(),
                routing_key.as_str().into(),
                BasicPublishOptions::default(),
                b"raw",
                properties,
            )
            .await
            .unwrap();

        let first = consumer.next().await.expect("a delivery");
        let inbound = first.inbound().clone();
        assert_eq!(inbound.message_id.as_deref(), Some(id.as_str()));
        assert_eq!(inbound.body, format!("{{\"id\":\"{id}\"}}").into_bytes());
        assert_eq!(
            inbound.content_type.as_deref(),
            Some("application/cloudevents+json")
        );
        assert_eq!(
            inbound.routing_key,
            format!("{}.se.samverkan.need.status.v1", rabbit.org)
        );
        assert_eq!(inbound.headers["ce-extra"], "x");
        assert_eq!(inbound.user_id, None);
        assert!(!inbound.redelivered);
        first.settle(Settle::Ack).await.unwrap();

        let second = consumer.next().await.expect("a delivery");
        let inbound = second.inbound().clone();
        assert_eq!(inbound.user_id.as_deref(), Some("guest"));
        assert_eq!(inbound.message_id.as_deref(), Some("m-2"));
        assert_eq!(inbound.routing_key, routing_key);
        assert_eq!(inbound.headers["ce-id"], "bin-1");
        assert_eq!(inbound.headers["ce-time"], "2026-01-01T00:00:00Z");
        assert_eq!(inbound.headers["ce-count"], "3");
        // Requeued, it comes back marked; then acked.
        second.settle(Settle::Requeue).await.unwrap();
        let again = consumer.next().await.expect("the requeued delivery");
        assert!(again.inbound().redelivered);
        again.settle(Settle::Ack).await.unwrap();

        assert_eq!(rabbit.ready().await, 0);
        trigger.trigger();
        assert!(
            consumer.next().await.is_none(),
            "shutdown ends the consumer"
        );
        assert_eq!(consumer.reconnects(), 0);
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn unroutable_messages_in_a_pipelined_batch_are_errors_and_only_they() {
    with_rabbit(async |rabbit: &Rabbit| {
        let publisher = rabbit.publisher().await;
        // Every third message goes nowhere; confirms for a batch come back coalesced
        // (`multiple`), so returns must still be matched to the right messages.
        let nowhere = format!("nobody-{}.x", test_org());
        let batch: Vec<Outbound> = (0..300)
            .map(|i| {
                let mut m = to_org(&rabbit.org, &format!("u-{i:03}"));
                if i % 3 == 1 {
                    m.routing_key = nowhere.clone();
                }
                m
            })
            .collect();
        let results = publisher.publish_all(&batch).await;
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(()) if i % 3 != 1 => {}
                Err(
                    e @ TransportError::Unroutable {
                        reply_code: 312,
                        event_id,
                        ..
                    },
                ) if i % 3 == 1 => {
                    assert_eq!(event_id, &format!("u-{i:03}"));
                    assert!(!e.is_transient());
                }
                other => panic!("message {i}: {other:?}"),
            }
        }
        assert_eq!(rabbit.ready().await, 200);
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_batch_sent_in_chunks_arrives_whole_and_in_order() {
    with_rabbit(async |rabbit: &Rabbit| {
        // Windows below, at and above a chunk (64) of frames queued together.
        for window in [5, 64, 256] {
            let mut config = PublisherConfig::new(rabbit.endpoint());
            config.confirm_window = window;
            let publisher = AmqpPublisher::connect(config).await.expect("publisher");
            let batch: Vec<Outbound> = (0..300)
                .map(|i| to_org(&rabbit.org, &format!("w{window}-{i:03}")))
                .collect();
            let results = publisher.publish_all(&batch).await;
            assert!(
                results.iter().all(Result::is_ok),
                "window {window}: {results:?}"
            );
            publisher.close().await;
            let (_trigger, shutdown) = Shutdown::new();
            let mut consumer = rabbit.consumer(500, shutdown).await;
            for i in 0..300 {
                let delivery = consumer.next().await.expect("a delivery");
                let id = delivery.inbound().message_id.clone();
                assert_eq!(id, Some(format!("w{window}-{i:03}")), "window {window}");
                delivery.settle(Settle::Ack).await.expect("acked");
            }
            consumer.close().await;
            assert_eq!(rabbit.ready().await, 0, "window {window}: nothing more");
        }
    })
    .await;
}

#[tokio::test]
async fn rabbitmq_and_the_memory_broker_agree_on_the_delivery_limit() {
    // The hub's ingress queue shares the limit, so the test cannot choose another one.
    const LIMIT: u32 = DEFAULT_DELIVERY_LIMIT;
    // Requeue one message until the queue gives it up; count its deliveries.
    async fn deliveries_until_gone<C: Consume>(consumer: &mut C) -> u32 {
        let mut deliveries = 0;
        let quiet = Duration::from_millis(500);
        while let Ok(Some(delivery)) = tokio::time::timeout(quiet, consumer.next()).await {
            deliveries += 1;
            assert!(
                deliveries <= 2 * LIMIT,
                "the delivery limit is not enforced"
            );
            delivery.settle(Settle::Requeue).await.unwrap();
        }
        deliveries
    }

    let memory = MemoryBroker::new(&topology_for("m"));
    let poison = to_org("m", "poison");
    memory.publisher().publish_all(&[poison]).await;
    let mut consumer = memory.consumer(&Topology::org_queue_name("m"), 1).unwrap();
    let in_memory = deliveries_until_gone(&mut consumer).await;

    with_rabbit(async |rabbit: &Rabbit| {
        let mut consumer = rabbit.consumer(1, Shutdown::never()).await;
        let publisher = rabbit.publisher().await;
        let id = format!("poison-{}", uuid::Uuid::now_v7());
        let results = publisher.publish_all(&[to_org(&rabbit.org, &id)]).await;
        assert!(results[0].is_ok(), "{results:?}");
        let on_rabbitmq = deliveries_until_gone(&mut consumer).await;
        assert_eq!(
            on_rabbitmq, in_memory,
            "RabbitMQ {on_rabbitmq}, memory {in_memory}"
        );
        assert_eq!(in_memory, LIMIT + 1);

        // Take it back out of the shared dead-letter queue (others' dead letters go back when
        // the channel closes).
        let channel = rabbit.admin.create_channel().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = channel
                .basic_get(HUB_DEAD_QUEUE.into(), Default::default())
                .await
                .unwrap();
            match got {
                Some(m)
                    if m.delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|s| s.as_str())
                        == Some(id.as_str()) =>
                {
                    m.delivery.ack(Default::default()).await.unwrap();
                    break;
                }
                Some(_) => {}
                None if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                None => panic!("the message was dropped, not dead-lettered"),
            }
        }
        let _ = channel.close(200, "done".into()).await;
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_consumer_survives_its_connection_being_closed_mid_stream() {
    with_rabbit(async |rabbit: &Rabbit| {
        const N: usize = 1000;
        let publisher = rabbit.publisher().await;
        let batch: Vec<Outbound> = (0..N)
            .map(|i| to_org(&rabbit.org, &format!("c-{i:04}")))
            .collect();
        let results = publisher.publish_all(&batch).await;
        assert!(
            results.iter().all(Result::is_ok),
            "{:?}",
            results.iter().find(|r| r.is_err())
        );
        publisher.close().await;
        let expected: HashSet<String> = batch.iter().filter_map(|m| m.message_id.clone()).collect();

        let started = Instant::now();
        let mut consumer = rabbit.consumer(50, Shutdown::never()).await;
        let mut seen = HashSet::new();
        // Consume 300, keep the 300th unsettled, close the connection under it.
        let held = loop {
            let delivery = consumer.next().await.expect("a delivery");
            seen.insert(delivery.inbound().message_id.clone().unwrap_or_default());
            if seen.len() == 300 {
                break delivery;
            }
            delivery.settle(Settle::Ack).await.unwrap();
        };
        let held_id = held.inbound().message_id.clone().unwrap_or_default();
        let closed = close_connections_named(&rabbit.name).await;
        assert_eq!(closed, 1, "the consumer's connection was found and closed");
        // `close_connection` only asks the connection to close: wait until the broker has
        // closed it, so an ack sent now can no longer count.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !connection_pids(&rabbit.name).await.is_empty() {
            assert!(Instant::now() < deadline, "the broker kept the connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The delivery belongs to the dead channel. Whether the client has read the close
        // yet is a race: settling fails transiently, or the ack goes to a closed connection.
        // Either way the broker still owes the message, so it must come again.
        if let Err(err) = held.settle(Settle::Ack).await {
            assert!(
                matches!(err, TransportError::SettleFailed { .. }),
                "{}",
                chain(&err)
            );
            assert!(err.is_transient());
        }
        seen.remove(&held_id);

        // The same consumer object goes on; every message arrives at least once, the held
        // one again.
        let rest =
            consume_until_seen(&mut consumer, &expected, &mut seen, Duration::from_secs(60)).await;
        assert!(consumer.reconnects() >= 1, "it reconnected");
        eprintln!(
            "consumer reconnect: {N} messages, {} deliveries in {:?}, {} reconnect(s)",
            300 + rest,
            started.elapsed(),
            consumer.reconnects()
        );
        consumer.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_publisher_survives_its_connection_being_closed_mid_batch() {
    with_rabbit(async |rabbit: &Rabbit| {
        const N: usize = 1000;
        let publisher = rabbit.publisher().await;
        let pids = connection_pids(&rabbit.name).await;
        let closer = tokio::spawn(close_connections(pids));

        // Publish batch after batch until the close has happened, so it lands mid-batch.
        let started = Instant::now();
        let mut expected = HashSet::new();
        let (mut failed_first_time, mut retries) = (0, 0);
        for round in 0.. {
            let closer_done = closer.is_finished();
            let batch: Vec<Outbound> = (0..N)
                .map(|i| to_org(&rabbit.org, &format!("p-{round}-{i:04}")))
                .collect();
            expected.extend(batch.iter().filter_map(|m| m.message_id.clone()));
            let mut pending = batch;
            for attempt in 0..50 {
                let results = publisher.publish_all(&pending).await;
                let mut retry = Vec::new();
                for (message, result) in pending.into_iter().zip(results) {
                    match result {
                        Ok(()) => {}
                        Err(e) if e.is_transient() => retry.push(message),
                        Err(e) => panic!("not transient: {}", chain(&e)),
                    }
                }
                if attempt == 0 {
                    failed_first_time += retry.len();
                } else {
                    retries += 1;
                }
                pending = retry;
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(pending.is_empty(), "retrying the failed publishes succeeds");
            if closer_done {
                break;
            }
        }
        assert_eq!(
            closer.await.unwrap(),
            1,
            "the publisher's connection was closed"
        );
        assert!(publisher.reconnects() >= 1, "it reconnected");
        eprintln!(
            "publisher reconnect: {} messages in {:?}; {failed_first_time} failed at first, \
             {retries} retry round(s)",
            expected.len(),
            started.elapsed()
        );

        // Every message is in the queue (some perhaps twice).
        assert!(rabbit.ready().await as usize >= expected.len());
        let mut consumer = rabbit.consumer(500, Shutdown::never()).await;
        let mut seen = HashSet::new();
        consume_until_seen(&mut consumer, &expected, &mut seen, Duration::from_secs(60)).await;
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

mod acks;
mod memory;
mod train;

/// A TCP proxy to the test broker that can stop forwarding in both directions at once, as a
/// broker that hangs (or a network that drops everything) looks to its clients.
struct FreezingProxy {
    url: String,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl FreezingProxy {
    async fn start() -> Self {
        let broker = amqp_url();
        // `amqp://user:password@host:port/vhost`: the proxy takes host:port's place.
        let (scheme_auth, rest) = broker.split_once('@').expect("a URL with credentials");
        let (upstream, vhost) = rest.split_once('/').expect("a URL with a vhost");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let url = format!(
            "{scheme_auth}@{}/{vhost}",
            listener.local_addr().expect("bound")
        );
        let frozen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (upstream, gate) = (upstream.to_owned(), frozen.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let broker = tokio::net::TcpStream::connect(&upstream)
                    .await
                    .expect("the broker");
                let (client_read, client_write) = client.into_split();
                let (broker_read, broker_write) = broker.into_split();
                tokio::spawn(forward(client_read, broker_write, gate.clone()));
                tokio::spawn(forward(broker_read, client_write, gate.clone()));
            }
        });
        Self { url, frozen }
    }

    fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Copy until either side closes; once `frozen`, hold everything (forward nothing more).
async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.load(std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn closing_a_connection_to_a_broker_that_stopped_answering_is_bounded() {
    let proxy = FreezingProxy::start().await;
    let answering = connect(&proxy.url, "samverkan-it-close").await;
    let answering = answering.unwrap_or_else(|e| panic!("connect: {}", chain(&e)));
    let outcome = close_within(&answering, "done", Duration::from_secs(5)).await;
    assert!(matches!(outcome, CloseOutcome::Closed), "{outcome:?}");

    let stalled = connect(&proxy.url, "samverkan-it-close-stalled").await;
    let stalled = stalled.unwrap_or_else(|e| panic!("connect: {}", chain(&e)));
    let with_channel = connect(&proxy.url, "samverkan-it-close-stalled-channel").await;
    let with_channel = with_channel.unwrap_or_else(|e| panic!("connect: {}", chain(&e)));
    let channel = with_channel.create_channel().await.expect("a channel");
    proxy.freeze();
    let started = Instant::now();
    let outcome = close_within(&stalled, "done", Duration::from_millis(300)).await;
    assert!(matches!(outcome, CloseOutcome::TimedOut), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "close waited {:?}",
        started.elapsed()
    );
    // The channel and then the connection, within one bound for both.
    let started = Instant::now();
    let outcome =
        close_settled_within(&with_channel, &channel, "done", Duration::from_millis(300)).await;
    assert!(matches!(outcome, CloseOutcome::TimedOut), "{outcome:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closing the channel and the connection waited {:?}",
        started.elapsed()
    );
}
