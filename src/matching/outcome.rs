//! What matching decided for one need: recipients with scores and reasons, or why none.

use time::Date;

use super::filter::Exclusions;
use super::profile::Stage;
use crate::dates::format_date;

/// The result of [`super::match_need`].
#[derive(Clone, Debug, PartialEq)]
pub struct MatchOutcome {
    /// The need id.
    pub need_id: String,
    /// Matched courses, one group per university, best university first.
    pub universities: Vec<UniversityMatches>,
    /// Matched companies, best first.
    pub companies: Vec<CompanyMatch>,
    /// Set when nobody is routed to: why (gates that failed, or no match).
    pub not_routed: Option<NotRouted>,
    /// Candidates that shared a topic but failed a filter, by reason.
    pub exclusions: Exclusions,
    /// Entries reached through the topic index (each counted once). Entries sharing no
    /// topic with the need are never reached, so this is 0 for a need whose topics no entry
    /// has, however large the catalogue.
    pub candidates_considered: usize,
    /// Candidates evaluated in full (filters and score). The rest of the considered ones
    /// were skipped because even a perfect text and preference fit could not lift them into
    /// the top N of their recipient.
    pub candidates_scored: usize,
}

impl MatchOutcome {
    pub(super) fn new(need_id: &str) -> Self {
        Self {
            need_id: need_id.to_owned(),
            universities: Vec::new(),
            companies: Vec::new(),
            not_routed: None,
            exclusions: Exclusions::default(),
            candidates_considered: 0,
            candidates_scored: 0,
        }
    }

    /// At least one university or company is to receive the need.
    #[must_use]
    pub fn is_routed(&self) -> bool {
        !self.universities.is_empty() || !self.companies.is_empty()
    }

    /// The matches for university `org`.
    #[must_use]
    pub fn university(&self, org: &str) -> Option<&UniversityMatches> {
        self.universities.iter().find(|u| u.university == org)
    }

    /// The match for partner `id`.
    #[must_use]
    pub fn company(&self, id: &str) -> Option<&CompanyMatch> {
        self.companies.iter().find(|c| c.partner_id == id)
    }

    /// The earliest last day of case intake among the matched course instances.
    #[must_use]
    pub(crate) fn earliest_intake_deadline(&self) -> Option<Date> {
        self.universities
            .iter()
            .flat_map(|u| &u.courses)
            .map(|c| c.intake_deadline)
            .min()
    }
}

/// The matched courses of one university.
#[derive(Clone, Debug, PartialEq)]
pub struct UniversityMatches {
    /// The university's orgId.
    pub university: String,
    /// Its matched course instances, best first (at most `max_courses_per_university`).
    pub courses: Vec<CourseMatch>,
}

impl UniversityMatches {
    /// The score of the best course (0 when there is none).
    #[must_use]
    pub(crate) fn best_score(&self) -> f64 {
        self.courses.first().map_or(0.0, |c| c.score)
    }
}

/// One course instance matched to the need.
#[derive(Clone, Debug, PartialEq)]
pub struct CourseMatch {
    /// The course code.
    pub course_code: String,
    /// The instance that fits best (earliest period that passes every filter).
    pub instance_id: String,
    /// The instance's academic year.
    pub academic_year: String,
    /// The instance's study periods.
    pub study_periods: Vec<String>,
    /// 0–1; comparable within one need only.
    pub score: f64,
    /// Why it matches, for people.
    pub reasons: Vec<String>,
    /// The shared topics, in the need's order.
    pub topics: Vec<String>,
    /// Last day the instance takes cases.
    pub intake_deadline: Date,
}

/// One company matched to the need.
#[derive(Clone, Debug, PartialEq)]
pub struct CompanyMatch {
    /// The partner's orgId.
    pub partner_id: String,
    /// 0–1; comparable within one need only.
    pub score: f64,
    /// Why it matches, for people.
    pub reasons: Vec<String>,
    /// The shared topics, in the need's order.
    pub topics: Vec<String>,
}

/// Why a need is not routed to anyone: every failed gate, or "no match".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRouted {
    /// In a fixed order: the first is the main reason.
    pub blockers: Vec<Blocker>,
}

impl NotRouted {
    /// The main reason's stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.blockers.first().map_or("no_match", Blocker::code)
    }

    /// Every reason's code.
    #[must_use]
    pub fn codes(&self) -> Vec<&'static str> {
        self.blockers.iter().map(Blocker::code).collect()
    }

    /// All reasons as one text, `code: sentence; code: sentence`.
    #[must_use]
    pub fn reason(&self) -> String {
        self.blockers
            .iter()
            .map(|b| format!("{}: {}", b.code(), b.sentence()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// One reason not to route a need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// Visibility `internal`: the need stays inside the region.
    VisibilityInternal,
    /// The submitter did not consent to sharing outside the region.
    NoConsent,
    /// Attachments not scanned for personal data.
    UnscannedAttachment {
        /// How many.
        count: usize,
    },
    /// Stage `idea`: not yet verified by the region.
    StageNotVerified,
    /// A closed stage (done, parked, rejected, withdrawn).
    StageClosed {
        /// The stage.
        stage: Stage,
    },
    /// No need owner (behovsägare) assigned.
    NoNeedOwner,
    /// The deadline is before today.
    DeadlinePassed {
        /// The deadline.
        deadline: Date,
    },
    /// Neither a university challenge nor a company call is asked for.
    NoTargets,
    /// The need has no topic tags, so nothing can share a topic with it.
    NoTags,
    /// Routing was allowed but no course or company passed.
    NoMatch {
        /// What the candidates failed on.
        detail: String,
    },
}

impl Blocker {
    /// Stable snake_case code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::VisibilityInternal => "visibility_internal",
            Self::NoConsent => "no_consent",
            Self::UnscannedAttachment { .. } => "unscanned_attachment",
            Self::StageNotVerified => "stage_not_verified",
            Self::StageClosed { .. } => "stage_closed",
            Self::NoNeedOwner => "no_need_owner",
            Self::DeadlinePassed { .. } => "deadline_passed",
            Self::NoTargets => "no_targets",
            Self::NoTags => "no_tags",
            Self::NoMatch { .. } => "no_match",
        }
    }

    /// A sentence for people (the need status `reason`).
    #[must_use]
    pub fn sentence(&self) -> String {
        match self {
            Self::VisibilityInternal => {
                "visibility is internal, so the need stays inside the region".to_owned()
            }
            Self::NoConsent => {
                "the submitter has not consented to sharing the need outside the region".to_owned()
            }
            Self::UnscannedAttachment { count } => format!(
                "{count} attachment(s) not scanned for personal data; nothing leaves the region \
                 until they are"
            ),
            Self::StageNotVerified => "stage is idea: only verified needs (need_verified or \
                                       later) are routed outside the region"
                .to_owned(),
            Self::StageClosed { stage } => {
                format!("stage is {}: the need is no longer open", stage.as_str())
            }
            Self::NoNeedOwner => {
                "no need owner (behovsägare) is assigned; one is required before a challenge"
                    .to_owned()
            }
            Self::DeadlinePassed { deadline } => {
                format!("the deadline {} has passed", format_date(*deadline))
            }
            Self::NoTargets => {
                "the region asks for neither a university challenge nor a company call".to_owned()
            }
            Self::NoTags => {
                "the need has no topic tags, so it shares a topic with no course or company"
                    .to_owned()
            }
            Self::NoMatch { detail } => detail.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_routed_reason_joins_every_blocker() {
        let not_routed = NotRouted {
            blockers: vec![Blocker::VisibilityInternal, Blocker::NoTags],
        };
        assert_eq!(not_routed.code(), "visibility_internal");
        assert!(
            not_routed
                .reason()
                .starts_with("visibility_internal: visibility is internal")
        );
        assert!(not_routed.reason().contains("; no_tags: "));
    }
}
