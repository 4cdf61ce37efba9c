//! Broker policies the hub owns: how long the dead-letter queue keeps what it holds.
//!
//! Dead letters are evidence, but not forever: a partner that keeps sending bad events must
//! not fill the broker's disk and raise an alarm that stops every organisation. RabbitMQ fixes
//! a queue's arguments when it is declared (changing them later fails the declaration), so
//! retention is set with a policy instead: it applies to an existing queue, can change at any
//! time, and works the same on RabbitMQ 3.10 and 4.x quorum queues (`max-length` drops the
//! oldest first, `message-ttl` expires by age).
//!
//! Only one policy applies to a queue (the one with the highest priority); the hub's matches
//! exactly `samverkan.hub.dead` with priority 10. An operator who wants different limits sets
//! them here, in `[amqp]`, not with a policy of their own.

use serde_json::{Value, json};

use super::{Management, ManagementError, OnboardError, vhost_of};
use crate::settings::Settings;
use crate::transport::amqp::HUB_DEAD_QUEUE;

/// Name of the dead-letter retention policy.
pub const DEAD_LETTER_POLICY: &str = "samverkan-dead-letter-retention";
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

impl Retention {
    /// The policy definition, or `None` when nothing is limited.
    #[must_use]
    pub fn definition(&self) -> Option<Value> {
        let mut definition = serde_json::Map::new();
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
        let definition = self.definition()?;
        Some(json!({
            "pattern": format!("^{}$", HUB_DEAD_QUEUE.replace('.', "\\.")),
            "apply-to": "queues",
            "priority": PRIORITY,
            "definition": definition,
        }))
    }
}

/// Set (or, with no limits, remove) the dead-letter retention policy on `vhost`.
pub async fn apply_retention(
    management: &Management,
    vhost: &str,
    retention: Retention,
) -> Result<(), ManagementError> {
    match retention.policy() {
        Some(policy) => {
            management
                .put_policy(vhost, DEAD_LETTER_POLICY, &policy)
                .await
        }
        None => management
            .delete_policy(vhost, DEAD_LETTER_POLICY)
            .await
            .map(drop),
    }
}

/// The configured dead-letter retention, on the vhost of `amqp.url`, through
/// `amqp.management_url`.
pub async fn apply_configured_retention(settings: &Settings) -> Result<Retention, OnboardError> {
    let management = Management::new(&settings.amqp.management_url, &settings.amqp.url)?;
    let vhost = vhost_of(&settings.amqp.url)?;
    let retention = settings.amqp.dead_letter_retention();
    apply_retention(&management, &vhost, retention).await?;
    Ok(retention)
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
    }
}
