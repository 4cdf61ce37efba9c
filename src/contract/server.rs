//! The broker address shown under `servers`.
//!
//! The document is served without a token, so it must never carry a secret: the address is
//! built from the host and port of a URL only, never from its user info, and a URL that does
//! not parse as written (an unescaped `/`, `?` or `#` in a password moves part of it into the
//! host) is not used at all.

use url::Url;

use crate::redact::is_well_formed;

/// Where organisations connect: scheme (`amqp` or `amqps`), host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    protocol: &'static str,
    host: String,
    port: u16,
}

impl BrokerAddress {
    /// The placeholder `amqp://rabbitmq.example:5672`, for a document not tied to one hub.
    #[must_use]
    pub fn placeholder() -> Self {
        Self {
            protocol: "amqp",
            host: "rabbitmq.example".to_owned(),
            port: 5672,
        }
    }

    /// The host and port of an AMQP URL (`amqp://user:password@host:port/vhost`); `None` for
    /// another scheme or a URL that does not parse as written. User, password, vhost and query
    /// are dropped.
    #[must_use]
    pub fn from_amqp_url(url: &str) -> Option<Self> {
        if !is_well_formed(url) {
            return None;
        }
        let parsed = Url::parse(url).ok()?;
        let (protocol, default_port) = match parsed.scheme() {
            "amqp" => ("amqp", 5672),
            "amqps" => ("amqps", 5671),
            _ => return None,
        };
        let host = parsed.host_str().filter(|h| !h.is_empty())?.to_owned();
        Some(Self {
            protocol,
            host,
            port: parsed.port().unwrap_or(default_port),
        })
    }

    /// `amqp` or `amqps`.
    #[must_use]
    pub fn protocol(&self) -> &'static str {
        self.protocol
    }

    /// `host:port`, an IPv6 address in brackets.
    #[must_use]
    pub fn host_port(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_host_and_port_and_drops_credentials() {
        let address = BrokerAddress::from_amqp_url("amqps://hub:s3cret@mq.vgregion.se/%2f")
            .expect("an AMQP URL");
        assert_eq!(
            (address.protocol(), address.host_port().as_str()),
            ("amqps", "mq.vgregion.se:5671")
        );
        let address = BrokerAddress::from_amqp_url("amqp://guest:guest@[::1]:5673").expect("IPv6");
        assert_eq!(address.host_port(), "[::1]:5673");
    }

    #[test]
    fn refuses_other_schemes_and_misread_urls() {
        for url in [
            "http://mq.example:5672",
            "amqp://user:pa/ss@mq.example",
            "amqp://user:p#ss@mq.example",
            "not a url",
        ] {
            assert_eq!(BrokerAddress::from_amqp_url(url), None, "{url}");
        }
    }
}
