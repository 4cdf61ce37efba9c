//! The in-process broker keeps RabbitMQ's rules (see `src/transport/memory/`).

use super::*;

// ---- the in-process broker ----

/// A broker for organisations `VGR` and `VGRX` (a prefix of each other's ids on purpose).
fn memory(delivery_limit: u32) -> MemoryBroker {
    let topology = Topology::new(["VGR", "VGRX"], delivery_limit).expect("valid org ids");
    MemoryBroker::new(&topology)
}

fn to_exchange(exchange: &str, routing_key: &str, id: &str) -> Outbound {
    Outbound {
        exchange: exchange.to_owned(),
        routing_key: routing_key.to_owned(),
        ..to_org("x", id)
    }
}

fn ids(messages: &[samverkan::transport::Inbound]) -> Vec<&str> {
    messages
        .iter()
        .filter_map(|m| m.message_id.as_deref())
        .collect()
}

#[tokio::test]
async fn memory_topic_routing_follows_the_topology() {
    let broker = memory(5);
    let publish = [
        to_exchange(EGRESS_EXCHANGE, "VGR.se.samverkan.need.status.v1", "to-vgr"),
        to_exchange(EGRESS_EXCHANGE, "VGRX.a", "to-vgrx"),
        // `VGR.#` matches `VGR` itself: `#` is zero or more words.
        to_exchange(EGRESS_EXCHANGE, "VGR", "to-vgr-bare"),
        // Ingress is bound with `#`: any key, any number of words.
        to_exchange(INGRESS_EXCHANGE, "se.samverkan.need.submitted.v1", "in-1"),
        to_exchange(INGRESS_EXCHANGE, "", "in-2"),
        // The dead-letter exchange is a fanout: the key does not matter.
        to_exchange(DEAD_LETTER_EXCHANGE, "whatever", "dead-1"),
    ];
    let results = broker.publisher().publish_all(&publish).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let drained = |q: &str| broker.drain(q).unwrap();
    assert_eq!(
        ids(&drained("samverkan.org.VGR")),
        ["to-vgr", "to-vgr-bare"]
    );
    assert_eq!(ids(&drained("samverkan.org.VGRX")), ["to-vgrx"]);
    assert_eq!(ids(&drained(HUB_INGRESS_QUEUE)), ["in-1", "in-2"]);
    assert_eq!(ids(&drained(HUB_DEAD_QUEUE)), ["dead-1"]);
    assert!(matches!(
        broker.queue_len("samverkan.org.KTH"),
        Err(TransportError::UnknownQueue { .. })
    ));
}

#[tokio::test]
async fn memory_unroutable_publishes_are_errors_not_silent_acks() {
    let broker = memory(5);
    let batch = [
        to_exchange(EGRESS_EXCHANGE, "KTH.x", "nobody"),
        to_exchange("samverkan.nowhere", "VGR.x", "no-exchange"),
        to_exchange(EGRESS_EXCHANGE, "VGR.x", "fine"),
    ];
    let results = broker.publisher().publish_all(&batch).await;
    match &results[0] {
        Err(
            e @ TransportError::Unroutable {
                reply_code: 312,
                event_id,
                ..
            },
        ) => {
            assert_eq!(event_id, "nobody");
            assert!(!e.is_transient());
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &results[1],
        Err(TransportError::Unroutable {
            reply_code: 404,
            ..
        })
    ));
    assert!(results[2].is_ok());
    assert_eq!(broker.queue_len("samverkan.org.VGR").unwrap(), 1);
}

#[tokio::test]
async fn memory_publishing_as_an_organisation_sets_user_id() {
    let broker = memory(5);
    let results = broker
        .publisher_as("vgr-broker-user")
        .publish_all(&[to_exchange(
            INGRESS_EXCHANGE,
            "se.samverkan.need.submitted.v1",
            "n-1",
        )])
        .await;
    assert!(results[0].is_ok());
    let delivery = broker.get(HUB_INGRESS_QUEUE).unwrap().expect("a message");
    let inbound = delivery.inbound();
    assert_eq!(inbound.user_id.as_deref(), Some("vgr-broker-user"));
    assert_eq!(inbound.routing_key, "se.samverkan.need.submitted.v1");
    assert_eq!(inbound.headers["ce-extra"], "x");
    delivery.settle(Settle::Ack).await.unwrap();
    assert_eq!(broker.queue_len(HUB_INGRESS_QUEUE).unwrap(), 0);
}

#[tokio::test]
async fn memory_prefetch_bounds_unsettled_deliveries() {
    let broker = memory(5);
    let batch: Vec<Outbound> = (0..10)
        .map(|i| to_exchange(EGRESS_EXCHANGE, "VGR.x", &format!("m-{i}")))
        .collect();
    broker.publisher().publish_all(&batch).await;
    let mut consumer = broker.consumer("samverkan.org.VGR", 3).unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(consumer.next().await.expect("within the prefetch"));
    }
    let blocked = tokio::time::timeout(Duration::from_millis(50), consumer.next()).await;
    assert!(blocked.is_err(), "a fourth unsettled delivery must wait");
    assert_eq!(consumer.unsettled(), 3);
    assert_eq!(broker.unacked("samverkan.org.VGR").unwrap(), 3);
    assert_eq!(broker.queue_len("samverkan.org.VGR").unwrap(), 7);

    // Settling one frees a slot for a consumer already waiting.
    let first = held.remove(0);
    let waiting = tokio::spawn(async move {
        let next = consumer
            .next()
            .await
            .map(|d| d.inbound().message_id.clone());
        (consumer, next)
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.settle(Settle::Ack).await.unwrap();
    let (consumer, next) = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .expect("woken by the settle")
        .unwrap();
    assert_eq!(next.flatten().as_deref(), Some("m-3"));
    // That delivery was dropped unsettled: it went back to the head, marked redelivered.
    drop(held);
    assert_eq!(consumer.unsettled(), 0);
    assert_eq!(broker.unacked("samverkan.org.VGR").unwrap(), 0);
    let head = broker.get("samverkan.org.VGR").unwrap().unwrap();
    assert_eq!(broker.unacked("samverkan.org.VGR").unwrap(), 1);
    assert!(head.inbound().redelivered);
    assert_eq!(head.delivery_count(), 1);
}

#[tokio::test]
async fn memory_requeues_count_towards_the_delivery_limit_then_dead_letter() {
    let broker = memory(2);
    broker
        .publisher()
        .publish_all(&[to_exchange(EGRESS_EXCHANGE, "VGR.x", "poison")])
        .await;
    let mut consumer = broker.consumer("samverkan.org.VGR", 1).unwrap();
    let mut deliveries = 0;
    while broker.queue_len(HUB_DEAD_QUEUE).unwrap() == 0 {
        let delivery = consumer.next().await.unwrap();
        assert_eq!(delivery.inbound().redelivered, deliveries > 0);
        deliveries += 1;
        delivery.settle(Settle::Requeue).await.unwrap();
        assert!(deliveries <= 10, "the delivery limit is not enforced");
    }
    // Like a RabbitMQ quorum queue: dead-lettered once the count exceeds the limit.
    assert_eq!(deliveries, 3);
    assert_eq!(broker.queue_len("samverkan.org.VGR").unwrap(), 0);
    let dead = broker.drain(HUB_DEAD_QUEUE).unwrap();
    assert_eq!(ids(&dead), ["poison"]);
    assert_eq!(dead[0].headers[FIRST_DEATH_REASON_HEADER], "delivery_limit");
    assert_eq!(
        dead[0].headers[FIRST_DEATH_QUEUE_HEADER],
        "samverkan.org.VGR"
    );
    assert!(!dead[0].redelivered);
}

#[tokio::test]
async fn memory_reject_dead_letters_and_the_dead_letter_queue_drops() {
    let broker = memory(5);
    let publisher = broker.publisher();
    publisher
        .publish_all(&[to_exchange(INGRESS_EXCHANGE, "a.b", "bad")])
        .await;
    let delivery = broker.get(HUB_INGRESS_QUEUE).unwrap().unwrap();
    delivery.settle(Settle::Reject).await.unwrap();
    let dead = broker.get(HUB_DEAD_QUEUE).unwrap().expect("rejected → DLX");
    assert_eq!(
        dead.inbound().headers[FIRST_DEATH_REASON_HEADER],
        "rejected"
    );
    assert_eq!(
        dead.inbound().headers[FIRST_DEATH_QUEUE_HEADER],
        HUB_INGRESS_QUEUE
    );
    // The dead-letter queue has no DLX of its own: rejecting there drops, like RabbitMQ.
    dead.settle(Settle::Reject).await.unwrap();
    assert_eq!(broker.queue_len(HUB_DEAD_QUEUE).unwrap(), 0);
    assert_eq!(broker.queue_len(HUB_INGRESS_QUEUE).unwrap(), 0);
}

#[tokio::test]
async fn memory_consumers_end_on_shutdown_or_close() {
    let broker = memory(5);
    let (trigger, shutdown) = Shutdown::new();
    let mut on_signal = broker
        .consumer("samverkan.org.VGR", 5)
        .unwrap()
        .with_shutdown(shutdown);
    let mut on_close = broker.consumer(HUB_INGRESS_QUEUE, 5).unwrap();
    let signalled = tokio::spawn(async move { on_signal.next().await.is_none() });
    let closed = tokio::spawn(async move { on_close.next().await.is_none() });
    tokio::time::sleep(Duration::from_millis(20)).await;
    trigger.trigger();
    assert!(
        signalled.await.unwrap(),
        "the signal ends a waiting consumer"
    );
    assert!(!closed.is_finished(), "but not another one");
    broker.close();
    assert!(closed.await.unwrap(), "closing the broker ends it");
    let late = broker
        .publisher()
        .publish_all(&[to_exchange(EGRESS_EXCHANGE, "VGR.x", "late")])
        .await;
    assert!(matches!(&late[0], Err(e @ TransportError::Closed { .. }) if e.is_transient()));
}
