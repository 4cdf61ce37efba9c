//! `samverkan run` as a child process, and its `/readyz`.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The hub process; killed when dropped.
pub(crate) struct Hub {
    child: Child,
    binary: PathBuf,
    repo: PathBuf,
    env: Vec<(String, String)>,
    pub log: PathBuf,
    pub http: String,
}

impl Hub {
    pub(crate) fn start(
        binary: &Path,
        repo: &Path,
        env: Vec<(String, String)>,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let http = env
            .iter()
            .find(|(k, _)| k == "SAMVERKAN__HTTP__LISTEN")
            .map(|(_, v)| v.clone())
            .context("the hub needs an HTTP address")?;
        let child = spawn(binary, repo, &env, log)?;
        Ok(Self {
            child,
            binary: binary.to_owned(),
            repo: repo.to_owned(),
            env,
            log: log.to_owned(),
            http,
        })
    }

    /// Start it again on the same store, vhost and log (after a kill).
    pub(crate) fn restart(&mut self) -> anyhow::Result<()> {
        self.child = spawn(&self.binary, &self.repo, &self.env, &self.log)?;
        Ok(())
    }

    /// An error (with the log's end) when the process has exited.
    pub(crate) fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "`samverkan run` exited ({status}); its log ends:\n{}",
                self.log_tail(3000)
            );
        }
        Ok(())
    }

    pub(crate) fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, and wait (at most 30 s) for a clean stop.
    pub(crate) async fn terminate(&mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("`samverkan run` stopped with {status}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill()?;
                bail!("`samverkan run` ignored SIGTERM for 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The HTTP status of `/readyz` (0 when nothing answers within 3 s).
    pub(crate) async fn readyz(&self) -> u16 {
        let client = reqwest::Client::new();
        let url = format!("http://{}/readyz", self.http);
        match tokio::time::timeout(Duration::from_secs(3), client.get(url).send()).await {
            Ok(Ok(response)) => response.status().as_u16(),
            _ => 0,
        }
    }

    pub(crate) fn log_tail(&self, bytes: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = log.len().saturating_sub(bytes);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(0);
        log[start..].to_owned()
    }

    /// Lines of the log at WARN or ERROR level.
    pub(crate) fn warnings(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.child.kill().ok();
            self.child.wait().ok();
        }
    }
}

fn spawn(
    binary: &Path,
    repo: &Path,
    env: &[(String, String)],
    log: &Path,
) -> anyhow::Result<Child> {
    let file = OpenOptions::new().create(true).append(true).open(log)?;
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SAMVERKAN")) {
        command.env_remove(key);
    }
    command
        .arg("run")
        .env_remove("RUST_LOG")
        .env("SAMVERKAN_CONFIG", "config/sample.toml")
        .env("SAMVERKAN__HUB__FIXED_DATE", "2026-11-22")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(repo)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .with_context(|| format!("start {}", binary.display()))
}

/// A free port on 127.0.0.1 for the hub's HTTP surface.
pub(crate) fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
