//! The system under test — the hub, or the pass-through worker — in a process of its own.
//!
//! `samverkan run` gives the hub a process and a multi-threaded runtime to itself; here both
//! workers get the same: a child process of the same binary (`samverkan bench-worker`, see
//! `worker`), so what the bench reads from `/proc/<pid>` — CPU time, peak memory, storage
//! writes — is the worker's own. The bench's process keeps only the load generator and the
//! observer.
//!
//! The worker's stderr (its log) is copied line by line to the bench's stderr, and its last
//! lines are kept, so a worker that ends early fails the run with
//! [`LoadgenError::WorkerEnded`] saying why in the worker's own words. Closing its stdin stops
//! it gracefully (it settles what it holds, the hub flushes its outbox); dropping a [`Sut`]
//! that was not stopped kills the process, so an interrupted bench leaves no worker behind.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::LoadgenError;
use super::procfs::Proc;
use super::worker::{WORKER_SUBCOMMAND, WorkerProgram, WorkerSpec};

/// Lines of the worker's stderr kept for an error.
const TAIL_LINES: usize = 20;
/// How long a stopped worker may take to settle, flush and exit.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a stopping worker is looked at.
const POLL: Duration = Duration::from_millis(20);

/// A running worker process.
pub(crate) struct Sut {
    run: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<JoinHandle<()>>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Sut {
    /// Start `program` as the worker `spec` describes and hand it the spec.
    pub(super) async fn start(
        program: &WorkerProgram,
        spec: &WorkerSpec,
    ) -> Result<Self, LoadgenError> {
        let run = spec.run();
        let exe = program.exe()?;
        let mut command = Command::new(&exe);
        if let Some(config) = &program.config {
            command.arg("--config").arg(config);
        }
        command
            .arg(WORKER_SUBCOMMAND)
            .envs(program.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().map_err(|e| LoadgenError::WorkerEnded {
            run,
            detail: format!("cannot start {}: {e}", exe.display()),
        })?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let stderr = child.stderr.take().map(|pipe| {
            let tail = tail.clone();
            std::thread::spawn(move || copy_stderr(pipe, &tail))
        });
        let stdin = child.stdin.take();
        let mut sut = Self {
            run,
            child,
            stdin,
            stderr,
            tail,
        };
        sut.send(spec).await?;
        Ok(sut)
    }

    /// The worker's process, for `/proc`.
    pub(super) fn proc(&self) -> Proc {
        Proc::Pid(self.child.id())
    }

    async fn send(&mut self, spec: &WorkerSpec) -> Result<(), LoadgenError> {
        let line = serde_json::to_string(spec)
            .map_err(|e| LoadgenError::Sample(format!("the worker's spec: {e}")))?;
        let written = match self.stdin.as_mut() {
            Some(stdin) => writeln!(stdin, "{line}").and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("no stdin")),
        };
        let Err(e) = written else { return Ok(()) };
        // Most likely it has ended already; say how rather than "broken pipe".
        let detail = match self.exit_within(Duration::from_secs(2)).await {
            Some(status) => exited(status),
            None => format!("it did not take its spec: {e}"),
        };
        Err(self.ended_async(detail).await)
    }

    /// Fails when the worker has ended (it runs until told to stop, so it failed).
    pub(super) async fn check(&mut self) -> Result<(), LoadgenError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(self.ended_async(exited(status)).await),
            Err(e) => Err(self.ended_async(format!("cannot look at it: {e}")).await),
        }
    }

    /// Close the worker's stdin and wait until it has exited: it settles what it holds, the
    /// hub flushes its outbox, connections close. A worker that fails or takes longer than
    /// [`STOP_TIMEOUT`] fails the run (and is killed).
    pub(super) async fn stop(mut self) -> Result<(), LoadgenError> {
        drop(self.stdin.take());
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(self.ended_async(exited(status)).await),
                Ok(None) if started.elapsed() < STOP_TIMEOUT => tokio::time::sleep(POLL).await,
                Ok(None) => {
                    self.kill();
                    let detail = format!("it did not stop within {} s", STOP_TIMEOUT.as_secs());
                    return Err(self.ended_async(detail).await);
                }
                Err(e) => return Err(self.ended_async(format!("cannot wait for it: {e}")).await),
            }
        }
    }

    /// Its exit status, if it exits within `limit`.
    async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(None) if started.elapsed() < limit => tokio::time::sleep(POLL).await,
                Ok(status) => return status,
                Err(_) => return None,
            }
        }
    }

    /// The error for a worker that ended, once its stderr has been read to the end.
    async fn ended_async(&mut self, detail: String) -> LoadgenError {
        if let Some(reader) = self.stderr.take() {
            // The pipe closes when the process is gone; a grandchild holding it open must not
            // hang the bench, so wait a little only.
            let joined = tokio::task::spawn_blocking(move || reader.join());
            tokio::time::timeout(Duration::from_secs(2), joined)
                .await
                .ok();
        }
        self.ended(detail)
    }

    fn ended(&self, detail: String) -> LoadgenError {
        let tail = self
            .tail
            .lock()
            .map(|lines| lines.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default();
        let detail = if tail.is_empty() {
            format!("{detail}; it wrote nothing to stderr")
        } else {
            format!("{detail}; the end of its stderr:\n{tail}")
        };
        LoadgenError::WorkerEnded {
            run: self.run,
            detail,
        }
    }

    fn kill(&mut self) {
        if let Err(e) = self.child.kill() {
            tracing::debug!(error = %e, run = self.run, "cannot kill the worker");
        }
        self.child.wait().ok();
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

fn exited(status: ExitStatus) -> String {
    if status.success() {
        "it exited without an error".to_owned()
    } else {
        format!("it exited ({status})")
    }
}

/// Copy the worker's stderr to ours, keeping the last [`TAIL_LINES`] lines.
fn copy_stderr(pipe: std::process::ChildStderr, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        eprintln!("{line}");
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    use super::*;
    use crate::loadgen::worker::WorkerKind;

    /// A worker program that is the shell script `body` (it ignores its arguments).
    fn script(dir: &Path, body: &str) -> WorkerProgram {
        let exe = dir.join("worker.sh");
        std::fs::write(&exe, format!("#!/bin/sh\n{body}\n")).expect("script");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        WorkerProgram {
            exe: Some(exe),
            ..WorkerProgram::default()
        }
    }

    fn spec() -> WorkerSpec {
        WorkerSpec {
            prefetch: 1,
            region_user: "samverkan-bench-t".into(),
            worker: WorkerKind::PassThrough {
                url: "amqp://u:p@h/v".into(),
                fan_out: Vec::new(),
            },
        }
    }

    #[tokio::test]
    async fn a_worker_stops_when_its_stdin_closes_and_gets_its_spec() {
        let dir = tempfile::TempDir::new().expect("dir");
        let got = dir.path().join("spec.json");
        let body = format!("cat > '{}'", got.display());
        let sut = Sut::start(&script(dir.path(), &body), &spec())
            .await
            .expect("started");
        sut.stop().await.expect("a clean exit once stdin closed");
        let line = std::fs::read_to_string(&got).expect("the spec");
        let back: WorkerSpec = serde_json::from_str(&line).expect("one JSON line");
        assert_eq!(back, spec());
    }

    #[tokio::test]
    async fn a_worker_that_ends_fails_the_run_with_its_stderr() {
        let dir = tempfile::TempDir::new().expect("dir");
        let program = script(dir.path(), "echo 'no broker here' >&2; exit 3");
        // It may end before or after it took its spec: either way the run fails saying why.
        let err = match Sut::start(&program, &spec()).await {
            Err(e) => e,
            Ok(mut sut) => {
                let started = Instant::now();
                loop {
                    match sut.check().await {
                        Ok(()) if started.elapsed() < Duration::from_secs(30) => {
                            tokio::time::sleep(POLL).await;
                        }
                        Ok(()) => panic!("the worker exited at once"),
                        Err(e) => break e,
                    }
                }
            }
        };
        let text = err.to_string();
        assert!(text.contains("pass-through run's worker"), "{text}");
        assert!(text.contains("exit status: 3"), "{text}");
        assert!(text.contains("no broker here"), "{text}");
    }

    #[tokio::test]
    async fn dropping_a_worker_kills_it() {
        let dir = tempfile::TempDir::new().expect("dir");
        let program = script(dir.path(), "exec sleep 600");
        let sut = Sut::start(&program, &spec()).await.expect("started");
        let Proc::Pid(pid) = sut.proc() else {
            panic!("a child has a pid")
        };
        let proc_dir = format!("/proc/{pid}");
        assert!(Path::new(&proc_dir).exists());
        drop(sut);
        assert!(!Path::new(&proc_dir).exists(), "killed and reaped");
    }
}
