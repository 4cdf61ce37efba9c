//! Acks after a group commit on the real broker: `Delivery::ack_all` may send one
//! `multiple = true` ack for a run of deliveries, and must never settle a delivery outside the
//! set — one of an earlier batch still running, or one set aside for the single-delivery path —
//! nor settle one twice (RabbitMQ would close the channel with `PRECONDITION_FAILED`).

use std::time::{Duration, Instant};

use samverkan::transport::amqp::{AmqpConsumer, AmqpDelivery};
use samverkan::transport::{Consume, Delivery, Publish, Settle, Shutdown};

use super::{Rabbit, rabbitmqctl, to_org, with_rabbit};

/// Wait until the broker counts `expected` unacknowledged messages in the test's queue.
async fn wait_unacked(rabbit: &Rabbit, expected: u32, step: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = rabbitmqctl(vec![
            "list_queues".into(),
            "-q".into(),
            "--no-table-headers".into(),
            "name".into(),
            "messages_unacknowledged".into(),
        ])
        .await;
        let queue = rabbit.queue();
        let unacked = listed
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .find(|(name, _)| *name == queue)
            .and_then(|(_, count)| count.trim().parse::<u32>().ok());
        if unacked == Some(expected) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{step}: {unacked:?} unacknowledged, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn next(consumer: &mut AmqpConsumer) -> AmqpDelivery {
    tokio::time::timeout(Duration::from_secs(20), consumer.next())
        .await
        .expect("a delivery in time")
        .expect("the consumer does not end")
}

fn id_of(delivery: &AmqpDelivery) -> String {
    delivery.inbound().message_id.clone().unwrap_or_default()
}

#[tokio::test]
async fn acks_together_settle_exactly_their_deliveries_around_open_ones() {
    with_rabbit(async |rabbit: &Rabbit| {
        let (trigger, shutdown) = Shutdown::new();
        let mut consumer = rabbit.consumer(20, shutdown).await;
        let publisher = rabbit.publisher().await;
        let ids: Vec<String> = (1..=10).map(|tag| format!("ack-{tag}")).collect();
        let messages: Vec<_> = ids.iter().map(|id| to_org(&rabbit.org, id)).collect();
        let results = publisher.publish_all(&messages).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let mut got = Vec::new();
        for _ in &ids {
            got.push(next(&mut consumer).await);
        }
        let seen: Vec<String> = got.iter().map(id_of).collect();
        assert_eq!(seen, ids, "one queue, one consumer: in order");
        // Delivery tags 1..=10. Batch A (1–3) is still being written by another worker;
        // batch B (4–8) committed all but 6, which went to the single-delivery path; 9 and 10
        // are a later batch.
        let mut rest = got.split_off(3);
        let a = got;
        let later = rest.split_off(5);
        let aside = rest.remove(2);
        assert_eq!(id_of(&aside), "ack-6");

        // B first: 1 is open, so nothing may be acked with `multiple` on its behalf.
        AmqpDelivery::ack_all(rest).await.expect("B acked");
        wait_unacked(rabbit, 6, "after B (1, 2, 3, 6, 9, 10 open)").await;
        // A: one multiple ack on 3 may cover 1–3, and must stop there.
        AmqpDelivery::ack_all(a).await.expect("A acked");
        wait_unacked(rabbit, 3, "after A (6, 9, 10 open)").await;
        // 6 is given back on its own; then 9 and 10 may be acked together over the settled 7
        // and 8.
        aside.settle(Settle::Requeue).await.expect("6 requeued");
        AmqpDelivery::ack_all(later)
            .await
            .expect("the later batch acked");
        let again = next(&mut consumer).await;
        assert_eq!(id_of(&again), "ack-6");
        assert!(again.inbound().redelivered);
        AmqpDelivery::ack_all(vec![again]).await.expect("6 acked");
        wait_unacked(rabbit, 0, "at the end").await;
        assert_eq!(
            rabbit.ready().await,
            0,
            "nothing left, nothing requeued twice"
        );
        assert_eq!(
            consumer.reconnects(),
            0,
            "no ack closed the channel (a tag settled twice would)"
        );
        trigger.trigger();
        assert!(consumer.next().await.is_none());
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}

/// Acks sent one by one and then, at once, the consumer closed: the broker settles every one
/// (the channel is closed before the connection, so its acks are handled first) and gives
/// nothing back. Closing only the connection once lost an ack on RabbitMQ 4.0.5.
#[tokio::test]
async fn acks_sent_right_before_the_consumer_closes_are_all_settled() {
    with_rabbit(async |rabbit: &Rabbit| {
        const MESSAGES: usize = 300;
        let (trigger, shutdown) = Shutdown::new();
        let mut consumer = rabbit.consumer(MESSAGES as u16, shutdown).await;
        let publisher = rabbit.publisher().await;
        let messages: Vec<_> = (0..MESSAGES)
            .map(|i| to_org(&rabbit.org, &format!("closing-{i}")))
            .collect();
        let results = publisher.publish_all(&messages).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let mut got = Vec::with_capacity(MESSAGES);
        for _ in 0..MESSAGES {
            got.push(next(&mut consumer).await);
        }
        for delivery in got {
            delivery.settle(Settle::Ack).await.expect("acked");
        }
        trigger.trigger();
        consumer.close().await;
        assert_eq!(
            rabbit.ready().await,
            0,
            "every acked message settled, none given back on close"
        );
        publisher.close().await;
    })
    .await;
}
