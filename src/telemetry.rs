//! Logging: one `tracing` subscriber for the process, text or JSON, always on stderr.
//!
//! Logs go to **stderr** because stdout belongs to the command line's results: `samverkan
//! validate --format json` and friends print machine-readable output that scripts pipe into
//! other programs, and a single log line in between would corrupt it. Stderr keeps the two
//! streams apart whatever the log level.
//!
//! The filter is `log.level` from the settings unless the `RUST_LOG` environment variable is
//! set, which wins: an operator debugging one host should not have to edit configuration.
//! `json` writes one object per line with the event's fields at the top level (and the current
//! span's fields, such as `event_id`, `need_id` and `org`, under `span`), for log collectors.
//!
//! [`init`] installs a process-global subscriber, so it can succeed only once; a second call
//! returns [`TelemetryError::AlreadyInitialised`] instead of panicking. Tests that want silence
//! simply never call it.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};

use crate::settings::LogFormat;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum TelemetryError {
    /// The filter directives (from `RUST_LOG` or `log.level`) do not parse.
    #[error("invalid log filter {directives:?} from {origin}: {detail}")]
    Filter {
        /// `RUST_LOG` or `log.level`.
        origin: &'static str,
        /// The directives as given.
        directives: String,
        /// The parser's message.
        detail: String,
    },
    /// A global subscriber is already installed (e.g. `init` was called before).
    #[error("logging is already initialised: {0}")]
    AlreadyInitialised(#[from] TryInitError),
}

/// Installs the global subscriber: `RUST_LOG` if set, else `level`; `format` lines to stderr.
///
/// # Errors
///
/// When the filter does not parse, or a global subscriber is already installed.
pub(crate) fn init(level: &str, format: LogFormat) -> Result<(), TelemetryError> {
    let filter = filter(std::env::var(EnvFilter::DEFAULT_ENV).ok(), level)?;
    let ansi = std::io::stderr().is_terminal();
    let (text, json) = match format {
        LogFormat::Text => (
            Some(fmt::layer().with_writer(std::io::stderr).with_ansi(ansi)),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(text)
        .with(json)
        .try_init()?;
    Ok(())
}

/// lapin logs a returned (unroutable) message with its whole body at WARN. Our dead letters
/// carry refused originals, which may hold personal data, so lapin speaks only at ERROR unless
/// the operator names it explicitly.
const QUIET_LAPIN: &str = "lapin=error";

/// `rust_log` (the variable's value) wins over `level` when set and not blank.
fn filter(rust_log: Option<String>, level: &str) -> Result<EnvFilter, TelemetryError> {
    let (origin, mut directives) = match rust_log {
        Some(value) if !value.trim().is_empty() => ("RUST_LOG", value),
        _ => ("log.level", level.to_owned()),
    };
    if !directives.contains("lapin") {
        directives = format!("{directives},{QUIET_LAPIN}");
    }
    EnvFilter::try_new(&directives).map_err(|e| TelemetryError::Filter {
        origin,
        directives,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lapin_is_quiet_unless_named() {
        let quiet = filter(None, "info").expect("filter").to_string();
        assert!(quiet.contains("lapin=error"), "{quiet}");
        let named = filter(Some("lapin=debug".into()), "info")
            .expect("filter")
            .to_string();
        assert!(!named.contains("lapin=error"), "{named}");
    }

    #[test]
    fn rust_log_wins_over_the_configured_level() {
        let f = filter(Some("samverkan=trace".into()), "info").expect("valid");
        let directives = |f: EnvFilter| {
            let mut parts: Vec<String> = f.to_string().split(',').map(str::to_owned).collect();
            parts.sort();
            parts
        };
        assert_eq!(directives(f), ["lapin=error", "samverkan=trace"]);
        let f = filter(None, "warn").expect("valid");
        assert_eq!(directives(f), ["lapin=error", "warn"]);
        let f = filter(Some("  ".into()), "warn").expect("valid");
        assert_eq!(directives(f), ["lapin=error", "warn"]);
    }

    #[test]
    fn bad_filters_name_their_origin() {
        let e = filter(None, "info,=[").unwrap_err().to_string();
        assert!(e.contains("log.level"), "{e}");
        let e = filter(Some("samverkan=loud".into()), "info")
            .unwrap_err()
            .to_string();
        assert!(e.contains("RUST_LOG"), "{e}");
    }

    #[test]
    fn second_init_is_an_error_not_a_panic() {
        // The first call may fail only if something else in this process installed a
        // subscriber first; the second must fail either way.
        let _ = init("warn", LogFormat::Json);
        let second = init("warn", LogFormat::Text);
        assert!(
            matches!(second, Err(TelemetryError::AlreadyInitialised(_))),
            "{second:?}"
        );
    }
}
