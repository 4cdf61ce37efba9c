//! A broker user as the management API describes it: enough to tell whether it carries tags,
//! and to put it back without them.
//!
//! Tags are what RabbitMQ grants beyond permissions: `impersonator` may publish with another
//! user's `user_id` (the hub's proof of sender), `administrator` and `management` open the
//! management API. An organisation's user must carry none, so onboarding reads them first.

use std::fmt;

/// A broker user as the management API shows it. `Debug` leaves out the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerUser {
    /// User name.
    pub name: String,
    /// Its tags (`administrator`, `management`, `impersonator`, …); empty for an organisation.
    pub tags: Vec<String>,
    pub(super) password_hash: String,
    pub(super) hashing_algorithm: Option<String>,
}

impl BrokerUser {
    /// RabbitMQ 3.9+ lists tags as an array, older versions as one comma-separated string.
    pub(super) fn from_api(name: &str, body: &serde_json::Value) -> Self {
        let tags: Vec<String> = match &body["tags"] {
            serde_json::Value::Array(tags) => tags
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            serde_json::Value::String(tags) => tags.split(',').map(str::to_owned).collect(),
            _ => Vec::new(),
        };
        Self {
            name: name.to_owned(),
            tags: tags
                .into_iter()
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
            password_hash: body["password_hash"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            hashing_algorithm: body["hashing_algorithm"].as_str().map(str::to_owned),
        }
    }
}

impl fmt::Debug for BrokerUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerUser")
            .field("name", &self.name)
            .field("tags", &self.tags)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tags_are_read_in_both_api_shapes_and_the_hash_is_not_shown() {
        let listed = json!({"tags": ["impersonator", "management"], "password_hash": "h4sh"});
        let user = BrokerUser::from_api("vgr", &listed);
        assert_eq!(user.tags, ["impersonator", "management"]);
        assert!(!format!("{user:?}").contains("h4sh"), "{user:?}");
        let old = BrokerUser::from_api("vgr", &json!({"tags": "administrator, monitoring"}));
        assert_eq!(old.tags, ["administrator", "monitoring"]);
        for none in [json!({"tags": ""}), json!({"tags": []}), json!({})] {
            assert!(BrokerUser::from_api("vgr", &none).tags.is_empty(), "{none}");
        }
    }
}
