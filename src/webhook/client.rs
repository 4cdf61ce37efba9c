//! The hub's HTTP clients for webhooks: one for the operator's configured URLs, one whose
//! resolver refuses non-global addresses for URLs organisations registered (`guard.rs`).
//!
//! Both are built once per hub (connection pools and TLS roots are shared by every
//! organisation), with the request timeout of `[webhooks] timeout_secs` bounding each attempt,
//! no redirects followed (a redirect could lead anywhere, the guard would not see it, and
//! Standard Webhooks treats it as a failure) and no proxy from the environment (the guard must
//! see the address it connects to). https:// works with rustls and the system's roots.

use std::error::Error as _;

use reqwest::Client;
use reqwest::redirect::Policy;
use url::{Host, Url};

use super::guard::{GlobalOnly, NonGlobalAddress, is_global};
use super::target::{Origin, Target};
use crate::settings::WebhooksSettings;

/// The two clients.
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    open: Client,
    guarded: Client,
    allow_private: bool,
}

impl Clients {
    /// The clients `[webhooks]` describes.
    ///
    /// # Errors
    ///
    /// When the TLS backend cannot be initialised.
    pub(crate) fn new(settings: &WebhooksSettings) -> Result<Self, reqwest::Error> {
        let builder = || {
            Client::builder()
                .timeout(settings.timeout())
                .connect_timeout(settings.timeout())
                .redirect(Policy::none())
                .no_proxy()
                .user_agent(concat!("samverkan-webhooks/", env!("CARGO_PKG_VERSION")))
        };
        let open = builder().build()?;
        let guarded = if settings.allow_private_urls {
            open.clone()
        } else {
            builder().dns_resolver(GlobalOnly).build()?
        };
        Ok(Self {
            open,
            guarded,
            allow_private: settings.allow_private_urls,
        })
    }

    /// The client for `target`, or the error kind when its URL may not be used: a registered
    /// URL whose literal address is not global (the resolver checks host names).
    pub(crate) fn for_target(&self, target: &Target) -> Result<&Client, &'static str> {
        if target.origin == Origin::Config || self.allow_private {
            return Ok(&self.open);
        }
        let literal = Url::parse(&target.url)
            .ok()
            .and_then(|url| match url.host() {
                Some(Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            });
        match literal {
            Some(ip) if !is_global(ip) => Err(PRIVATE_ADDRESS),
            _ => Ok(&self.guarded),
        }
    }
}

/// The error kind of a URL that leads to a non-global address.
pub(crate) const PRIVATE_ADDRESS: &str = "private_address";

/// What kind of failure a request error is, for the store, the CLI and the logs: never the
/// error's text, which may quote the URL.
pub(crate) fn error_kind(error: &reqwest::Error) -> &'static str {
    let mut source = error.source();
    while let Some(e) = source {
        if e.is::<NonGlobalAddress>() {
            return PRIVATE_ADDRESS;
        }
        source = e.source();
    }
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "request"
    }
}
