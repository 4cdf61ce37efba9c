//! Opening a connection to RabbitMQ, with errors an operator can act on.
//!
//! lapin 4 runs on the ambient tokio runtime (its `tokio` feature; the 2.x
//! `with_executor`/`with_reactor` calls are gone), so [`connect`] must be awaited inside one.
//! The connection carries a `connection_name` client property, which the management UI and
//! `rabbitmqctl list_connections client_properties` show, so each hub process can be told apart.
//!
//! The URL holds the broker password. It is parsed here rather than inside lapin (whose parse
//! errors quote the URL) and only ever appears in errors and logs through [`redact_url`]. A URL
//! that does not parse as written (an unescaped `?` or `/` in the password) is refused before
//! lapin sees it: lapin would connect to whatever host it read and quote the misread parts.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties};
use tokio::time::Instant;

pub use crate::redact::redact_url;
use crate::redact::{MALFORMED_HINT, is_well_formed};
use crate::transport::TransportError;

/// The broker of a local development setup (`rabbitmq-server` or `docker compose`).
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// How long the TCP connect plus AMQP handshake may take before [`connect`] gives up.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// How long [`close`] waits for the broker to answer `connection.close`.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How [`close_within`] ended.
#[derive(Debug)]
pub enum CloseOutcome {
    /// The broker answered: the connection is closed.
    Closed,
    /// Closing failed (the connection was already gone, or the broker refused).
    Failed(lapin::Error),
    /// The broker did not answer in time; the connection was left to be dropped.
    TimedOut,
}

/// Close `connection` with `reason`, waiting at most [`CLOSE_TIMEOUT`] for the broker; see
/// [`close_within`].
pub async fn close(connection: &Connection, reason: &str) -> CloseOutcome {
    close_within(connection, reason, CLOSE_TIMEOUT).await
}

/// Close `connection` with `reason`, waiting at most `timeout` for the broker's `close-ok`.
///
/// A broker that stopped answering must not hang a shutdown or an operator's request that
/// only wanted to let go of the connection. When it times out, the caller drops the
/// connection; the broker settles what the connection held as for any connection that went
/// away (unacknowledged deliveries go back to their queue). Not an error for the caller to
/// act on, so it is logged here at debug.
pub async fn close_within(
    connection: &Connection,
    reason: &str,
    timeout: Duration,
) -> CloseOutcome {
    let outcome = match tokio::time::timeout(timeout, connection.close(200, reason.into())).await {
        Ok(Ok(())) => CloseOutcome::Closed,
        Ok(Err(e)) => CloseOutcome::Failed(e),
        Err(_elapsed) => CloseOutcome::TimedOut,
    };
    if !matches!(outcome, CloseOutcome::Closed) {
        tracing::debug!(
            ?outcome,
            reason,
            "closing an AMQP connection did not complete"
        );
    }
    outcome
}

/// Close `channel`, then its `connection`, within one [`CLOSE_TIMEOUT`]; see
/// [`close_settled_within`].
pub async fn close_settled(
    connection: &Connection,
    channel: &Channel,
    reason: &str,
) -> CloseOutcome {
    close_settled_within(connection, channel, reason, CLOSE_TIMEOUT).await
}

/// Close `channel` and then `connection`, waiting at most `timeout` in all.
///
/// For a connection whose channel acknowledged deliveries. `basic.ack` has no confirm: the
/// broker handles a channel's frames in order, so once it answers the channel's close every
/// ack sent on it is settled. Closing only the connection does not wait for that, and the
/// broker has been seen (RabbitMQ 4.0.5) to give back a delivery whose ack had been written.
/// A channel already gone is not closed again; a close that fails or times out is logged at
/// debug, and what is left of `timeout` goes to the connection.
pub async fn close_settled_within(
    connection: &Connection,
    channel: &Channel,
    reason: &str,
    timeout: Duration,
) -> CloseOutcome {
    let deadline = Instant::now() + timeout;
    if connection.status().connected() && channel.status().connected() {
        match tokio::time::timeout(timeout, channel.close(200, reason.into())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(error = %e, reason, "closing an AMQP channel failed"),
            Err(_elapsed) => tracing::debug!(reason, "closing an AMQP channel timed out"),
        }
    }
    close_within(
        connection,
        reason,
        deadline.saturating_duration_since(Instant::now()),
    )
    .await
}

/// Connect to the broker at `url`, naming the connection `connection_name`.
///
/// Errors say where (with the password redacted) and, when nothing listens there, how to
/// start RabbitMQ.
pub async fn connect(url: &str, connection_name: &str) -> Result<Connection, TransportError> {
    let redacted = redact_url(url);
    if !is_well_formed(url) {
        return Err(TransportError::InvalidUrl {
            url: redacted,
            detail: MALFORMED_HINT.to_owned(),
        });
    }
    let uri: AMQPUri = url
        .parse()
        .map_err(|detail: String| TransportError::InvalidUrl {
            detail: detail.replace(url, &redacted),
            url: redacted.clone(),
        })?;
    let properties = ConnectionProperties::default().with_connection_name(connection_name.into());
    let connecting = Connection::connect_uri(uri, properties);
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_elapsed) => Err(TransportError::ConnectTimeout {
            url: redacted,
            seconds: CONNECT_TIMEOUT.as_secs(),
        }),
        Ok(Err(source)) if is_connection_refused(&source) => {
            Err(TransportError::BrokerUnreachable {
                url: redacted,
                source,
            })
        }
        Ok(Err(source)) => Err(TransportError::Connect {
            url: redacted,
            source,
        }),
        Ok(Ok(connection)) => {
            tracing::info!(url = %redacted, connection_name, "connected to RabbitMQ");
            Ok(connection)
        }
    }
}

/// Whether the error is "nothing listens on that port" anywhere in its source chain.
fn is_connection_refused(error: &lapin::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        source = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_urls_are_reported_without_the_password() {
        let err = connect("amqp://hub:s3cret@", "test").await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TransportError::InvalidUrl { .. }), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
        let err = connect("http://hub:s3cret@host/", "test")
            .await
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
