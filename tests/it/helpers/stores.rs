//! Tests that run on both stores: a fresh SQLite file, then a fresh PostgreSQL database.
//!
//! PostgreSQL is required: when it cannot be reached these tests fail and say how to start it;
//! they never skip. `SAMVERKAN__STORE__PG_URL` points them at another server (default
//! `postgres://postgres@127.0.0.1:5432/test`; the user must be allowed to create databases).

use std::future::Future;

use samverkan::store::Backend;
use sqlx::{AnyConnection, AssertSqlSafe, Connection as _};

use super::app::{App, spawn_app_with};

/// The PostgreSQL server when `SAMVERKAN__STORE__PG_URL` is not set.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// How to get a PostgreSQL server, for the failure message.
pub const START_PG: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) \
     main start` (or run scripts/test --services-only), or point SAMVERKAN__STORE__PG_URL at a \
     server that is running";

/// A fresh PostgreSQL database, dropped when this is dropped (also when the test fails).
pub struct PgDatabase {
    /// The server's URL as configured (to create and drop the database).
    pub admin_url: String,
    /// The database's name.
    pub name: String,
    /// The database's URL, for the store under test.
    pub url: String,
}

impl PgDatabase {
    pub async fn create() -> Self {
        sqlx::any::install_default_drivers();
        let admin_url = std::env::var("SAMVERKAN__STORE__PG_URL").unwrap_or(DEFAULT_PG_URL.into());
        let redacted = samverkan::store::redact_url(&admin_url);
        let mut admin = AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!("PostgreSQL at {redacted} is unreachable ({e}): {START_PG}")
            });
        let name = format!("it_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE on {redacted}: {e}"));
        admin.close().await.ok();
        let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
        let authority = base.find("://").map_or(0, |i| i + 3);
        let server = match base[authority..].find('/') {
            Some(slash) => &base[..authority + slash],
            None => base,
        };
        let url = match query {
            "" => format!("{server}/{name}"),
            q => format!("{server}/{name}?{q}"),
        };
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime, so the async driver gets a thread of its own.
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
            eprintln!(
                "could not drop the test database {}; drop it by hand",
                self.name
            );
        }
    }
}

/// Runs `test` once on a fresh SQLite file and once on a fresh PostgreSQL database (dropped
/// afterwards, pass or fail; see [`PgDatabase`]). Every store test in the suite uses this.
pub async fn on_both<F, Fut>(test: F)
where
    F: Fn(Backend, String) -> Fut,
    Fut: Future<Output = ()>,
{
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}", dir.path().join("store.db").display());
    bounded(Backend::Sqlite, test(Backend::Sqlite, sqlite)).await;
    let database = PgDatabase::create().await;
    bounded(
        Backend::Postgres,
        test(Backend::Postgres, database.url.clone()),
    )
    .await;
}

/// A test that hangs (a lock never released, a pool waiting for a connection) fails instead.
async fn bounded(backend: Backend, test: impl Future<Output = ()>) {
    let limit = std::time::Duration::from_secs(60);
    if tokio::time::timeout(limit, test).await.is_err() {
        panic!("{backend}: the test did not finish within {limit:?}");
    }
}

/// Runs `test` on a hub over a SQLite file, then on one over a fresh PostgreSQL database.
pub async fn on_both_hubs<F, Fut>(test: F)
where
    F: Fn(App, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    on_both_hubs_with(&[], test).await;
}

/// [`on_both_hubs`] with extra `SAMVERKAN__…` settings.
pub async fn on_both_hubs_with<F, Fut>(extra: &[(&str, &str)], test: F)
where
    F: Fn(App, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    test(spawn_app_with(extra).await, "sqlite").await;
    let database = PgDatabase::create().await;
    let url = database.url.clone();
    let mut env = extra.to_vec();
    env.push(("SAMVERKAN__STORE__URL", &url));
    test(spawn_app_with(&env).await, "postgres").await;
}
