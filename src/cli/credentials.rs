//! The broker credentials a command acting for an organisation connects with.
//!
//! RabbitMQ checks the AMQP `user_id` of every published message against the connection's
//! user, so publishing as an organisation needs that organisation's own password. Without one
//! the broker closes the channel with a bare `PRECONDITION_FAILED`, which tells a partner
//! trying the hub nothing; so the missing piece is named before connecting: the variable to
//! set, the flag that renames it, or the URL that can carry the credentials instead.

use crate::settings::Organisation;
use crate::urls::{UrlError, with_credentials};

/// Why no URL with the organisation's credentials could be made.
#[derive(Debug, thiserror::Error)]
pub(super) enum CredentialsError {
    /// No password given and `amqp.url` is not the organisation's user.
    #[error(
        "no broker password for organisation `{org}` (broker user `{user}`): set the \
         environment variable {var} to that user's password (or name another variable with \
         --password-env VAR), or give the user's credentials in amqp.url \
         (SAMVERKAN__AMQP__URL=amqp://{user}:PASSWORD@host/vhost)"
    )]
    Missing {
        /// The organisation id.
        org: String,
        /// Its broker user.
        user: String,
        /// The variable that was looked at.
        var: String,
    },
    /// The variable is set but not valid Unicode.
    #[error("the environment variable {var} is not valid Unicode")]
    NotUnicode {
        /// The variable.
        var: String,
    },
    /// `amqp.url` has no host to put credentials on.
    #[error("amqp.url cannot take the organisation's credentials: {0}")]
    Url(#[from] UrlError),
}

/// `url` with `org`'s credentials: its password from `password_env`, or `url` as it is when
/// it already names the organisation's broker user. `None` from `password_env` and a URL of
/// another user is [`CredentialsError::Missing`].
pub(super) fn org_url(
    url: &str,
    org: &Organisation,
    password_env: &str,
) -> Result<String, CredentialsError> {
    match password(password_env)? {
        Some(password) => Ok(with_credentials(url, &org.broker_user, &password)?),
        None if url_user(url).as_deref() == Some(org.broker_user.as_str()) => Ok(url.to_owned()),
        None => Err(CredentialsError::Missing {
            org: org.id.as_str().to_owned(),
            user: org.broker_user.clone(),
            var: password_env.to_owned(),
        }),
    }
}

/// The password in `var`, if it is set and not empty.
pub(super) fn password(var: &str) -> Result<Option<String>, CredentialsError> {
    match std::env::var(var) {
        Ok(password) if password.is_empty() => Ok(None),
        Ok(password) => Ok(Some(password)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(CredentialsError::NotUnicode {
            var: var.to_owned(),
        }),
    }
}

/// The (decoded) user name of `url`, if it has one.
fn url_user(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let user = percent_encoding::percent_decode_str(parsed.username())
        .decode_utf8()
        .ok()?;
    (!user.is_empty()).then(|| user.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_urls_own_user_is_recognised_decoded() {
        assert_eq!(url_user("amqp://v%40gr:pw@h/").as_deref(), Some("v@gr"));
        assert_eq!(url_user("amqp://h/"), None);
    }
}
