//! The in-process broker's state and the RabbitMQ rules it copies: topic and fanout routing,
//! the default exchange, `mandatory`, the quorum queues' delivery limit and dead-lettering.
//!
//! Everything here is synchronous and runs under the broker's one mutex, never across an
//! `.await`, so a delivery can also be settled from `Drop` (an unsettled delivery that is
//! dropped goes back to its queue, as when a RabbitMQ channel closes).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::transport::{ExchangeType, Topology};
use crate::transport::{Inbound, Outbound, TransportError};

/// Header with the reason a message was first dead-lettered (`rejected`, `delivery_limit`),
/// as RabbitMQ sets it.
pub const FIRST_DEATH_REASON_HEADER: &str = "x-first-death-reason";
/// Header with the queue a message was first dead-lettered from.
pub const FIRST_DEATH_QUEUE_HEADER: &str = "x-first-death-queue";
/// Header with the exchange a dead-lettered message was first published to.
pub const FIRST_DEATH_EXCHANGE_HEADER: &str = "x-first-death-exchange";

/// AMQP reply code of a returned (unroutable) mandatory message.
const NO_ROUTE: u16 = 312;
/// AMQP reply code of a publish to an exchange that does not exist.
const NOT_FOUND: u16 = 404;

/// A message waiting in a queue.
#[derive(Debug, Clone)]
pub(super) struct Stored {
    /// What a consumer sees.
    pub inbound: Inbound,
    /// The exchange it was published to (for the dead-letter headers).
    pub exchange: String,
    /// Returns so far (requeues), compared with the queue's delivery limit.
    pub delivery_count: u32,
}

pub(super) struct Queue {
    pub ready: VecDeque<Stored>,
    /// Deliveries handed out and not settled yet (RabbitMQ's `messages_unacknowledged`).
    pub unacked: usize,
    delivery_limit: u32,
    dead_letter_exchange: Option<String>,
    /// Woken on a new message, a settled delivery (a free prefetch slot) and on close.
    pub notify: Arc<Notify>,
}

struct Exchange {
    kind: ExchangeType,
    /// (binding key, queue)
    bindings: Vec<(String, String)>,
}

pub(super) struct State {
    exchanges: HashMap<String, Exchange>,
    pub queues: HashMap<String, Queue>,
    pub closed: bool,
}

/// Why a message leaves its queue for the dead-letter exchange.
#[derive(Debug, Clone, Copy)]
pub(super) enum Death {
    Rejected,
    DeliveryLimit,
}

impl Death {
    fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::DeliveryLimit => "delivery_limit",
        }
    }
}

impl State {
    pub(super) fn new(topology: &Topology) -> Self {
        let mut exchanges: HashMap<String, Exchange> = topology
            .exchanges()
            .iter()
            .map(|e| {
                let exchange = Exchange {
                    kind: e.kind,
                    bindings: Vec::new(),
                };
                (e.name.to_owned(), exchange)
            })
            .collect();
        let mut queues = HashMap::new();
        for spec in topology.queues() {
            for binding in &spec.bindings {
                if let Some(exchange) = exchanges.get_mut(binding.exchange) {
                    exchange
                        .bindings
                        .push((binding.routing_key.clone(), spec.name.clone()));
                }
            }
            let queue = Queue {
                ready: VecDeque::new(),
                unacked: 0,
                delivery_limit: spec.delivery_limit,
                dead_letter_exchange: spec.dead_letter_exchange.map(str::to_owned),
                notify: Arc::new(Notify::new()),
            };
            queues.insert(spec.name.clone(), queue);
        }
        Self {
            exchanges,
            queues,
            closed: false,
        }
    }

    pub(super) fn queue(&mut self, name: &str) -> Result<&mut Queue, TransportError> {
        self.queues
            .get_mut(name)
            .ok_or_else(|| TransportError::UnknownQueue {
                queue: name.to_owned(),
            })
    }

    /// Route a published message (`mandatory`): at least one queue must take it.
    pub(super) fn publish(
        &mut self,
        message: &Outbound,
        user_id: Option<&str>,
    ) -> Result<(), TransportError> {
        let unroutable = |reply_code, reply_text: String| TransportError::Unroutable {
            event_id: message.message_id.clone().unwrap_or_default(),
            exchange: message.exchange.clone(),
            routing_key: message.routing_key.clone(),
            reply_code,
            reply_text,
        };
        if self.closed {
            return Err(TransportError::Closed {
                what: "in-process broker",
            });
        }
        let Some(targets) = self.route(&message.exchange, &message.routing_key) else {
            let text = format!("NOT_FOUND - no exchange '{}'", message.exchange);
            return Err(unroutable(NOT_FOUND, text));
        };
        if targets.is_empty() {
            return Err(unroutable(NO_ROUTE, "NO_ROUTE".to_owned()));
        }
        let stored = Stored {
            inbound: Inbound {
                body: message.body.clone(),
                content_type: message.content_type.clone(),
                headers: message.headers.clone(),
                user_id: user_id.map(str::to_owned),
                message_id: message.message_id.clone(),
                routing_key: message.routing_key.clone(),
                redelivered: false,
                trace: crate::event::Trace::default(),
                replay: None,
            },
            exchange: message.exchange.clone(),
            delivery_count: 0,
        };
        self.enqueue(&targets, &stored);
        Ok(())
    }

    /// The queues `routing_key` reaches through `exchange`, each once; `None` when there is no
    /// such exchange.
    fn route(&self, exchange: &str, routing_key: &str) -> Option<Vec<String>> {
        if exchange.is_empty() {
            // The default exchange: the queue named by the routing key, if there is one.
            let queue = self.queues.contains_key(routing_key);
            return Some(queue.then(|| routing_key.to_owned()).into_iter().collect());
        }
        let exchange = self.exchanges.get(exchange)?;
        let mut targets: Vec<String> = Vec::new();
        for (key, queue) in &exchange.bindings {
            let matches = match exchange.kind {
                ExchangeType::Fanout => true,
                ExchangeType::Topic => topic_matches(key, routing_key),
            };
            if matches && !targets.contains(queue) {
                targets.push(queue.clone());
            }
        }
        Some(targets)
    }

    fn enqueue(&mut self, targets: &[String], stored: &Stored) {
        for name in targets {
            if let Some(queue) = self.queues.get_mut(name) {
                queue.ready.push_back(stored.clone());
                queue.notify.notify_waiters();
            }
        }
    }

    /// Give a delivery back to the head of its queue; past the delivery limit it is
    /// dead-lettered instead (RabbitMQ quorum queues: `delivery_count > x-delivery-limit`).
    pub(super) fn requeue(&mut self, queue_name: &str, mut stored: Stored) {
        stored.delivery_count = stored.delivery_count.saturating_add(1);
        let Some(queue) = self.queues.get_mut(queue_name) else {
            return;
        };
        if stored.delivery_count > queue.delivery_limit {
            self.dead_letter(queue_name, stored, Death::DeliveryLimit);
        } else {
            stored.inbound.redelivered = true;
            queue.ready.push_front(stored);
            queue.notify.notify_waiters();
        }
    }

    /// Move a message to its queue's dead-letter exchange with the original routing key, or
    /// drop it when the queue has none (as RabbitMQ does).
    pub(super) fn dead_letter(&mut self, queue_name: &str, mut stored: Stored, death: Death) {
        let dlx = self
            .queues
            .get(queue_name)
            .and_then(|q| q.dead_letter_exchange.clone());
        let Some(dlx) = dlx else {
            tracing::debug!(
                queue = queue_name,
                event_id = stored.inbound.message_id.as_deref().unwrap_or_default(),
                reason = death.as_str(),
                "message dropped: its queue has no dead-letter exchange"
            );
            return;
        };
        let headers = &mut stored.inbound.headers;
        if !headers.contains_key(FIRST_DEATH_REASON_HEADER) {
            let first = [
                (FIRST_DEATH_REASON_HEADER, death.as_str()),
                (FIRST_DEATH_QUEUE_HEADER, queue_name),
                (FIRST_DEATH_EXCHANGE_HEADER, stored.exchange.as_str()),
            ];
            for (name, value) in first {
                headers.insert(name.to_owned(), value.to_owned());
            }
        }
        let targets = self
            .route(&dlx, &stored.inbound.routing_key)
            .unwrap_or_default();
        if targets.is_empty() {
            tracing::warn!(
                queue = queue_name,
                dead_letter_exchange = %dlx,
                event_id = stored.inbound.message_id.as_deref().unwrap_or_default(),
                "dead letter dropped: its dead-letter exchange routes it nowhere"
            );
            return;
        }
        stored.inbound.redelivered = false;
        stored.delivery_count = 0;
        stored.exchange = dlx;
        self.enqueue(&targets, &stored);
    }
}

/// AMQP topic matching: words separated by `.`, `*` matches exactly one word, `#` zero or more.
pub(crate) fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    matches_words(&pattern, &key)
}

fn matches_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => (0..=key.len()).any(|skip| matches_words(rest, &key[skip..])),
        Some((&word, rest)) => match key.split_first() {
            Some((first, key_rest)) => {
                (word == "*" || word == *first) && matches_words(rest, key_rest)
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn topic_patterns_match_like_rabbitmq() {
        let cases = [
            ("#", "se.samverkan.need.submitted.v1", true),
            ("#", "", true),
            ("VGR.#", "VGR.se.samverkan.need.status.v1", true),
            ("VGR.#", "VGR", true),
            ("VGR.#", "VGRX.a", false),
            ("VGR.#", "KTH.VGR.a", false),
            ("*.a", "x.a", true),
            ("*.a", "a", false),
            ("*.a", "x.y.a", false),
            ("a.*.c", "a.b.c", true),
            ("a.#.c", "a.c", true),
            ("a.#.c", "a.b.b.c", true),
            ("a.#.c", "a.b.b.d", false),
            ("#.c", "a.b.c", true),
            ("a.b", "a.b", true),
            ("a.b", "a.b.c", false),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(topic_matches(pattern, key), expected, "{pattern} vs {key}");
        }
    }
}
