//! The shutdown signal consumers listen to.
//!
//! A consumer blocks in `next()` for as long as the queue is empty, and a reconnecting one
//! sleeps between attempts; both must wake when the process is told to stop, or shutting down
//! would hang until the next message. The signal is a parameter, not a global (mini-redis
//! `server::run(listener, shutdown)`), so tests stop one consumer without touching another.
//!
//! It is a `tokio::sync::watch` channel: any number of clones observe one trigger, a late
//! subscriber still sees a trigger that already happened, and waiting is cancel-safe inside
//! `tokio::select!`. (tokio-util's `CancellationToken` would do the same; this keeps the
//! dependency list as it is.)

use tokio::sync::watch;

/// Fires [`Shutdown`]s. Dropping it without calling [`trigger`](Self::trigger) fires nothing.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

impl ShutdownTrigger {
    /// Another handle that observes this trigger.
    #[cfg(test)]
    pub(crate) fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }

    /// Tell every subscribed [`Shutdown`] to stop. Idempotent.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }
}

/// Observes a [`ShutdownTrigger`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// A trigger and a first handle observing it.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger { sender }, Shutdown { receiver })
    }

    /// A handle that never fires (a consumer then ends only when its broker closes).
    pub fn never() -> Shutdown {
        Self::new().1
    }

    /// Whether shutdown has been triggered.
    pub(crate) fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves once shutdown is triggered (at once if it already was); never resolves when the
    /// trigger was dropped untriggered. Cancel-safe.
    pub async fn wait(&self) {
        let mut receiver = self.receiver.clone();
        if receiver.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn every_handle_sees_the_trigger_even_a_late_one() {
        let (trigger, first) = Shutdown::new();
        let second = first.clone();
        assert!(!first.is_triggered());
        let waiting = tokio::spawn(async move { second.wait().await });
        trigger.trigger();
        waiting.await.unwrap();
        assert!(first.is_triggered());
        let late = trigger.subscribe();
        tokio::time::timeout(Duration::from_secs(1), late.wait())
            .await
            .expect("a late subscriber sees an earlier trigger");
    }

    #[tokio::test]
    async fn never_does_not_fire() {
        let never = Shutdown::never();
        let waited = tokio::time::timeout(Duration::from_millis(20), never.wait()).await;
        assert!(waited.is_err());
        assert!(!never.is_triggered());
    }
}
