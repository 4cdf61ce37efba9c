//! Broker policies the hub owns: bounds on what its queues may hold.
//!
//! Nothing may grow without bound on a shared broker: one organisation that never consumes, or
//! a partner that keeps sending bad events, must not raise a broker-wide memory or disk alarm
//! that stops every organisation. RabbitMQ fixes a queue's arguments when it is declared
//! (changing them later fails the declaration), so the bounds are policies instead: they apply
//! to existing queues, can change at any time, and work the same on RabbitMQ 3.10 and 4.x
//! quorum queues.
//!
//! - `samverkan-dead-letter-retention` on `samverkan.hub.dead`: `max-length` with `drop-head`
//!   (the oldest dead letters go first) and `message-ttl` (by age). Dead letters are evidence,
//!   kept for a while, not forever.
//! - `samverkan-org-queue-bounds` on every `samverkan.org.<id>`: `max-length` and
//!   `max-length-bytes` with `reject-publish`. A full queue refuses (nacks) the hub's publish,
//!   so the message stays in the outbox and is published once the organisation consumes — the
//!   hub never drops what it owes an organisation. Metrics show it waiting.
//!
//! Only one policy applies to a queue (the one with the highest priority); the hub's have
//! priority 10 and match only its own queues. Limits are set in `[amqp]`, not with policies of
//! one's own.

use serde_json::{Map, Value, json};

use super::{Management, ManagementError, OnboardError, vhost_of};
use crate::settings::{AmqpSettings, Settings};
use crate::transport::HUB_DEAD_QUEUE;

/// Name of the dead-letter retention policy.
pub const DEAD_LETTER_POLICY: &str = "samverkan-dead-letter-retention";
/// Name of the organisation queues' bounds policy.
pub const ORG_QUEUE_POLICY: &str = "samverkan-org-queue-bounds";
/// Pattern of the organisation queues (`samverkan.org.<id>`).
const ORG_QUEUE_PATTERN: &str = "^samverkan\\.org\\.";
/// Priority of the hub's policies: above the default 0 of ad-hoc ones.
const PRIORITY: u32 = 10;

/// How much the dead-letter queue keeps; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Most messages kept; the oldest go first.
    pub max_messages: u64,
    /// Longest a message is kept, in hours.
    pub max_age_hours: u64,
}

/// How much an organisation's queue may hold before the hub's publishes are refused; 0 means
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBounds {
    /// Most messages.
    pub max_messages: u64,
    /// Most bytes of message bodies.
    pub max_bytes: u64,
}

/// The policies as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policies {
    /// Of `samverkan.hub.dead`.
    pub dead_letters: Retention,
    /// Of every `samverkan.org.<id>`.
    pub org_queues: QueueBounds,
}

impl Policies {
    /// The policies `[amqp]` asks for: dead-letter retention, organisation queue bounds.
    #[must_use]
    pub fn from_settings(amqp: &AmqpSettings) -> Self {
        Self {
            dead_letters: Retention {
                max_messages: amqp.dead_letter_max_messages,
                max_age_hours: amqp.dead_letter_max_age_hours,
            },
            org_queues: QueueBounds {
                max_messages: amqp.org_queue_max_messages,
                max_bytes: amqp.org_queue_max_bytes,
            },
        }
    }
}

impl Retention {
    /// The policy definition, or `None` when nothing is limited.
    #[must_use]
    pub fn definition(&self) -> Option<Value> {
        let mut definition = Map::new();
        if self.max_messages > 0 {
            definition.insert("max-length".into(), self.max_messages.into());
            definition.insert("overflow".into(), "drop-head".into());
        }
        if self.max_age_hours > 0 {
            let ms = self.max_age_hours.saturating_mul(3_600_000);
            definition.insert("message-ttl".into(), ms.into());
        }
        (!definition.is_empty()).then_some(Value::Object(definition))
    }

    /// The whole policy as the management API takes it.
    #[must_use]
    pub fn policy(&self) -> Option<Value> {
        let pattern = format!("^{}$", HUB_DEAD_QUEUE.replace('.', "\\."));
        Some(policy(&pattern, self.definition()?))
    }
}

impl QueueBounds {
    /// The policy definition, or `None` when nothing is limited.
    #[must_use]
    pub fn definition(&self) -> Option<Value> {
        let mut definition = Map::new();
        if self.max_messages > 0 {
            definition.insert("max-length".into(), self.max_messages.into());
        }
        if self.max_bytes > 0 {
            definition.insert("max-length-bytes".into(), self.max_bytes.into());
        }
        if definition.is_empty() {
            return None;
        }
        definition.insert("overflow".into(), "reject-publish".into());
        Some(Value::Object(definition))
    }

    /// The whole policy as the management API takes it.
    #[must_use]
    pub fn policy(&self) -> Option<Value> {
        Some(policy(ORG_QUEUE_PATTERN, self.definition()?))
    }
}

fn policy(pattern: &str, definition: Value) -> Value {
    json!({
        "pattern": pattern,
        "apply-to": "queues",
        "priority": PRIORITY,
        "definition": definition,
    })
}

/// Set policy `name` on `vhost`, or remove it when `policy` is `None` (nothing limited).
async fn put_or_remove(
    management: &Management,
    vhost: &str,
    name: &str,
    policy: Option<Value>,
) -> Result<(), ManagementError> {
    match policy {
        Some(policy) => management.put_policy(vhost, name, &policy).await,
        None => management.delete_policy(vhost, name).await.map(drop),
    }
}

/// Set both policies on `vhost`.
pub async fn apply(
    management: &Management,
    vhost: &str,
    policies: Policies,
) -> Result<(), ManagementError> {
    let dead = policies.dead_letters.policy();
    put_or_remove(management, vhost, DEAD_LETTER_POLICY, dead).await?;
    let orgs = policies.org_queues.policy();
    put_or_remove(management, vhost, ORG_QUEUE_POLICY, orgs).await
}

/// The configured policies, on the vhost of `amqp.url`, through `amqp.management_url`.
pub(crate) async fn apply_configured(settings: &Settings) -> Result<Policies, OnboardError> {
    let management = Management::new(&settings.amqp.management_url, &settings.amqp.url)?;
    let vhost = vhost_of(&settings.amqp.url)?;
    let policies = Policies::from_settings(&settings.amqp);
    apply(&management, &vhost, policies).await?;
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_becomes_a_policy_on_exactly_the_dead_letter_queue() {
        let policy = Retention {
            max_messages: 1000,
            max_age_hours: 2,
        }
        .policy()
        .expect("limits");
        assert_eq!(policy["pattern"], "^samverkan\\.hub\\.dead$");
        assert_eq!(policy["apply-to"], "queues");
        assert_eq!(policy["definition"]["max-length"], 1000);
        assert_eq!(policy["definition"]["overflow"], "drop-head");
        assert_eq!(policy["definition"]["message-ttl"], 7_200_000);
    }

    #[test]
    fn full_organisation_queues_refuse_rather_than_drop() {
        let policy = QueueBounds {
            max_messages: 10,
            max_bytes: 1 << 20,
        }
        .policy()
        .expect("limits");
        assert_eq!(policy["pattern"], "^samverkan\\.org\\.");
        assert_eq!(policy["definition"]["overflow"], "reject-publish");
        assert_eq!(policy["definition"]["max-length"], 10);
        assert_eq!(policy["definition"]["max-length-bytes"], 1 << 20);
    }

    #[test]
    fn zero_means_unlimited() {
        let only_age = Retention {
            max_messages: 0,
            max_age_hours: 1,
        };
        let definition = only_age.definition().expect("an age limit");
        assert!(definition.get("max-length").is_none());
        let none = Retention {
            max_messages: 0,
            max_age_hours: 0,
        };
        assert_eq!(none.policy(), None);
        let unbounded = QueueBounds {
            max_messages: 0,
            max_bytes: 0,
        };
        assert_eq!(unbounded.policy(), None);
    }
}
