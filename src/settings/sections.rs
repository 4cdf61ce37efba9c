//! The `[amqp]`, `[limits]`, `[log]`, `[pii]` and `[store]` sections. Their defaults live in
//! `config/default.toml`, not here.

use std::fmt;

use serde::Deserialize;

use super::SettingsError;
use crate::event::Limits;
use crate::pii::PiiPolicy;
use crate::redact::{MALFORMED_HINT, is_well_formed, redact_url};

/// `[amqp]`: the broker connection and its flow control.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpSettings {
    /// Broker URL, `amqp://user:password@host:port/vhost` (or `amqps://`). Contains a secret.
    pub url: String,
    /// Connection name shown in the management UI.
    pub connection_name: String,
    /// Per-consumer QoS: unacknowledged deliveries in flight. At least 1.
    pub prefetch: u16,
    /// Publishes that may await a publisher confirm at once. At least 1.
    pub confirm_window: usize,
    /// How long one publisher confirm may take before the message counts as lost, in ms.
    pub confirm_timeout_ms: u64,
    /// Quorum queues' `x-delivery-limit`. At least 1.
    pub delivery_limit: u32,
    /// RabbitMQ management HTTP API base URL.
    pub management_url: String,
    /// Most messages `samverkan.hub.dead` keeps (oldest dropped first); 0: no limit.
    pub dead_letter_max_messages: u64,
    /// Longest a dead letter is kept, in hours; 0: no limit.
    pub dead_letter_max_age_hours: u64,
    /// Most messages an organisation's queue holds before the hub's publishes to it are
    /// refused (and wait in the outbox); 0: no limit.
    pub org_queue_max_messages: u64,
    /// Most bytes an organisation's queue holds, likewise; 0: no limit.
    pub org_queue_max_bytes: u64,
}

impl AmqpSettings {
    /// [`url`](Self::url) with its password replaced by `***`, fit for logs and error messages.
    #[must_use]
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if !(self.url.starts_with("amqp://") || self.url.starts_with("amqps://")) {
            return Err(SettingsError::value(
                "amqp.url",
                format!(
                    "{:?} must start with amqp:// or amqps://",
                    self.redacted_url()
                ),
            ));
        }
        if !(self.management_url.starts_with("http://")
            || self.management_url.starts_with("https://"))
        {
            return Err(SettingsError::value(
                "amqp.management_url",
                format!(
                    "{:?} must start with http:// or https://",
                    redact_url(&self.management_url)
                ),
            ));
        }
        well_formed("amqp.url", &self.url)?;
        well_formed("amqp.management_url", &self.management_url)?;
        if self.connection_name.trim().is_empty() {
            return Err(SettingsError::value(
                "amqp.connection_name",
                "must not be empty",
            ));
        }
        if self.prefetch == 0 {
            return Err(SettingsError::value(
                "amqp.prefetch",
                "must be at least 1 (0 would mean unlimited deliveries, without back-pressure)",
            ));
        }
        if self.confirm_window == 0 {
            return Err(SettingsError::value(
                "amqp.confirm_window",
                "must be at least 1",
            ));
        }
        if self.delivery_limit == 0 {
            return Err(SettingsError::value(
                "amqp.delivery_limit",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for AmqpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpSettings")
            .field("url", &self.redacted_url())
            .field("connection_name", &self.connection_name)
            .field("prefetch", &self.prefetch)
            .field("confirm_window", &self.confirm_window)
            .field("confirm_timeout_ms", &self.confirm_timeout_ms)
            .field("delivery_limit", &self.delivery_limit)
            .field("management_url", &redact_url(&self.management_url))
            .field("dead_letter_max_messages", &self.dead_letter_max_messages)
            .field("dead_letter_max_age_hours", &self.dead_letter_max_age_hours)
            .field("org_queue_max_messages", &self.org_queue_max_messages)
            .field("org_queue_max_bytes", &self.org_queue_max_bytes)
            .finish()
    }
}

/// A URL setting must parse as written: a driver given one with an unescaped `?` or `/` in
/// its password would connect somewhere else and may log the misread part.
fn well_formed(key: &'static str, url: &str) -> Result<(), SettingsError> {
    if is_well_formed(url) {
        return Ok(());
    }
    Err(SettingsError::value(
        key,
        format!("{:?} is {MALFORMED_HINT}", redact_url(url)),
    ))
}

/// `[limits]`: input limits for every inbound message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSettings {
    /// Largest accepted body in bytes.
    pub max_message_bytes: usize,
    /// Deepest accepted nesting of JSON arrays and objects.
    pub max_depth: usize,
    /// Most headers accepted on one message.
    pub max_headers: usize,
    /// Largest accepted total of header names and values in bytes.
    pub max_header_bytes: usize,
}

impl LimitsSettings {
    /// The limits the decoder takes.
    #[must_use]
    pub fn to_limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            max_depth: self.max_depth,
            max_headers: self.max_headers,
            max_header_bytes: self.max_header_bytes,
        }
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.max_message_bytes == 0 {
            return Err(SettingsError::value(
                "limits.max_message_bytes",
                "must be at least 1",
            ));
        }
        if self.max_depth == 0 {
            return Err(SettingsError::value(
                "limits.max_depth",
                "must be at least 1",
            ));
        }
        // Binary-mode events carry their attributes in headers; fewer than these cannot
        // hold one.
        if self.max_headers < 16 || self.max_header_bytes < 4096 {
            return Err(SettingsError::value(
                "limits.max_headers",
                "limits.max_headers must be at least 16 and limits.max_header_bytes at least 4096",
            ));
        }
        Ok(())
    }
}

/// `[log]`: what is logged and how.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Filter directives in `RUST_LOG` syntax; the `RUST_LOG` variable wins when set.
    pub level: String,
    /// Line format on stderr.
    pub format: LogFormat,
}

impl LogSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        tracing_subscriber::EnvFilter::try_new(&self.level).map(drop).map_err(|e| {
            SettingsError::value(
                "log.level",
                format!(
                    "{:?} is not a valid filter ({e}); use e.g. `info` or `samverkan=debug,warn`",
                    self.level
                ),
            )
        })
    }
}

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, event fields at the top level.
    Json,
}

/// `[pii]`: what happens to documents with personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PiiSettings {
    /// `reject` (default) or `redact`.
    pub policy: PiiPolicy,
}

/// `[store]`: where the hub keeps its durable state.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    /// `sqlite://PATH` (the embedded default; the file is created if missing), `sqlite::memory:`
    /// (tests, demo) or `postgres://user:password@host:port/database` (several hub instances).
    /// May contain a secret.
    pub url: String,
    /// Most connections the hub opens to the database. At least 1. SQLite always writes
    /// through one connection; this bounds its readers.
    pub max_connections: u32,
}

impl StoreSettings {
    /// [`url`](Self::url) with its password replaced by `***`, fit for logs and error messages.
    #[must_use]
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|scheme| self.url.starts_with(scheme)) {
            return Err(SettingsError::value(
                "store.url",
                format!(
                    "{:?} must start with sqlite:, postgres:// or postgresql://",
                    self.redacted_url()
                ),
            ));
        }
        well_formed("store.url", &self.url)?;
        if self.max_connections == 0 {
            return Err(SettingsError::value(
                "store.max_connections",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("url", &self.redacted_url())
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_format_is_lowercase() {
        let f: Vec<LogFormat> = serde_json::from_str(r#"["text","json"]"#).expect("parses");
        assert_eq!(f, [LogFormat::Text, LogFormat::Json]);
        assert_eq!(LogFormat::default(), LogFormat::Text);
    }
}
