//! The system under test — the hub, or the pass-through worker — on a thread and runtime of
//! its own.
//!
//! `samverkan run` gives the hub a multi-threaded runtime to itself; here both workers get the
//! same kind of runtime, separate from the load generator's and the observer's, so the two runs
//! differ only in what the worker does per message. The thread ends when the shutdown trigger
//! fires; dropping a [`Sut`] fires it too, so an interrupted bench does not leave a worker
//! running.

use std::future::Future;
use std::thread::JoinHandle;

use super::LoadgenError;
use crate::transport::{Shutdown, ShutdownTrigger};

/// A running worker.
pub(crate) struct Sut {
    run: &'static str,
    trigger: ShutdownTrigger,
    thread: Option<JoinHandle<Result<(), LoadgenError>>>,
}

impl Sut {
    /// Run `worker` on a new thread with a new multi-threaded runtime until shutdown.
    pub(super) fn start<F, Fut>(run: &'static str, worker: F) -> Result<Self, LoadgenError>
    where
        F: FnOnce(Shutdown) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), LoadgenError>>,
    {
        let (trigger, shutdown) = Shutdown::new();
        let thread = std::thread::Builder::new()
            .name(format!("bench-{run}"))
            .spawn(move || {
                // Named, so per-thread CPU (`top -H`, /proc/PID/task) tells the worker from
                // the load generator.
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .thread_name(format!("sut-{run}"))
                    .enable_all()
                    .build()?;
                runtime.block_on(worker(shutdown))
            })?;
        Ok(Self {
            run,
            trigger,
            thread: Some(thread),
        })
    }

    /// Fails when the worker has ended (it runs until shutdown, so it failed).
    pub(super) async fn check(&mut self) -> Result<(), LoadgenError> {
        if self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
            let detail = match self.join().await {
                Err(e) => return Err(e),
                Ok(()) => "it returned without an error".to_owned(),
            };
            return Err(LoadgenError::WorkerEnded {
                run: self.run,
                detail,
            });
        }
        Ok(())
    }

    /// Shut the worker down and wait for it: it settles what it holds, the hub flushes its
    /// outbox, connections close.
    pub(super) async fn stop(mut self) -> Result<(), LoadgenError> {
        self.trigger.trigger();
        self.join().await
    }

    async fn join(&mut self) -> Result<(), LoadgenError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let joined = tokio::task::spawn_blocking(move || thread.join()).await;
        match joined {
            Ok(Ok(result)) => result,
            _ => Err(LoadgenError::WorkerEnded {
                run: self.run,
                detail: "its thread panicked".to_owned(),
            }),
        }
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        self.trigger.trigger();
    }
}
