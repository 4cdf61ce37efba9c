//! Passwords in URLs never reach an error message: the real RabbitMQ and PostgreSQL refuse or
//! fail a connection, and the whole error chain is checked for every piece of the password.
//!
//! The passwords carry reserved characters (`?`, `#`, `/`) that cut a URL's user info short
//! when left unescaped, which is how a password used to be printed half-redacted.

use samverkan::store::{Store, StoreError};
use samverkan::transport::TransportError;
use samverkan::transport::amqp::connect;

use crate::chain;

/// The pieces no message may contain, whichever way a parser split the password.
const PIECES: [&str; 3] = ["pZq", "ss-4711", "pw-4711"];

fn assert_hidden(text: &str, url: &str) {
    for piece in PIECES {
        assert!(!text.contains(piece), "{url}: `{piece}` shows in\n{text}");
    }
}

#[tokio::test]
async fn amqp_urls_with_reserved_characters_in_the_password_are_refused_without_secrets() {
    for url in [
        "amqp://guest:pZq?ss-4711@127.0.0.1:5672/%2f",
        "amqp://guest:12?ss-4711@127.0.0.1:5672/%2f",
        "amqp://guest:12#ss-4711@127.0.0.1:5672/%2f",
        "amqp://guest:pZq/ss-4711@127.0.0.1:5672/%2f",
        "amqps//guest:pw-4711@127.0.0.1:5671",
        "amqp:guest:pw-4711@127.0.0.1",
    ] {
        let err = connect(url, "it-secrets").await.expect_err(url);
        let text = chain(&err);
        assert!(
            matches!(err, TransportError::InvalidUrl { .. }),
            "{url}: {text}"
        );
        assert_hidden(&text, url);
    }
}

#[tokio::test]
async fn amqp_connect_errors_carry_no_password_or_secret_parameter() {
    // A wrong password on the real broker, and a port where nothing listens.
    let wrong_password = format!(
        "amqp://guest:pw-4711@{}/%2f?heartbeat=10&token=pw-4711",
        crate::broker_address()
    );
    for url in [
        wrong_password.as_str(),
        "amqp://guest:pw-4711@127.0.0.1:1/%2f",
        "amqp://guest:pZq%3Fss-4711@127.0.0.1:1/%2f",
    ] {
        let err = connect(url, "it-secrets").await.expect_err(url);
        let text = chain(&err);
        assert!(
            matches!(
                err,
                TransportError::Connect { .. } | TransportError::BrokerUnreachable { .. }
            ),
            "{url}: {text}"
        );
        assert!(text.contains("guest:***@127.0.0.1"), "{url}: {text}");
        assert_hidden(&text, url);
    }
}

#[tokio::test]
async fn store_urls_with_secrets_fail_without_showing_them() {
    // (URL, refused before connecting: malformed or with a secret the driver would log)
    let cases = [
        ("postgres://postgres:pZq?ss-4711@127.0.0.1:5432/test", true),
        ("postgres://postgres:12#ss-4711@127.0.0.1:5432/test", true),
        (
            "postgres://postgres@127.0.0.1:5432/test?sslpassword=pw-4711",
            true,
        ),
        // Reaches the real server, which refuses the unknown database.
        (
            "postgres://postgres:pw-4711@127.0.0.1:5432/it_secrets_missing_4711",
            false,
        ),
        (
            "postgres://postgres@127.0.0.1:1/test?password=pw-4711",
            false,
        ),
        ("postgresql://postgres:pw-4711@127.0.0.1:1/test", false),
    ];
    for (url, refused) in cases {
        let err = Store::connect(url).await.expect_err(url);
        let text = chain(&err);
        let kind_ok = if refused {
            matches!(err, StoreError::InvalidUrl { .. })
        } else {
            matches!(err, StoreError::Connect { .. })
        };
        assert!(kind_ok, "{url}: {text}");
        assert_hidden(&text, url);
    }
}
