//! `GET /console/needs/{region}/{need_id}`: one need — its state, who received it with score
//! and match reasons (per university, per course), every answer in time order, and its status
//! history from the audit trail.
//!
//! A coach of another region gets exactly the 404 of a need that does not exist, so the page
//! does not tell a coach which ids other regions use. The history lists the audit entries of
//! this need: those the hub wrote for this region's need, and refusals sent by this region
//! about the id (refusals carry no region of their own); another region's refusals of the same
//! id are left out. Nothing here is free text from the need: ids, codes, scores, reasons the
//! hub built from catalogue data, times.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value;

use super::ConsoleState;
use super::guard::Viewer;
use super::health;
use super::layout::{page, respond};
use super::needs::short;
use crate::event::format_time;
use crate::need::{Need, NeedId, NeedKey};
use crate::settings::OrgId;
use crate::store::{AnswerEntry, AuditRecord, StoreError};

/// `GET /console/needs/{region}/{need_id}`.
pub(crate) async fn show(
    State(state): State<ConsoleState>,
    viewer: Viewer,
    Path((region, need_id)): Path<(String, String)>,
) -> Response {
    let lang = viewer.lang;
    let csrf = viewer.csrf(&state);
    let key = match (OrgId::parse(&region), NeedId::parse(&need_id)) {
        (Ok(region), Ok(need_id)) => Some(NeedKey::new(region, need_id)),
        _ => None,
    };
    // A coach may only look at their own region: anything else is "not found".
    let key = key.filter(|k| {
        viewer
            .session
            .region
            .as_ref()
            .is_none_or(|own| own == &k.region)
    });
    let (found, health) = tokio::join!(read(&state, key.as_ref()), health::gather(&state.http));
    let (status, title, body) = match found {
        Ok(Some((need, answers, history))) => (
            StatusCode::OK,
            need.need_id.as_str().to_owned(),
            body(&viewer, &need, &answers, &history),
        ),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            lang.t("not_found").to_owned(),
            html! { h1 { (lang.t("not_found")) } },
        ),
        Err(e) => {
            tracing::warn!(error = %e, "console: cannot read a need");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                lang.t("unavailable").to_owned(),
                html! { p.error { (lang.t("unavailable")) } },
            )
        }
    };
    let markup = page(lang, &title, Some((&viewer, &csrf, &health)), body);
    respond(status, markup)
}

type Found = Option<(Need, Vec<AnswerEntry>, Vec<AuditRecord>)>;

async fn read(state: &ConsoleState, key: Option<&NeedKey>) -> Result<Found, StoreError> {
    let Some(key) = key else {
        return Ok(None);
    };
    let store = state.http.pipeline.store();
    let Some(need) = store.need(key).await? else {
        return Ok(None);
    };
    let (answers, trail) =
        tokio::join!(store.answer_timeline(key), store.audit_trail(&key.need_id));
    let region = key.region.as_str();
    let history = trail?
        .into_iter()
        .filter(|a| match &a.region {
            Some(r) => r == region,
            None => a.org_id.as_deref() == Some(region),
        })
        .collect();
    Ok(Some((need.need, answers?, history)))
}

fn body(viewer: &Viewer, need: &Need, answers: &[AnswerEntry], history: &[AuditRecord]) -> Markup {
    let lang = viewer.lang;
    html! {
        h1 { (need.need_id.as_str()) " · " (need.region.as_str()) }
        dl.facts {
            dt { (lang.t("state")) } dd #need-state data-state=(need.state.as_str()) { (need.state.as_str()) }
            @if let Some(reason) = &need.state_reason {
                dt { (lang.t("reason")) } dd #need-reason { (shown(reason)) }
            }
            @for (label, key) in [("category", "category"), ("urgency", "urgency")] {
                @if let Some(v) = need.view.get(key).and_then(Value::as_str) {
                    dt { (lang.t(label)) } dd { (shown(v)) }
                }
            }
            @if let Some(tags) = need.view.get("tags").and_then(Value::as_array) {
                dt { (lang.t("tags")) }
                dd { (shown(&tags.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))) }
            }
            @if let Some(at) = need.respond_by {
                dt { (lang.t("respond_by")) } dd { time datetime=(format_time(at)) { (short(at)) } }
            }
            dt { (lang.t("created")) } dd { time datetime=(format_time(need.created_at)) { (short(need.created_at)) } }
            dt { (lang.t("updated")) } dd { time datetime=(format_time(need.updated_at)) { (short(need.updated_at)) } }
        }
        h2 { (lang.t("recipients")) }
        section #recipients {
            @if need.recipients.is_empty() { p.empty { (lang.t("no_recipients")) } }
            @for r in &need.recipients {
                article.recipient data-recipient=(r.org_id.as_str()) data-kind=(r.kind.as_str()) {
                    h3 { (r.org_id.as_str()) " · " (r.kind.as_str()) " · " (lang.t("score")) " "
                        span.score { (format!("{:.2}", r.score)) } }
                    p { (lang.t("latest_answer")) ": "
                        span.latest { @match &r.latest { Some(a) => (a.decision.as_str()), None => (lang.t("none")) } } }
                    (reasons(&r.reasons))
                    @if let Some(courses) = r.courses.as_array().filter(|c| !c.is_empty()) {
                        ul.courses {
                            @for c in courses { (course(c, lang)) }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("answers")) }
        ol #answers {
            @if answers.is_empty() { li.empty { (lang.t("no_answers")) } }
            @for a in answers {
                li data-answer-from=(a.org_id.as_str()) data-decision=(a.decision.as_str()) {
                    time datetime=(format_time(a.time)) { (short(a.time)) } " "
                    (a.org_id.as_str()) " " strong { (a.decision.as_str()) }
                }
            }
        }
        h2 { (lang.t("history")) }
        ol #history {
            @for h in history {
                li data-action=(h.action.as_str()) {
                    time datetime=(format_time(h.at)) { (short(h.at)) } " "
                    strong { (h.action.as_str()) }
                    @if let Some(org) = &h.org_id { " " (shown(org)) }
                    @if let Some(code) = &h.reason_code { " " code { (code) } }
                }
            }
        }
    }
}

fn reasons(reasons: &[String]) -> Markup {
    html! {
        ul.reasons { @for reason in reasons { li { (shown(reason)) } } }
    }
}

fn course(course: &Value, lang: super::i18n::Lang) -> Markup {
    let code = course
        .get("courseCode")
        .and_then(Value::as_str)
        .unwrap_or("");
    let texts = |key: &str| -> Vec<String> {
        course
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    html! {
        li.course data-recipient=(shown(code)) {
            strong { (shown(code)) }
            @if let Some(score) = course.get("score").and_then(Value::as_f64) {
                " · " (lang.t("score")) " " (format!("{score:.2}"))
            }
            @let periods = texts("studyPeriods");
            @if !periods.is_empty() { " · " (shown(&periods.join(", "))) }
            (reasons(&texts("reasons")))
        }
    }
}

fn shown(text: &str) -> String {
    crate::text::shown(text, crate::text::MAX_SHOWN)
}
