//! Typed views of `course.v1.json` and `partner.v1.json` entries: only what matching reads.
//!
//! The wire entries carry much more (credits, SNI codes, contact, VAT number …). Matching needs
//! a small, typed subset, so that the hot path compares enums and dates instead of walking
//! `serde_json::Value`s. Every other field is ignored on purpose (serde's default), which also
//! keeps these types working when a later minor schema revision adds optional fields. Annotation
//! keys (`_test`, `_meta`) are ignored the same way.

use serde::{Deserialize, Deserializer};
use time::Date;

use crate::dates::parse_date;

fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_date(&text).ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not YYYY-MM-DD")))
}

fn optional_date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(text) => parse_date(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not YYYY-MM-DD"))),
    }
}

/// A language the hub routes on (`languageCode`: `sv` or `en`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LanguageCode {
    /// Swedish.
    Sv,
    /// English.
    En,
}

impl LanguageCode {
    /// The contract spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sv => "sv",
            Self::En => "en",
        }
    }
}

/// Who may see a need (`visibility`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Only inside the region; never routed.
    Internal,
    /// Universities and partners with a valid NDA on the send date.
    PartnersNda,
    /// All subscribed universities and partners.
    Public,
}

impl Visibility {
    /// The contract spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::PartnersNda => "partners_nda",
            Self::Public => "public",
        }
    }
}

/// Text in Swedish and/or English (`localizedText`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct LocalizedText {
    /// Swedish text.
    #[serde(default)]
    pub sv: Option<String>,
    /// English text.
    #[serde(default)]
    pub en: Option<String>,
}

/// One university course (`course.v1.json`), as far as matching reads it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Course {
    /// Three letters and three digits, unique within the university.
    pub course_code: String,
    /// Course name; matched as text against the need.
    pub name: LocalizedText,
    /// Languages the course is taught in.
    pub language_of_instruction: Vec<LanguageCode>,
    /// Topics from the shared vocabulary; the index key.
    pub topics: Vec<String>,
    /// Learning outcomes; matched as text against the need.
    #[serde(default)]
    pub learning_outcomes: Vec<String>,
    /// Scheduled instances (kurstillfällen).
    pub instances: Vec<Instance>,
    /// Whether and how the course takes real cases.
    pub external_cases: ExternalCases,
}

/// One scheduled instance of a course.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    /// The university's id of this instance.
    pub instance_id: String,
    /// `2026/2027`.
    pub academic_year: String,
    /// `LP1`–`LP4` or `P1`–`P4`, in order.
    pub study_periods: Vec<String>,
    /// First day of teaching.
    #[serde(deserialize_with = "date")]
    pub start_date: Date,
    /// Last day of teaching.
    #[serde(deserialize_with = "date")]
    pub end_date: Date,
    /// The window in which this instance takes cases; `None` when it takes none.
    pub case_intake: Option<CaseIntake>,
}

/// When and how many cases an instance takes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseIntake {
    /// First day cases are accepted.
    #[serde(deserialize_with = "date")]
    pub opens_at: Date,
    /// Last day cases are accepted.
    #[serde(deserialize_with = "date")]
    pub deadline: Date,
    /// What the university says about the window.
    pub status: IntakeStatus,
    /// Cases the instance can take.
    pub max_cases: u32,
    /// Cases already accepted.
    pub cases_accepted: u32,
}

/// `caseIntake.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStatus {
    /// Not open yet.
    NotOpen,
    /// Taking cases.
    Open,
    /// No longer taking cases.
    Closed,
}

/// Whether and how a course takes real cases (`externalCases`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalCases {
    /// The course takes external cases at all.
    pub accepts: bool,
    /// Cases per instance the course can take.
    pub max_cases_per_instance: u32,
    /// What data students may receive.
    pub data_policy: DataPolicy,
    /// Students can sign an NDA.
    pub nda_possible: bool,
}

/// `externalCases.dataPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPolicy {
    /// Students receive no personal data.
    NoPersonalData,
    /// Only aggregated or anonymised data.
    AggregatedOrAnonymisedOnly,
    /// Only synthetic or anonymised data.
    SyntheticOrAnonymisedOnly,
    /// The course takes no cases.
    NotApplicable,
}

impl DataPolicy {
    /// The contract spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoPersonalData => "no_personal_data",
            Self::AggregatedOrAnonymisedOnly => "aggregated_or_anonymised_only",
            Self::SyntheticOrAnonymisedOnly => "synthetic_or_anonymised_only",
            Self::NotApplicable => "not_applicable",
        }
    }
}

/// One company in the partner registry (`partner.v1.json`), as far as matching reads it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Partner {
    /// The partner's orgId, e.g. `partner-001`.
    pub id: String,
    /// Registered company name.
    pub name: String,
    /// What the company does; matched as text against the need.
    pub description: String,
    /// What the company can help with (shared vocabulary).
    pub capability_tags: Vec<String>,
    /// TRL of the main offering, `None` for services.
    pub product_maturity_trl: Option<u8>,
    /// Counties served (`SE-O`, …; `SE` = the whole country).
    pub regions_served: Vec<String>,
    /// The partner's NDA with the hub.
    pub nda: Nda,
    /// What calls the partner wants.
    pub subscription: Subscription,
    /// Registry status.
    pub status: PartnerStatus,
}

/// A partner's NDA with the hub.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Nda {
    /// The NDA is signed.
    pub signed: bool,
    /// Last day the NDA is valid; `None` = no expiry.
    #[serde(default, deserialize_with = "optional_date")]
    pub expires: Option<Date>,
}

impl Nda {}

/// A partner's subscription to innovation calls.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The partner wants calls at all.
    pub active: bool,
    /// Topics the partner wants calls about; the index key.
    pub topics: Vec<String>,
    /// Counties the partner wants calls from (`SE` = all).
    pub regions: Vec<String>,
    /// Need visibilities the partner accepts.
    pub visibility_levels: Vec<Visibility>,
    /// Lowest TRL the partner wants calls for; `None` = any.
    pub trl_min: Option<u8>,
    /// Languages the partner accepts calls in.
    pub languages: Vec<LanguageCode>,
    /// Call types the partner wants.
    pub call_types: Vec<String>,
    /// Paused until (and including) this date.
    #[serde(default, deserialize_with = "optional_date")]
    pub paused_until: Option<Date>,
}

/// Registry status of a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerStatus {
    /// May receive calls.
    Active,
    /// Receives nothing until verified.
    PendingVerification,
    /// Receives nothing.
    Suspended,
    /// Receives nothing.
    Offboarded,
}
