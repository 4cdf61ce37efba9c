//! What can go wrong in the store, and whether trying again can help.
//!
//! The hub settles every delivery from one question: whose fault is this failure? The
//! message's own data (retried a bounded number of times, then dead-lettered), contention with
//! another transaction (retried), or the store itself (the hub pauses until the store works
//! again; the message is not to blame and is never dead-lettered for it). [`StoreError::fault`]
//! answers it, so that knowledge of SQLSTATEs and SQLite result codes stays here.

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
    /// The store answered but cannot take writes now (read-only after a fail-over, or a
    /// write check failed).
    #[error("the store cannot write: {detail}")]
    Unwritable {
        /// What the check saw.
        detail: String,
    },
    /// A delivery in a transaction written without savepoints ([`Tx::without_savepoints`])
    /// had to be undone alone, which only a savepoint can do: the transaction is unusable;
    /// write its deliveries again with savepoints.
    ///
    /// [`Tx::without_savepoints`]: super::Tx::without_savepoints
    #[error("a delivery cannot be undone alone in a transaction written without savepoints")]
    NoSavepoint,
    /// The database refused or failed a statement.
    #[error("store query failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a store failure says about the work that hit it — decided here, in one place, so that
/// no caller guesses from error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// About this message's own data (a constraint it breaks, a value the database cannot
    /// hold): trying it again will fail again, while other messages succeed.
    Message,
    /// Another transaction got in the way (busy, locked, serialization failure, deadlock, a
    /// concurrent change of the need): try the same message again shortly.
    Contention,
    /// The store itself cannot do its work (unreachable, read-only, shutting down, disk full,
    /// I/O errors, timeouts, a broken connection): nothing is wrong with the message. Stop
    /// taking messages, wait for the store, then go on.
    Infrastructure,
}

impl StoreError {
    /// The [`Fault`] class of this failure. As docs/settlement.md says, only failures about
    /// the message's data (SQLSTATE classes 22 and 23; SQLite constraint, mismatch, too big,
    /// range; values the hub cannot decode) are the message's fault; contention is retried;
    /// everything else is an infrastructure fault.
    #[must_use]
    pub fn fault(&self) -> Fault {
        match self {
            Self::Conflict { .. } | Self::NoSavepoint => Fault::Contention,
            Self::NeedExists { .. }
            | Self::NeedNotFound { .. }
            | Self::NotRecipient { .. }
            | Self::Corrupt { .. } => Fault::Message,
            Self::InvalidUrl { .. } | Self::Connect { .. } | Self::Migrate { .. } => {
                Fault::Infrastructure
            }
            Self::Unwritable { .. } => Fault::Infrastructure,
            Self::Database(source) => sqlx_fault(source),
        }
    }

    /// A short, stable label of what kind of failure this is, for metrics and logs:
    /// `data`, `contention`, `unreachable`, `read_only`, `disk_full`, `io`, `timeout`,
    /// `resources`, `shutdown` or `other`.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Conflict { .. } | Self::NoSavepoint => "contention",
            Self::Connect { .. } => "unreachable",
            Self::Unwritable { .. } => "read_only",
            Self::Database(source) => sqlx_kind(source),
            _ if self.fault() == Fault::Message => "data",
            _ => "other",
        }
    }

    /// Whether the same work may succeed if tried again: anything but a [`Fault::Message`].
    #[must_use]
    pub fn is_transient(&self) -> bool {
        self.fault() != Fault::Message
    }

    pub(super) fn corrupt(what: &'static str, detail: impl ToString) -> Self {
        Self::Corrupt {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Classifies a driver error; see [`StoreError::fault`].
pub(super) fn sqlx_fault(error: &sqlx::Error) -> Fault {
    use sqlx::Error as E;
    match error {
        E::Database(db) => database_fault(db.as_ref()),
        E::RowNotFound
        | E::TypeNotFound { .. }
        | E::ColumnIndexOutOfBounds { .. }
        | E::ColumnNotFound(_)
        | E::ColumnDecode { .. }
        | E::Decode(_)
        | E::Encode(_) => Fault::Message,
        _ => Fault::Infrastructure,
    }
}

fn sqlx_kind(error: &sqlx::Error) -> &'static str {
    use sqlx::Error as E;
    match error {
        E::Io(e) if e.kind() == io::ErrorKind::TimedOut => "timeout",
        E::Io(_) | E::Tls(_) | E::Protocol(_) | E::WorkerCrashed => "io",
        E::PoolTimedOut => "timeout",
        E::PoolClosed => "shutdown",
        E::Database(db) => database_kind(db.as_ref()),
        _ if sqlx_fault(error) == Fault::Message => "data",
        _ => "other",
    }
}

/// SQLSTATE codes (PostgreSQL) are always five characters; SQLite reports its extended result
/// code as a decimal number of at most four digits, so the length tells the two apart.
enum Code {
    SqlState(String),
    Sqlite(i64),
    Unknown,
}

fn code_of(db: &dyn DatabaseError) -> Code {
    match db.code() {
        Some(code) if code.len() == 5 => Code::SqlState(code.into_owned()),
        Some(code) => code
            .parse::<i64>()
            .map_or(Code::Unknown, |extended| Code::Sqlite(extended & 0xff)),
        None => Code::Unknown,
    }
}

fn database_fault(db: &dyn DatabaseError) -> Fault {
    match code_of(db) {
        // Class 22 (data exception) and 23 (integrity constraint violation) are about the
        // values written; serialization failure, deadlock and lock-not-available are contention.
        Code::SqlState(c) if c.starts_with("22") || c.starts_with("23") => Fault::Message,
        Code::SqlState(c) if matches!(c.as_str(), "40001" | "40P01" | "55P03") => Fault::Contention,
        // SQLite: TOOBIG (18), CONSTRAINT (19), MISMATCH (20), RANGE (25); BUSY (5), LOCKED (6).
        Code::Sqlite(18 | 19 | 20 | 25) => Fault::Message,
        Code::Sqlite(5 | 6) => Fault::Contention,
        _ => Fault::Infrastructure,
    }
}

fn database_kind(db: &dyn DatabaseError) -> &'static str {
    if database_fault(db) == Fault::Message {
        return "data";
    }
    match code_of(db) {
        Code::SqlState(c) if c == "25006" => "read_only",
        Code::SqlState(c) if c.starts_with("08") || c == "57P03" => "unreachable",
        Code::SqlState(c) if c.starts_with("57") => "shutdown",
        Code::SqlState(c) if c.starts_with("53") => "resources",
        Code::SqlState(c) if c.starts_with("58") => "io",
        Code::SqlState(c) if matches!(c.as_str(), "40001" | "40P01" | "55P03") => "contention",
        Code::Sqlite(5 | 6) => "contention",
        Code::Sqlite(8) => "read_only",
        Code::Sqlite(13) => "disk_full",
        Code::Sqlite(10 | 14 | 11 | 26) => "io",
        _ => "other",
    }
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
    fn busy_locked_serialization_and_deadlock_are_contention() {
        // SQLite: BUSY, BUSY_SNAPSHOT, BUSY_TIMEOUT, LOCKED, LOCKED_SHAREDCACHE.
        // PostgreSQL: serialization failure, deadlock, lock not available.
        for code in ["5", "517", "773", "6", "262", "40001", "40P01", "55P03"] {
            assert_eq!(db(code).fault(), Fault::Contention, "{code}");
            assert!(db(code).is_transient(), "{code}");
        }
    }

    #[test]
    fn only_the_messages_own_data_is_its_fault() {
        // PostgreSQL classes 22 and 23: unique, FK, NUL in text, value too long.
        // SQLite: CONSTRAINT_UNIQUE, CONSTRAINT_FOREIGNKEY, TOOBIG, MISMATCH, RANGE.
        for code in [
            "23505", "23503", "22021", "22001", "2067", "787", "18", "20", "25",
        ] {
            assert_eq!(db(code).fault(), Fault::Message, "{code}");
            assert_eq!(db(code).kind(), "data", "{code}");
        }
        assert_eq!(
            StoreError::Database(sqlx::Error::RowNotFound).fault(),
            Fault::Message
        );
    }

    #[test]
    fn everything_else_is_the_stores_fault() {
        let cases = [
            ("25006", "read_only"),   // read-only transaction (after a fail-over)
            ("57P03", "unreachable"), // cannot connect now (starting up)
            ("57P01", "shutdown"),    // admin shutdown
            ("08006", "unreachable"), // connection failure
            ("53300", "resources"),   // too many connections
            ("53100", "resources"),   // disk full
            ("55000", "other"),       // object not in prerequisite state
            ("42P01", "other"),       // undefined table: a migration missing, not the message
            ("8", "read_only"),       // SQLite READONLY
            ("13", "disk_full"),      // SQLite FULL
            ("4874", "io"),           // SQLite IOERR_SHORT_READ
            ("1", "other"),           // SQLite ERROR
        ];
        for (code, kind) in cases {
            assert_eq!(db(code).fault(), Fault::Infrastructure, "{code}");
            assert_eq!(db(code).kind(), kind, "{code}");
        }
        for error in [
            sqlx::Error::Io(io::Error::from(io::ErrorKind::ConnectionRefused)),
            sqlx::Error::Io(io::Error::from(io::ErrorKind::PermissionDenied)),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::WorkerCrashed,
        ] {
            assert_eq!(StoreError::Database(error).fault(), Fault::Infrastructure);
        }
        let unwritable = StoreError::Unwritable {
            detail: "read-only".into(),
        };
        assert_eq!(unwritable.fault(), Fault::Infrastructure);
    }

    #[test]
    fn a_version_conflict_is_contention_and_domain_errors_are_the_messages() {
        let conflict = StoreError::Conflict {
            need_id: "NEED-1".into(),
            expected: 3,
        };
        assert_eq!(conflict.fault(), Fault::Contention);
        let not_recipient = StoreError::NotRecipient {
            need_id: "NEED-1".into(),
            org_id: "acme".into(),
        };
        assert_eq!(not_recipient.fault(), Fault::Message);
        assert!(!StoreError::corrupt("needs.state", "unknown state").is_transient());
    }
}
