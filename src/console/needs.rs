//! `GET /console/needs`: the needs, newest first, 50 a page, filtered by region, state, topic
//! and age, with the count in each state.
//!
//! A coach's filter always has their own region, whatever the query says, so neither the
//! rows nor the counts ever include another region's needs. An unreadable filter value is
//! ignored (shown as "all") rather than refused: this is a page for people, and the form shows
//! what was applied.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use time::OffsetDateTime;

use super::ConsoleState;
use super::guard::Viewer;
use super::health;
use super::i18n::Lang;
use super::layout::{page, respond};
use crate::event::format_time;
use crate::need::NeedState;
use crate::settings::OrgId;
use crate::store::{NeedFilter, NeedPage, PageRequest};

/// Needs per page.
pub(crate) const PAGE_SIZE: u32 = 50;

/// The query string of the needs page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    region: Option<String>,
    state: Option<String>,
    topic: Option<String>,
    age_days: Option<String>,
    page: Option<String>,
}

/// A query value, unless empty.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The filter a viewer may apply: a coach's region is forced.
fn filter_of(query: &ListQuery, viewer: &Viewer, now: OffsetDateTime) -> NeedFilter {
    let region = match &viewer.session.region {
        Some(own) => Some(own.clone()),
        None => given(&query.region).and_then(|r| OrgId::parse(r).ok()),
    };
    let topic = given(&query.topic)
        .filter(|t| {
            t.len() <= 64
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        .map(str::to_owned);
    let created_since = given(&query.age_days)
        .and_then(|d| d.parse::<u16>().ok())
        .map(|days| now - time::Duration::days(i64::from(days)));
    NeedFilter {
        region,
        state: given(&query.state).and_then(NeedState::parse),
        topic,
        created_since,
    }
}

/// `GET /console/needs`.
pub(crate) async fn list(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> Response {
    let lang = viewer.lang;
    let filter = filter_of(&query, &viewer, OffsetDateTime::now_utc());
    let index = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, 100_000);
    let request = PageRequest {
        index: index - 1,
        size: PAGE_SIZE,
    };
    let store = state.http.pipeline.store();
    let (listed, health) = tokio::join!(
        store.list_needs(&filter, request),
        health::gather(&state.http)
    );
    let csrf = viewer.csrf(&state);
    let (status, body) = match listed {
        Ok(listed) => (
            StatusCode::OK,
            body(&state, &viewer, &query, &filter, &listed, index),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "console: cannot list needs");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                html! { p.error { (lang.t("unavailable")) } },
            )
        }
    };
    let markup = page(lang, lang.t("needs"), Some((&viewer, &csrf, &health)), body);
    respond(status, markup)
}

fn body(
    state: &ConsoleState,
    viewer: &Viewer,
    query: &ListQuery,
    filter: &NeedFilter,
    listed: &NeedPage,
    index: u32,
) -> Markup {
    let lang = viewer.lang;
    html! {
        h1 { (lang.t("needs")) }
        (filters(state, viewer, query, filter))
        ul #state-counts {
            @for s in NeedState::ALL {
                li { (s.as_str()) " "
                    span data-state=(s.as_str()) { (listed.counts.get(s.as_str()).copied().unwrap_or(0)) }
                }
            }
        }
        @if listed.needs.is_empty() {
            p.empty { (lang.t("no_needs")) }
        }
        table #needs {
            thead { tr {
                th { (lang.t("need_id")) } th { (lang.t("region")) } th { (lang.t("state")) }
                th { (lang.t("category")) } th { (lang.t("tags")) } th { (lang.t("urgency")) }
                th { (lang.t("recipients")) } th { (lang.t("created")) } th { (lang.t("updated")) }
            } }
            tbody {
                @for n in &listed.needs {
                    tr data-need-id=(n.need_id.as_str()) data-region=(n.region.as_str())
                        data-state=(n.state.as_str()) {
                        td { a.need-link href=(format!("/console/needs/{}/{}", n.region.as_str(), n.need_id.as_str())) {
                            (n.need_id.as_str()) } }
                        td { (n.region.as_str()) }
                        td { (n.state.as_str()) }
                        td { (n.category.as_deref().map(shown).unwrap_or_default()) }
                        td { (shown(&n.tags.join(", "))) }
                        td { (n.urgency.as_deref().map(shown).unwrap_or_default()) }
                        td { (n.recipients) }
                        td { time datetime=(format_time(n.created_at)) { (short(n.created_at)) } }
                        td { time datetime=(format_time(n.updated_at)) { (short(n.updated_at)) } }
                    }
                }
            }
        }
        (pager(lang, query, index, listed.total))
    }
}

fn filters(
    state: &ConsoleState,
    viewer: &Viewer,
    query: &ListQuery,
    filter: &NeedFilter,
) -> Markup {
    let lang = viewer.lang;
    let regions = state.http.pipeline.directory().region_ids();
    let chosen_region = filter.region.as_ref().map(OrgId::as_str);
    html! {
        form #filters method="get" action="/console/needs" {
            label { (lang.t("region")) " "
                select name="region" disabled[viewer.session.region.is_some()] {
                    option value="" { (lang.t("all")) }
                    @for r in &regions {
                        option value=(r) selected[chosen_region == Some(*r)] { (r) }
                    }
                }
            }
            label { (lang.t("state")) " "
                select name="state" {
                    option value="" { (lang.t("all")) }
                    @for s in NeedState::ALL {
                        option value=(s.as_str()) selected[filter.state == Some(*s)] { (s.as_str()) }
                    }
                }
            }
            label { (lang.t("topic")) " "
                input name="topic" value=(filter.topic.clone().unwrap_or_default()) size="20"; }
            label { (lang.t("age_days")) " "
                input name="age_days" type="number" min="0" max="65535"
                    value=(query.age_days.clone().filter(|_| filter.created_since.is_some()).unwrap_or_default()); }
            button type="submit" { (lang.t("filter")) }
        }
    }
}

fn pager(lang: Lang, query: &ListQuery, index: u32, total: u64) -> Markup {
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let link = |page: u32| {
        let mut params: Vec<String> = Vec::new();
        for (name, value) in [
            ("region", &query.region),
            ("state", &query.state),
            ("topic", &query.topic),
            ("age_days", &query.age_days),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                params.push(format!(
                    "{name}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                ));
            }
        }
        params.push(format!("page={page}"));
        format!("/console/needs?{}", params.join("&"))
    };
    html! {
        nav.pager {
            @if index > 1 { a rel="prev" href=(link(index - 1)) { (lang.t("previous")) } " " }
            span { (lang.t("page")) " " (index) " " (lang.t("of_total")) " " (pages) }
            @if u64::from(index) < pages { " " a rel="next" href=(link(index + 1)) { (lang.t("next")) } }
        }
    }
}

fn shown(text: &str) -> String {
    crate::text::shown(text, crate::text::MAX_SHOWN)
}

/// `2026-11-22 09:30` (UTC).
pub(crate) fn short(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.format(f).unwrap_or_default()
}
