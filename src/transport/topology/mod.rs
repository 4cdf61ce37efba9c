//! The broker topology as plain data, validated when built.
//!
//! [`Topology`] is a pure description: which exchanges, which quorum queues with which
//! arguments, which bindings. Building it validates the organisation ids (an id becomes a queue
//! name and a routing-key word, so `.`, `*` or `#` in it would let one organisation read
//! another's messages). It prints itself for `samverkan topology`, and [`declare`](super::amqp::declare) makes the
//! broker match it. Declaring is idempotent, so the hub runs it at every start and after every
//! reconnect.
//!
//! ```text
//! organisation ──► samverkan.ingress (topic) ──"#"──► samverkan.hub.ingress ──► hub
//! hub ──► samverkan.egress (topic) ──"<orgId>.#"──► samverkan.org.<orgId> ──► organisation
//! rejected / over the delivery limit ──► samverkan.dlx (fanout) ──► samverkan.hub.dead
//! replay tool ──► (default exchange) ──► samverkan.hub.replay ──► hub
//! ```
//!
//! Every queue is a durable quorum queue with an explicit `x-delivery-limit`: RabbitMQ 3.10 has
//! no limit unless one is set, 4.x drops a message after 20 deliveries unless told otherwise.
//! Setting it ourselves gives the same behaviour on both. The hub's ingress queue and the
//! organisation queues use the configured limit and then dead-letter into `samverkan.dlx`
//! *at least once* (`x-dead-letter-strategy`, which quorum queues support from 3.10 and which
//! requires `x-overflow: reject-publish`), so a poison message is moved, never dropped. The
//! dead-letter queue itself has nowhere further to send a message, so its limit is
//! [`DEAD_QUEUE_DELIVERY_LIMIT`]: dead letters stay until someone handles them.
//!
//! RabbitMQ compares these arguments when a queue is declared again: changing the delivery
//! limit of an existing broker means deleting (after draining) and re-declaring its queues.

use std::collections::BTreeSet;
use std::fmt;

use super::TransportError;
use crate::event::EventType;

/// Topic exchange every organisation publishes to; routing key = event type.
pub const INGRESS_EXCHANGE: &str = "samverkan.ingress";
/// Topic exchange the hub publishes to; routing key = `<orgId>.<event type>`.
pub const EGRESS_EXCHANGE: &str = "samverkan.egress";
/// Fanout exchange that receives dead-lettered messages.
pub const DEAD_LETTER_EXCHANGE: &str = "samverkan.dlx";
/// The quorum queue the hub consumes: everything published to [`INGRESS_EXCHANGE`].
pub const HUB_INGRESS_QUEUE: &str = "samverkan.hub.ingress";
/// The quorum queue that keeps poison and rejected messages, bound to [`DEAD_LETTER_EXCHANGE`].
pub const HUB_DEAD_QUEUE: &str = "samverkan.hub.dead";
/// The quorum queue of replayed dead letters, consumed by the hub beside
/// [`HUB_INGRESS_QUEUE`]: bound to no exchange, written only through the default exchange,
/// which partners may not write to, so what it holds comes from the operator's side.
pub const HUB_REPLAY_QUEUE: &str = "samverkan.hub.replay";
/// Prefix of each organisation's own queue, `samverkan.org.<orgId>`.
pub const ORG_QUEUE_PREFIX: &str = "samverkan.org.";
/// The delivery limit of the hub's ingress queue and the organisation queues unless configured
/// otherwise; the same as `amqp.delivery_limit` in `config/default.toml`.
pub const DEFAULT_DELIVERY_LIMIT: u32 = 5;
/// The delivery limit of [`HUB_DEAD_QUEUE`]: the largest long int, in effect none, so no dead
/// letter is ever dropped (4.x reads `-1` as "unlimited", 3.10 does not define it).
pub const DEAD_QUEUE_DELIVERY_LIMIT: u32 = i32::MAX as u32;
/// Longest organisation id (the `orgId` schema in `schemas/common.v1.json`).
pub const MAX_ORG_ID_LEN: usize = 63;

/// Kind of an exchange in the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeType {
    /// Routes by routing-key pattern (`*` one word, `#` any number).
    Topic,
    /// Routes to every bound queue.
    Fanout,
}

impl ExchangeType {
    /// The AMQP exchange type name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Topic => "topic",
            Self::Fanout => "fanout",
        }
    }
}

/// One durable exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeSpec {
    /// Exchange name.
    pub name: &'static str,
    /// Exchange type.
    pub kind: ExchangeType,
}

/// A binding of a queue to an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The exchange the queue is bound to.
    pub exchange: &'static str,
    /// The binding key (ignored by fanout exchanges; empty there).
    pub routing_key: String,
}

/// One durable quorum queue with its arguments and bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    /// Queue name.
    pub name: String,
    /// `x-delivery-limit`: deliveries after which the broker dead-letters (or drops) a message.
    pub delivery_limit: u32,
    /// `x-dead-letter-exchange`, dead-lettering at least once; `None` for the dead-letter queue
    /// itself (it would loop).
    pub dead_letter_exchange: Option<&'static str>,
    /// Where messages come from.
    pub bindings: Vec<Binding>,
}

/// The whole broker topology for a set of organisations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    org_ids: Vec<String>,
    delivery_limit: u32,
    exchanges: Vec<ExchangeSpec>,
    queues: Vec<QueueSpec>,
}

impl Topology {
    /// The topology for these organisations (duplicates ignored, sorted) with this
    /// `x-delivery-limit` on the hub's ingress queue and the organisation queues.
    ///
    /// Fails on an organisation id outside `^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$` (the `orgId`
    /// schema) and on a delivery limit of 0 or above `i32::MAX`.
    pub fn new(
        org_ids: impl IntoIterator<Item = impl AsRef<str>>,
        delivery_limit: u32,
    ) -> Result<Self, TransportError> {
        if delivery_limit == 0 || i32::try_from(delivery_limit).is_err() {
            return Err(TransportError::InvalidDeliveryLimit {
                limit: delivery_limit,
            });
        }
        let mut ids = BTreeSet::new();
        for id in org_ids {
            let id = id.as_ref();
            validate_org_id(id)?;
            ids.insert(id.to_owned());
        }
        let org_ids: Vec<String> = ids.into_iter().collect();

        let exchanges = vec![
            ExchangeSpec {
                name: INGRESS_EXCHANGE,
                kind: ExchangeType::Topic,
            },
            ExchangeSpec {
                name: EGRESS_EXCHANGE,
                kind: ExchangeType::Topic,
            },
            ExchangeSpec {
                name: DEAD_LETTER_EXCHANGE,
                kind: ExchangeType::Fanout,
            },
        ];
        let mut queues = vec![
            QueueSpec {
                name: HUB_INGRESS_QUEUE.to_owned(),
                delivery_limit,
                dead_letter_exchange: Some(DEAD_LETTER_EXCHANGE),
                bindings: vec![Binding {
                    exchange: INGRESS_EXCHANGE,
                    routing_key: "#".into(),
                }],
            },
            QueueSpec {
                name: HUB_DEAD_QUEUE.to_owned(),
                delivery_limit: DEAD_QUEUE_DELIVERY_LIMIT,
                dead_letter_exchange: None,
                bindings: vec![Binding {
                    exchange: DEAD_LETTER_EXCHANGE,
                    routing_key: String::new(),
                }],
            },
            QueueSpec {
                name: HUB_REPLAY_QUEUE.to_owned(),
                delivery_limit,
                dead_letter_exchange: Some(DEAD_LETTER_EXCHANGE),
                bindings: Vec::new(),
            },
        ];
        queues.extend(org_ids.iter().map(|id| QueueSpec {
            name: Self::org_queue_name(id),
            delivery_limit,
            dead_letter_exchange: Some(DEAD_LETTER_EXCHANGE),
            bindings: vec![Binding {
                exchange: EGRESS_EXCHANGE,
                routing_key: format!("{id}.#"),
            }],
        }));
        Ok(Self {
            org_ids,
            delivery_limit,
            exchanges,
            queues,
        })
    }

    /// The organisation ids, sorted and without duplicates.
    pub(crate) fn org_ids(&self) -> &[String] {
        &self.org_ids
    }

    /// The `x-delivery-limit` of the hub's ingress queue and the organisation queues.
    pub fn delivery_limit(&self) -> u32 {
        self.delivery_limit
    }

    /// The exchanges, in declaration order.
    pub(crate) fn exchanges(&self) -> &[ExchangeSpec] {
        &self.exchanges
    }

    /// The queues, in declaration order: hub ingress, dead letters, replays, then one per
    /// organisation.
    pub fn queues(&self) -> &[QueueSpec] {
        &self.queues
    }

    /// The queue named `name`, if it is part of this topology.
    pub fn queue(&self, name: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.name == name)
    }

    /// The queue of one organisation, if it is part of this topology.
    pub fn org_queue(&self, org_id: &str) -> Option<&QueueSpec> {
        self.queue(&Self::org_queue_name(org_id))
    }

    /// Name of an organisation's queue: `samverkan.org.<orgId>`.
    pub fn org_queue_name(org_id: &str) -> String {
        format!("{ORG_QUEUE_PREFIX}{org_id}")
    }

    /// Routing key for an event the hub sends to an organisation: `<orgId>.<event type>`.
    pub fn egress_routing_key(org_id: &str, event_type: EventType) -> String {
        format!("{org_id}.{}", event_type.as_str())
    }

    /// Routing key for an event an organisation sends to the hub: the event type.
    pub(crate) fn ingress_routing_key(event_type: EventType) -> &'static str {
        event_type.as_str()
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exchanges (durable):")?;
        let width = self
            .exchanges
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(0);
        for e in &self.exchanges {
            writeln!(f, "  {:width$}  {}", e.name, e.kind.as_str())?;
        }
        writeln!(f, "queues (durable, quorum):")?;
        let width = self.queues.iter().map(|q| q.name.len()).max().unwrap_or(0);
        for q in &self.queues {
            let bindings: Vec<String> = q
                .bindings
                .iter()
                .map(|b| match b.routing_key.as_str() {
                    "" => format!("<- {}", b.exchange),
                    key => format!("<- {} \"{key}\"", b.exchange),
                })
                .collect();
            let limit = match (q.delivery_limit, q.dead_letter_exchange) {
                (DEAD_QUEUE_DELIVERY_LIMIT, _) => "no delivery limit".to_owned(),
                (n, Some(dlx)) => format!("dead-lettered to {dlx} after {n} deliveries"),
                (n, None) => format!("dropped after {n} deliveries"),
            };
            let bindings = if bindings.is_empty() {
                "<- (default exchange only)".to_owned()
            } else {
                bindings.join(", ")
            };
            writeln!(f, "  {:width$}  {bindings}; {limit}", q.name)?;
        }
        if self.org_ids.is_empty() {
            writeln!(f, "  (no organisations configured)")?;
        }
        Ok(())
    }
}

/// `^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`: safe as a queue-name suffix and a routing-key word.
fn validate_org_id(id: &str) -> Result<(), TransportError> {
    let ok = id.len() <= MAX_ORG_ID_LEN
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TransportError::InvalidOrgId {
            org_id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
