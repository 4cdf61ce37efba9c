//! How long to wait between reconnect attempts: capped exponential backoff with jitter, built
//! on `backon` like every other retry in the hub.
//!
//! When RabbitMQ restarts, every client notices at the same moment. Retrying on a fixed
//! schedule would have them all knock at once on every step (a thundering herd on a broker that
//! is still booting); doubling the delay keeps a long outage cheap, the cap keeps recovery
//! prompt once the broker is back, and "equal jitter" (half the delay fixed, half random)
//! spreads the clients out without ever retrying immediately. `backon` adds a random share of
//! up to the whole current delay, so it is given half of each delay and half of the cap: each
//! wait then lies between half of the un-jittered delay and all of it.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Default first delay.
pub(super) const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Default longest delay.
pub(super) const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Delays between reconnect attempts: `initial`, doubling up to `max`, each with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the second attempt (the first one is immediate).
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    /// 100 ms doubling to 10 s: 100 ms, 200 ms, …, 6.4 s, 10 s, 10 s, … (each ± jitter).
    fn default() -> Self {
        Self {
            initial: DEFAULT_INITIAL_BACKOFF,
            max: DEFAULT_MAX_BACKOFF,
        }
    }
}

impl Backoff {
    /// The schedule as a `backon` builder, for `Retryable::retry`: endless, each delay between
    /// half of its un-jittered value and all of it.
    pub(crate) fn builder(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.initial / 2)
            .with_max_delay(self.max / 2)
            .with_jitter()
            .without_max_times()
    }

    /// The delays of one outage, in order; start a new one after a success.
    pub(crate) fn delays(&self) -> impl Iterator<Item = Duration> + Send + use<> {
        self.builder().build()
    }

    /// The delay to wait after `failures` failed attempts (1 → about `initial`).
    pub fn delay(&self, failures: u32) -> Duration {
        // Past 64 doublings every delay is the cap.
        let n = failures.saturating_sub(1).min(64) as usize;
        self.delays().nth(n).unwrap_or(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The un-jittered delay after `failures` failed attempts.
    fn ceiling(b: &Backoff, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        b.initial.saturating_mul(1 << doublings).min(b.max)
    }

    /// `backon` computes in `f32`: allow a millisecond either way.
    const SLACK: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_from_initial_to_the_cap_with_equal_jitter() {
        let b = Backoff::default();
        for (i, d) in b.delays().take(12).enumerate() {
            let ceiling = ceiling(&b, i as u32 + 1);
            assert!(
                d + SLACK >= ceiling / 2 && d <= ceiling + SLACK,
                "{i}: {d:?} outside [{:?}, {ceiling:?}]",
                ceiling / 2
            );
        }
        assert!(b.delay(u32::MAX) <= DEFAULT_MAX_BACKOFF + SLACK);
    }

    #[test]
    fn jitter_varies() {
        let b = Backoff::default();
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(4)).collect();
        for d in &delays {
            assert!(*d + SLACK >= Duration::from_millis(400) && *d <= Duration::from_millis(801));
        }
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "no jitter at all");
    }
}
