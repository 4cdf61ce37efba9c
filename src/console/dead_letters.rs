//! `GET /console/dead-letters`, `GET /console/dead-letters/{id}` and
//! `POST /console/dead-letters/replay`: what the hub refused or could not process, and
//! replaying it after its cause was fixed. Operators only; a coach gets 403.
//!
//! Everything goes through [`DeadLetterAdmin`], as `samverkan dead-letters` does, so the
//! console lists, shows and replays exactly what the CLI would (RabbitMQ or the in-process
//! broker). A dead letter's body is never shown; its reason, sender, ids and the hub's detail
//! (which names schema error pointers, never values) are, through `crate::text::shown`, since
//! part of them came from the sender. A replay re-enters the pipeline as the original sender
//! and is audited there; the page shows what became of each picked dead letter.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};

use super::ConsoleState;
use super::guard::{Viewer, forbidden, post_ok};
use super::health;
use super::layout::{page, respond};
use crate::transport::{DeadLetterAdmin, DeadLetterDetail, DeadLetters, ReplayReport, Selector};

/// Most dead letters one page lists.
const LISTED: usize = 200;

fn admin(state: &ConsoleState, viewer: &Viewer) -> Result<Arc<dyn DeadLetterAdmin>, Box<Response>> {
    if !viewer.is_operator() {
        return Err(Box::new(forbidden()));
    }
    state.console.dead_letters.clone().ok_or_else(|| {
        Box::new(respond(
            StatusCode::NOT_FOUND,
            html! { "no broker to read dead letters from" },
        ))
    })
}

async fn answer(
    state: &ConsoleState,
    viewer: &Viewer,
    status: StatusCode,
    title: &str,
    body: Markup,
) -> Response {
    let health = health::gather(&state.http).await;
    let csrf = viewer.csrf(state);
    respond(
        status,
        page(viewer.lang, title, Some((viewer, &csrf, &health)), body),
    )
}

fn unavailable(viewer: &Viewer, error: &dyn std::fmt::Display) -> (StatusCode, Markup) {
    tracing::warn!(error = %error, "console: cannot read the dead letters");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        html! { p.error { (viewer.lang.t("broker_unavailable")) } },
    )
}

/// `GET /console/dead-letters`.
pub(crate) async fn list(State(state): State<ConsoleState>, viewer: Viewer) -> Response {
    let admin = match admin(&state, &viewer) {
        Ok(admin) => admin,
        Err(response) => return *response,
    };
    let (status, body) = match admin.list(LISTED).await {
        Ok(letters) => (StatusCode::OK, listing(&state, &viewer, &letters)),
        Err(e) => unavailable(&viewer, &e),
    };
    let title = viewer.lang.t("dead_letters");
    answer(&state, &viewer, status, title, body).await
}

fn listing(state: &ConsoleState, viewer: &Viewer, letters: &DeadLetters) -> Markup {
    let lang = viewer.lang;
    html! {
        h1 { (lang.t("dead_letters")) " (" (letters.total) ")" }
        form #replay method="post" action="/console/dead-letters/replay" {
            input type="hidden" name="csrf" value=(viewer.csrf(state));
            table #dead-letters {
                thead { tr {
                    th { input #select-all type="checkbox" aria-label=(lang.t("all")); }
                    th { "id" } th { (lang.t("reason")) } th { (lang.t("sender")) }
                    th { (lang.t("event")) } th { (lang.t("need")) } th { (lang.t("detail")) }
                } }
                tbody {
                    @for d in &letters.messages {
                        tr data-dead-letter-id=(d.id) data-reason=(d.reason) {
                            td { input type="checkbox" name="id" value=(d.id); }
                            td { a href=(format!("/console/dead-letters/{}", urlencode(&d.id))) { (shown(&d.id)) } }
                            td { code { (shown(&d.reason)) } }
                            td { (d.sender.as_deref().map(shown).unwrap_or_default()) }
                            td { (d.event_id.as_deref().map(shown).unwrap_or_default()) }
                            td { (d.need_id.as_deref().map(shown).unwrap_or_default()) }
                            td.detail { (shown(&d.detail)) }
                        }
                    }
                }
            }
            button #replay-selected type="submit" { (lang.t("replay_selected")) }
        }
    }
}

/// `GET /console/dead-letters/{id}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let admin = match admin(&state, &viewer) {
        Ok(admin) => admin,
        Err(response) => return *response,
    };
    let lang = viewer.lang;
    let (status, body) = match admin.show(&id).await {
        Ok(Some(detail)) => (StatusCode::OK, one(&state, &viewer, &detail)),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            html! { h1 { (lang.t("not_found")) } },
        ),
        Err(e) => unavailable(&viewer, &e),
    };
    answer(&state, &viewer, status, lang.t("dead_letters"), body).await
}

fn one(state: &ConsoleState, viewer: &Viewer, d: &DeadLetterDetail) -> Markup {
    let lang = viewer.lang;
    let l = &d.letter;
    let opt = |v: &Option<String>| v.as_deref().map(shown).unwrap_or_default();
    html! {
        h1 { (lang.t("dead_letters")) " · " (shown(&l.id)) }
        dl #dead-letter .facts data-dead-letter-id=(l.id) data-reason=(l.reason) {
            dt { (lang.t("reason")) } dd { code { (shown(&l.reason)) } }
            dt { (lang.t("detail")) } dd.detail { (shown(&l.detail)) }
            dt { (lang.t("sender")) } dd { (opt(&l.sender)) }
            dt { (lang.t("time")) } dd { (opt(&d.dead_lettered_at)) }
            dt { (lang.t("event")) } dd { (opt(&l.event_id)) }
            dt { "type" } dd { (opt(&d.event_type)) }
            dt { "source" } dd { (opt(&d.source)) }
            dt { (lang.t("need")) } dd { (opt(&l.need_id)) }
            dt { "routing key" } dd { (shown(&l.routing_key)) }
            dt { "body" } dd { (shown(&l.body)) " · " (l.bytes) " B · sha256 " (shown(&d.sha256)) }
            dt { "replays" } dd { (l.replays) }
            @if let Some(why) = &d.not_replayable {
                dt { (lang.t("not_replayable")) } dd.not-replayable { (shown(why)) }
            }
        }
        form #replay-one method="post" action="/console/dead-letters/replay" {
            input type="hidden" name="csrf" value=(viewer.csrf(state));
            input type="hidden" name="id" value=(l.id);
            button type="submit" disabled[d.not_replayable.is_some()] { (lang.t("replay")) }
        }
    }
}

/// `POST /console/dead-letters/replay`: the form's `id` fields (one or many) and `csrf`.
pub(crate) async fn replay(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let admin = match admin(&state, &viewer) {
        Ok(admin) => admin,
        Err(response) => return *response,
    };
    let mut ids = Vec::new();
    let mut csrf = String::new();
    for (name, value) in url::form_urlencoded::parse(&body) {
        match name.as_ref() {
            "id" => ids.push(value.into_owned()),
            "csrf" => csrf = value.into_owned(),
            _ => {}
        }
    }
    if !post_ok(&state, &viewer, &headers, &csrf) {
        return forbidden();
    }
    let lang = viewer.lang;
    if ids.is_empty() {
        let body = html! { p.error { (lang.t("nothing_selected")) } };
        return answer(
            &state,
            &viewer,
            StatusCode::BAD_REQUEST,
            lang.t("replay"),
            body,
        )
        .await;
    }
    tracing::info!(count = ids.len(), "console: replaying dead letters");
    let (status, body) = match admin.replay(&Selector::Ids(ids)).await {
        Ok(report) => (StatusCode::OK, report_markup(&viewer, &report)),
        Err(e) => unavailable(&viewer, &e),
    };
    answer(&state, &viewer, status, lang.t("replay"), body).await
}

fn report_markup(viewer: &Viewer, report: &ReplayReport) -> Markup {
    let lang = viewer.lang;
    html! {
        h1 { (lang.t("replay")) ": " span #replayed-count { (report.replayed()) } }
        ul #replay-report {
            @for item in &report.items {
                @let outcome = serde_json::to_value(&item.outcome).ok();
                @let code = outcome.as_ref().and_then(|o| o.get("outcome")).and_then(|o| o.as_str()).unwrap_or("");
                li data-id=(item.id) data-outcome=(code) {
                    (shown(&item.id)) " " code { (code) }
                    @if let Some(reason) = &item.reason { " (" (shown(reason)) ")" }
                    @if let Some(why) = outcome.as_ref().and_then(|o| o.get("why")).and_then(|w| w.as_str()) {
                        " " (shown(why))
                    }
                }
            }
        }
        p { a href="/console/dead-letters" { (lang.t("dead_letters")) } }
    }
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn shown(text: &str) -> String {
    crate::text::shown(text, crate::text::MAX_SHOWN)
}
