//! The page every console answer is built in: `<html lang>`, the header with who is logged in,
//! the navigation, the language switch, the health strip and the logout form.
//!
//! `maud` escapes every value it interpolates, so a string that came from a sender cannot
//! become markup; such strings are also passed through `crate::text::shown` where they are
//! shown, so control and bidi characters cannot make a line read differently.

use maud::{DOCTYPE, Markup, html};

use super::guard::Viewer;
use super::health::Health;
use super::i18n::Lang;

/// A whole page: `body` inside the shell; the header parts when someone is logged in.
pub(crate) fn page(
    lang: Lang,
    title: &str,
    viewer: Option<(&Viewer, &str, &Health)>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("title")) }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header {
                    strong { "Samverkan" }
                    @if let Some((viewer, csrf, _)) = viewer {
                        nav {
                            a href="/console/needs" { (lang.t("needs")) }
                            @if viewer.is_operator() {
                                " " a href="/console/dead-letters" { (lang.t("dead_letters")) }
                            }
                        }
                        span #whoami {
                            (viewer.session.user) " ("
                            (lang.t(viewer.session.role.as_str()))
                            @if let Some(region) = &viewer.session.region { ", " (region.as_str()) }
                            ")"
                        }
                        form #logout method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { (lang.t("logout")) }
                        }
                    }
                    span.lang {
                        a #lang-sv href="?lang=sv" hreflang="sv" { "Svenska" }
                        " · "
                        a #lang-en href="?lang=en" hreflang="en" { "English" }
                    }
                }
                @if let Some((_, _, health)) = viewer {
                    (strip(lang, health))
                }
                main { (body) }
            }
        }
    }
}

/// The health strip.
fn strip(lang: Lang, health: &Health) -> Markup {
    let unknown = lang.t("none");
    html! {
        section #health aria-label=(lang.t("health")) {
            span data-health="broker" data-value=(health.broker) {
                (lang.t("broker")) ": " (lang.t(link_label(health.broker)))
            }
            span data-health="store" data-value=(health.store) {
                (lang.t("store")) ": " (lang.t(health.store))
            }
            span data-health="paused" data-value=(health.paused) {
                @if health.paused { (lang.t("paused")) } @else { (lang.t("running")) }
            }
            span data-health="outbox" data-depth=[health.outbox_pending]
                data-oldest-secs=[health.outbox_oldest_secs] {
                (lang.t("outbox")) ": "
                @match health.outbox_pending { Some(n) => (n), None => (unknown) }
                " (" (lang.t("oldest")) " "
                @match health.outbox_oldest_secs { Some(s) => { (s) " s" }, None => (unknown) }
                ")"
            }
            span #refusals {
                (lang.t("refusals_hour")) ": "
                @match &health.refusals {
                    None => (unknown),
                    Some(r) if r.is_empty() => (lang.t("no_refusals")),
                    Some(r) => {
                        @for (i, (code, n)) in r.iter().enumerate() {
                            @if i > 0 { " · " }
                            code { (code) } " " span data-reason=(code) { (n) }
                        }
                    }
                }
            }
        }
    }
}

fn link_label(link: &'static str) -> &'static str {
    match link {
        "none" => "none_configured",
        other => other,
    }
}

/// `markup` as an HTML answer with `status`.
pub(crate) fn respond(status: axum::http::StatusCode, markup: Markup) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::response::Html(markup.into_string())).into_response()
}
