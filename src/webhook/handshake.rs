//! The abuse-protection handshake of the CloudEvents HTTP webhook specification (section 4):
//! before the hub POSTs anything to a URL, the receiver must say it wants events from this
//! hub.
//!
//! Without it, anyone able to register a URL could point the hub's traffic at a server that
//! never asked for it. The hub sends `OPTIONS` with `WebHook-Request-Origin: <[webhooks]
//! origin>` and `WebHook-Request-Rate` (requests per minute it may send); the endpoint is
//! validated when it answers 2xx with `WebHook-Allowed-Origin` equal to that origin or `*`.
//! The dispatcher records when (`validated_at`), sends no event before, retries a failed
//! handshake on the delivery backoff, and repeats it whenever the URL changes. The callback
//! variant of the specification (`WebHook-Request-Callback`) is not supported.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};

use super::backoff::retry_after;
use super::client::error_kind;

/// The request rate the hub announces, per minute (it sends one organisation's events one at a
/// time, so this is a ceiling, not a promise).
const REQUEST_RATE: &str = "120";

/// What a handshake came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handshake {
    /// The endpoint accepts events from this origin.
    Validated,
    /// It did not (yet): the status code, `origin_refused`, or the error kind; and the
    /// receiver's `Retry-After`, if any.
    Failed {
        /// What went wrong.
        error: String,
        /// The receiver's `Retry-After`.
        after: Option<Duration>,
    },
}

/// Ask `url` whether it accepts events from `origin`.
pub(crate) async fn handshake(client: &Client, url: &str, origin: &str) -> Handshake {
    let request = client
        .request(Method::OPTIONS, url)
        .header("WebHook-Request-Origin", origin)
        .header("WebHook-Request-Rate", REQUEST_RATE);
    match request.send().await {
        Ok(response) => {
            let allowed = response
                .headers()
                .get("WebHook-Allowed-Origin")
                .and_then(|v| v.to_str().ok())
                .map(str::trim);
            judge(
                response.status(),
                allowed,
                origin,
                retry_after(response.headers()),
            )
        }
        Err(error) => Handshake::Failed {
            error: error_kind(&error).to_owned(),
            after: None,
        },
    }
}

/// The verdict on an answer with `status` and `allowed` (`WebHook-Allowed-Origin`).
fn judge(
    status: StatusCode,
    allowed: Option<&str>,
    origin: &str,
    after: Option<Duration>,
) -> Handshake {
    if !status.is_success() {
        return Handshake::Failed {
            error: status.as_u16().to_string(),
            after,
        };
    }
    match allowed {
        Some(value) if value == "*" || value == origin => Handshake::Validated,
        _ => Handshake::Failed {
            error: "origin_refused".to_owned(),
            after,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2xx_naming_the_origin_or_star_validates() {
        let ok = |status, allowed| judge(status, allowed, "samverkan", None);
        assert_eq!(ok(StatusCode::OK, Some("samverkan")), Handshake::Validated);
        assert_eq!(ok(StatusCode::NO_CONTENT, Some("*")), Handshake::Validated);
        for (status, allowed, error) in [
            (StatusCode::OK, None, "origin_refused"),
            (StatusCode::OK, Some("someone-else"), "origin_refused"),
            (StatusCode::METHOD_NOT_ALLOWED, Some("*"), "405"),
            (StatusCode::MOVED_PERMANENTLY, Some("*"), "301"),
        ] {
            let failed = Handshake::Failed {
                error: error.to_owned(),
                after: None,
            };
            assert_eq!(ok(status, allowed), failed, "{status} {allowed:?}");
        }
    }
}
