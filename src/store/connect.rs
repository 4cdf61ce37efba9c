//! Opening a store: which backend a URL names and how its connections are pooled; the
//! migrations (`migrations.rs`) run before anything else touches it.
//!
//! SQLite and PostgreSQL want different pools. SQLite allows one writer at a time per file;
//! sqlx's default *deferred* transactions take the write lock on their first write and fail with
//! `SQLITE_BUSY` when another connection holds it, without waiting. So SQLite gets a writer pool
//! of exactly one connection whose transactions start with `BEGIN IMMEDIATE` (writers queue
//! fairly on the pool, and `BEGIN IMMEDIATE` waits out another *process* for the busy timeout
//! instead of failing mid-transaction), plus a reader pool for the relay and queries, which WAL
//! lets run beside the writer. PostgreSQL has row locks and serves both roles from one pool.
//! SQLite keeps its default `synchronous = FULL`: the hub acks a delivery once the commit
//! returns, so the commit must survive a power cut, not only a crash of the process.
//!
//! The first connection is opened by hand, not through the pool, because a pool retries a
//! refused connection silently until its timeout and then reports only "timed out"; opening it
//! directly surfaces "connection refused", which the operator can act on.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, Connection};

use super::error::StoreError;
use super::migrations::migrate;
use crate::redact::{MALFORMED_HINT, is_well_formed, redact_url, secret_parameters};

/// The database behind a [`Store`](super::Store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file (or an in-memory database, for tests and `demo`).
    Sqlite,
    /// A PostgreSQL server, shared by competing hub instances.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret URL parameters sqlx's PostgreSQL driver reads (it logs any other it is given).
const SQLX_READS: [&str; 3] = ["password", "sslkey", "ssl-key"];

/// Longest wait for a pooled connection; past it the operation fails as transient.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The pools of an open store; for PostgreSQL and in-memory SQLite both are the same pool.
#[derive(Debug, Clone)]
pub(super) struct Pools {
    pub(super) backend: Backend,
    pub(super) writer: AnyPool,
    pub(super) reader: AnyPool,
    /// Ticks after commits that appended to a feed (`feed.rs`).
    pub(super) feed: super::feed::FeedSignal,
    /// The intake's turn at SQLite's one writer (see [`intake_turn`]).
    pub(super) intake: IntakeTurn,
    /// Where committed outbox rows go, once this process's relay opened a handoff
    /// (`handoff.rs`).
    pub(super) handoff: super::handoff::Slot,
}

/// One permit: the pipeline's write transactions ([`Tx`](super::Tx)) on SQLite take it before
/// they ask the pool for the writer, and hold it until they end.
///
/// Without it every batch in flight (`hub.workers` of them) queues on the one-connection
/// writer pool, and the relay's once-per-batch transaction (`settle.rs`) queues behind all of
/// them: measured in `samverkan bench`, the relay waited up to a second for the writer while
/// the intake ran, fell thousands of rows behind and only caught up once the intake stopped.
/// With the intake's transactions queueing here instead, at most one of them is ever queued
/// on the pool, so the relay waits for the transaction that is writing and is next after it.
/// The intake loses nothing: SQLite lets one transaction write at a time anyway.
pub(super) type IntakeTurn = std::sync::Arc<tokio::sync::Semaphore>;

fn intake_turn() -> IntakeTurn {
    std::sync::Arc::new(tokio::sync::Semaphore::new(1))
}

/// A parsed store URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) backend: Backend,
    /// The URL handed to the driver (SQLite files get `mode=rwc` so a missing file is created).
    pub(super) url: String,
    /// An in-memory SQLite database, which lives only as long as its one connection.
    pub(super) in_memory: bool,
    /// The URL for messages.
    pub(super) redacted: String,
}

/// Recognises `sqlite://path`, `sqlite::memory:` and `postgres://…` / `postgresql://…`.
pub(super) fn parse_url(url: &str) -> Result<Target, StoreError> {
    let redacted = redact_url(url);
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // sqlx would read such a URL differently (another host, the password's tail as a
        // parameter it logs as unrecognised): refuse it with the fix instead.
        if !is_well_formed(url) {
            return Err(StoreError::InvalidUrl {
                url: redacted,
                detail: MALFORMED_HINT,
            });
        }
        // sqlx logs a parameter it does not read, value included, at WARN.
        let unread = secret_parameters(url)
            .into_iter()
            .any(|name| !SQLX_READS.contains(&name.as_str()));
        if unread {
            return Err(StoreError::InvalidUrl {
                url: redacted,
                detail: "it has a secret parameter the PostgreSQL driver does not read (e.g. \
                         sslpassword: use a key file without a passphrase); remove it",
            });
        }
        return Ok(Target {
            backend: Backend::Postgres,
            url: url.to_owned(),
            in_memory: false,
            redacted,
        });
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(StoreError::InvalidUrl {
            url: redacted,
            detail: "use sqlite://PATH, sqlite::memory: or postgres://USER@HOST:PORT/DATABASE",
        });
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = path.trim_start_matches("//");
    let in_memory = path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    if path.is_empty() && !in_memory {
        return Err(StoreError::InvalidUrl {
            url: redacted,
            detail: "the SQLite URL has no file path: use sqlite://PATH or sqlite::memory:",
        });
    }
    let has_mode = query.split('&').any(|p| p.starts_with("mode="));
    let url = match (in_memory || has_mode, query.is_empty()) {
        (true, _) => url.to_owned(),
        (false, true) => format!("{url}?mode=rwc"),
        (false, false) => format!("{url}&mode=rwc"),
    };
    Ok(Target {
        backend: Backend::Sqlite,
        url,
        in_memory,
        redacted,
    })
}

/// Connects, migrates and builds the pools.
pub(super) async fn open(url: &str, max_connections: u32) -> Result<Pools, StoreError> {
    sqlx::any::install_default_drivers();
    let target = parse_url(url)?;
    let options: AnyConnectOptions = target
        .url
        .parse()
        .map_err(|source| connect_error(&target, source))?;
    if target.in_memory {
        return open_in_memory(&target, options).await;
    }

    let mut first = AnyConnection::connect_with(&options)
        .await
        .map_err(|source| connect_error(&target, source))?;
    if target.backend == Backend::Sqlite {
        // Persistent in the file: readers no longer block the writer, nor it them.
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut first)
            .await
            .map_err(|source| connect_error(&target, source))?;
    }
    migrate(&target, &mut first).await?;
    first.close().await.map_err(StoreError::Database)?;

    let max_connections = max_connections.max(1);
    // A connection handed back still inside a transaction (its commit or rollback failed, e.g.
    // on a full disk, or a dropped `Tx` only queued its rollback) is closed, never reused: the
    // pool opens a fresh one. Reused, SQLite's single writer would refuse every later `BEGIN`.
    let pool = |max: u32| {
        AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_release(|conn, _meta| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
            .connect_lazy_with(options.clone())
    };
    Ok(match target.backend {
        Backend::Postgres => {
            let shared = pool(max_connections);
            Pools {
                backend: Backend::Postgres,
                writer: shared.clone(),
                reader: shared,
                feed: super::feed::signal(),
                intake: intake_turn(),
                handoff: super::handoff::Slot::default(),
            }
        }
        Backend::Sqlite => Pools {
            backend: Backend::Sqlite,
            writer: pool(1),
            reader: pool(max_connections),
            feed: super::feed::signal(),
            intake: intake_turn(),
            handoff: super::handoff::Slot::default(),
        },
    })
}

/// An in-memory SQLite database exists only inside its connection, so the store keeps exactly
/// one, forever: it is the writer and the reader. (A reader waits while a transaction is open.)
async fn open_in_memory(target: &Target, options: AnyConnectOptions) -> Result<Pools, StoreError> {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(|source| connect_error(target, source))?;
    let mut conn = pool.acquire().await.map_err(StoreError::Database)?;
    migrate(target, &mut conn).await?;
    drop(conn);
    Ok(Pools {
        backend: Backend::Sqlite,
        writer: pool.clone(),
        reader: pool,
        feed: super::feed::signal(),
        intake: intake_turn(),
        handoff: super::handoff::Slot::default(),
    })
}

fn connect_error(target: &Target, source: sqlx::Error) -> StoreError {
    let refused = matches!(
        &source,
        sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    );
    let hint = match target.backend {
        Backend::Postgres if refused => {
            " (is PostgreSQL running? Start it, e.g. on Debian with `pg_ctlcluster \
             --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point \
             SAMVERKAN__STORE__URL at a running server)"
        }
        Backend::Postgres => "",
        Backend::Sqlite => {
            " (check that the directory exists and is writable, or use another \
             SAMVERKAN__STORE__URL)"
        }
    };
    StoreError::Connect {
        url: target.redacted.clone(),
        hint,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend_and_sqlite_files_are_created() {
        let pg = parse_url("postgres://postgres@127.0.0.1/test").expect("postgres");
        assert_eq!(
            (pg.backend, pg.in_memory, pg.url.as_str()),
            (
                Backend::Postgres,
                false,
                "postgres://postgres@127.0.0.1/test"
            )
        );
        let file = parse_url("sqlite://samverkan.db").expect("file");
        assert_eq!(
            (file.backend, file.in_memory, file.url.as_str()),
            (Backend::Sqlite, false, "sqlite://samverkan.db?mode=rwc")
        );
        let ro = parse_url("sqlite:///var/lib/x.db?mode=ro").expect("read-only");
        assert_eq!(ro.url, "sqlite:///var/lib/x.db?mode=ro");
        let other = parse_url("sqlite://x.db?cache=shared").expect("param");
        assert_eq!(other.url, "sqlite://x.db?cache=shared&mode=rwc");
        for memory in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
        ] {
            let m = parse_url(memory).expect(memory);
            assert!(m.in_memory && m.url == memory, "{memory}");
        }
    }

    #[test]
    fn unusable_urls_are_refused_without_the_password() {
        for url in [
            "mysql://root:pw@db/x",
            "samverkan.db",
            "sqlite://",
            "sqlite:",
            "postgres://hub:pw?x@db/x",
            "postgresql://hub:12#pw@db/x",
            "postgres://hub@db/x?sslpassword=pw",
        ] {
            let err = parse_url(url).expect_err(url);
            assert!(matches!(err, StoreError::InvalidUrl { .. }), "{url}");
            let shown = err.to_string();
            assert!(!shown.contains(":pw") && !shown.contains("pw@"), "{shown}");
        }
    }
}
