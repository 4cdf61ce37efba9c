//! A small client for the RabbitMQ management HTTP API: users, permissions and virtual hosts
//! (`samverkan bench` runs in throwaway vhosts), nothing else.
//!
//! Credentials travel as basic auth, never in the URL ([`Credentials`]); every error names the
//! management URL without them and says what to do.

use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::json;

use super::Permissions;
pub use super::credentials::Credentials;
pub use super::user::BrokerUser;
use crate::redact::{is_well_formed, redact_url};
use crate::urls::encode_component;

/// How long one management request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What went wrong talking to the management API.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// `amqp.management_url` does not parse.
    #[error("amqp.management_url {url:?} is not a valid http(s) URL")]
    InvalidUrl {
        /// The URL, without credentials.
        url: String,
    },
    /// Neither URL carries a user.
    #[error(
        "no management credentials: put them in amqp.management_url \
         (http://user:password@host:15672) or amqp.url"
    )]
    NoCredentials,
    /// The HTTP request itself failed (connection refused, timeout, …).
    #[error(
        "cannot reach the RabbitMQ management API at {url}: {detail}; enable it with \
         `rabbitmq-plugins enable rabbitmq_management` or set amqp.management_url"
    )]
    Unreachable {
        /// The management base URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The API answered with an error status.
    #[error("{action}: the management API at {url} answered {status} ({reason}): {hint}")]
    Refused {
        /// What was being done.
        action: String,
        /// The management base URL.
        url: String,
        /// The HTTP status.
        status: StatusCode,
        /// The API's own `reason`, e.g. `vhost_or_user_not_found`.
        reason: String,
        /// What to do about it.
        hint: String,
    },
}

/// A connection to the management API of one broker.
#[derive(Debug, Clone)]
pub struct Management {
    base: Url,
    credentials: Credentials,
    http: reqwest::Client,
}

impl Management {
    /// The API at `management_url`, authenticated with its user info or else `amqp_url`'s.
    pub fn new(management_url: &str, amqp_url: &str) -> Result<Self, ManagementError> {
        let mut base = Url::parse(management_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .filter(|_| is_well_formed(management_url))
            .ok_or_else(|| ManagementError::InvalidUrl {
                url: redact_url(management_url),
            })?;
        let credentials =
            Credentials::take(&mut base, amqp_url).ok_or(ManagementError::NoCredentials)?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ManagementError::Unreachable {
                url: redact_url(base.as_str()),
                detail: e.to_string(),
            })?;
        Ok(Self {
            base,
            credentials,
            http,
        })
    }

    /// The API's base URL, without credentials.
    #[must_use]
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// The user this client manages the broker as.
    #[must_use]
    pub(crate) fn admin_user(&self) -> &str {
        &self.credentials.user
    }

    /// Broker user `user`, or `None` when there is none.
    pub async fn user(&self, user: &str) -> Result<Option<BrokerUser>, ManagementError> {
        let action = format!("looking up user {user:?}");
        let response = self
            .send(self.http.get(self.endpoint(&["users", user])), &action)
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let body: serde_json::Value =
                    response
                        .json()
                        .await
                        .map_err(|e| ManagementError::Unreachable {
                            url: redact_url(self.base.as_str()),
                            detail: format!("{action}: unreadable answer: {}", e.without_url()),
                        })?;
                Ok(Some(BrokerUser::from_api(user, &body)))
            }
            _ => Err(self.refused(action, response, "").await),
        }
    }

    /// Remove every tag of `user`, keeping its password: the API replaces a user whole, so
    /// its password hash is sent back as it was read.
    pub(crate) async fn clear_tags(&self, user: &BrokerUser) -> Result<(), ManagementError> {
        let body = json!({
            "password_hash": user.password_hash,
            "hashing_algorithm": user.hashing_algorithm,
            "tags": "",
        });
        let action = format!("removing the tags of user {:?}", user.name);
        let request = self
            .http
            .put(self.endpoint(&["users", &user.name]))
            .json(&body);
        self.expect_success(request, action, "").await
    }

    /// Create `user` with `password` and no tags, or set the password of an existing one (and
    /// remove its tags).
    pub(crate) async fn put_user(&self, user: &str, password: &str) -> Result<(), ManagementError> {
        let body = json!({ "password": password, "tags": "" });
        let action = format!("creating user {user:?}");
        let request = self.http.put(self.endpoint(&["users", user])).json(&body);
        self.expect_success(request, action, "").await
    }

    /// Set `user`'s permissions on `vhost`.
    pub(crate) async fn put_permissions(
        &self,
        vhost: &str,
        user: &str,
        permissions: &Permissions,
    ) -> Result<(), ManagementError> {
        let action = format!("setting permissions of {user:?} on vhost {vhost:?}");
        let request = self
            .http
            .put(self.endpoint(&["permissions", vhost, user]))
            .json(permissions);
        let missing =
            format!("does vhost {vhost:?} exist? Create it with `rabbitmqctl add_vhost {vhost}`");
        self.expect_success(request, action, &missing).await
    }

    /// Create virtual host `vhost` (idempotent: an existing one is left as it is).
    pub(crate) async fn put_vhost(
        &self,
        vhost: &str,
        description: &str,
    ) -> Result<(), ManagementError> {
        let action = format!("creating vhost {vhost:?}");
        let body = json!({ "description": description });
        let request = self.http.put(self.endpoint(&["vhosts", vhost])).json(&body);
        self.expect_success(request, action, "").await
    }

    /// Whether virtual host `vhost` exists.
    pub async fn vhost_exists(&self, vhost: &str) -> Result<bool, ManagementError> {
        let action = format!("looking up vhost {vhost:?}");
        let request = self.http.get(self.endpoint(&["vhosts", vhost]));
        self.found(request, action).await
    }

    /// Delete virtual host `vhost` with everything in it (queues, exchanges, permissions).
    /// Returns whether it existed.
    pub async fn delete_vhost(&self, vhost: &str) -> Result<bool, ManagementError> {
        let action = format!("deleting vhost {vhost:?}");
        let request = self.http.delete(self.endpoint(&["vhosts", vhost]));
        self.found(request, action).await
    }

    /// Delete broker user `user` (its permissions go with it). Returns whether it existed.
    pub(crate) async fn delete_user(&self, user: &str) -> Result<bool, ManagementError> {
        let action = format!("deleting user {user:?}");
        let request = self.http.delete(self.endpoint(&["users", user]));
        self.found(request, action).await
    }

    /// Send `request`: `true` on success, `false` when the API says its object does not
    /// exist, the API's refusal otherwise.
    async fn found(
        &self,
        request: reqwest::RequestBuilder,
        action: String,
    ) -> Result<bool, ManagementError> {
        let response = self.send(request, &action).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            status if status.is_success() => Ok(true),
            _ => Err(self.refused(action, response, "").await),
        }
    }

    /// Create or replace policy `name` on `vhost` (`policy` as the API takes it: pattern,
    /// apply-to, priority, definition).
    pub(crate) async fn put_policy(
        &self,
        vhost: &str,
        name: &str,
        policy: &serde_json::Value,
    ) -> Result<(), ManagementError> {
        let action = format!("setting policy {name:?} on vhost {vhost:?}");
        let request = self
            .http
            .put(self.endpoint(&["policies", vhost, name]))
            .json(policy);
        let missing =
            format!("does vhost {vhost:?} exist? Create it with `rabbitmqctl add_vhost {vhost}`");
        self.expect_success(request, action, &missing).await
    }

    /// The definition of policy `name` on `vhost`, if there is one.
    pub async fn get_policy(
        &self,
        vhost: &str,
        name: &str,
    ) -> Result<Option<serde_json::Value>, ManagementError> {
        let action = format!("reading policy {name:?} on vhost {vhost:?}");
        let response = self
            .send(
                self.http.get(self.endpoint(&["policies", vhost, name])),
                &action,
            )
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let body = response
                    .json()
                    .await
                    .map_err(|e| ManagementError::Unreachable {
                        url: self.base.to_string(),
                        detail: format!("{action}: {}", e.without_url()),
                    })?;
                Ok(Some(body))
            }
            _ => Err(self.refused(action, response, "").await),
        }
    }

    /// Delete policy `name` on `vhost`. Returns whether it existed.
    pub(crate) async fn delete_policy(
        &self,
        vhost: &str,
        name: &str,
    ) -> Result<bool, ManagementError> {
        let action = format!("deleting policy {name:?} on vhost {vhost:?}");
        let response = self
            .send(
                self.http.delete(self.endpoint(&["policies", vhost, name])),
                &action,
            )
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            status if status.is_success() => Ok(true),
            _ => Err(self.refused(action, response, "").await),
        }
    }

    /// `api/<segment>/<segment>…` under the base path, each segment percent-encoded (a vhost
    /// `/` is `%2F`).
    fn endpoint(&self, segments: &[&str]) -> String {
        let mut url = self.base.clone();
        let mut path = format!("{}/api", url.path().trim_end_matches('/'));
        for segment in segments {
            path.push('/');
            path.push_str(&encode_component(segment));
        }
        url.set_path(&path);
        url.set_query(None);
        url.into()
    }

    async fn expect_success(
        &self,
        request: reqwest::RequestBuilder,
        action: String,
        not_found_hint: &str,
    ) -> Result<(), ManagementError> {
        let response = self.send(request, &action).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.refused(action, response, not_found_hint).await)
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        action: &str,
    ) -> Result<reqwest::Response, ManagementError> {
        request
            .basic_auth(&self.credentials.user, Some(&self.credentials.password))
            .send()
            .await
            .map_err(|e| ManagementError::Unreachable {
                url: redact_url(self.base.as_str()),
                // Without the URL: reqwest would print the full request URL.
                detail: format!("{action}: {}", e.without_url()),
            })
    }

    /// The error for a non-success `response`; `not_found_hint` is what to say when the API
    /// reports something missing (RabbitMQ says 404 or 400 `…_not_found`).
    async fn refused(
        &self,
        action: String,
        response: reqwest::Response,
        not_found_hint: &str,
    ) -> ManagementError {
        let status = response.status();
        // The API's error body is `{"error": …, "reason": …}`; it never echoes a password.
        let reason = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body["reason"].as_str().map(|r| crate::text::clip(r, 200)))
            .unwrap_or_else(|| "no reason given".to_owned());
        let missing = status == StatusCode::NOT_FOUND || reason.contains("not_found");
        let hint = match status {
            StatusCode::UNAUTHORIZED => format!(
                "user {:?} was not accepted; check the credentials in amqp.management_url or \
                 amqp.url",
                self.credentials.user
            ),
            StatusCode::FORBIDDEN => format!(
                "user {:?} may not manage users; it needs the `administrator` tag",
                self.credentials.user
            ),
            _ if missing && !not_found_hint.is_empty() => not_found_hint.to_owned(),
            _ => "see the broker's log".to_owned(),
        };
        ManagementError::Refused {
            action,
            url: redact_url(self.base.as_str()),
            status,
            reason,
            hint,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_the_management_url_first() {
        let m = Management::new(
            "http://admin:p%40ss@rabbit:15672/",
            "amqp://guest:guest@x/%2f",
        )
        .expect("valid");
        assert_eq!(m.credentials.user, "admin");
        assert_eq!(m.credentials.password, "p@ss");
        assert_eq!(m.url(), "http://rabbit:15672/");
        let m = Management::new("http://rabbit:15672", "amqp://hub:s3cret@x/%2f").expect("valid");
        assert_eq!(m.credentials.user, "hub");
        assert!(!format!("{m:?}").contains("s3cret"));
    }

    #[test]
    fn path_segments_are_encoded() {
        let m = Management::new("http://rabbit:15672/", "amqp://g:g@x/%2f").expect("valid");
        assert_eq!(
            m.endpoint(&["permissions", "/", "vgr"]),
            "http://rabbit:15672/api/permissions/%2F/vgr"
        );
        let m = Management::new("http://rabbit/mq/?x=1", "amqp://g:g@x/%2f").expect("valid");
        assert_eq!(
            m.endpoint(&["vhosts", "samverkan-bench-1"]),
            "http://rabbit/mq/api/vhosts/samverkan-bench-1"
        );
    }

    #[test]
    fn bad_urls_are_named_without_their_password() {
        for url in [
            "ftp://u:secret@rabbit",
            "http://u:12?secret@rabbit:15672",
            "http://u:pass/secret@rabbit:15672",
        ] {
            let error = Management::new(url, "amqp://g:g@x/%2f").expect_err(url);
            assert!(matches!(error, ManagementError::InvalidUrl { .. }), "{url}");
            assert!(!error.to_string().contains("secret"), "{error}");
        }
    }
}
