//! Onboarding an organisation on the broker: its RabbitMQ user and least-privilege permissions.
//!
//! Broker users and their permissions are what keep organisations apart (DESIGN.md §3): the
//! hub trusts the AMQP `user_id` of a message because RabbitMQ checks it against the
//! connection's user, and an organisation must not be able to read another's queue or publish
//! as the hub. So each organisation gets exactly
//!
//! | permission  | pattern                       | allows                                   |
//! |-------------|-------------------------------|------------------------------------------|
//! | `configure` | `^$`                          | nothing: the hub declares the topology   |
//! | `write`     | `^samverkan\.ingress$`        | publishing to the ingress exchange only  |
//! | `read`      | `^samverkan\.org\.<id>$`      | consuming its own queue only             |
//!
//! on the vhost of `amqp.url`. [`plan`] computes that from the configuration (pure);
//! [`apply`] creates or updates it through the RabbitMQ management HTTP API
//! (`amqp.management_url`, see [`management`]). Applying is idempotent: an existing user keeps
//! its password unless a reset is asked for, and its permissions are set again.

pub mod management;

use std::fmt;

use lapin::uri::AMQPUri;
use serde::Serialize;

use crate::settings::{Organisation, Settings};
use crate::transport::amqp::{INGRESS_EXCHANGE, Topology};
pub use management::{Credentials, Management, ManagementError};

/// What an organisation may do on the broker, as RabbitMQ permission patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permissions {
    /// Resources it may declare or delete.
    pub configure: String,
    /// Exchanges it may publish to.
    pub write: String,
    /// Queues it may consume from.
    pub read: String,
}

/// The broker account of one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The organisation's id.
    pub org: String,
    /// Its RabbitMQ user (`broker_user` in the configuration).
    pub user: String,
    /// The vhost the hub runs on.
    pub vhost: String,
    /// What it may do there.
    #[serde(flatten)]
    pub permissions: Permissions,
}

/// Where a new user's password comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// A fresh random password per user, reported once in [`Onboarded::password`].
    Generate,
    /// This password for every user created (e.g. read from stdin).
    Given(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Generate => f.write_str("Generate"),
            Self::Given(_) => f.write_str("Given(***)"),
        }
    }
}

/// What [`apply`] did for one organisation.
#[derive(Debug, Clone, Serialize)]
pub struct Onboarded {
    /// The account and its permissions.
    #[serde(flatten)]
    pub grant: Grant,
    /// Whether the user was created now (false: it existed and kept its password).
    pub created: bool,
    /// Whether an existing user's password was replaced.
    pub password_reset: bool,
    /// A generated password, to hand to the organisation once. Never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// Why onboarding could not be planned or applied.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    /// An id given on the command line is not in `[[organisations]]`.
    #[error("organisation `{0}` is not configured (see [[organisations]] in the configuration)")]
    UnknownOrganisation(String),
    /// Nothing to onboard.
    #[error("no organisations are configured (see [[organisations]] in the configuration)")]
    NoOrganisations,
    /// `amqp.url` does not parse.
    #[error("amqp.url is not a valid AMQP URL: {0}")]
    AmqpUrl(String),
    /// The management API refused or failed.
    #[error(transparent)]
    Management(#[from] ManagementError),
}

/// The grants for `ids` (all configured organisations when empty), on the vhost of `amqp.url`.
pub fn plan(settings: &Settings, ids: &[String]) -> Result<Vec<Grant>, OnboardError> {
    let vhost = vhost_of(&settings.amqp.url)?;
    let orgs: Vec<&Organisation> = if ids.is_empty() {
        settings.organisations.iter().collect()
    } else {
        ids.iter()
            .map(|id| {
                settings
                    .organisation(id)
                    .ok_or_else(|| OnboardError::UnknownOrganisation(id.clone()))
            })
            .collect::<Result<_, _>>()?
    };
    if orgs.is_empty() {
        return Err(OnboardError::NoOrganisations);
    }
    Ok(orgs.into_iter().map(|org| grant(org, &vhost)).collect())
}

/// The least-privilege grant of one organisation.
#[must_use]
pub fn grant(org: &Organisation, vhost: &str) -> Grant {
    Grant {
        org: org.id.as_str().to_owned(),
        user: org.broker_user.clone(),
        vhost: vhost.to_owned(),
        permissions: Permissions {
            configure: "^$".to_owned(),
            write: exactly(INGRESS_EXCHANGE),
            read: exactly(&Topology::org_queue_name(org.id.as_str())),
        },
    }
}

/// Create or update each grant's user and permissions through the management API.
///
/// Users that exist keep their password unless `reset_password`; new users get `password`.
pub async fn apply(
    management: &Management,
    grants: Vec<Grant>,
    password: &Password,
    reset_password: bool,
) -> Result<Vec<Onboarded>, OnboardError> {
    let mut done = Vec::with_capacity(grants.len());
    for grant in grants {
        let exists = management.user_exists(&grant.user).await?;
        let set_password = !exists || reset_password;
        let mut generated = None;
        if set_password {
            let secret = match password {
                Password::Given(secret) => secret.clone(),
                Password::Generate => generated.insert(random_password()).clone(),
            };
            management.put_user(&grant.user, &secret).await?;
        }
        management
            .put_permissions(&grant.vhost, &grant.user, &grant.permissions)
            .await?;
        tracing::info!(org = %grant.org, user = %grant.user, created = !exists, "organisation onboarded on the broker");
        done.push(Onboarded {
            created: !exists,
            password_reset: exists && reset_password,
            password: generated,
            grant,
        });
    }
    Ok(done)
}

/// The vhost named by an AMQP URL (`%2f` and an empty path are `/`).
pub fn vhost_of(amqp_url: &str) -> Result<String, OnboardError> {
    let uri: AMQPUri = amqp_url
        .parse()
        .map_err(|_| OnboardError::AmqpUrl(crate::redact::redact_url(amqp_url)))?;
    Ok(uri.vhost)
}

/// A regex matching exactly `name`.
fn exactly(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len() + 8);
    pattern.push('^');
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' && c != '-' {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('$');
    pattern
}

/// 244 random bits, hex: two v4 UUIDs from the operating system's generator.
fn random_password() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_exactly_one_name() {
        assert_eq!(exactly("samverkan.ingress"), r"^samverkan\.ingress$");
        assert_eq!(exactly("samverkan.org.VGR"), r"^samverkan\.org\.VGR$");
        assert_eq!(
            exactly("samverkan.org.partner-001"),
            r"^samverkan\.org\.partner-001$"
        );
    }

    #[test]
    fn the_vhost_comes_from_the_amqp_url() {
        let vhost = |url: &str| vhost_of(url).expect("parses");
        assert_eq!(vhost("amqp://guest:guest@127.0.0.1:5672/%2f"), "/");
        assert_eq!(vhost("amqp://guest:guest@127.0.0.1:5672"), "/");
        assert_eq!(vhost("amqp://u:p@host/samverkan"), "samverkan");
        let error = vhost_of("amqp://u:secret@host:notaport/x").expect_err("bad port");
        assert!(!error.to_string().contains("secret"), "{error}");
    }

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (random_password(), random_password());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn a_given_password_is_not_shown_by_debug() {
        let shown = format!("{:?}", Password::Given("hemligt".into()));
        assert!(!shown.contains("hemligt"), "{shown}");
    }
}
