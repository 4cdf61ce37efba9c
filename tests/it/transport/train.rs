//! `Publish::publish_train` on the real broker: messages handed over while a batch awaits its
//! confirms go out on the same link after it, as part of the same batch — each fate in the
//! order sent, returns matched to the right messages across the whole batch, and the queue
//! holding them in that order.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use samverkan::transport::{
    Consume, Delivery, More, Outbound, Publish, Settle, Shutdown, TransportError,
};

use super::{Rabbit, to_org, with_rabbit};
use crate::test_org;

/// Hands over its groups one at a time, whichever way the publisher asks (while confirms are
/// outstanding, or after), and counts how it was asked.
struct Groups {
    groups: VecDeque<Vec<Outbound>>,
    while_waiting: usize,
    after: usize,
}

impl More for Groups {
    fn try_more(&mut self) -> Option<Vec<Outbound>> {
        let next = self.groups.pop_front();
        self.after += usize::from(next.is_some());
        next
    }

    async fn more(&mut self) -> Vec<Outbound> {
        match self.groups.pop_front() {
            Some(next) => {
                self.while_waiting += 1;
                next
            }
            None => std::future::pending().await,
        }
    }
}

#[tokio::test]
async fn messages_handed_over_during_a_batch_go_out_with_it_in_order_with_their_returns() {
    with_rabbit(async |rabbit: &Rabbit| {
        let publisher = rabbit.publisher().await;
        let nowhere = format!("nobody-{}.x", test_org());
        // Every third message goes nowhere; one ack may confirm messages of the first part
        // and of a part handed over later, so returns must be matched across the batch.
        let all: Vec<Outbound> = (0..300)
            .map(|i| {
                let mut m = to_org(&rabbit.org, &format!("t-{i:03}"));
                if i % 3 == 1 {
                    m.routing_key = nowhere.clone();
                }
                m
            })
            .collect();
        let mut more = Groups {
            groups: VecDeque::from([all[150..225].to_vec(), all[225..].to_vec()]),
            while_waiting: 0,
            after: 0,
        };
        let results = publisher.publish_train(&all[..150], &mut more).await;
        assert_eq!(results.len(), 300, "one fate per message sent");
        assert_eq!(more.while_waiting + more.after, 2, "both groups were taken");
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(()) if i % 3 != 1 => {}
                Err(TransportError::Unroutable { event_id, .. }) if i % 3 == 1 => {
                    assert_eq!(event_id, &format!("t-{i:03}"));
                }
                other => panic!("message {i}: {other:?}"),
            }
        }
        let expected: Vec<String> = (0..300)
            .filter(|i| i % 3 != 1)
            .map(|i| format!("t-{i:03}"))
            .collect();
        assert_eq!(rabbit.ready().await as usize, expected.len());
        let mut consumer = rabbit.consumer(500, Shutdown::never()).await;
        let mut seen = Vec::new();
        while seen.len() < expected.len() {
            let delivery = tokio::time::timeout(Duration::from_secs(20), consumer.next())
                .await
                .expect("a delivery in time")
                .expect("the consumer does not end");
            seen.push(delivery.inbound().message_id.clone().unwrap_or_default());
            delivery.settle(Settle::Ack).await.expect("acked");
        }
        assert_eq!(seen, expected, "in the order sent, each once");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
        eprintln!(
            "groups taken while confirms were outstanding: {}, after: {}",
            more.while_waiting, more.after
        );
        consumer.close().await;
        publisher.close().await;
    })
    .await;
}
