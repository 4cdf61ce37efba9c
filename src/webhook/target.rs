//! Which webhook an organisation has: the one the operator configured, or else the one it
//! registered through the API. The operator's wins, so an organisation cannot redirect its
//! events away from where the operator sends them (the API answers 409 instead).

use std::fmt;

use url::Url;

use crate::redact::head_only;
use crate::settings::{Organisation, WebhookSecret};
use crate::store::{Store, StoreError};

/// Where an organisation's webhook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `webhook_url` in its `[[organisations]]` table.
    Config,
    /// `PUT /v1/webhook`.
    Api,
}

impl Origin {
    /// `config` or `api`, as the API and the CLI show it.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Api => "api",
        }
    }
}

/// An organisation's webhook: URL, signing secret, origin.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Where events go.
    pub(crate) url: String,
    /// What signs them.
    pub(crate) secret: WebhookSecret,
    /// Whose it is.
    pub(crate) origin: Origin,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("url", &shown_url(&self.url))
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The webhook the operator configured for `org`.
pub(crate) fn configured(org: &Organisation) -> Option<Target> {
    let url = org.webhook_url.clone()?;
    let secret = org.webhook_secret.clone()?;
    Some(Target {
        url,
        secret,
        origin: Origin::Config,
    })
}

/// `org`'s webhook: the configured one, else its registration in the store.
pub(crate) async fn target_of(
    store: &Store,
    org: &Organisation,
) -> Result<Option<Target>, StoreError> {
    if let Some(target) = configured(org) {
        return Ok(Some(target));
    }
    Ok(store
        .webhook_registration(&org.id)
        .await?
        .map(|registration| Target {
            url: registration.url,
            secret: registration.secret,
            origin: Origin::Api,
        }))
}

/// The configured organisations that have a webhook, in configuration order.
pub(crate) async fn with_webhooks<'a>(
    store: &Store,
    organisations: &'a [Organisation],
) -> Result<Vec<&'a Organisation>, StoreError> {
    let registered = store.webhook_registrations().await?;
    Ok(organisations
        .iter()
        .filter(|org| org.webhook_url.is_some() || registered.iter().any(|r| r.org_id == org.id))
        .collect())
}

/// `url` as logs and the CLI show it: no user name, password, query string or fragment.
pub(crate) fn shown_url(url: &str) -> String {
    let Some(mut parsed) = Url::parse(url).ok().filter(Url::has_host) else {
        return head_only(url);
    };
    // Both setters fail only for URLs without a host, which have no user info to hide.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_query(None);
    parsed.set_fragment(None);
    parsed.into()
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn shown_urls_lose_credentials_query_and_fragment() {
        assert_eq!(
            shown_url("https://u:p@hooks.example:8443/in?token=s3cret#x"),
            "https://hooks.example:8443/in"
        );
        assert_eq!(
            shown_url("http://127.0.0.1:9/hook"),
            "http://127.0.0.1:9/hook"
        );
        assert!(!shown_url("nonsense:s3cret").contains("s3cret"));
    }
}
