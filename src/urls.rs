//! Changing the parts of a broker or database URL: its user and password, its vhost, its
//! database.
//!
//! The CLI publishes with an organisation's own credentials, the bench points the hub's URL at
//! its throwaway vhosts and databases. Splitting such a URL by hand at `://`, the last `@` and
//! the first `/` or `?` is how the copies of this code disagreed with the drivers (which read
//! URLs with `url::Url`) about where a password ends, so every change here goes through
//! [`Url`]'s setters.
//!
//! What goes in is percent-encoded first, keeping only RFC 3986's unreserved characters: the
//! `url` crate encodes user info and paths the WHATWG way, which leaves `%` (and a few other
//! reserved characters) as written, so a password like `50%off` would otherwise be read back
//! as a different one. Errors show only the scheme of a URL they refuse: one without a host has
//! no user info for [`redact_url`](crate::redact::redact_url) to hide, yet may hold a password
//! (`amqp:user:secret`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use thiserror::Error;
use url::Url;

use crate::redact::head_only;

/// Everything but RFC 3986's unreserved characters (`A–Z a–z 0–9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a URL's parts cannot be changed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum UrlError {
    /// Not a URL, or one without a host (`amqp:x`), which has no place for user info or a path.
    #[error("{url} is not a URL with a host (scheme://host…)")]
    NoHost {
        /// The URL's scheme; the rest is hidden.
        url: String,
    },
}

/// `text` percent-encoded for one URL component: everything but unreserved characters, so
/// `/` in a vhost and `@ : % ?` in a password survive the trip through any URL parser.
#[must_use]
pub(crate) fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, NOT_UNRESERVED).to_string()
}

/// `url` with its user and password (if any) replaced by `user` and `password`.
///
/// # Errors
///
/// [`UrlError::NoHost`] when `url` has no host.
pub(crate) fn with_credentials(url: &str, user: &str, password: &str) -> Result<String, UrlError> {
    let mut parsed = with_host(url)?;
    // Both setters only fail for URLs without a host, which `with_host` has ruled out.
    let user_set = parsed.set_username(&encode_component(user));
    let password_set = parsed.set_password(Some(&encode_component(password)));
    user_set
        .and(password_set)
        .map_err(|()| no_host(url))
        .map(|()| parsed.into())
}

/// `url` (an AMQP URL) naming `vhost` as its path; user info, host, port and query kept.
///
/// # Errors
///
/// [`UrlError::NoHost`] when `url` has no host.
pub(crate) fn with_vhost(url: &str, vhost: &str) -> Result<String, UrlError> {
    with_path_segment(url, vhost)
}

/// `url` (a PostgreSQL URL) naming database `name`; user info, host, port and query kept.
///
/// # Errors
///
/// [`UrlError::NoHost`] when `url` has no host.
pub(crate) fn with_database(url: &str, name: &str) -> Result<String, UrlError> {
    with_path_segment(url, name)
}

/// `url` with its path replaced by the one segment `segment`.
fn with_path_segment(url: &str, segment: &str) -> Result<String, UrlError> {
    let mut parsed = with_host(url)?;
    parsed.set_path(&format!("/{}", encode_component(segment)));
    Ok(parsed.into())
}

fn with_host(url: &str) -> Result<Url, UrlError> {
    Url::parse(url)
        .ok()
        .filter(Url::has_host)
        .ok_or_else(|| no_host(url))
}

fn no_host(url: &str) -> UrlError {
    UrlError::NoHost {
        url: head_only(url),
    }
}

#[cfg(test)]
mod tests {
    use lapin::uri::AMQPUri;

    use super::*;

    const BASE: &str = "amqp://guest:guest@127.0.0.1:5672/%2f?heartbeat=30";

    #[test]
    fn credentials_replace_the_urls_own() {
        assert_eq!(
            with_credentials("amqp://guest:guest@127.0.0.1:5672/%2f", "vgr", "p@ss"),
            Ok("amqp://vgr:p%40ss@127.0.0.1:5672/%2f".to_owned())
        );
        assert_eq!(
            with_credentials("amqp://host", "u", "p"),
            Ok("amqp://u:p@host".to_owned())
        );
    }

    #[test]
    fn vhosts_replace_the_path_and_keep_the_rest() {
        assert_eq!(
            with_vhost(BASE, "bench-a"),
            Ok("amqp://guest:guest@127.0.0.1:5672/bench-a?heartbeat=30".to_owned())
        );
        assert_eq!(
            with_vhost("amqp://host", "v"),
            Ok("amqp://host/v".to_owned())
        );
        assert_eq!(
            with_vhost("amqp://host/x", "/"),
            Ok("amqp://host/%2F".to_owned())
        );
    }

    #[test]
    fn databases_replace_the_path_and_keep_the_query() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/test",
                "postgres://postgres@127.0.0.1:5432/b1",
            ),
            (
                "postgres://u:p@h/x?sslmode=disable",
                "postgres://u:p@h/b1?sslmode=disable",
            ),
            ("postgres://h", "postgres://h/b1"),
        ];
        for (server, expected) in cases {
            assert_eq!(
                with_database(server, "b1").as_deref(),
                Ok(expected),
                "{server}"
            );
        }
    }

    #[test]
    fn the_driver_reads_back_what_was_put_in() {
        for password in ["a/b", "p@ss", "50%off", "x:y?z#w", "Ωmega ", "a+b&c=d"] {
            let url = with_credentials(BASE, "u ser", password).expect("has a host");
            let url = with_vhost(&url, "samverkan/bench x").expect("has a host");
            let uri: AMQPUri = url.parse().expect("lapin reads it");
            assert_eq!(uri.authority.userinfo.username, "u ser");
            assert_eq!(uri.authority.userinfo.password, password);
            assert_eq!(uri.vhost, "samverkan/bench x");
        }
    }

    #[test]
    fn urls_without_a_host_are_refused_without_their_password() {
        for url in ["amqp:user:s3cret", "not a url"] {
            let error = with_credentials(url, "u", "p").expect_err(url);
            assert!(!error.to_string().contains("s3cret"), "{error}");
            assert!(with_vhost(url, "v").is_err(), "{url}");
        }
    }
}
