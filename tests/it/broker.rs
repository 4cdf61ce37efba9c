//! The AMQP transport against a real RabbitMQ (3.10 from Debian, or 4.x from compose).
//!
//! The broker is required: when it cannot be reached these tests fail and say how to start it
//! (`scripts/test` starts it for you). Point `SAMVERKAN__AMQP__URL` elsewhere to use another
//! broker. Each test uses its own organisation id, so tests run in parallel and against a
//! broker that a hub is using, and deletes that organisation's queue when it ends, pass or fail.

use std::panic::AssertUnwindSafe;

use futures_lite::FutureExt as _;
use lapin::options::{
    BasicAckOptions, BasicGetOptions, BasicNackOptions, ExchangeDeclareOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ExchangeKind};
use samverkan::event::{CloudEvent, EventType, STRUCTURED_CONTENT_TYPE, Source};
use samverkan::transport::amqp::{Publisher, connect, declare, redact_url};
use samverkan::transport::{
    DEAD_LETTER_EXCHANGE, DEFAULT_DELIVERY_LIMIT, EGRESS_EXCHANGE, HUB_DEAD_QUEUE,
    HUB_INGRESS_QUEUE, INGRESS_EXCHANGE, Topology, TransportError,
};
use serde_json::json;

use crate::{amqp_url, chain, test_org, topology_for};

/// A connection to the test broker; fails the test (never skips it) when there is none.
async fn broker() -> Connection {
    match connect(&amqp_url(), "samverkan-it").await {
        Ok(connection) => connection,
        Err(e) => panic!(
            "the broker tests need RabbitMQ (`scripts/test` starts a local one for you):\n{}",
            chain(&e)
        ),
    }
}

/// Run `body` with a connection and a fresh organisation, then delete that organisation's
/// queue whatever happened, and only then let a failed assertion fail the test.
async fn with_org(body: impl AsyncFnOnce(&Connection, &str)) {
    let connection = broker().await;
    let org = test_org();
    let outcome = AssertUnwindSafe(body(&connection, &org))
        .catch_unwind()
        .await;
    let cleanup = async {
        let channel = connection.create_channel().await?;
        channel
            .queue_delete(
                Topology::org_queue_name(&org).into(),
                QueueDeleteOptions::default(),
            )
            .await?;
        connection.close(200, "test done".into()).await
    };
    let cleaned = cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    if let Err(e) = cleaned {
        panic!(
            "could not delete the queue of test organisation {org}: {}",
            chain(&e)
        );
    }
}

fn is_precondition_failed(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e)
        if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED))
}

#[tokio::test]
async fn declaring_the_topology_twice_succeeds_and_creates_quorum_queues() {
    with_org(async |connection: &Connection, org: &str| {
        let topology = topology_for(org);
        let channel = connection.create_channel().await.unwrap();
        for round in ["first", "second"] {
            if let Err(e) = declare(&channel, &topology).await {
                panic!("{round} declaration failed: {}", chain(&e));
            }
        }

        // Everything exists (passive declarations fail with 404 otherwise).
        let passive = ExchangeDeclareOptions {
            passive: true,
            ..Default::default()
        };
        for (name, kind) in [
            (INGRESS_EXCHANGE, ExchangeKind::Topic),
            (EGRESS_EXCHANGE, ExchangeKind::Topic),
            (DEAD_LETTER_EXCHANGE, ExchangeKind::Fanout),
        ] {
            channel
                .exchange_declare(name.into(), kind, passive, FieldTable::default())
                .await
                .unwrap_or_else(|e| panic!("exchange {name} is missing: {}", chain(&e)));
        }
        let org_queue = Topology::org_queue_name(org);
        for name in [HUB_INGRESS_QUEUE, HUB_DEAD_QUEUE, org_queue.as_str()] {
            let options = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            let queue = channel
                .queue_declare(name.into(), options, FieldTable::default())
                .await
                .unwrap_or_else(|e| panic!("queue {name} is missing: {}", chain(&e)));
            if name == org_queue {
                assert_eq!(
                    queue.message_count(),
                    0,
                    "a fresh organisation queue is empty"
                );
            }
        }

        // Each is a quorum queue: the same declaration with `x-queue-type: classic` (every other
        // argument equal) is refused as inequivalent, naming the current type.
        for queue in topology.queues() {
            let probe = connection.create_channel().await.unwrap();
            let mut classic = queue.arguments();
            classic.insert(
                "x-queue-type".into(),
                AMQPValue::LongString("classic".into()),
            );
            let name = queue.name.as_str();
            let err = probe
                .queue_declare(name.into(), QueueDeclareOptions::durable(), classic)
                .await
                .expect_err("re-declaring a quorum queue as classic must fail");
            assert!(is_precondition_failed(&err), "{name}: {}", chain(&err));
            let text = err.to_string();
            assert!(
                text.contains("x-queue-type") && text.contains("quorum"),
                "{name}: {text}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn a_published_event_arrives_in_the_organisation_queue_as_structured_json() {
    with_org(async |connection: &Connection, org: &str| {
        let channel = connection.create_channel().await.unwrap();
        declare(&channel, &topology_for(org)).await.unwrap();
        let publisher = Publisher::open(connection).await.unwrap();

        let need_id = "NEED-2026-0101";
        let data = json!({"needId": need_id, "state": "published"});
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some(need_id.into()),
            data,
        );
        let routing_key = Topology::egress_routing_key(org, EventType::NeedStatus);
        if let Err(e) = publisher
            .publish(EGRESS_EXCHANGE, &routing_key, &event)
            .await
        {
            panic!("publish failed: {}", chain(&e));
        }

        let queue = Topology::org_queue_name(org);
        let message = channel
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
            .expect("the confirmed event is in the organisation's queue");
        let delivery = &message.delivery;
        assert_eq!(delivery.data, event.to_json_bytes());
        assert_eq!(delivery.routing_key.as_str(), routing_key);
        let p = &delivery.properties;
        let text = |v: &Option<lapin::types::ShortString>| v.as_ref().map(|s| s.to_string());
        assert_eq!(
            text(p.content_type()).as_deref(),
            Some(STRUCTURED_CONTENT_TYPE)
        );
        assert_eq!(text(p.message_id()).as_deref(), Some(event.id.as_ref()));
        assert_eq!(text(p.correlation_id()).as_deref(), Some(need_id));
        assert_eq!(text(p.app_id()).as_deref(), Some("samverkan"));
        assert_eq!(
            text(p.kind()).as_deref(),
            Some(EventType::NeedStatus.as_str())
        );
        assert_eq!(p.delivery_mode(), &Some(2));
        assert!(p.timestamp().is_some());
        delivery.ack(BasicAckOptions::default()).await.unwrap();
        assert_eq!(message.message_count, 0, "exactly one message was routed");
    })
    .await;
}

#[tokio::test]
async fn confirms_can_be_pipelined_and_each_resolves() {
    with_org(async |connection: &Connection, org: &str| {
        let channel = connection.create_channel().await.unwrap();
        declare(&channel, &topology_for(org)).await.unwrap();
        let publisher = Publisher::open(connection).await.unwrap();
        let routing_key = Topology::egress_routing_key(org, EventType::NeedStatus);

        let mut pending = Vec::new();
        for i in 0..20 {
            let event = CloudEvent::new(
                EventType::NeedStatus,
                Source::hub(),
                Some(format!("N-{i}")),
                json!({}),
            );
            pending.push(
                publisher
                    .publish_nowait(EGRESS_EXCHANGE, &routing_key, &event)
                    .await
                    .unwrap(),
            );
        }
        for confirm in pending {
            let id = confirm.event_id().to_owned();
            confirm
                .await
                .unwrap_or_else(|e| panic!("event {id}: {}", chain(&e)));
        }
        let options = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let queue = channel
            .queue_declare(
                Topology::org_queue_name(org).into(),
                options,
                FieldTable::default(),
            )
            .await
            .unwrap();
        assert_eq!(queue.message_count(), 20);
    })
    .await;
}

#[tokio::test]
async fn publishing_to_a_routing_key_no_queue_binds_is_an_unroutable_error() {
    with_org(async |connection: &Connection, org: &str| {
        let channel = connection.create_channel().await.unwrap();
        declare(&channel, &topology_for(org)).await.unwrap();
        let publisher = Publisher::open(connection).await.unwrap();

        let nobody = format!("nobody-{}.x", test_org());
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some("N-1".into()),
            json!({}),
        );
        let err = publisher
            .publish(EGRESS_EXCHANGE, &nobody, &event)
            .await
            .expect_err("an unroutable publish must not succeed");
        match &err {
            TransportError::Unroutable {
                event_id,
                routing_key,
                reply_code,
                ..
            } => {
                assert_eq!(event_id, event.id.as_ref());
                assert_eq!(routing_key, &nobody);
                assert_eq!(*reply_code, 312, "NO_ROUTE");
            }
            other => panic!("expected Unroutable, got {}", chain(other)),
        }
        assert!(!err.is_transient());

        // The channel is still usable afterwards.
        let routing_key = Topology::egress_routing_key(org, EventType::NeedStatus);
        publisher
            .publish(EGRESS_EXCHANGE, &routing_key, &event)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_message_past_the_delivery_limit_is_dead_lettered_not_dropped() {
    with_org(async |connection: &Connection, org: &str| {
        let channel = connection.create_channel().await.unwrap();
        let topology = topology_for(org);
        declare(&channel, &topology).await.unwrap();
        let publisher = Publisher::open(connection).await.unwrap();
        let event = CloudEvent::new(
            EventType::NeedStatus,
            Source::hub(),
            Some("N-1".into()),
            json!({}),
        );
        let routing_key = Topology::egress_routing_key(org, EventType::NeedStatus);
        publisher
            .publish(EGRESS_EXCHANGE, &routing_key, &event)
            .await
            .unwrap();

        // A consumer that keeps failing: take the message and requeue it until it is gone.
        let queue = Topology::org_queue_name(org);
        let mut deliveries = 0;
        while let Some(message) = channel
            .basic_get(queue.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            deliveries += 1;
            assert!(
                deliveries <= 2 * DEFAULT_DELIVERY_LIMIT,
                "the delivery limit is not enforced"
            );
            let requeue = BasicNackOptions {
                requeue: true,
                ..Default::default()
            };
            message.delivery.nack(requeue).await.unwrap();
        }
        assert!(
            deliveries >= DEFAULT_DELIVERY_LIMIT,
            "gone after {deliveries} deliveries"
        );

        // It is in the dead-letter queue (dead-lettering is asynchronous: poll). Other dead
        // letters are held unacknowledged meanwhile and requeued when the channel closes.
        let dead = connection.create_channel().await.unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let found = loop {
            let got = dead
                .basic_get(HUB_DEAD_QUEUE.into(), BasicGetOptions::default())
                .await;
            match got.unwrap() {
                Some(m)
                    if m.delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|id| id.as_str())
                        == Some(event.id.as_ref()) =>
                {
                    break m;
                }
                Some(_) => continue,
                None if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                None => panic!("the message was dropped, not dead-lettered"),
            }
        };
        assert_eq!(found.delivery.data, event.to_json_bytes());
        let headers = found
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        let header = |name: &str| match headers.inner().get(name) {
            Some(AMQPValue::LongString(s)) => s.to_string(),
            other => panic!("header {name} is {other:?}"),
        };
        assert_eq!(header("x-first-death-queue"), queue);
        assert_eq!(header("x-first-death-reason"), "delivery_limit");
        found
            .delivery
            .ack(BasicAckOptions::default())
            .await
            .unwrap();
        dead.close(200, "done".into()).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_broker_is_explained_without_the_password() {
    // Port 1 on localhost: nothing listens there, the connection is refused at once.
    let err = connect("amqp://guest:s3cret-pw@127.0.0.1:1/%2f", "samverkan-it")
        .await
        .expect_err("nothing listens on port 1");
    let text = chain(&err);
    assert!(
        matches!(err, TransportError::BrokerUnreachable { .. }),
        "{text}"
    );
    assert!(text.contains("rabbitmq-server -detached"), "{text}");
    assert!(text.contains("docker compose up -d rabbitmq"), "{text}");
    assert!(text.contains("guest:***@127.0.0.1:1"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[tokio::test]
async fn a_wrong_password_is_not_echoed() {
    let url = amqp_url();
    let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) else {
        panic!(
            "SAMVERKAN__AMQP__URL has no user info to tamper with: {}",
            redact_url(&url)
        );
    };
    let wrong = format!(
        "{}guest:wrong-pw-4711{}",
        &url[..scheme_end + 3],
        &url[at..]
    );
    let err = connect(&wrong, "samverkan-it")
        .await
        .expect_err("the password is wrong");
    let text = chain(&err);
    assert!(matches!(err, TransportError::Connect { .. }), "{text}");
    assert!(!text.contains("wrong-pw-4711"), "{text}");
}
