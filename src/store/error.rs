//! What can go wrong in the store, and whether trying again can help.
//!
//! The pipeline settles every delivery from one question: is this failure transient (retry with
//! backoff, then dead-letter past the bound) or permanent (dead-letter now)? DESIGN.md §4.
//! [`StoreError::is_transient`] answers it, so that knowledge of SQLSTATEs and SQLite result
//! codes stays here and not in the pipeline.

use std::io;

use sqlx::error::DatabaseError;

/// A store operation that failed. Messages never contain a password: URLs are redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL does not name a store this build can open.
    #[error("store URL {url:?} is not usable: {detail}")]
    InvalidUrl {
        /// The URL, password redacted.
        url: String,
        /// What is wrong and what is accepted.
        detail: &'static str,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the store at {url}: {source}{hint}")]
    Connect {
        /// The URL, password redacted.
        url: String,
        /// What the operator can do about it (empty when nothing specific is known).
        hint: &'static str,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The schema migrations failed (or the database has migrations this build does not know).
    #[error("cannot migrate the store at {url}: {source}")]
    Migrate {
        /// The URL, password redacted.
        url: String,
        /// What the migrator said.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The need changed since it was read: its version is no longer the expected one. Load it
    /// again and re-apply the event.
    #[error("need {need_id} was changed concurrently (expected version {expected})")]
    Conflict {
        /// The need.
        need_id: String,
        /// The version the caller read.
        expected: i64,
    },
    /// A need with this id already exists.
    #[error("need {need_id} already exists")]
    NeedExists {
        /// The need.
        need_id: String,
    },
    /// The need does not exist.
    #[error("need {need_id} does not exist")]
    NeedNotFound {
        /// The need.
        need_id: String,
    },
    /// An answer names an organisation that is not a recipient of the need.
    #[error("{org_id} is not a recipient of need {need_id}")]
    NotRecipient {
        /// The need.
        need_id: String,
        /// The answering organisation.
        org_id: String,
    },
    /// A stored value is not what this version of the hub writes (edited by hand, or written
    /// by a newer version).
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt {
        /// Which column, e.g. `needs.state`.
        what: &'static str,
        /// Why it does not parse (never the value itself).
        detail: String,
    },
    /// The database refused or failed a statement.
    #[error("store query failed: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the same work may succeed if tried again a little later: the database was busy
    /// or locked, the connection dropped, the pool was exhausted, a serialization failure or
    /// deadlock aborted the transaction, or another instance changed the need first
    /// ([`StoreError::Conflict`]). Everything else needs a person (or will never succeed) and
    /// is dead-lettered.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Conflict { .. } => true,
            Self::Connect { source, .. } | Self::Database(source) => is_transient_sqlx(source),
            Self::InvalidUrl { .. }
            | Self::Migrate { .. }
            | Self::NeedExists { .. }
            | Self::NeedNotFound { .. }
            | Self::NotRecipient { .. }
            | Self::Corrupt { .. } => false,
        }
    }

    pub(super) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Classifies a driver error; see [`StoreError::is_transient`].
pub(super) fn is_transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(e) => is_transient_io(e),
        sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => is_transient_database(db.as_ref()),
        _ => false,
    }
}

fn is_transient_io(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | NotConnected
            | BrokenPipe
            | TimedOut
            | UnexpectedEof
            | Interrupted
    )
}

/// SQLSTATE codes (PostgreSQL) are always five characters; SQLite reports its extended result
/// code as a decimal number of at most four digits, so the length tells the two apart.
fn is_transient_database(db: &dyn DatabaseError) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if code.len() == 5 {
        is_transient_sqlstate(&code)
    } else {
        code.parse::<i64>()
            .is_ok_and(|extended| is_transient_sqlite(extended & 0xff))
    }
}

/// PostgreSQL: connection exceptions (class 08), serialization failure, deadlock, lock not
/// available, too many connections, and the server shutting down or starting up.
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "53300" | "57P01" | "57P02" | "57P03"
        )
}

/// SQLite primary result codes `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6), which cover their
/// extended variants (busy snapshot, busy timeout, locked shared cache, …).
fn is_transient_sqlite(primary: i64) -> bool {
    matches!(primary, 5 | 6)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::fmt;

    use sqlx::error::ErrorKind;

    use super::*;

    /// A database error with a given code, standing in for the drivers' own (which cannot be
    /// built outside sqlx).
    #[derive(Debug)]
    struct Coded(&'static str);

    impl fmt::Display for Coded {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "code {}", self.0)
        }
    }

    impl StdError for Coded {}

    impl DatabaseError for Coded {
        fn message(&self) -> &str {
            "test"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> StoreError {
        StoreError::Database(sqlx::Error::Database(Box::new(Coded(code))))
    }

    #[test]
    fn busy_locked_serialization_and_deadlock_are_transient() {
        // SQLite: BUSY, BUSY_SNAPSHOT, BUSY_TIMEOUT, LOCKED, LOCKED_SHAREDCACHE.
        for code in ["5", "517", "773", "6", "262"] {
            assert!(db(code).is_transient(), "sqlite {code}");
        }
        // PostgreSQL: serialization failure, deadlock, lock timeout, admin shutdown,
        // connection failure, too many connections.
        for code in ["40001", "40P01", "55P03", "57P01", "08006", "53300"] {
            assert!(db(code).is_transient(), "postgres {code}");
        }
    }

    #[test]
    fn constraint_and_syntax_errors_are_permanent() {
        // SQLite: CONSTRAINT_UNIQUE, CONSTRAINT_FOREIGNKEY, ERROR, READONLY.
        for code in ["2067", "787", "1", "8"] {
            assert!(!db(code).is_transient(), "sqlite {code}");
        }
        // PostgreSQL: unique violation, FK violation, syntax error, undefined table.
        for code in ["23505", "23503", "42601", "42P01"] {
            assert!(!db(code).is_transient(), "postgres {code}");
        }
    }

    #[test]
    fn lost_connections_and_exhausted_pools_are_transient() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert!(StoreError::Database(sqlx::Error::Io(refused)).is_transient());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Database(sqlx::Error::PoolClosed).is_transient());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_transient());
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(!StoreError::Database(sqlx::Error::Io(denied)).is_transient());
    }

    #[test]
    fn a_version_conflict_is_retried_and_domain_errors_are_not() {
        let conflict = StoreError::Conflict {
            need_id: "NEED-1".into(),
            expected: 3,
        };
        assert!(conflict.is_transient());
        let not_recipient = StoreError::NotRecipient {
            need_id: "NEED-1".into(),
            org_id: "acme".into(),
        };
        assert!(!not_recipient.is_transient());
        assert!(!StoreError::corrupt("needs.state", "unknown state").is_transient());
    }
}
