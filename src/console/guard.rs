//! What every console request passes: security headers on every answer, the language cookie,
//! who is logged in ([`Viewer`]), and the checks on every state-changing request (same origin,
//! CSRF token).
//!
//! The headers make the browser enforce what the pages promise: no script but the hub's own
//! file (so no inline script, and an injected `<script>` would not run), no framing, no
//! referrer carrying a need id elsewhere, nothing cached on a shared machine. A POST must come
//! from a console page: a browser's `Origin` (when sent) must be the host the request went to
//! and its `Sec-Fetch-Site` (when sent) `same-origin`; and its form must carry the token of the
//! session (or of the login form), which another site cannot read. Either failing is 403.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::ConsoleState;
use super::i18n::{Lang, query_lang};
use super::session::Session;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "svk_session";
/// The pre-login cookie's name (ties the login form's token to this browser).
pub(crate) const LOGIN_COOKIE: &str = "svk_login";

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Security headers on every console answer; `?lang=` also sets the `lang` cookie.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let lang = query_lang(request.uri().query());
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(lang) = lang {
        let cookie = format!(
            "lang={}; Path=/console; Max-Age=31536000; SameSite=Strict",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Whether a state-changing request comes from a page of this host, as far as the browser
/// says (`Origin`, `Sec-Fetch-Site`); a client that sends neither is judged by its token.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    match (text("origin"), text("host")) {
        (None, _) => true,
        // Our pages are served with `Referrer-Policy: no-referrer`, so a browser posts their
        // forms with `Origin: null`; `Sec-Fetch-Site`, which only the browser sets, says whose.
        (Some("null"), _) => text("sec-fetch-site") == Some("same-origin"),
        (Some(origin), Some(host)) => {
            let origin = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            origin == Some(host)
        }
        (Some(_), None) => false,
    }
}

/// The logged-in user of a request, with the cookie value their CSRF token derives from and
/// the request's language. Without a valid session the request is redirected to the login page.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub(crate) session: Session,
    pub(crate) cookie: String,
    pub(crate) lang: Lang,
}

impl Viewer {
    /// The CSRF token for this session's forms.
    pub(crate) fn csrf(&self, state: &ConsoleState) -> String {
        state.console.key.csrf(&self.cookie)
    }

    /// Whether the viewer is an operator.
    pub(crate) fn is_operator(&self) -> bool {
        self.session.role == crate::settings::ConsoleRole::Operator
    }
}

impl FromRequestParts<ConsoleState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts.uri.query(), &parts.headers);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let found = cookie(&parts.headers, SESSION_COOKIE).and_then(|value| {
            let session = state.console.key.open(&value, now)?;
            // A user removed from the configuration, or whose role or region changed, is
            // logged out at the next request.
            state
                .console
                .still_valid(&session)
                .then_some((session, value))
        });
        match found {
            Some((session, cookie)) => Ok(Self {
                session,
                cookie,
                lang,
            }),
            None => Err(Redirect::to("/console/login").into_response()),
        }
    }
}

/// The language of a request that needs no login.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLang(pub(crate) Lang);

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Lang::of(parts.uri.query(), &parts.headers)))
    }
}

/// Whether a POST passes the origin check and carries the session's CSRF token (else 403).
pub(crate) fn post_ok(
    state: &ConsoleState,
    viewer: &Viewer,
    headers: &HeaderMap,
    token: &str,
) -> bool {
    same_origin(headers) && state.console.key.csrf_ok(&viewer.cookie, token)
}

/// The plain 403 answer.
pub(crate) fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, "forbidden\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_same_origin_posts_pass() {
        assert!(same_origin(&headers(&[])));
        assert!(same_origin(&headers(&[
            ("host", "hub:8080"),
            ("origin", "http://hub:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "hub:8080"),
            ("origin", "https://evil.example"),
        ])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[
            ("origin", "null"),
            ("host", "hub")
        ])));
        // What Chromium sends for a form on our own page (served with no-referrer).
        assert!(same_origin(&headers(&[
            ("origin", "null"),
            ("host", "hub"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("origin", "null"),
            ("host", "hub"),
            ("sec-fetch-site", "cross-site"),
        ])));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = headers(&[("cookie", "a=1; svk_session=abc.def; lang=en")]);
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc.def"));
        assert_eq!(cookie(&h, "lang").as_deref(), Some("en"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
