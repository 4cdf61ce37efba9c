//! The hub run's store: a fresh one per bench, so every bench starts from empty tables.
//!
//! A store that already holds thousands of needs from earlier benches is slower (bigger
//! indexes, a longer WAL), which would make figures drift from run to run; and the bench must
//! not leave its needs in the operator's database. So `sqlite` is a file in a temporary
//! directory and `postgres` (or a `postgres://` URL naming the server) is a new database,
//! dropped at the end. Only an explicit `sqlite:` URL is used as it is.

use std::path::Path;
use std::str::FromStr;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use super::LoadgenError;
use crate::store::redact_url;
use crate::urls::with_database;

/// The local PostgreSQL of the development setup.
pub const DEFAULT_POSTGRES_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `--store`: which store the hub run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// A SQLite file in a temporary directory (the default).
    Sqlite,
    /// A fresh database on the PostgreSQL server of this URL (whose database is used only to
    /// create and drop the fresh one); dropped at the end.
    Postgres {
        /// Server URL, e.g. [`DEFAULT_POSTGRES_SERVER`].
        server: String,
    },
    /// This `sqlite:` URL, used as it is.
    Url(String),
}

impl FromStr for StoreChoice {
    type Err = LoadgenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres {
                server: DEFAULT_POSTGRES_SERVER.to_owned(),
            }),
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Self::Postgres {
                    server: url.to_owned(),
                })
            }
            url if url.starts_with("sqlite:") => Ok(Self::Url(url.to_owned())),
            other => Err(LoadgenError::StoreChoice(redact_url(other))),
        }
    }
}

/// The store of one bench, and how to get rid of it.
pub(crate) struct BenchStore {
    /// What the hub connects to.
    pub url: String,
    /// What the report calls it (no password).
    pub label: String,
    /// A temporary PostgreSQL database: (server URL, database name), while not yet dropped.
    temporary: Option<(String, String)>,
}

impl BenchStore {
    /// Prepare the store `choice` names; SQLite files go to `dir`.
    pub(super) async fn prepare(choice: &StoreChoice, dir: &Path) -> Result<Self, LoadgenError> {
        match choice {
            StoreChoice::Sqlite => Ok(Self {
                url: format!("sqlite://{}", dir.join("bench-hub.db").display()),
                label: "sqlite (temporary file)".to_owned(),
                temporary: None,
            }),
            StoreChoice::Url(url) => Ok(Self {
                url: url.clone(),
                label: redact_url(url),
                temporary: None,
            }),
            StoreChoice::Postgres { server } => create_database(server).await,
        }
    }

    /// Drop the temporary database, if there is one.
    pub(super) async fn remove(mut self) -> Result<(), LoadgenError> {
        match self.temporary.take() {
            Some((server, name)) => drop_database(&server, &name).await,
            None => Ok(()),
        }
    }
}

impl Drop for BenchStore {
    /// An early return, a panic or Ctrl-C: drop the database on a thread of its own.
    fn drop(&mut self) {
        let Some((server, name)) = self.temporary.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(drop_database(&server, &name)).ok()
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            tracing::error!(store = %self.label, "could not drop the bench's database; drop it by hand");
        }
    }
}

async fn admin(server: &str) -> Result<PgConnection, LoadgenError> {
    PgConnection::connect(server)
        .await
        .map_err(|e| LoadgenError::Postgres {
            url: redact_url(server),
            detail: e.to_string(),
        })
}

async fn create_database(server: &str) -> Result<BenchStore, LoadgenError> {
    let name = format!("samverkan_bench_{}", uuid::Uuid::new_v4().simple());
    let mut connection = admin(server).await?;
    let sql = format!("CREATE DATABASE {name}");
    let created = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await;
    connection.close().await.ok();
    created.map_err(|e| LoadgenError::Postgres {
        url: redact_url(server),
        detail: e.to_string(),
    })?;
    let url = with_database(server, &name)?;
    Ok(BenchStore {
        label: format!("postgres (temporary database on {})", redact_url(server)),
        url,
        temporary: Some((server.to_owned(), name)),
    })
}

async fn drop_database(server: &str, name: &str) -> Result<(), LoadgenError> {
    let mut connection = admin(server).await?;
    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let dropped = sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut connection)
        .await;
    connection.close().await.ok();
    dropped.map(|_| ()).map_err(|e| LoadgenError::Postgres {
        url: redact_url(server),
        detail: format!("dropping {name}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_parse() {
        assert_eq!(
            "sqlite".parse::<StoreChoice>().unwrap(),
            StoreChoice::Sqlite
        );
        assert_eq!(
            "postgres".parse::<StoreChoice>().unwrap(),
            StoreChoice::Postgres {
                server: DEFAULT_POSTGRES_SERVER.into()
            }
        );
        assert!(matches!(
            "sqlite:///tmp/x.db".parse::<StoreChoice>().unwrap(),
            StoreChoice::Url(_)
        ));
        let err = "mysql://u:secret@h/x".parse::<StoreChoice>().unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
