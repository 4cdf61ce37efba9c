//! Showing a URL that may hold a secret: [`redact_url`] is the one way an error message, a log
//! line or a `Debug` output shows a database, AMQP or management URL.
//!
//! Why one function, and why on `url::Url`: hand-written scans for `://` and the last `@` each
//! missed a case, and a URL printed in full hands the password to whoever reads the log. The
//! drivers (sqlx, lapin, reqwest) read URLs with `url::Url`, so reading them the same way here
//! shows what the driver will use:
//!
//! - the password becomes `***`, whatever characters it holds;
//! - query parameters whose name says secret (`password`, `sslpassword`, `sslkey`, `token`,
//!   `secret`, `apikey`, …, in any case) keep their name and lose their value;
//! - a fragment, never meaningful in these URLs, is hidden too;
//! - a URL that does not parse, or parses *differently from what its author meant* (an
//!   unescaped `?`, `#` or `/` in a password ends the authority early, so the rest of the
//!   password and the real `@` land in the path, query or fragment), is shown only up to its
//!   scheme. Guessing where the password ends is how the old copies leaked it.
//!
//! [`is_well_formed`] tells callers (settings, store, broker connect) to refuse such a URL with
//! a hint instead of handing it to a driver, which would connect somewhere unintended and may
//! log the misread part.
//!
//! Changing a URL's user, password, vhost or database is the job of the `urls` module, on the same
//! parser.

use url::Url;
use url::form_urlencoded;

/// What replaces a secret.
const HIDDEN: &str = "***";

/// What replaces everything after the scheme of a URL that does not parse as written.
const REST_HIDDEN: &str = "… (rest hidden)";

/// Substrings of a query parameter name (lower-cased) that mark its value as secret.
const SECRET_PARAMETERS: [&str; 8] = [
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "credential",
    "signature",
];

/// `url` fit for errors and logs: `postgres://hub:***@db/x?sslpassword=***`.
///
/// A URL that is not well formed (`is_well_formed`) is shown as its scheme and a note
/// (`amqps… (rest hidden)`); a string without any URL punctuation (`samverkan.db`) as itself.
/// Callers that refuse such a URL add `MALFORMED_HINT`.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) if !misread(url, &parsed) => redact_parsed(parsed),
        _ => head_only(url),
    }
}

/// Whether `url` parses, and parses as written: no unescaped `?`, `#`, `/` or `\` in its
/// password that would move the user info into the path, query or fragment.
#[must_use]
pub(crate) fn is_well_formed(url: &str) -> bool {
    Url::parse(url).is_ok_and(|parsed| !misread(url, &parsed))
}

/// The names (decoded, as written otherwise) of `url`'s query parameters that hold a secret.
/// A driver that does not know one may log it as "unrecognised", value included, so callers
/// refuse those their driver does not read.
#[must_use]
pub(crate) fn secret_parameters(url: &str) -> Vec<String> {
    let Ok(parsed) = Url::parse(url) else {
        return Vec::new();
    };
    parsed
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .filter(|name| is_secret(name))
        .collect()
}

/// What to tell the author of a URL that is not [well formed](is_well_formed).
pub(crate) const MALFORMED_HINT: &str = "not a well-formed URL; percent-encode reserved characters \
     (@ : / ? # %) in the user name and password, e.g. `?` as %3F";

/// The parser put an `@` after the authority although the text before that `@` has a `:`
/// after the scheme: the user info was probably cut short, part of the password is in the
/// path, query or fragment.
fn misread(raw: &str, parsed: &Url) -> bool {
    let tail_has_at = [Some(parsed.path()), parsed.query(), parsed.fragment()]
        .into_iter()
        .flatten()
        .any(|part| part.contains('@'));
    if !tail_has_at {
        return false;
    }
    let after_scheme = raw.get(parsed.scheme().len() + 1..).unwrap_or(raw);
    after_scheme
        .rfind('@')
        .is_some_and(|at| after_scheme[..at].contains(':'))
}

fn redact_parsed(mut url: Url) -> String {
    if url.password().is_some() {
        // Only URLs with a host have a password, and those accept a new one.
        let _ = url.set_password(Some(HIDDEN));
    }
    if let Some(query) = url.query().filter(|q| has_secret_parameter(q)) {
        let masked = mask_query(query);
        url.set_query(Some(&masked));
    }
    if url.fragment().is_some_and(|f| !f.is_empty()) {
        url.set_fragment(Some(HIDDEN));
    }
    url.into()
}

fn has_secret_parameter(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(name, _)| is_secret(&name))
}

/// Each `name=value` pair as written, the value of a secret one replaced.
fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            let decoded = form_urlencoded::parse(name.as_bytes())
                .next()
                .map(|(name, _)| name.into_owned())
                .unwrap_or_default();
            if is_secret(&decoded) {
                format!("{name}={HIDDEN}")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMETERS.iter().any(|s| name.contains(s))
}

/// The scheme-like start (letters, digits, `+ - .`), its `:` or `://`, and a note instead of
/// the rest, which may hold a password in a shape no parser agrees on.
pub(crate) fn head_only(raw: &str) -> String {
    let end = raw
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        .unwrap_or(raw.len());
    let (head, rest) = raw.split_at(end);
    if rest.is_empty() {
        return head.to_owned();
    }
    let separator = ["://", ":"]
        .into_iter()
        .find(|s| rest.starts_with(s))
        .unwrap_or("");
    format!("{head}{separator}{REST_HIDDEN}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(url, secret parts that must not show, what it shows)`.
    const CASES: &[(&str, &[&str], &str)] = &[
        (
            "amqp://guest:s3cret@127.0.0.1:5672/%2f",
            &["s3cret"],
            "amqp://guest:***@127.0.0.1:5672/%2f",
        ),
        (
            "amqps://hub:p%40ss@broker.example:5671/samverkan?heartbeat=30",
            &["p%40ss", "p@ss"],
            "amqps://hub:***@broker.example:5671/samverkan?heartbeat=30",
        ),
        (
            "amqp://hub:p@ss@host/%2f",
            &["p@ss", "p%40ss"],
            "amqp://hub:***@host/%2f",
        ),
        (
            "http://admin:pw-x@127.0.0.1:15672",
            &["pw-x"],
            "http://admin:***@127.0.0.1:15672/",
        ),
        (
            "postgres://db.example/x?user=hub&Password=s3cret&sslmode=require&sslpassword=k3y",
            &["s3cret", "k3y"],
            "postgres://db.example/x?user=hub&Password=***&sslmode=require&sslpassword=***",
        ),
        (
            "postgres://h/x?sslkey=/etc/k.pem&TOKEN=t0k&api%5Fkey=abc&x=1#frag-secret",
            &["k.pem", "t0k", "abc", "frag-secret"],
            "postgres://h/x?sslkey=***&TOKEN=***&api%5Fkey=***&x=1#***",
        ),
        (
            "postgres://postgres@127.0.0.1:5432/test",
            &[],
            "postgres://postgres@127.0.0.1:5432/test",
        ),
        ("sqlite://samverkan.db", &[], "sqlite://samverkan.db"),
        ("sqlite::memory:", &[], "sqlite::memory:"),
        ("sqlite:///data/a@b.db", &[], "sqlite:///data/a@b.db"),
        ("samverkan.db", &[], "samverkan.db"),
    ];

    #[test]
    fn passwords_and_secret_parameters_are_hidden_the_rest_shown() {
        for (url, secrets, shown) in CASES {
            let redacted = redact_url(url);
            assert_eq!(&redacted, shown, "{url}");
            for secret in *secrets {
                assert!(!redacted.contains(secret), "{url} → {redacted}");
            }
        }
    }

    #[test]
    fn reserved_characters_in_a_password_hide_everything_after_the_scheme() {
        for (url, head) in [
            ("postgres://u:pa?ss@host/db", "postgres://"),
            ("postgres://u:12?ss@host/db", "postgres://"),
            ("postgres://u:pa#ss@host/db", "postgres://"),
            ("postgres://u:12#ss@host/db", "postgres://"),
            ("postgres://u:pa/ss@host/db", "postgres://"),
            ("amqp://hub:a@b/c@host/%2f", "amqp://"),
            ("amqp://hub:se/cret@host", "amqp://"),
            ("http://admin:p\\ss@rabbit:15672", "http://"),
            ("amqps//user:pwd@host", "amqps"),
            ("amqp:user:pwd@host", "amqp:"),
            ("not a url", "not"),
        ] {
            // Nothing of the URL but its head: no part of any password can show.
            assert_eq!(redact_url(url), format!("{head}{REST_HIDDEN}"), "{url}");
            assert!(!is_well_formed(url), "{url}");
        }
    }

    #[test]
    fn secret_parameters_are_named() {
        assert_eq!(
            secret_parameters("postgres://h/x?sslmode=require&SSLPassword=x&ssl%2Dkey=k"),
            ["SSLPassword", "ssl-key"]
        );
        assert!(secret_parameters("postgres://u:pw@h/x?sslmode=require").is_empty());
    }

    #[test]
    fn urls_that_parse_as_written_are_well_formed() {
        for (url, ..) in CASES.iter().filter(|(url, ..)| *url != "samverkan.db") {
            assert!(is_well_formed(url), "{url}");
        }
    }
}
