//! Onboarding an organisation on the broker: its RabbitMQ user and least-privilege permissions.
//!
//! Broker users and their permissions are what keep organisations apart: the
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
//! (`amqp.management_url`, see `management`). Applying is idempotent: an existing user keeps
//! its password unless a reset is asked for, and its permissions are set again.
//!
//! Permissions are not all a user can have: RabbitMQ *tags* grant more (`impersonator` may
//! publish with another user's `user_id`, which is the hub's proof of sender; `administrator`
//! and `management` open the management API). New users get none. An existing user that
//! carries tags is refused, before anything is changed, unless [`Existing::reset_tags`] says
//! to remove them — taking someone's administrator tag away silently could lock out a person,
//! keeping it would break isolation. One given password is for one user only
//! ([`check_given_password`]): handing several organisations the same secret lets each log in
//! as the others.

mod credentials;
pub(crate) mod management;
pub mod policy;
mod setup;
mod user;

use std::fmt;

use lapin::uri::AMQPUri;
use serde::Serialize;

use crate::settings::{Organisation, Settings};
use crate::transport::{INGRESS_EXCHANGE, Topology};
pub use management::{BrokerUser, Credentials, Management, ManagementError};
pub use setup::{apply, check_given_password};

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

/// How [`apply`] treats broker users that already exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Existing {
    /// Replace their password.
    pub reset_password: bool,
    /// Remove their tags; without it a user that carries tags is refused.
    pub reset_tags: bool,
}

impl Existing {
    /// Replace password and tags: for users only the hub and its tests hand out.
    #[must_use]
    pub const fn reset_all() -> Self {
        Self {
            reset_password: true,
            reset_tags: true,
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
    /// The tags an existing user carried and no longer does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_removed: Vec<String>,
    /// A generated password, to hand to the organisation once. Never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl Onboarded {
    /// `grant` with nothing done to its user (a dry run, or a user already set up).
    #[must_use]
    pub fn unchanged(grant: Grant) -> Self {
        Self {
            grant,
            created: false,
            password_reset: false,
            tags_removed: Vec::new(),
            password: None,
        }
    }
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
    /// Existing users carry tags (`user (tag, tag)`, …); nothing was changed.
    #[error(
        "broker user(s) {} carry tags, which grant more than an organisation may have \
         (impersonator: publish as another user; administrator, management: the management \
         API); nothing was changed. Run again with --reset-tags to remove them, or give the \
         organisation another broker_user",
        .0.join(", ")
    )]
    TaggedUsers(Vec<String>),
    /// A grant names the user the management API is used as: least-privilege permissions
    /// (and `--reset-tags`) would lock the operator out.
    #[error(
        "broker user {0:?} is the management user itself; give the organisation its own \
         broker_user"
    )]
    ManagementUser(String),
    /// One given password for several users, or for every organisation.
    #[error(
        "--password-stdin sets the password of one organisation: name exactly one ORG \
         ({0}); several organisations sharing a password could log in as each other"
    )]
    SharedPassword(String),
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
pub(crate) fn grant(org: &Organisation, vhost: &str) -> Grant {
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

/// The vhost named by an AMQP URL (`%2f` and an empty path are `/`).
pub(crate) fn vhost_of(amqp_url: &str) -> Result<String, OnboardError> {
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
    fn a_given_password_is_not_shown_by_debug() {
        let shown = format!("{:?}", Password::Given("hemligt".into()));
        assert!(!shown.contains("hemligt"), "{shown}");
    }
}
