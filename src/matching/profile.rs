//! [`NeedProfile`]: what matching reads from a need, extracted once from its JSON data.
//!
//! The need arrives as schema-valid `need.v1.json` data. Matching reads a dozen of its fields,
//! some of them deep in `routing` and `consent`; pulling them into one typed value first keeps
//! the filters free of JSON navigation and makes every decision input visible in one place.
//! The need's free text is tokenized here too, once per need.

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;
use time::Date;

use crate::catalogue::model::Visibility;
use crate::dates::{parse_date, period_number};
use crate::text::terms::{self, Term};

/// Role texts that regions use while no need owner (behovsägare) is assigned. The contract
/// requires a `needOwner` role, so "nobody yet" is written as a placeholder, not as `null`.
const UNASSIGNED_OWNER: &[&str] = &[
    "not yet assigned",
    "not assigned",
    "unassigned",
    "saknas",
    "ej tilldelad",
    "inte tilldelad",
    "ej utsedd",
];

/// A need that cannot be read as `need.v1.json` data.
#[derive(Debug, Error)]
#[error("need {need_id:?} cannot be read for matching: {source}")]
pub struct ProfileError {
    /// The need id, when the data has one.
    pub need_id: Option<String>,
    /// The first problem found.
    pub source: serde_json::Error,
}

/// The language a need is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NeedLanguage {
    /// Swedish.
    Sv,
    /// English.
    En,
    /// Both.
    Mixed,
}

impl NeedLanguage {
    /// The contract spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
            Self::Mixed => "mixed",
        }
    }
}

/// The need's stage in the region's innovation process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Not yet verified.
    Idea,
    /// Verified by the region.
    NeedVerified,
    /// A challenge is out.
    ChallengePublished,
    /// Matched with someone.
    Matched,
    /// Work is going on.
    InProgress,
    /// Finished.
    Done,
    /// Put aside.
    Parked,
    /// Turned down by the region.
    Rejected,
    /// Withdrawn by the region.
    Withdrawn,
}

impl Stage {
    /// The contract spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idea => "idea",
            Self::NeedVerified => "need_verified",
            Self::ChallengePublished => "challenge_published",
            Self::Matched => "matched",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Parked => "parked",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// A stage after which nothing is routed any more.
    #[must_use]
    pub(crate) fn is_closed(self) -> bool {
        matches!(
            self,
            Self::Done | Self::Parked | Self::Rejected | Self::Withdrawn
        )
    }
}

/// The company call a need asks for (`routing.companyCall`, type other than `none`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRequest {
    /// `open_innovation_call`, `market_dialogue`, …
    pub call_type: String,
    /// Lowest TRL of interest, when given.
    pub trl_min: Option<u8>,
    /// Highest TRL of interest, when given.
    pub trl_max: Option<u8>,
}

impl CallRequest {
    /// The TRL range, open ends filled with 1 and 9.
    #[must_use]
    pub(crate) fn trl_range(&self) -> (u8, u8) {
        (self.trl_min.unwrap_or(1), self.trl_max.unwrap_or(9))
    }
}

/// Everything matching reads from one need.
#[derive(Clone, Debug)]
pub struct NeedProfile {
    /// The need id.
    pub id: String,
    /// The owning region's orgId.
    pub region: String,
    /// The language the need is written in.
    pub language: NeedLanguage,
    /// The main category, `None` when `uncategorised`.
    pub category: Option<String>,
    /// Topics from the shared vocabulary, in the need's order.
    pub tags: Vec<String>,
    /// Content words of title, description and desired outcome.
    pub terms: Vec<Term>,
    /// When the need owner wants a result; `None` = open.
    pub deadline: Option<Date>,
    /// The region's process stage.
    pub stage: Stage,
    /// Who may see the need.
    pub visibility: Visibility,
    /// The submitter agreed to sharing outside the region.
    pub consent_to_share: bool,
    /// A need owner (behovsägare) is assigned, i.e. the role is not a placeholder.
    pub need_owner_assigned: bool,
    /// Attachments whose content the region has not scanned for personal data.
    pub unscanned_attachments: usize,
    /// The region asks for university challenges.
    pub wants_university: bool,
    /// Universities to prefer (orgIds).
    pub preferred_universities: Vec<String>,
    /// Study periods to prefer, as a bitmask of period numbers (`LP3` = `P3` = bit 3).
    pub preferred_periods: u8,
    /// The company call asked for; `None` when no call is wanted.
    pub call: Option<CallRequest>,
    /// Courses already matched (`matches[].courseRef`): (university, course code).
    pub known_courses: Vec<(String, String)>,
    /// Partners already matched (`matches[].partnerRef`).
    pub known_partners: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNeed {
    id: String,
    region: String,
    language: NeedLanguage,
    title: String,
    description: String,
    #[serde(default)]
    desired_outcome: String,
    category: String,
    tags: Vec<String>,
    need_owner: RawRole,
    deadline: Option<String>,
    stage: Stage,
    visibility: Visibility,
    consent: RawConsent,
    routing: RawRouting,
    #[serde(default)]
    matches: Vec<RawMatch>,
    #[serde(default)]
    attachments: Vec<RawAttachment>,
}

#[derive(Deserialize)]
struct RawRole {
    role: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConsent {
    submitter_consent_to_share_externally: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRouting {
    targets: Vec<String>,
    preferred_universities: Vec<String>,
    preferred_study_periods: Vec<String>,
    company_call: RawCall,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCall {
    #[serde(rename = "type")]
    call_type: String,
    trl_min: Option<u8>,
    trl_max: Option<u8>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMatch {
    course_ref: Option<String>,
    partner_ref: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAttachment {
    content_scanned: bool,
}

impl NeedProfile {
    /// Extracts the profile from schema-valid need data.
    ///
    /// # Errors
    ///
    /// When a field matching reads is missing or has the wrong type, or the deadline is not
    /// a date.
    pub fn from_need(data: &Value) -> Result<Self, ProfileError> {
        let need_id = || data["id"].as_str().map(str::to_owned);
        let raw = RawNeed::deserialize(data).map_err(|source| ProfileError {
            need_id: need_id(),
            source,
        })?;
        let deadline = match raw.deadline.as_deref() {
            None => None,
            Some(text) => Some(parse_date(text).ok_or_else(|| ProfileError {
                need_id: need_id(),
                source: serde::de::Error::custom(format!("deadline {text:?} is not a date")),
            })?),
        };
        Ok(Self::from_raw(raw, deadline))
    }

    fn from_raw(raw: RawNeed, deadline: Option<Date>) -> Self {
        let text = format!(
            "{}\n{}\n{}",
            raw.title, raw.description, raw.desired_outcome
        );
        let routing = raw.routing;
        let wants_call = routing.targets.iter().any(|t| t == "company")
            && routing.company_call.call_type != "none";
        let call = wants_call.then_some(CallRequest {
            call_type: routing.company_call.call_type,
            trl_min: routing.company_call.trl_min,
            trl_max: routing.company_call.trl_max,
        });
        let known_courses = raw
            .matches
            .iter()
            .filter_map(|m| m.course_ref.as_deref()?.split_once(':'))
            .map(|(org, code)| (org.to_owned(), code.to_owned()))
            .collect();
        Self {
            id: raw.id,
            region: raw.region,
            language: raw.language,
            category: (raw.category != "uncategorised").then_some(raw.category),
            tags: raw.tags,
            terms: terms::terms(&text).collect(),
            deadline,
            stage: raw.stage,
            visibility: raw.visibility,
            consent_to_share: raw.consent.submitter_consent_to_share_externally,
            need_owner_assigned: owner_assigned(&raw.need_owner.role),
            unscanned_attachments: raw
                .attachments
                .iter()
                .filter(|a| !a.content_scanned)
                .count(),
            wants_university: routing.targets.iter().any(|t| t == "university"),
            preferred_universities: routing.preferred_universities,
            preferred_periods: routing
                .preferred_study_periods
                .iter()
                .filter_map(|p| period_number(p))
                .fold(0, |mask, n| mask | (1 << n)),
            call,
            known_courses,
            known_partners: raw
                .matches
                .into_iter()
                .filter_map(|m| m.partner_ref)
                .collect(),
        }
    }
}

/// Whether a need-owner role names a real role rather than a "not assigned" placeholder.
fn owner_assigned(role: &str) -> bool {
    let role = role.to_lowercase();
    !role.trim().is_empty() && !UNASSIGNED_OWNER.iter().any(|p| role.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_owner_roles_are_unassigned() {
        assert!(!owner_assigned("Not yet assigned (behovsägare saknas)"));
        assert!(!owner_assigned("Behovsägare ej utsedd"));
        assert!(!owner_assigned("  "));
        assert!(owner_assigned("Enhetschef, akutmottagning"));
    }
}
