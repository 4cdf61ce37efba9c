//! The hub's pause switch: when the store cannot do its work, stop taking deliveries.
//!
//! A database outage is not the messages' fault (docs/settlement.md). If the worker kept
//! taking deliveries while the store was read-only or unreachable, each would fail and — after
//! its bounded attempts — be dead-lettered, although nothing was wrong with it. So the first
//! delivery that meets an infrastructure fault ([`crate::store::Fault::Infrastructure`]) pauses
//! the hub: the worker takes nothing new, the deliveries in flight wait unacknowledged (the
//! broker keeps them; a crash hands them back), a prober tries the store with backoff and
//! jitter, and once the store can write again the switch flips back and everything resumes, by
//! itself. Waiting deliveries are not requeued: on a quorum queue every requeue counts towards
//! the delivery limit, and an outage must not spend it.
//!
//! A `tokio::sync::watch` channel, like [`crate::transport::Shutdown`]: any number of waiters,
//! a late waiter sees the current state, and waiting is cancel-safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// Whether the hub is paused, shared by the worker, the prober and `/readyz`.
#[derive(Debug, Clone)]
pub struct Pause {
    state: Arc<watch::Sender<bool>>,
    pauses: Arc<AtomicU64>,
}

impl Default for Pause {
    fn default() -> Self {
        Self::new()
    }
}

impl Pause {
    /// A switch that starts running.
    #[must_use]
    pub fn new() -> Self {
        Self {
            state: Arc::new(watch::channel(false).0),
            pauses: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Whether the hub is paused now.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        *self.state.borrow()
    }

    /// How many times the hub has paused since it started.
    #[must_use]
    pub fn pauses(&self) -> u64 {
        self.pauses.load(Ordering::Relaxed)
    }

    /// Pause; `true` when this call paused a running hub (the caller then logs why).
    pub fn pause(&self) -> bool {
        let paused = self
            .state
            .send_if_modified(|paused| !std::mem::replace(paused, true));
        if paused {
            self.pauses.fetch_add(1, Ordering::Relaxed);
        }
        paused
    }

    /// Resume; `true` when this call resumed a paused hub.
    pub(crate) fn resume(&self) -> bool {
        self.state
            .send_if_modified(|paused| std::mem::replace(paused, false))
    }

    /// Resolves while (or as soon as) the hub is running.
    pub(crate) async fn until_running(&self) {
        let mut receiver = self.state.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        let _ = receiver.wait_for(|paused| !*paused).await;
    }

    /// Resolves while (or as soon as) the hub is paused.
    pub(crate) async fn until_paused(&self) {
        let mut receiver = self.state.subscribe();
        let _ = receiver.wait_for(|paused| *paused).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waiters_pass_once_the_switch_flips() {
        let pause = Pause::new();
        pause.until_running().await;
        assert!(pause.pause());
        assert!(!pause.pause(), "pausing twice is one pause");
        assert_eq!(pause.pauses(), 1);
        let waiting = tokio::spawn({
            let pause = pause.clone();
            async move { pause.until_running().await }
        });
        pause.until_paused().await;
        assert!(
            tokio::time::timeout(Duration::from_millis(50), async {
                while !waiting.is_finished() {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .is_err(),
            "a waiter passed a paused switch"
        );
        assert!(pause.resume());
        waiting.await.expect("the waiter passes");
        assert!(!pause.is_paused());
        assert!(!pause.resume());
    }
}
