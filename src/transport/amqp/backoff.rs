//! Exponential backoff with jitter for reconnecting to the broker.
//!
//! When RabbitMQ restarts, every client notices at the same moment. Retrying on a fixed
//! schedule would have them all knock at once on every step (a thundering herd on a broker that
//! is still booting); doubling the delay keeps a long outage cheap, the cap keeps recovery
//! prompt once the broker is back, and "equal jitter" (half the delay fixed, half random)
//! spreads the clients out without ever retrying immediately.
//!
//! The randomness only has to differ between processes and attempts, not be unpredictable, so
//! it comes from the standard library's randomly keyed hasher instead of a `rand` dependency.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// Default first delay.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// Default longest delay.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(10);

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
    /// The un-jittered delay after `failures` failed attempts (1 → `initial`).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }

    /// The delay to wait after `failures` failed attempts: between half of
    /// [`ceiling`](Self::ceiling) and all of it.
    pub fn delay(&self, failures: u32) -> Duration {
        let ceiling = self.ceiling(failures);
        let half = ceiling / 2;
        half + half.mul_f64(random_fraction())
    }
}

/// A number in `[0, 1)`, different on every call.
fn random_fraction() -> f64 {
    // Each `RandomState::new()` has fresh keys, so hashing a constant gives a fresh value.
    let bits = RandomState::new().hash_one(0x5a4d_u16);
    // The top 53 bits as a fraction of 2^53: uniform in [0, 1).
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_initial_to_the_cap() {
        let b = Backoff::default();
        let ceilings: Vec<u128> = (1..=10).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(
            ceilings,
            [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(10));
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_between_half_and_the_ceiling_and_varies() {
        let b = Backoff::default();
        let delays: Vec<Duration> = (0..200).map(|_| b.delay(4)).collect();
        for d in &delays {
            assert!(*d >= Duration::from_millis(400) && *d <= Duration::from_millis(800));
        }
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "no jitter at all");
    }
}
