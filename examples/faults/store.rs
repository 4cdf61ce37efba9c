//! Store side: a throwaway PostgreSQL database, the TCP proxy that makes it unreachable, the
//! read-only switch, and the small disk that fills up.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection as _};

pub(crate) const DATABASE_PREFIX: &str = "samverkan_faults_";

/// A fresh PostgreSQL database, dropped (with its sessions) when this is dropped.
pub(crate) struct PgDatabase {
    admin_url: String,
    pub name: String,
    /// The database, directly on 127.0.0.1:5432.
    pub url: String,
}

impl PgDatabase {
    pub(crate) async fn create(admin_url: &str, fault: &str) -> anyhow::Result<Self> {
        let mut admin = AnyConnection::connect(admin_url)
            .await
            .context("PostgreSQL on 127.0.0.1:5432")?;
        let id = uuid::Uuid::now_v7().simple().to_string();
        let name = format!("{DATABASE_PREFIX}{}_{}", fault.replace('-', "_"), &id[20..]);
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await?;
        admin.close().await.ok();
        let mut url = url::Url::parse(admin_url)?;
        url.set_path(&name);
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    /// Make new sessions on the database read-only (or writable again), and end the current
    /// ones, as a fail-over to a standby (and back) would.
    pub(crate) async fn set_read_only(&self, on: bool) -> anyhow::Result<()> {
        let value = if on { "on" } else { "off" };
        let mut admin = AnyConnection::connect(&self.admin_url).await?;
        for sql in [
            format!(
                "ALTER DATABASE {} SET default_transaction_read_only = {value}",
                self.name
            ),
            format!(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = '{}' AND pid <> pg_backend_pid()",
                self.name
            ),
        ] {
            sqlx::query(AssertSqlSafe(sql)).execute(&mut admin).await?;
        }
        admin.close().await.ok();
        Ok(())
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the runtime, so the driver gets a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = AnyConnection::connect(&admin_url).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("faults: could not drop database {}", self.name);
        }
    }
}

/// A TCP proxy in front of PostgreSQL on 127.0.0.1:5432 that can go away and come back on
/// the same port.
pub(crate) struct Proxy {
    pub address: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    pub(crate) async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        Ok(Self {
            address,
            task: Some(tokio::spawn(forward(listener))),
        })
    }

    /// Cut every connection and refuse new ones.
    pub(crate) async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Accept connections again, on the same port.
    pub(crate) async fn restart(&mut self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(self.address).await?;
        self.task = Some(tokio::spawn(forward(listener)));
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Pipe every connection to PostgreSQL; aborting this ends them all (the set aborts its pipes
/// when dropped).
async fn forward(listener: tokio::net::TcpListener) {
    let mut pipes = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        pipes.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        while pipes.try_join_next().is_some() {}
    }
}

/// The small tmpfs `scripts/faults` mounted for SQLite.
pub(crate) struct SmallDisk {
    pub dir: PathBuf,
}

impl SmallDisk {
    pub(crate) fn new(dir: &Path) -> anyhow::Result<Self> {
        let dir = dir.join(format!("run-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Write a filler file until the disk is full; the bytes written.
    pub(crate) fn fill(&self) -> anyhow::Result<u64> {
        let mut file = std::fs::File::create(self.filler())?;
        let block = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        while file.write_all(&block).is_ok() {
            written += block.len() as u64;
        }
        while file.write_all(&block[..512]).is_ok() {
            written += 512;
        }
        Ok(written)
    }

    pub(crate) fn free(&self) -> anyhow::Result<()> {
        std::fs::remove_file(self.filler())?;
        Ok(())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `SELECT count(*) …` on the driver's own pool.
pub(crate) async fn count(db: &AnyPool, sql: &'static str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar::<_, i64>(sql).fetch_one(db).await?)
}
