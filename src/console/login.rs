//! Logging in and out.
//!
//! The login form is tied to the browser by a random pre-login cookie and a token derived from
//! it, so another site cannot log a visitor in as someone else (login CSRF). A failed login
//! says the same for an unknown name and a wrong password, takes as long (see `password.rs`),
//! and counts towards the name's throttle. A successful one sets the signed session cookie and
//! goes to the needs. Logging out is a POST with the session's CSRF token; it removes the
//! cookie.

use std::time::Instant;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::ConsoleState;
use super::guard::{
    LOGIN_COOKIE, RequestLang, SESSION_COOKIE, Viewer, cookie, forbidden, post_ok, same_origin,
};
use super::i18n::Lang;
use super::layout::{page, respond};
use super::password;
use super::session::{Session, random_token};

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// The logout form's fields.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `GET /console/login`.
pub(crate) async fn form(
    State(state): State<ConsoleState>,
    RequestLang(lang): RequestLang,
) -> Response {
    render(&state, lang, None, StatusCode::OK)
}

/// The form with a fresh pre-login cookie; `error` is a label key.
fn render(
    state: &ConsoleState,
    lang: Lang,
    error: Option<&'static str>,
    status: StatusCode,
) -> Response {
    let pre = random_token(16);
    let token = state.console.key.login_token(&pre);
    let body = html! {
        h1 { (lang.t("login")) }
        @if let Some(error) = error {
            p.error role="alert" { (lang.t(error)) }
        }
        form #login method="post" action="/console/login" {
            input type="hidden" name="csrf" value=(token);
            label { (lang.t("username")) " "
                input name="username" autocomplete="username" required autofocus; }
            label { (lang.t("password")) " "
                input name="password" type="password" autocomplete="current-password" required; }
            button type="submit" { (lang.t("login")) }
        }
    };
    let mut response = respond(status, page(lang, lang.t("login"), None, body));
    let cookie = format!(
        "{LOGIN_COOKIE}={pre}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        secure(state)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn secure(state: &ConsoleState) -> &'static str {
    if state.console.secure_cookie {
        "; Secure"
    } else {
        ""
    }
}

/// `POST /console/login`.
pub(crate) async fn submit(
    State(state): State<ConsoleState>,
    RequestLang(lang): RequestLang,
    headers: HeaderMap,
    Form(login): Form<LoginForm>,
) -> Response {
    let pre = cookie(&headers, LOGIN_COOKIE);
    let token_ok = pre
        .as_deref()
        .is_some_and(|pre| state.console.key.login_token_ok(pre, &login.csrf));
    if !same_origin(&headers) || !token_ok {
        return forbidden();
    }
    let console = &state.console;
    if !console.throttle.allows(&login.username, Instant::now()) {
        tracing::warn!("console login refused: too many failed attempts for one user name");
        return render(
            &state,
            lang,
            Some("login_throttled"),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let user = console.user(&login.username).cloned();
    let phc = user
        .as_ref()
        .and_then(|u| u.password_hash.clone())
        .unwrap_or_else(|| console.dummy_hash.clone());
    let matches = password::verify(phc, login.password).await;
    let Some(user) = user.filter(|_| matches) else {
        console.throttle.failed(&login.username, Instant::now());
        return render(&state, lang, Some("login_failed"), StatusCode::UNAUTHORIZED);
    };
    console.throttle.succeeded(&user.name);
    let hours = i64::try_from(console.session_hours).unwrap_or(8);
    let session = Session {
        user: user.name.clone(),
        role: user.role,
        region: user.region.clone(),
        expires: time::OffsetDateTime::now_utc().unix_timestamp() + hours * 3600,
        nonce: random_token(16),
    };
    tracing::debug!(role = user.role.as_str(), "console login");
    let value = console.key.seal(&session);
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hours * 3600,
        secure(&state)
    );
    redirect_with_cookies("/console/needs", &[cookie, expired(LOGIN_COOKIE, &state)])
}

/// `POST /console/logout`.
pub(crate) async fn logout(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !post_ok(&state, &viewer, &headers, &form.csrf) {
        return forbidden();
    }
    redirect_with_cookies("/console/login", &[expired(SESSION_COOKIE, &state)])
}

fn expired(name: &str, state: &ConsoleState) -> String {
    format!(
        "{name}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(state)
    )
}

fn redirect_with_cookies(to: &str, cookies: &[String]) -> Response {
    let mut response = Redirect::to(to).into_response();
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}
