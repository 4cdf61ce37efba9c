//! Outbound event data built from a need and its [`MatchOutcome`]: one challenge per
//! university, one call per company, and the need's first status for the region.
//!
//! Pure builders: need data (schema-valid `need.v1.json`), the outcome and `now` go in,
//! `data` objects that validate against `challenge.v1.json`, `call.v1.json` and
//! `need-status.v1.json` come out. Wrapping them in CloudEvents and publishing them is the
//! pipeline's job.
//!
//! Only the PII-free need view (`view`) ever goes into a challenge or call, and the builders
//! refuse a need whose visibility is internal or whose submitter did not consent — even if a
//! caller hands them an outcome with matches, nothing leaves the region. The view names the
//! need's region, which an answer may have to repeat (`data.region`, README "Need identity").
//!
//! Before building, [`keep_configured`] drops every match that is not a configured
//! organisation of the right kind, and every second match of one organisation.
//!
//! # The answer deadline (`respondBy`)
//!
//! One date per need, shared by every recipient and by the need status (whose state machine
//! closes the need when it passes): the earliest last day of case intake among the offered
//! course instances — a university must be able to answer while every offered intake is still
//! open, and the contract's examples do exactly this — or, when no course is offered, `today +`
//! `RESPONSE_DAYS`; in both cases never after the need's own deadline.

pub(crate) mod build;
mod recipients;
mod view;

use serde_json::Value;
use thiserror::Error;
use time::{Date, Duration};

use crate::event::EventType;
use crate::matching::MatchOutcome;

pub use build::{call_data, challenge_data, need_status_data};
pub use recipients::keep_configured;

/// Days companies get to answer when no course intake sets the pace.
pub(crate) const RESPONSE_DAYS: i64 = 28;

/// Why outbound data could not be built.
#[derive(Debug, Error)]
pub enum RoutingError {
    /// The need data lacks a field the builders read.
    #[error("need data cannot be read: {0}")]
    NeedData(#[source] serde_json::Error),
    /// The need may not leave the region.
    #[error("need {need_id} may not leave the region: {why}")]
    NotShareable {
        /// The need id.
        need_id: String,
        /// Which rule forbids it.
        why: &'static str,
    },
    /// A call was asked for a need that requests no company call.
    #[error("need {0} asks for no company call")]
    NoCall(String),
    /// A challenge without courses (the schema needs at least one).
    #[error("no matched courses for {0}")]
    NoCourses(String),
}

/// One outbound message: its type, who gets it, and its data.
#[derive(Clone, Debug, PartialEq)]
pub struct Outbound {
    /// `challenge.published`, `call.published` or `need.status`.
    pub event_type: EventType,
    /// The receiving organisation (a university, a company, or the need's region).
    pub recipient: String,
    /// The event `data`.
    pub data: Value,
}

/// Every message that routing `outcome` sends: challenges, calls, then the region's status.
///
/// # Errors
///
/// When the need data is unreadable or the need may not leave the region although the
/// outcome has recipients.
pub fn outbound(
    need: &Value,
    outcome: &MatchOutcome,
    now: time::OffsetDateTime,
) -> Result<Vec<Outbound>, RoutingError> {
    // The view is read once for all of the need's messages, and only when it goes out.
    let shared = if outcome.is_routed() {
        Some(build::Shared::new(need, outcome, now)?)
    } else {
        None
    };
    let mut messages = Vec::with_capacity(outcome.universities.len() + outcome.companies.len() + 1);
    if let Some(shared) = &shared {
        for university in &outcome.universities {
            messages.push(Outbound {
                event_type: EventType::ChallengePublished,
                recipient: university.university.clone(),
                data: build::challenge(shared, university)?,
            });
        }
        for company in &outcome.companies {
            messages.push(Outbound {
                event_type: EventType::CallPublished,
                recipient: company.partner_id.clone(),
                data: build::call(shared, company)?,
            });
        }
    }
    let region = match &shared {
        Some(shared) => shared.region().to_owned(),
        None => view::identity(need)?.1,
    };
    messages.push(Outbound {
        event_type: EventType::NeedStatus,
        recipient: region,
        data: build::need_status(need, shared.as_ref(), outcome, now)?,
    });
    Ok(messages)
}

/// The answer deadline for a routed need (see the module docs); `None` when nothing is sent.
#[must_use]
pub fn respond_by(outcome: &MatchOutcome, deadline: Option<Date>, today: Date) -> Option<Date> {
    if !outcome.is_routed() {
        return None;
    }
    let pace = outcome
        .earliest_intake_deadline()
        .unwrap_or(today + Duration::days(RESPONSE_DAYS));
    Some(deadline.map_or(pace, |deadline| pace.min(deadline)))
}
