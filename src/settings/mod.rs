//! Layered configuration: embedded defaults → a file → `SAMVERKAN__…` environment.
//!
//! Three layers, each with its own job, later ones winning key by key:
//!
//! 1. **Defaults** (`config/default.toml`, compiled in with `include_str!`). Every key the hub
//!    reads has a value here, so a bare `samverkan` starts against a local broker, and the file
//!    doubles as the commented reference of all settings. Nothing about defaults lives in Rust
//!    code, so the reference cannot drift from what runs.
//! 2. **A file** given by the operator (`--config FILE`): the deployment — which broker, which
//!    organisations (`[[organisations]]` tables; see `config/sample.toml`). A missing or
//!    malformed file is an error naming the file: silently starting on defaults would connect to
//!    the wrong broker with no organisations, which is worse than not starting. Relative paths
//!    in the file (catalogue files) are relative to the file's directory, so the hub finds them
//!    whatever its working directory; paths from the environment or the defaults are relative
//!    to the working directory.
//! 3. **The environment** (`SAMVERKAN__SECTION__KEY`, e.g. `SAMVERKAN__AMQP__URL`,
//!    `SAMVERKAN__AMQP__PREFETCH=100`): per-host overrides and secrets, which belong in the
//!    orchestrator's secret store, not in a file under version control.
//!
//! Unknown keys are errors in every layer (`deny_unknown_fields`), so a typo such as
//! `prefetsh = 10` stops the hub at start instead of being ignored. After deserialisation,
//! [`Settings`] is validated as a whole: organisation ids and broker users are unique (a broker
//! user *is* the sender's identity, so one user mapped to two organisations would make
//! authentication ambiguous) and every organisationsnummer passes the Luhn check.
//!
//! The `config` crate lowercases every key, which is why all keys are snake_case and
//! organisations are an array of tables rather than a map keyed by id.
//!
//! Secrets never reach logs: the [`Debug`] form of [`AmqpSettings`] and [`StoreSettings`] (and
//! so of [`Settings`]) shows URLs as `amqp://user:***@host…` ([`AmqpSettings::redacted_url`],
//! [`StoreSettings::redacted_url`], both [`crate::redact::redact_url`]), because
//! settings get logged at start and in error reports, and log lines travel to places the
//! broker password must not. A URL that does not parse as written (an unescaped `?`, `#` or
//! `/` in a password) is refused at load time, so no driver ever reads it differently.

mod console;
mod error;
mod hub;
mod matching;
mod org;
mod paths;
mod retention;
mod sections;
mod webhooks;

use std::collections::HashMap;
use std::path::Path;

use config::{Config, ConfigError, Environment, File, FileFormat};
use serde::Deserialize;

pub use console::{ConsoleRole, ConsoleSettings, ConsoleUser, MIN_SESSION_KEY_BYTES};
pub use error::SettingsError;
pub use hub::{CatalogueSettings, CourseFile, HttpSettings, HubSettings, RELAY_LEASE_MARGIN};
pub use matching::MatchOptions;
pub use org::{OrgId, OrgIdError, OrgKind, Organisation, UnknownOrgKind};
pub use retention::{MIN_INBOX_DAYS, RetentionSettings};
pub use sections::{
    AmqpSettings, LimitsSettings, LogFormat, LogSettings, PiiSettings, StoreSettings,
};
pub use webhooks::{WHSEC_PREFIX, WebhookSecret, WebhooksSettings};

/// The embedded defaults, the bottom layer.
pub(crate) const DEFAULTS_TOML: &str = include_str!("../../config/default.toml");

/// Prefix of the environment layer's variables.
pub(crate) const ENV_PREFIX: &str = "SAMVERKAN";

/// Separates the prefix, the section and the key in the environment layer's variable names.
pub(crate) const ENV_SEPARATOR: &str = "__";

/// The whole configuration of the hub.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[amqp]`: the broker connection.
    pub amqp: AmqpSettings,
    /// `[limits]`: input limits for every inbound message.
    pub limits: LimitsSettings,
    /// `[log]`: log filter and format.
    pub log: LogSettings,
    /// `[pii]`: what to do with personal data.
    pub pii: PiiSettings,
    /// `[store]`: the database for needs, inbox, outbox and audit trail.
    pub store: StoreSettings,
    /// `[hub]`: workers and retries.
    pub hub: HubSettings,
    /// `[http]`: health, readiness and metrics endpoints.
    pub http: HttpSettings,
    /// `[retention]`: how long sent outbox rows, inbox rows and audit entries are kept.
    pub retention: RetentionSettings,
    /// `[webhooks]`: delivery of organisations' feeds by signed HTTP POST.
    pub webhooks: WebhooksSettings,
    /// `[console]`: the web console and its users.
    pub console: ConsoleSettings,
    /// `[catalogue]`: course and partner files loaded at start.
    #[serde(default)]
    pub catalogue: CatalogueSettings,
    /// `[matching]`: how many recipients, how good a match must be.
    #[serde(default)]
    pub matching: MatchOptions,
    /// `[[organisations]]`: who may connect, and as which broker user.
    #[serde(default)]
    pub organisations: Vec<Organisation>,
}

impl Settings {
    /// The organisation with this id.
    #[must_use]
    pub fn organisation(&self, id: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.id.as_str() == id)
    }

    /// The organisation that connects as this broker user (the AMQP `user_id` of a message).
    #[must_use]
    pub fn organisation_by_broker_user(&self, user: &str) -> Option<&Organisation> {
        self.organisations.iter().find(|o| o.broker_user == user)
    }

    /// Checks what single keys cannot: value ranges, uniqueness, organisationsnummer.
    fn validate(&self) -> Result<(), SettingsError> {
        self.amqp.validate()?;
        self.limits.validate()?;
        self.log.validate()?;
        self.store.validate()?;
        self.hub.validate()?;
        self.http.validate()?;
        self.retention.validate()?;
        self.webhooks.validate()?;
        self.validate_lease()?;
        org::validate_all(&self.organisations)?;
        if self.console.enabled && self.http.address().is_none() {
            return Err(SettingsError::value(
                "console.enabled",
                "the console is served on the [http] listener: set http.listen too",
            ));
        }
        self.console.validate(&self.organisations)
    }

    /// A relay must finish a batch — every confirm included — well within its lease, or a
    /// second relay claims the same rows and publishes them too.
    fn validate_lease(&self) -> Result<(), SettingsError> {
        let margin = u64::try_from(RELAY_LEASE_MARGIN.as_millis()).unwrap_or(1000);
        let lease_ms = self.hub.relay_lease_secs.saturating_mul(1000);
        let needed = self.amqp.confirm_timeout_ms.saturating_add(2 * margin);
        if self.amqp.confirm_timeout_ms == 0 || lease_ms < needed {
            return Err(SettingsError::value(
                "hub.relay_lease_secs",
                format!(
                    "{} s is too short for amqp.confirm_timeout_ms = {}: the lease must be at \
                     least the confirm timeout plus {} ms (and the timeout at least 1 ms)",
                    self.hub.relay_lease_secs,
                    self.amqp.confirm_timeout_ms,
                    2 * margin
                ),
            ));
        }
        Ok(())
    }
}

/// Loads the settings: defaults, then `file` if given, then the process environment.
///
/// # Errors
///
/// When the file is missing, unreadable or not TOML, when a key is unknown or has the wrong
/// type in any layer, or when validation fails; the error names the file or key to fix.
pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
    build(file, environment(), &|name| std::env::var(name).ok())
}

/// Loads the settings from TOML text layered over the defaults, with `env` in place of the
/// process environment (the demo's embedded sample configuration).
///
/// # Errors
///
/// As [`load`].
pub fn load_str(toml: &str, env: HashMap<String, String>) -> Result<Settings, SettingsError> {
    let source = environment().source(Some(env.clone().into_iter().collect()));
    let config = Config::builder()
        .add_source(File::from_str(DEFAULTS_TOML, FileFormat::Toml))
        .add_source(File::from_str(toml, FileFormat::Toml))
        .add_source(source)
        .build()
        .map_err(|e| SettingsError::Invalid {
            layers: "defaults, text".to_owned(),
            detail: detail(&e),
        })?;
    let mut settings: Settings = config
        .try_deserialize()
        .map_err(|e| SettingsError::Invalid {
            layers: "defaults, text".to_owned(),
            detail: detail(&e),
        })?;
    webhooks::resolve_secret_envs(&mut settings.organisations, &|name| env.get(name).cloned())?;
    settings
        .console
        .resolve_envs(&|name| env.get(name).cloned())?;
    settings.validate()?;
    Ok(settings)
}

/// [`load`] with `env` in place of the process environment (for tests): only its
/// `SAMVERKAN__…` entries and the variables named by `webhook_secret_env` are read.
///
/// # Errors
///
/// As [`load`].
pub fn load_from(
    file: Option<&Path>,
    env: HashMap<String, String>,
) -> Result<Settings, SettingsError> {
    let source = environment().source(Some(env.clone().into_iter().collect()));
    build(file, source, &|name| env.get(name).cloned())
}

fn environment() -> Environment {
    Environment::with_prefix(ENV_PREFIX)
        .prefix_separator(ENV_SEPARATOR)
        .separator(ENV_SEPARATOR)
        .try_parsing(true)
}

fn build(
    file: Option<&Path>,
    env: Environment,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, SettingsError> {
    let mut builder = Config::builder().add_source(File::from_str(DEFAULTS_TOML, FileFormat::Toml));
    if let Some(path) = file {
        check_readable(path)?;
        builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    let layers = describe_layers(file);
    let config = builder.add_source(env).build().map_err(|e| match e {
        ConfigError::FileParse {
            uri: Some(_),
            cause,
        } => SettingsError::FileMalformed {
            path: file.map(Path::to_path_buf).unwrap_or_default(),
            detail: cause.to_string(),
        },
        ConfigError::FileParse { uri: None, cause } => SettingsError::Defaults {
            detail: cause.to_string(),
        },
        other => SettingsError::Invalid {
            layers: layers.clone(),
            detail: detail(&other),
        },
    })?;
    let mut settings: Settings = config
        .try_deserialize()
        .map_err(|e| SettingsError::Invalid {
            layers,
            detail: detail(&e),
        })?;
    if let Some(path) = file {
        paths::resolve_against(path, &mut settings.catalogue);
    }
    webhooks::resolve_secret_envs(&mut settings.organisations, lookup)?;
    settings.console.resolve_envs(lookup)?;
    settings.validate()?;
    Ok(settings)
}

/// Fails early, with the path in the message, for a file that is missing or not a file.
fn check_readable(path: &Path) -> Result<(), SettingsError> {
    let meta = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => SettingsError::FileNotFound {
            path: path.to_path_buf(),
        },
        _ => SettingsError::FileUnreadable {
            path: path.to_path_buf(),
            source,
        },
    })?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(SettingsError::FileUnreadable {
            path: path.to_path_buf(),
            source: std::io::Error::other("not a regular file"),
        })
    }
}

/// `config`'s message, with its key paths repaired: it writes an array element's field as
/// `organisations[0]id`, which we show as `organisations[0].id`.
fn detail(e: &ConfigError) -> String {
    let message = e.to_string();
    let Some(start) = message.find("for key `").map(|i| i + "for key `".len()) else {
        return message;
    };
    let end = message[start..]
        .find('`')
        .map_or(message.len(), |i| start + i);
    let mut key = String::with_capacity(end - start + 4);
    let mut after_bracket = false;
    for c in message[start..end].chars() {
        if after_bracket && (c.is_ascii_alphabetic() || c == '_') {
            key.push('.');
        }
        after_bracket = c == ']';
        key.push(c);
    }
    format!("{}{key}{}", &message[..start], &message[end..])
}

fn describe_layers(file: Option<&Path>) -> String {
    match file {
        Some(path) => format!(
            "built-in defaults, then {}, then {ENV_PREFIX}{ENV_SEPARATOR}* environment variables",
            path.display()
        ),
        None => {
            format!("built-in defaults, then {ENV_PREFIX}{ENV_SEPARATOR}* environment variables")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load_and_validate() {
        let s = load_from(None, HashMap::new()).expect("defaults load");
        assert_eq!(s.amqp.prefetch, 500);
        assert!(s.organisations.is_empty());
        assert_eq!(s.limits.to_limits(), crate::event::Limits::default());
    }

    #[test]
    fn unrelated_environment_variables_are_ignored() {
        let env = HashMap::from([
            ("SAMVERKAN_CONFIG".to_owned(), "/nowhere.toml".to_owned()),
            ("PATH".to_owned(), "/usr/bin".to_owned()),
            ("SAMVERKAN__LOG__LEVEL".to_owned(), "debug".to_owned()),
        ]);
        let s = load_from(None, env).expect("loads");
        assert_eq!(s.log.level, "debug");
    }

    #[test]
    fn the_store_defaults_to_a_local_sqlite_file_and_env_overrides_it() {
        let s = load_from(None, HashMap::new()).expect("defaults load");
        assert_eq!(s.store.url, "sqlite://samverkan.db");
        assert_eq!(s.store.max_connections, 8);

        let env = HashMap::from([
            (
                "SAMVERKAN__STORE__URL".to_owned(),
                "postgres://hub:s3cret@db.example:5432/samverkan".to_owned(),
            ),
            (
                "SAMVERKAN__STORE__MAX_CONNECTIONS".to_owned(),
                "20".to_owned(),
            ),
        ]);
        let s = load_from(None, env).expect("loads");
        assert_eq!(
            s.store.url,
            "postgres://hub:s3cret@db.example:5432/samverkan"
        );
        assert_eq!(s.store.max_connections, 20);
        let debug = format!("{s:?}");
        assert!(
            debug.contains("postgres://hub:***@db.example:5432/samverkan"),
            "{debug}"
        );
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn store_settings_are_validated_without_leaking_the_password() {
        for (key, value, names) in [
            (
                "SAMVERKAN__STORE__URL",
                "mysql://root:s3cret@db/x",
                "store.url",
            ),
            (
                "SAMVERKAN__STORE__MAX_CONNECTIONS",
                "0",
                "store.max_connections",
            ),
            (
                "SAMVERKAN__STORE__URL",
                "postgres://hub:pa?s3cret@db/x",
                "store.url",
            ),
            ("SAMVERKAN__AMQP__URL", "amqps//hub:s3cret@mq", "amqp.url"),
            (
                "SAMVERKAN__AMQP__URL",
                "amqp://hub:12/s3cret@mq/%2f",
                "amqp.url",
            ),
            (
                "SAMVERKAN__AMQP__MANAGEMENT_URL",
                "http://admin:x#s3cret@mq:15672",
                "amqp.management_url",
            ),
        ] {
            let env = HashMap::from([(key.to_owned(), value.to_owned())]);
            let message = load_from(None, env).expect_err(value).to_string();
            assert!(message.contains(names), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }

    #[test]
    fn lookups_find_by_id_and_broker_user() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orgs.toml");
        std::fs::write(
            &path,
            "[[organisations]]\nid = \"vgr\"\nkind = \"region\"\nbroker_user = \"vgr-hub\"\n\
             display_name = \"VGR\"\n",
        )
        .expect("write");
        let s = load_from(Some(&path), HashMap::new()).expect("loads");
        assert_eq!(s.organisation("vgr").map(|o| o.kind), Some(OrgKind::Region));
        assert_eq!(
            s.organisation_by_broker_user("vgr-hub")
                .map(|o| o.id.as_str()),
            Some("vgr")
        );
        assert!(s.organisation("vgr-hub").is_none());
        assert!(s.organisation_by_broker_user("vgr").is_none());
    }
}
