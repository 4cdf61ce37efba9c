//! When to try a failing webhook again: exponential backoff with full jitter, and the receiver's
//! own `Retry-After`.
//!
//! A receiver that is down is usually down for every hub instance and every organisation it
//! serves, so retries must spread out rather than arrive in waves: "full jitter" waits a random
//! time between zero and the doubling ceiling (`retry_initial_ms`, twice that, … up to
//! `retry_max_secs`), which spreads them furthest. A receiver that says how long to wait
//! (`Retry-After: SECONDS` on a 429 or 503) knows best, so that is honoured, capped at
//! `retry_max_secs` so a confused receiver cannot park its own events by asking for a week.
//! Unlike the broker reconnects (`transport/backoff.rs`, equal jitter on `backon`), a webhook
//! retry is scheduled in the store, not slept in a loop, so this only computes the delay.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::settings::WebhooksSettings;

/// The retry schedule of one hub's webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetrySchedule {
    /// Ceiling of the first delay.
    pub(crate) initial: Duration,
    /// Longest delay.
    pub(crate) max: Duration,
}

impl RetrySchedule {
    /// The schedule `[webhooks]` describes.
    pub(crate) fn from_settings(settings: &WebhooksSettings) -> Self {
        Self {
            initial: Duration::from_millis(settings.retry_initial_ms),
            max: Duration::from_secs(settings.retry_max_secs),
        }
    }

    /// The most to wait after `failures` failed attempts: `initial`, doubling, capped at `max`.
    pub(crate) fn ceiling(&self, failures: i64) -> Duration {
        let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 32)).unwrap_or(32);
        self.initial
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max)
    }

    /// The wait after `failures` failed attempts: `retry_after` when the receiver gave one
    /// (capped at `max`), otherwise a random time up to [`RetrySchedule::ceiling`].
    pub(crate) fn delay(&self, failures: i64, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(after) => after.min(self.max),
            None => full_jitter(self.ceiling(failures)),
        }
    }
}

/// A random duration in `[0, ceiling]` (the ceiling itself when no randomness is to be had).
fn full_jitter(ceiling: Duration) -> Duration {
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    match getrandom::u64() {
        Ok(random) => Duration::from_millis(random % ceiling_ms.saturating_add(1)),
        Err(_) => ceiling,
    }
}

/// A `Retry-After` header in seconds (an HTTP date is not honoured: it depends on clocks
/// agreeing).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    const SCHEDULE: RetrySchedule = RetrySchedule {
        initial: Duration::from_millis(2000),
        max: Duration::from_secs(600),
    };

    #[test]
    fn ceilings_double_from_initial_to_the_cap() {
        let ceilings: Vec<u64> = (1..=12).map(|n| SCHEDULE.ceiling(n).as_secs()).collect();
        assert_eq!(
            ceilings,
            [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600]
        );
        assert_eq!(SCHEDULE.ceiling(0), Duration::from_secs(2));
        assert_eq!(SCHEDULE.ceiling(i64::MAX), Duration::from_secs(600));
    }

    #[test]
    fn delays_are_full_jitter_within_the_ceiling() {
        for failures in 1..=15 {
            let delays: Vec<Duration> = (0..200).map(|_| SCHEDULE.delay(failures, None)).collect();
            assert!(delays.iter().all(|d| *d <= SCHEDULE.ceiling(failures)));
            let first = delays[0];
            assert!(
                delays.iter().any(|d| *d != first),
                "no jitter at {failures}"
            );
        }
        // The first retries come within a minute.
        assert!((0..100).all(|_| SCHEDULE.delay(1, None) <= Duration::from_secs(2)));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let after = retry_after(&headers);
        assert_eq!(after, Some(Duration::from_secs(7)));
        assert_eq!(SCHEDULE.delay(3, after), Duration::from_secs(7));
        assert_eq!(
            SCHEDULE.delay(1, Some(Duration::from_secs(86_400))),
            Duration::from_secs(600)
        );
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
