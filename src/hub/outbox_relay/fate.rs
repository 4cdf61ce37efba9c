//! A failed row's fate, decided from the publish error alone: parked with a stable reason code,
//! retried on its own backoff, or given back because the broker is away (see the outbox relay's
//! module docs). Pure, so every branch is tested without a broker or a store.

use std::time::Duration;

use super::RelayConfig;
use crate::store::ReasonCode;
use crate::transport::{TransportError, Unsendable};

/// Parked: a short-string property (ids, type, content type, routing key) over 255 bytes.
pub const PROPERTY_TOO_LONG: ReasonCode = ReasonCode::new("property_too_long");
/// Parked: a header name over 255 bytes.
pub const HEADER_NAME_TOO_LONG: ReasonCode = ReasonCode::new("header_name_too_long");
/// Parked: properties and headers do not fit in one frame of the negotiated size.
pub const HEADERS_TOO_LARGE: ReasonCode = ReasonCode::new("headers_too_large");
/// Parked: the body is over `hub.relay_max_message_bytes`.
pub const BODY_TOO_LARGE: ReasonCode = ReasonCode::new("body_too_large");
/// Parked: no queue took it in `hub.relay_max_attempts` attempts.
pub const UNROUTABLE: ReasonCode = ReasonCode::new("unroutable");
/// Parked: the broker refused it otherwise (nack, channel error) in every attempt.
pub const BROKER_REFUSED: ReasonCode = ReasonCode::new("broker_refused");

/// What becomes of one row after a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Confirmed: mark it sent.
    Sent,
    /// The broker was unreachable: give it back, count nothing.
    Wait,
    /// The broker refused it: count the attempt, try again after this delay.
    Retry(Duration),
    /// It can never be sent: park it with this reason and detail.
    Park(ReasonCode, String),
}

/// The fate of a row that had failed `attempts` times before this publish, given its result.
#[must_use]
pub fn verdict(
    attempts: i64,
    result: &Result<(), TransportError>,
    config: &RelayConfig,
) -> Verdict {
    let error = match result {
        Ok(()) => return Verdict::Sent,
        Err(error) => error,
    };
    if let Some(reason) = error.unsendable() {
        return Verdict::Park(unsendable_code(reason), reason.to_string());
    }
    if error.is_outage() {
        return Verdict::Wait;
    }
    let failures = attempts.saturating_add(1);
    // A nack is how a full organisation queue (`reject-publish`) refuses: the row waits, on
    // its own backoff, until the organisation consumes; it is never parked for that.
    let queue_full = matches!(error, TransportError::Nacked { .. });
    if failures >= config.max_attempts && !queue_full {
        let code = match error {
            TransportError::Unroutable { .. } => UNROUTABLE,
            _ => BROKER_REFUSED,
        };
        let detail = format!("{failures} attempts; last: {error}");
        return Verdict::Park(code, detail);
    }
    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
    Verdict::Retry(config.retry.delay(failures))
}

fn unsendable_code(reason: &Unsendable) -> ReasonCode {
    match reason {
        Unsendable::PropertyTooLong { .. } => PROPERTY_TOO_LONG,
        Unsendable::HeaderNameTooLong { .. } => HEADER_NAME_TOO_LONG,
        Unsendable::HeadersTooLarge { .. } => HEADERS_TOO_LARGE,
        Unsendable::BodyTooLarge { .. } => BODY_TOO_LARGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Backoff;

    fn config() -> RelayConfig {
        RelayConfig {
            max_attempts: 3,
            retry: Backoff {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(1),
            },
            ..RelayConfig::default()
        }
    }

    fn unroutable() -> TransportError {
        TransportError::Unroutable {
            event_id: "e-1".into(),
            exchange: "samverkan.egress".into(),
            routing_key: "gone.x".into(),
            reply_code: 312,
            reply_text: "NO_ROUTE".into(),
        }
    }

    #[test]
    fn a_confirmed_row_is_sent_and_an_outage_counts_nothing() {
        assert_eq!(verdict(0, &Ok(()), &config()), Verdict::Sent);
        let down = Err(TransportError::NotPublished {
            event_id: "e-1".into(),
            cause: "no link".into(),
            transient: true,
        });
        assert_eq!(verdict(0, &down, &config()), Verdict::Wait);
        assert_eq!(verdict(99, &down, &config()), Verdict::Wait);
    }

    #[test]
    fn an_unsendable_row_is_parked_at_once_with_its_reason() {
        let long = Err(TransportError::Unsendable {
            event_id: "e-1".into(),
            reason: Unsendable::PropertyTooLong {
                property: "correlation_id",
                len: 300,
            },
        });
        let Verdict::Park(code, detail) = verdict(0, &long, &config()) else {
            panic!("not parked");
        };
        assert_eq!(code, PROPERTY_TOO_LONG);
        assert_eq!(
            detail,
            "correlation_id is 300 bytes; AMQP allows at most 255"
        );
    }

    #[test]
    fn a_refused_row_backs_off_per_attempt_and_is_parked_at_the_bound() {
        let refused = Err(unroutable());
        let delay = |attempts| match verdict(attempts, &refused, &config()) {
            Verdict::Retry(d) => d,
            other => panic!("{other:?}"),
        };
        let first = delay(0);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let second = delay(1);
        assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
        let Verdict::Park(code, detail) = verdict(2, &refused, &config()) else {
            panic!("not parked at the third failure");
        };
        assert_eq!(code, UNROUTABLE);
        assert!(detail.starts_with("3 attempts; last: "), "{detail}");
        let nacked = Err(TransportError::Nacked {
            event_id: "e-1".into(),
            exchange: "x".into(),
            routing_key: "k".into(),
        });
        // A full queue (`reject-publish`) nacks: the row waits however long that takes.
        assert!(matches!(verdict(2, &nacked, &config()), Verdict::Retry(_)));
        assert!(matches!(
            verdict(1000, &nacked, &config()),
            Verdict::Retry(_)
        ));
    }
}
