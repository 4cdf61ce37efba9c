//! The three builders. Text limits of the schemas (500 characters per reason, 20 reasons,
//! 2,000 for a status reason, 50 courses) are enforced here by clipping, so that a long tag
//! list can never make the hub emit an event its own schema rejects.

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::view::{self, Shareable};
use super::{RoutingError, respond_by};
use crate::clock::stockholm_date;
use crate::dates::{format_date, parse_date};
use crate::matching::{CompanyMatch, MatchOutcome, UniversityMatches};
use crate::text::clip;

const MAX_REASON_CHARS: usize = 500;
const MAX_REASONS: usize = 20;
const MAX_STATUS_REASON_CHARS: usize = 2000;
const MAX_CHANGED_CHARS: usize = 500;
const MAX_COURSES: usize = 50;

/// What every message about one need shares, read once per need rather than once per
/// message: the shareable view and the answer deadline.
pub(super) struct Shared {
    shareable: Shareable,
    /// `respondBy`: a date, or `null`.
    respond_by: Value,
}

impl Shared {
    /// Reads the view of schema-valid need data; refuses a need that may not leave the region.
    pub(super) fn new(
        need: &Value,
        outcome: &MatchOutcome,
        now: OffsetDateTime,
    ) -> Result<Self, RoutingError> {
        let shareable = view::shareable(need)?;
        let respond_by = respond_by_text(&shareable, outcome, now);
        Ok(Self {
            shareable,
            respond_by,
        })
    }

    /// The need's region (a status goes there).
    pub(super) fn region(&self) -> &str {
        &self.shareable.region
    }
}

/// `challenge.v1.json` data for one university of the outcome.
///
/// # Errors
///
/// When the need may not leave the region, its data is unreadable, or the university has
/// no courses.
pub fn challenge_data(
    need: &Value,
    outcome: &MatchOutcome,
    university: &UniversityMatches,
    now: OffsetDateTime,
) -> Result<Value, RoutingError> {
    challenge(&Shared::new(need, outcome, now)?, university)
}

/// [`challenge_data`] from what the need's messages share.
pub(super) fn challenge(
    shared: &Shared,
    university: &UniversityMatches,
) -> Result<Value, RoutingError> {
    if university.courses.is_empty() {
        return Err(RoutingError::NoCourses(university.university.clone()));
    }
    let courses: Vec<Value> = university
        .courses
        .iter()
        .take(MAX_COURSES)
        .map(|c| {
            object([
                ("courseCode", text(&c.course_code)),
                ("instanceId", text(&c.instance_id)),
                ("academicYear", text(&c.academic_year)),
                ("studyPeriods", texts(&c.study_periods)),
                ("score", score(c.score).into()),
                ("reasons", reasons(&c.reasons).into()),
            ])
        })
        .collect();
    Ok(object([
        ("needId", text(&shared.shareable.need_id)),
        ("university", text(&university.university)),
        ("courses", Value::Array(courses)),
        ("respondBy", shared.respond_by.clone()),
        ("need", shared.shareable.view.clone()),
    ]))
}

/// `call.v1.json` data for one company of the outcome.
///
/// # Errors
///
/// When the need may not leave the region, its data is unreadable, or it asks for no call.
pub fn call_data(
    need: &Value,
    outcome: &MatchOutcome,
    company: &CompanyMatch,
    now: OffsetDateTime,
) -> Result<Value, RoutingError> {
    call(&Shared::new(need, outcome, now)?, company)
}

/// [`call_data`] from what the need's messages share.
pub(super) fn call(shared: &Shared, company: &CompanyMatch) -> Result<Value, RoutingError> {
    let shareable = &shared.shareable;
    let call = shareable
        .call
        .as_ref()
        .ok_or_else(|| RoutingError::NoCall(shareable.need_id.clone()))?;
    Ok(object([
        ("needId", text(&shareable.need_id)),
        ("partnerId", text(&company.partner_id)),
        ("call", call.clone()),
        ("score", score(company.score).into()),
        ("reasons", reasons(&company.reasons).into()),
        ("respondBy", shared.respond_by.clone()),
        ("need", shareable.view.clone()),
    ]))
}

/// `need-status.v1.json` data for the region right after matching: `published` with every
/// recipient, or `unmatched` with the reason nothing was sent.
///
/// # Errors
///
/// When the need data is unreadable, or the outcome has recipients for a need that may not
/// leave the region.
pub fn need_status_data(
    need: &Value,
    outcome: &MatchOutcome,
    now: OffsetDateTime,
) -> Result<Value, RoutingError> {
    need_status(need, None, outcome, now)
}

/// [`need_status_data`] from what the need's messages share (read here when `None`).
pub(super) fn need_status(
    need: &Value,
    shared: Option<&Shared>,
    outcome: &MatchOutcome,
    now: OffsetDateTime,
) -> Result<Value, RoutingError> {
    let updated_at = now.format(&Rfc3339).unwrap_or_default();
    let counts = json!({"offers": 0, "proposals": 0, "interests": 0, "declines": 0});
    if !outcome.is_routed() {
        let (need_id, _) = view::identity(need)?;
        let reason = outcome
            .not_routed
            .as_ref()
            .map_or_else(|| "no_match: nothing matched".to_owned(), |n| n.reason());
        let changed = match &outcome.not_routed {
            Some(n) if n.code() != "no_match" => "not routed outside the region",
            _ => "matching found no recipients",
        };
        return Ok(json!({
            "needId": need_id,
            "state": "unmatched",
            "reason": clip(&reason, MAX_STATUS_REASON_CHARS),
            "changed": changed,
            "respondBy": Value::Null,
            "updatedAt": updated_at,
            "recipients": [],
            "counts": counts,
        }));
    }
    let read;
    let shared = match shared {
        Some(shared) => shared,
        None => {
            read = Shared::new(need, outcome, now)?;
            &read
        }
    };
    Ok(object([
        ("needId", text(&shared.shareable.need_id)),
        ("state", text("published")),
        ("changed", clip(&changed(outcome), MAX_CHANGED_CHARS).into()),
        ("respondBy", shared.respond_by.clone()),
        ("updatedAt", updated_at.into()),
        ("recipients", Value::Array(recipients(outcome))),
        ("counts", counts),
    ]))
}

fn recipients(outcome: &MatchOutcome) -> Vec<Value> {
    let universities = outcome.universities.iter().map(|u| {
        let best = u.courses.first();
        let mut summary: Vec<String> = best
            .map(|c| {
                c.reasons
                    .iter()
                    .filter(|r| r.starts_with("topics:") || r.starts_with("period "))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let codes: Vec<&str> = u.courses.iter().map(|c| c.course_code.as_str()).collect();
        summary.push(format!(
            "{} matching course instances: {}",
            codes.len(),
            codes.join(", ")
        ));
        object([
            ("org", text(&u.university)),
            ("kind", text("university")),
            ("score", score(u.best_score()).into()),
            ("reasons", reasons(&summary).into()),
            ("latestAnswer", Value::Null),
        ])
    });
    let companies = outcome.companies.iter().map(|c| {
        object([
            ("org", text(&c.partner_id)),
            ("kind", text("company")),
            ("score", score(c.score).into()),
            ("reasons", reasons(&c.reasons).into()),
            ("latestAnswer", Value::Null),
        ])
    });
    universities.chain(companies).collect()
}

/// `challenge sent to chalmers; calls sent to partner-001, partner-013`.
fn changed(outcome: &MatchOutcome) -> String {
    let list = |orgs: Vec<&str>| orgs.join(", ");
    let mut parts = Vec::new();
    if !outcome.universities.is_empty() {
        let orgs = outcome
            .universities
            .iter()
            .map(|u| u.university.as_str())
            .collect();
        parts.push(format!("challenge sent to {}", list(orgs)));
    }
    if !outcome.companies.is_empty() {
        let orgs = outcome
            .companies
            .iter()
            .map(|c| c.partner_id.as_str())
            .collect();
        parts.push(format!("calls sent to {}", list(orgs)));
    }
    parts.join("; ")
}

fn respond_by_text(shareable: &Shareable, outcome: &MatchOutcome, now: OffsetDateTime) -> Value {
    let deadline: Option<Date> = shareable.view["deadline"].as_str().and_then(parse_date);
    respond_by(outcome, deadline, stockholm_date(now))
        .map_or(Value::Null, |date| Value::String(format_date(date)))
}

/// A JSON object of `entries`: what `json!` builds, without serializing every value into a
/// new `Value` on the way (the builders run for every message of every need).
pub(super) fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn text(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn texts(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| text(s)).collect())
}

/// Two decimals, as people read scores; clamped to the schema's [0, 1].
fn score(value: f64) -> f64 {
    ((value * 100.0).round() / 100.0).clamp(0.0, 1.0)
}

/// Match reasons as the contract bounds them (count and length), never empty.
pub(crate) fn reasons(items: &[String]) -> Vec<String> {
    let clipped: Vec<String> = items
        .iter()
        .filter(|r| !r.trim().is_empty())
        .take(MAX_REASONS)
        .map(|r| clip(r, MAX_REASON_CHARS))
        .collect();
    if clipped.is_empty() {
        vec!["matched on shared topics".to_owned()]
    } else {
        clipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_respects_the_character_limit() {
        let long = "å".repeat(600);
        let cut = clip(&long, MAX_REASON_CHARS);
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(clip("short", 10), "short");
    }

    #[test]
    fn scores_are_rounded_into_range() {
        assert_eq!(score(0.8649), 0.86);
        assert_eq!(score(1.2), 1.0);
    }

    #[test]
    fn reasons_are_never_empty() {
        assert_eq!(reasons(&[]), ["matched on shared topics"]);
        assert_eq!(reasons(&vec!["x".to_owned(); 30]).len(), MAX_REASONS);
    }
}
