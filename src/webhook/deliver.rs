//! One delivery attempt: POST one feed event, signed, and judge the answer.
//!
//! The body is the structured CloudEvent exactly as stored in the feed
//! (`application/cloudevents+json`); `webhook-id` is the event id, the same on every retry, so
//! receivers dedupe on it; `webhook-timestamp` is this attempt's unix second from the real
//! clock (never `hub.fixed_date`), and `webhook-signature` signs both with the body
//! (`sign.rs`). Only a 2xx delivers. 408, 429 and 5xx, timeouts and connection errors are worth
//! retrying; any other answer — another 4xx, or a redirect, which is never followed — will not
//! change by asking again, so the event is parked.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Client, StatusCode};
use time::OffsetDateTime;

use super::backoff::retry_after;
use super::client::error_kind;
use super::sign::signature;
use crate::store::FeedEvent;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A 2xx: the event is delivered.
    Delivered,
    /// Worth another attempt, after the receiver's `Retry-After` if it gave one; `error` is the
    /// status code or the error kind.
    Retry {
        /// The receiver's `Retry-After`.
        after: Option<Duration>,
        /// Status code or error kind.
        error: String,
    },
    /// Not worth another attempt: park the event; `error` as above.
    Park {
        /// Status code or error kind.
        error: String,
    },
}

/// The structured CloudEvents media type.
const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";

/// POST `event` to `url` with `client`, signed with `key`.
pub(crate) async fn deliver(client: &Client, url: &str, key: &[u8], event: &FeedEvent) -> Outcome {
    let id = event.event_id.as_ref();
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let (Ok(signed), Ok(id_header)) = (
        signature(key, id, timestamp, &event.body),
        HeaderValue::from_str(id),
    ) else {
        return Outcome::Park {
            error: "unsignable".to_owned(),
        };
    };
    let request = client
        .post(url)
        .header(CONTENT_TYPE, CLOUDEVENTS_JSON)
        .header("webhook-id", id_header)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signed)
        .body(event.body.clone());
    match request.send().await {
        Ok(response) => judge(response.status(), retry_after(response.headers())),
        Err(error) => Outcome::Retry {
            after: None,
            error: error_kind(&error).to_owned(),
        },
    }
}

/// The outcome of an answer with `status`.
pub(crate) fn judge(status: StatusCode, after: Option<Duration>) -> Outcome {
    let error = status.as_u16().to_string();
    match status.as_u16() {
        200..=299 => Outcome::Delivered,
        408 | 429 | 500..=599 => Outcome::Retry { after, error },
        _ => Outcome::Park { error },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_2xx_delivers_and_only_transient_answers_are_retried() {
        assert_eq!(judge(StatusCode::OK, None), Outcome::Delivered);
        assert_eq!(judge(StatusCode::NO_CONTENT, None), Outcome::Delivered);
        let after = Some(Duration::from_secs(3));
        for (status, retried) in [
            (StatusCode::SERVICE_UNAVAILABLE, true),
            (StatusCode::INTERNAL_SERVER_ERROR, true),
            (StatusCode::REQUEST_TIMEOUT, true),
            (StatusCode::TOO_MANY_REQUESTS, true),
            (StatusCode::BAD_REQUEST, false),
            (StatusCode::GONE, false),
            (StatusCode::FOUND, false),
            (StatusCode::PERMANENT_REDIRECT, false),
        ] {
            let error = status.as_u16().to_string();
            let expected = if retried {
                Outcome::Retry { after, error }
            } else {
                Outcome::Park { error }
            };
            assert_eq!(judge(status, after), expected, "{status}");
        }
    }
}
