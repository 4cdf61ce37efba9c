//! Why a bench could not run or could not finish, in words an operator can act on.

use std::time::Duration;

use crate::hub::startup::StartupError;
use crate::onboard::{ManagementError, OnboardError};
use crate::settings::SettingsError;
use crate::transport::START_BROKER_HINT;
use crate::transport::TransportError;
use crate::urls::UrlError;

/// How to get a local PostgreSQL running, or avoid it.
pub const START_POSTGRES_HINT: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect \
     $(ls /etc/postgresql) main start` (or scripts/test --services-only), or bench on SQLite \
     with `--store sqlite`";

/// A failed bench.
#[derive(Debug, thiserror::Error)]
pub enum LoadgenError {
    /// The management API (vhosts, the bench user) failed or is unreachable.
    #[error(
        "the bench creates its own virtual hosts through the RabbitMQ management API (if \
         RabbitMQ is not running: {START_BROKER_HINT})"
    )]
    Management {
        /// What failed.
        #[source]
        source: Box<ManagementError>,
    },
    /// The broker could not be reached or refused an operation.
    #[error("{context}")]
    Broker {
        /// What the bench was doing.
        context: String,
        /// What failed.
        #[source]
        source: Box<TransportError>,
    },
    /// The hub did not start or stopped with an error.
    #[error("the hub under test failed")]
    Hub(#[source] Box<StartupError>),
    /// The system under test ended before the run was over.
    #[error("the {run} run's worker stopped before the run was over: {detail}")]
    WorkerEnded {
        /// `hub` or `pass-through`.
        run: &'static str,
        /// Why, as far as known.
        detail: String,
    },
    /// The temporary PostgreSQL database could not be created.
    #[error(
        "cannot create a temporary PostgreSQL database on {url}: {detail}; {START_POSTGRES_HINT}"
    )]
    Postgres {
        /// The server, without password.
        url: String,
        /// What failed.
        detail: String,
    },
    /// `--store` names no known backend.
    #[error("--store {0:?}: expected `sqlite`, `postgres`, or a URL (sqlite://PATH, postgres://…)")]
    StoreChoice(String),
    /// `amqp.url` or the PostgreSQL server URL cannot name a run's vhost or database.
    #[error("cannot point the bench at its own vhost or database: {0}")]
    Url(#[from] UrlError),
    /// The embedded sample configuration does not load (a build defect) or onboarding failed.
    #[error("the bench's sample world: {0}")]
    Sample(String),
    /// Writing the temporary files (store, catalogues) failed.
    #[error("cannot prepare the bench's temporary files: {0}")]
    Io(#[from] std::io::Error),
    /// The broker did not take a published need (returned or nacked).
    #[error("the broker did not take a published need: {0}")]
    NotTaken(String),
    /// The warm-up need did not produce a usable fan-out.
    #[error("the warm-up need on the {run} run: {detail}")]
    WarmUp {
        /// `hub` or `pass-through`.
        run: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// Nothing arrived for too long.
    #[error(
        "the {run} run stalled: nothing arrived for {} s with {complete} of {needs} needs \
         complete ({missing} messages missing); see the log for the hub's errors",
        stall.as_secs()
    )]
    Stalled {
        /// `hub` or `pass-through`.
        run: &'static str,
        /// How long nothing arrived.
        stall: Duration,
        /// Needs whose whole fan-out arrived.
        complete: usize,
        /// Needs published.
        needs: usize,
        /// Expected messages not seen.
        missing: u64,
    },
}

impl LoadgenError {
    /// `source` while doing `context`.
    pub(crate) fn broker(context: impl Into<String>, source: TransportError) -> Self {
        Self::Broker {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// A lapin error on a channel operation while doing `context`.
    pub(crate) fn amqp(context: &str, operation: &'static str, source: lapin::Error) -> Self {
        Self::broker(context, TransportError::Channel { operation, source })
    }
}

impl From<ManagementError> for LoadgenError {
    fn from(source: ManagementError) -> Self {
        Self::Management {
            source: Box::new(source),
        }
    }
}

impl From<OnboardError> for LoadgenError {
    fn from(error: OnboardError) -> Self {
        match error {
            OnboardError::Management(source) => source.into(),
            other => Self::Sample(other.to_string()),
        }
    }
}

impl From<StartupError> for LoadgenError {
    fn from(error: StartupError) -> Self {
        Self::Hub(Box::new(error))
    }
}

impl From<SettingsError> for LoadgenError {
    fn from(error: SettingsError) -> Self {
        Self::Sample(error.to_string())
    }
}
