//! `[webhooks]`: how the hub delivers organisations' feeds by signed HTTP POST, and the secret
//! that signs one organisation's webhooks.
//!
//! The per-organisation part (`webhook_url`, `webhook_secret`, `webhook_secret_env`) lives in
//! the `[[organisations]]` tables (`org.rs`); what every webhook shares lives here. Defaults are
//! in `config/default.toml`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::error::SettingsError;
use super::org::Organisation;
use crate::redact::{MALFORMED_HINT, is_well_formed, redact_url};

/// `[webhooks]`: delivery timing, retries, parking and the URL guard.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSettings {
    /// Longest one request (handshake or delivery) may take, in seconds. At least 1.
    pub timeout_secs: u64,
    /// Ceiling of the first retry delay, in milliseconds; doubles per failed attempt (full
    /// jitter) up to `retry_max_secs`. At least 1.
    pub retry_initial_ms: u64,
    /// Longest delay between two attempts at one event, in seconds. At least 1.
    pub retry_max_secs: u64,
    /// How long an event may keep failing, from its first failure, before it is parked and
    /// delivery moves on, in seconds. At least 1.
    pub retry_horizon_secs: u64,
    /// Whether URLs registered through the API may point to loopback, private, link-local or
    /// other non-global addresses (never in production; the operator's configured URLs may
    /// always).
    pub allow_private_urls: bool,
    /// How often an idle dispatcher looks for new events even when nothing in this process
    /// woke it (events committed by another hub instance, registrations), in milliseconds.
    pub poll_interval_ms: u64,
    /// The `WebHook-Request-Origin` the abuse-protection handshake names.
    pub origin: String,
    /// How long a hub instance holds an organisation's delivery before another instance on
    /// the same database may take it over, in seconds; renewed while it works. Must exceed
    /// `timeout_secs` by at least 5.
    pub lease_secs: u64,
}

impl WebhooksSettings {
    /// The request timeout.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The lease on an organisation's delivery.
    #[must_use]
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// The idle poll interval.
    #[must_use]
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        if self.timeout_secs == 0
            || self.retry_initial_ms == 0
            || self.retry_max_secs == 0
            || self.retry_horizon_secs == 0
            || self.poll_interval_ms == 0
        {
            return Err(SettingsError::value(
                "webhooks",
                "timeout_secs, retry_initial_ms, retry_max_secs, retry_horizon_secs and \
                 poll_interval_ms must be at least 1",
            ));
        }
        if self.lease_secs < self.timeout_secs.saturating_add(5) {
            return Err(SettingsError::value(
                "webhooks.lease_secs",
                format!(
                    "{} s is too short: a request may take webhooks.timeout_secs = {} s, and the \
                     lease must outlast it by at least 5 s",
                    self.lease_secs, self.timeout_secs
                ),
            ));
        }
        let origin_ok = !self.origin.is_empty()
            && self.origin.len() <= 255
            && self.origin.bytes().all(|b| b.is_ascii_graphic());
        if !origin_ok {
            return Err(SettingsError::value(
                "webhooks.origin",
                "must be 1 to 255 printable ASCII characters without spaces (a header value)",
            ));
        }
        Ok(())
    }
}

/// The prefix of a Standard Webhooks secret, whose rest is the key in base64.
pub const WHSEC_PREFIX: &str = "whsec_";

/// The shortest signing key accepted from the configuration, in bytes.
const MIN_CONFIG_KEY_BYTES: usize = 16;

/// A webhook signing secret as written (`whsec_…` or any other text). Its `Debug` shows `***`;
/// it is never serialised, logged or printed.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret as written.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The secret as written (to store it; never to show it).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: a `whsec_` secret's base64-decoded rest (Standard Webhooks), otherwise
    /// the secret's UTF-8 bytes.
    ///
    /// # Errors
    ///
    /// When a `whsec_` secret's rest is not base64; the message never contains the secret.
    pub fn key(&self) -> Result<Vec<u8>, &'static str> {
        use base64::Engine as _;
        match self.0.strip_prefix(WHSEC_PREFIX) {
            Some(encoded) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| "a whsec_ secret must be whsec_ followed by standard base64"),
            None => Ok(self.0.as_bytes().to_vec()),
        }
    }

    /// Checks a secret from the configuration: it decodes, and gives at least 16 bytes.
    pub(super) fn validate(&self, key: &str) -> Result<(), SettingsError> {
        let bytes = self.key().map_err(|e| SettingsError::value(key, e))?;
        if bytes.len() < MIN_CONFIG_KEY_BYTES {
            return Err(SettingsError::value(
                key,
                format!("gives a {} byte key: at least 16 are needed", bytes.len()),
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

impl<'de> Deserialize<'de> for WebhookSecret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Replaces each organisation's `webhook_secret_env` by the secret the named variable holds
/// (`lookup` reads the environment the settings were loaded with).
pub(super) fn resolve_secret_envs(
    orgs: &mut [Organisation],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), SettingsError> {
    for (index, org) in orgs.iter_mut().enumerate() {
        let Some(name) = org.webhook_secret_env.as_deref() else {
            continue;
        };
        let key = format!("organisations[{index}].webhook_secret_env");
        if org.webhook_secret.is_some() {
            return Err(SettingsError::value(
                &key,
                format!("`{}` has webhook_secret as well: set one of them", org.id),
            ));
        }
        let secret = lookup(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            SettingsError::value(
                &key,
                format!("`{}`: the environment variable {name:?} is not set", org.id),
            )
        })?;
        org.webhook_secret = Some(WebhookSecret::new(secret));
    }
    Ok(())
}

/// An organisation's configured webhook: an http(s) URL that parses as written, with a secret
/// that decodes; a secret alone is refused (nothing would use it).
pub(super) fn validate_org_webhook(index: usize, org: &Organisation) -> Result<(), SettingsError> {
    let key = |field: &str| format!("organisations[{index}].{field}");
    match (&org.webhook_url, &org.webhook_secret) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(SettingsError::value(
            &key("webhook_secret"),
            format!(
                "`{}` has a webhook secret but no webhook_url: set webhook_url (the partner \
                 registry's webhookUrl is not used)",
                org.id
            ),
        )),
        (Some(_), None) => Err(SettingsError::value(
            &key("webhook_url"),
            format!(
                "`{}` has a webhook_url but no webhook_secret (or webhook_secret_env)",
                org.id
            ),
        )),
        (Some(url), Some(secret)) => {
            let parsed = url::Url::parse(url).ok().filter(|_| is_well_formed(url));
            if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host()) {
                return Err(SettingsError::value(
                    &key("webhook_url"),
                    format!(
                        "{:?} is not an http:// or https:// URL with a host ({MALFORMED_HINT})",
                        redact_url(url)
                    ),
                ));
            }
            secret.validate(&key("webhook_secret"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Settings with one organisation whose table ends with `webhook`, and `env`.
    fn load(webhook: &str, env: &[(&str, &str)]) -> Result<super::super::Settings, SettingsError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orgs.toml");
        let table = format!(
            "[[organisations]]\nid = \"partner-001\"\nkind = \"company\"\n\
             broker_user = \"p1\"\ndisplay_name = \"P1\"\n{webhook}"
        );
        std::fs::write(&path, table).expect("write");
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        super::super::load_from(Some(&path), env)
    }

    #[test]
    fn a_configured_webhook_takes_its_secret_from_the_file_or_a_named_variable() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let inline =
            format!("webhook_url = \"http://127.0.0.1:9/in\"\nwebhook_secret = \"{secret}\"\n");
        let settings = load(&inline, &[]).expect("loads");
        let org = &settings.organisations[0];
        assert_eq!(org.webhook_secret, Some(WebhookSecret::new(secret)));
        assert!(!format!("{settings:?}").contains("MfKQ9r8"));
        let with_token = format!(
            "webhook_url = \"https://u:pw1@h.example/in?token=tk1\"\nwebhook_secret = \"{secret}\"\n"
        );
        let shown = format!("{:?}", load(&with_token, &[]).expect("loads"));
        assert!(!shown.contains("pw1") && !shown.contains("tk1"), "{shown}");
        let named = "webhook_url = \"https://h.example/in\"\nwebhook_secret_env = \"P1_SECRET\"\n";
        let settings = load(named, &[("P1_SECRET", secret)]).expect("loads");
        assert_eq!(
            settings.organisations[0].webhook_secret,
            Some(WebhookSecret::new(secret))
        );
        let unset = load(named, &[])
            .expect_err("the variable is not set")
            .to_string();
        assert!(
            unset.contains("P1_SECRET") && unset.contains("webhook_secret_env"),
            "{unset}"
        );
    }

    #[test]
    fn incomplete_or_malformed_webhooks_are_refused_without_showing_the_secret() {
        for (table, key) in [
            ("webhook_url = \"https://h.example/in\"\n", "webhook_url"),
            (
                "webhook_secret = \"a secret that is long enough\"\n",
                "webhook_secret",
            ),
            (
                "webhook_url = \"ftp://h.example/\"\nwebhook_secret = \"a secret that is long enough\"\n",
                "webhook_url",
            ),
            (
                "webhook_url = \"https://h.example/\"\nwebhook_secret = \"s3cret-short\"\n",
                "webhook_secret",
            ),
        ] {
            let error = load(table, &[]).expect_err(table).to_string();
            assert!(
                error.contains(&format!("organisations[0].{key}")),
                "{error}"
            );
            assert!(
                !error.contains("s3cret") && !error.contains("long enough"),
                "{error}"
            );
        }
        let short_lease = [
            ("SAMVERKAN__WEBHOOKS__TIMEOUT_SECS", "30"),
            ("SAMVERKAN__WEBHOOKS__LEASE_SECS", "30"),
        ];
        let error = load("", &short_lease).expect_err("lease").to_string();
        assert!(error.contains("webhooks.lease_secs"), "{error}");
    }

    #[test]
    fn whsec_secrets_are_base64_others_their_bytes_and_neither_is_shown() {
        let whsec = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(whsec.key().map(|k| k.len()), Ok(24));
        let plain = WebhookSecret::new("a plain secret of some length");
        assert_eq!(
            plain.key().ok(),
            Some(b"a plain secret of some length".to_vec())
        );
        assert!(WebhookSecret::new("whsec_!!").key().is_err());
        assert!(!format!("{whsec:?}").contains("MfKQ"));
        assert!(WebhookSecret::new("short").validate("k").is_err());
        assert!(whsec.validate("k").is_ok());
    }
}
