//! One attempt at a usable link to the broker, and what both reconnecting ends share.
//!
//! The hub does not use lapin's built-in connection recovery: it replays channels only as part
//! of a whole-connection recovery, gives up after a fixed number of attempts, and has had a
//! string of recovery fixes through 4.x. Rebuilding from nothing is simpler
//! to reason about: every (re)connect is the same steps as the first start — connect, open a
//! channel, declare the topology (the broker may have lost it, or be a new node) — and a
//! half-recovered state cannot exist.

use std::fmt;

use lapin::{Channel, Connection};

use super::connection::{CONNECT_TIMEOUT, connect, redact_url};
use super::declare::declare;
use crate::transport::Backoff;
use crate::transport::Topology;
use crate::transport::TransportError;

/// Where the broker is and what must exist on it.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Broker URL (contains the password; shown redacted).
    pub url: String,
    /// `connection_name` client property, shown by the management UI and `rabbitmqctl`.
    pub connection_name: String,
    /// Declared on every (re)connect.
    pub topology: Topology,
    /// Delays between reconnect attempts.
    pub backoff: Backoff,
}

impl Endpoint {
    /// An endpoint with the default backoff (100 ms doubling to 10 s, jittered).
    pub fn new(
        url: impl Into<String>,
        connection_name: impl Into<String>,
        topology: Topology,
    ) -> Self {
        Self {
            url: url.into(),
            connection_name: connection_name.into(),
            topology,
            backoff: Backoff::default(),
        }
    }

    /// Connect, open a channel and declare the topology, each within [`CONNECT_TIMEOUT`] (a
    /// broker that accepts connections but does not answer must not stall a reconnect loop).
    /// On failure everything opened so far is dropped, which closes it.
    pub(super) async fn open(&self) -> Result<(Connection, Channel), TransportError> {
        let connection = connect(&self.url, &self.connection_name).await?;
        let setup =
            async {
                let channel = connection.create_channel().await.map_err(|source| {
                    TransportError::Channel {
                        operation: "channel.open",
                        source,
                    }
                })?;
                declare(&channel, &self.topology).await?;
                Ok(channel)
            };
        match tokio::time::timeout(CONNECT_TIMEOUT, setup).await {
            Ok(Ok(channel)) => Ok((connection, channel)),
            Ok(Err(e)) => Err(e),
            Err(_elapsed) => Err(TransportError::ConnectTimeout {
                url: redact_url(&self.url),
                seconds: CONNECT_TIMEOUT.as_secs(),
            }),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &redact_url(&self.url))
            .field("connection_name", &self.connection_name)
            .field("org_ids", &self.topology.org_ids())
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// Whether a link opened earlier can still carry traffic.
pub(super) fn usable(connection: &Connection, channel: &Channel) -> bool {
    connection.status().connected() && channel.status().connected()
}

/// The error as one line with its causes, for a log field.
pub(super) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
