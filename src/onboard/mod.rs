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
//!
//! Permissions are not all a user can have: RabbitMQ *tags* grant more (`impersonator` may
//! publish with another user's `user_id`, which is the hub's proof of sender; `administrator`
//! and `management` open the management API). New users get none. An existing user that
//! carries tags is refused, before anything is changed, unless [`Existing::reset_tags`] says
//! to remove them — taking someone's administrator tag away silently could lock out a person,
//! keeping it would break isolation. One given password is for one user only
//! ([`check_given_password`]): handing several organisations the same secret lets each log in
//! as the others.

pub mod management;
mod user;

use std::collections::{HashMap, HashSet};
use std::fmt;

use lapin::uri::AMQPUri;
use serde::Serialize;

use crate::settings::{Organisation, Settings};
use crate::transport::amqp::{INGRESS_EXCHANGE, Topology};
pub use management::{BrokerUser, Credentials, Management, ManagementError};

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

/// Refuse one given password for several organisations: `ids` must name exactly one (an empty
/// list means every configured organisation) and the grants must be of one broker user.
pub fn check_given_password(ids: &[String], grants: &[Grant]) -> Result<(), OnboardError> {
    let mut users: Vec<&str> = grants.iter().map(|g| g.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    match (ids.len(), users.len()) {
        (0, _) => Err(OnboardError::SharedPassword(
            "none named: all would share it".into(),
        )),
        (_, 1) => Ok(()),
        (_, n) => Err(OnboardError::SharedPassword(format!("{n} named"))),
    }
}

/// Create or update each grant's user and permissions through the management API.
///
/// Every user is looked up first: if one carries tags and `existing.reset_tags` is not set,
/// nothing is changed ([`OnboardError::TaggedUsers`]). New users get `password` and no tags;
/// existing ones keep their password unless `existing.reset_password`, and lose their tags
/// when `existing.reset_tags`.
pub async fn apply(
    management: &Management,
    grants: Vec<Grant>,
    password: &Password,
    existing: Existing,
) -> Result<Vec<Onboarded>, OnboardError> {
    let mut found = HashMap::new();
    for grant in &grants {
        if !found.contains_key(&grant.user) {
            found.insert(grant.user.clone(), management.user(&grant.user).await?);
        }
    }
    let tagged: Vec<String> = found
        .values()
        .flatten()
        .filter(|u| !u.tags.is_empty())
        .map(|u| format!("{} ({})", u.name, u.tags.join(", ")))
        .collect();
    if !tagged.is_empty() && !existing.reset_tags {
        return Err(OnboardError::TaggedUsers(tagged));
    }
    let mut done = Vec::with_capacity(grants.len());
    let mut set_up = HashSet::new();
    for grant in grants {
        let onboarded = if set_up.insert(grant.user.clone()) {
            let user = found.remove(&grant.user).flatten();
            set_up_user(management, grant, user, password, existing).await?
        } else {
            // The same user on another vhost: set up above.
            Onboarded::unchanged(grant)
        };
        let grant = &onboarded.grant;
        management
            .put_permissions(&grant.vhost, &grant.user, &grant.permissions)
            .await?;
        tracing::info!(org = %grant.org, user = %grant.user, created = onboarded.created, "organisation onboarded on the broker");
        done.push(onboarded);
    }
    Ok(done)
}

/// Create the user with no tags, or bring an existing one in line with `existing`.
async fn set_up_user(
    management: &Management,
    grant: Grant,
    found: Option<BrokerUser>,
    password: &Password,
    existing: Existing,
) -> Result<Onboarded, OnboardError> {
    let mut generated = None;
    if found.is_none() || existing.reset_password {
        let secret = match password {
            Password::Given(secret) => secret.clone(),
            Password::Generate => generated.insert(random_password()).clone(),
        };
        // Creates the user without tags, or replaces its password and tags.
        management.put_user(&grant.user, &secret).await?;
    } else if let Some(user) = found.as_ref().filter(|u| !u.tags.is_empty()) {
        management.clear_tags(user).await?;
    }
    Ok(Onboarded {
        created: found.is_none(),
        password_reset: found.is_some() && existing.reset_password,
        tags_removed: found.map(|u| u.tags).unwrap_or_default(),
        password: generated,
        grant,
    })
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
    fn a_given_password_is_for_one_named_user_only() {
        let g = |user: &str, vhost: &str| Grant {
            org: user.to_uppercase(),
            user: user.into(),
            vhost: vhost.into(),
            permissions: Permissions {
                configure: "^$".into(),
                write: "^$".into(),
                read: "^$".into(),
            },
        };
        assert!(check_given_password(&["VGR".into()], &[g("vgr", "/")]).is_ok());
        let bench = [g("bench", "a"), g("bench", "b")];
        assert!(check_given_password(&["bench".into()], &bench).is_ok());
        let all = [g("vgr", "/")];
        let two = ["VGR".into(), "RV".into()];
        for (ids, grants) in [
            (&[][..], &all[..]),
            (&two[..], &[g("vgr", "/"), g("rv", "/")][..]),
        ] {
            let error = check_given_password(ids, grants).expect_err("shared");
            assert!(matches!(error, OnboardError::SharedPassword(_)), "{error}");
            assert!(error.to_string().contains("exactly one ORG"), "{error}");
        }
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
