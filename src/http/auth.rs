//! Who is calling: a bearer token → the configured organisation it was issued to.
//!
//! This is the HTTP counterpart of the AMQP `user_id` that RabbitMQ vouches for: the token is
//! looked up by its hash in the store ([`crate::store::Store::token_org`]), so a token issued
//! or revoked while the hub runs counts at once. A token of an organisation that has since been
//! removed from the configuration identifies nobody. The token itself is never logged or
//! recorded; a failed lookup says only `unauthenticated`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::HttpState;
use super::error::ApiError;
use crate::settings::Organisation;

/// The authenticated caller of a request, as an axum extractor.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) Organisation);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or(ApiError::Unauthenticated)?;
        let org = state
            .pipeline
            .store()
            .token_org(&crate::token::hash(token))
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot look up an API token");
                ApiError::Unavailable
            })?
            .ok_or(ApiError::Unauthenticated)?;
        let org = state
            .pipeline
            .directory()
            .by_id(org.as_str())
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Self(org.clone()))
    }
}

/// The token of an `Authorization: Bearer …` value (the scheme is case-insensitive).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn only_a_bearer_scheme_gives_a_token() {
        assert_eq!(bearer("Bearer svk_abc"), Some("svk_abc"));
        assert_eq!(bearer("bearer  svk_abc "), Some("svk_abc"));
        for value in ["Basic dXNlcjpwdw==", "Bearer ", "svk_abc"] {
            assert_eq!(bearer(value), None, "{value}");
        }
    }
}
