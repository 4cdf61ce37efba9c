//! `[hub]`, `[catalogue]` and `[matching]`: how the running hub works through its queue and
//! where its reference data comes from.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::SettingsError;
use super::org::OrgId;

/// How much shorter than its lease a relay's publishing must be: what is left of the lease
/// when the publish deadline passes is for marking the rows, before another relay may claim
/// them. Settings check `hub.relay_lease_secs` against it; the outbox relay applies it.
pub const RELAY_LEASE_MARGIN: Duration = Duration::from_secs(1);

/// `[hub]`: the worker loop, the close timer and the outbox relay.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSettings {
    /// Batches of deliveries admitted at the same time (decoding, schemas, PII guard,
    /// matching); one writer merges what they admitted into each transaction. At least 1.
    pub workers: usize,
    /// Most deliveries in one batch (one store transaction, one commit). 1 handles each
    /// delivery in its own transaction. At least 1.
    pub batch_max: usize,
    /// How long a batch waits, after its first delivery, for more to arrive, in milliseconds;
    /// 0 takes only what is already there. Waited only while another batch is being handled,
    /// unless [`batch_window_when_idle`](Self::batch_window_when_idle).
    pub batch_window_ms: u64,
    /// Whether a batch waits out `batch_window_ms` even when no other batch is being handled.
    /// Off: an idle hub writes what has arrived at once (the window only adds latency while
    /// nothing else holds the store); on: every batch waits, for the largest batches.
    pub batch_window_when_idle: bool,
    /// Attempts at a delivery whose store transaction fails transiently before it is given up
    /// as `retries_exhausted`. At least 1.
    pub max_attempts: u32,
    /// First retry delay in milliseconds; doubles per attempt.
    pub retry_base_ms: u64,
    /// How often the close timer looks for needs past respond-by, in seconds.
    pub timer_interval_secs: u64,
    /// How long the outbox relay holds the rows it claimed, in seconds: other relays on the
    /// same database skip them meanwhile, and rows a killed hub claimed but never confirmed are
    /// published again after at most this long. At least 1; publishing one batch must take
    /// well less.
    pub relay_lease_secs: u64,
    /// Most bytes (bodies and headers) the relay claims at a time, besides at most
    /// `amqp.confirm_window` rows; a single larger row is still taken alone. At least 1.
    pub relay_batch_bytes: usize,
    /// Failed attempts after which a row the broker keeps refusing (unroutable, nacked, its
    /// publish closing the channel) is parked. Broker outages do not count. At least 2.
    pub relay_max_attempts: u32,
    /// First delay before a refused row is tried again, in milliseconds; doubles per attempt,
    /// jittered. At least 1.
    pub relay_retry_initial_ms: u64,
    /// Longest delay between attempts at one row, in seconds. At least 1.
    pub relay_retry_max_secs: u64,
    /// Largest body the relay publishes, in bytes; a larger row is parked as `body_too_large`.
    /// Keep it at or below the broker's `max_message_size` (RabbitMQ 4: 16 MiB). At least 1.
    pub relay_max_message_bytes: usize,
    /// Pin the hub's clock to noon UTC of this date (`YYYY-MM-DD`) instead of the system clock:
    /// for demonstrations and tests against the sample data, whose intake windows and deadlines
    /// are fixed dates. Never set it in production.
    #[serde(default)]
    pub fixed_date: Option<String>,
}

impl HubSettings {
    /// The pinned date, if [`fixed_date`](Self::fixed_date) is set.
    pub(crate) fn pinned_date(&self) -> Option<time::Date> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        self.fixed_date
            .as_deref()
            .and_then(|d| time::Date::parse(d, format).ok())
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.fixed_date.is_some() && self.pinned_date().is_none() {
            return Err(SettingsError::value(
                "hub.fixed_date",
                "must be a date, YYYY-MM-DD".to_owned(),
            ));
        }
        if self.workers == 0
            || self.batch_max == 0
            || self.max_attempts == 0
            || self.timer_interval_secs == 0
            || self.relay_lease_secs == 0
        {
            return Err(SettingsError::value(
                "hub",
                "workers, batch_max, max_attempts, timer_interval_secs and relay_lease_secs \
                 must be at least 1"
                    .to_owned(),
            ));
        }
        if self.relay_batch_bytes == 0
            || self.relay_retry_initial_ms == 0
            || self.relay_retry_max_secs == 0
            || self.relay_max_message_bytes == 0
        {
            return Err(SettingsError::value(
                "hub",
                "relay_batch_bytes, relay_retry_initial_ms, relay_retry_max_secs and \
                 relay_max_message_bytes must be at least 1"
                    .to_owned(),
            ));
        }
        if self.relay_max_attempts < 2 {
            return Err(SettingsError::value(
                "hub.relay_max_attempts",
                "must be at least 2: a row is parked only after a retry of its own".to_owned(),
            ));
        }
        Ok(())
    }

    /// How long the relay waits before the first retry of a refused row.
    #[must_use]
    pub(crate) fn relay_retry_initial(&self) -> Duration {
        Duration::from_millis(self.relay_retry_initial_ms)
    }

    /// How long a batch waits for more deliveries after its first.
    #[must_use]
    pub(crate) fn batch_window(&self) -> Duration {
        Duration::from_millis(self.batch_window_ms)
    }

    /// The longest wait between attempts at one row.
    #[must_use]
    pub(crate) fn relay_retry_max(&self) -> Duration {
        Duration::from_secs(self.relay_retry_max_secs)
    }
}

/// `[catalogue]`: reference data loaded at start (events keep it current afterwards).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSettings {
    /// `[[catalogue.courses]]`: a university's course catalogue file.
    #[serde(default)]
    pub courses: Vec<CourseFile>,
    /// Partner registry files (`partner-registry.json` format); relative paths as for
    /// [`CourseFile::path`].
    #[serde(default)]
    pub partner_registries: Vec<PathBuf>,
}

/// One course catalogue file and the university it belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourseFile {
    /// The university's organisation id.
    pub org: OrgId,
    /// The file. A relative path set in a configuration file is relative to that file's
    /// directory; one set in the environment, to the working directory.
    pub path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub() -> HubSettings {
        HubSettings {
            workers: 8,
            batch_max: 128,
            batch_window_ms: 2,
            batch_window_when_idle: false,
            max_attempts: 5,
            retry_base_ms: 50,
            timer_interval_secs: 60,
            relay_lease_secs: 10,
            relay_batch_bytes: 8 << 20,
            relay_max_attempts: 10,
            relay_retry_initial_ms: 1000,
            relay_retry_max_secs: 300,
            relay_max_message_bytes: 16 << 20,
            fixed_date: None,
        }
    }

    #[test]
    fn a_relay_lease_of_zero_is_refused() {
        assert!(hub().validate().is_ok());
        let zero = HubSettings {
            relay_lease_secs: 0,
            ..hub()
        };
        let err = zero.validate().expect_err("a zero lease");
        assert!(err.to_string().contains("relay_lease_secs"), "{err}");
    }

    #[test]
    fn a_relay_that_would_park_on_the_first_failure_or_claim_nothing_is_refused() {
        let once = HubSettings {
            relay_max_attempts: 1,
            ..hub()
        };
        let err = once.validate().expect_err("one attempt");
        assert!(err.to_string().contains("relay_max_attempts"), "{err}");
        let no_bytes = HubSettings {
            relay_batch_bytes: 0,
            ..hub()
        };
        let err = no_bytes.validate().expect_err("no bytes");
        assert!(err.to_string().contains("relay_batch_bytes"), "{err}");
        assert_eq!(hub().relay_retry_max(), Duration::from_secs(300));
    }
}

/// `[http]`: the operators' HTTP surface (`/healthz`, `/readyz`, `/metrics`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// `host:port` to listen on, e.g. `0.0.0.0:9464`; empty (the default) turns it off.
    pub listen: String,
}

impl HttpSettings {
    /// The address to listen on, `None` when off.
    #[must_use]
    pub fn address(&self) -> Option<std::net::SocketAddr> {
        self.listen.trim().parse().ok()
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.listen.trim().is_empty() || self.address().is_some() {
            return Ok(());
        }
        Err(SettingsError::value(
            "http.listen",
            format!(
                "{:?} is not host:port (e.g. 0.0.0.0:9464), or empty to turn it off",
                self.listen
            ),
        ))
    }
}
