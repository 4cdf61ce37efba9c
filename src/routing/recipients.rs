//! Who may receive what: a challenge only goes to a configured university, a call only to a
//! configured company, and each organisation at most once per need.
//!
//! The catalogue is filled by events and files whose ids are checked against the configuration
//! when they arrive (`pipeline::reference`, `hub::load_catalogue`), but the configuration can
//! change between restarts while the recorded catalogue stays: an id that was a company
//! yesterday may be a region's today. So the kinds are checked again here, on every need,
//! against the configuration the hub runs with. Without it a call could reach a region's queue,
//! and an organisation matched as both a university and a company would be recorded twice on
//! one need — which the store refuses, leaving the need to be retried until it was dead-lettered.

use std::collections::HashSet;

use crate::matching::{Blocker, MatchOutcome, NotRouted};
use crate::settings::OrgKind;

/// Keeps the matched universities that `kind_of` says are universities and the matched
/// companies it says are companies, each organisation once (the first, best match). When
/// nobody is left, the outcome says why (`no_match`).
pub fn keep_configured(outcome: &mut MatchOutcome, kind_of: impl Fn(&str) -> Option<OrgKind>) {
    let was_routed = outcome.is_routed();
    let mut seen = HashSet::new();
    outcome.universities.retain(|u| {
        kind_of(&u.university) == Some(OrgKind::University) && seen.insert(u.university.clone())
    });
    outcome.companies.retain(|c| {
        kind_of(&c.partner_id) == Some(OrgKind::Company) && seen.insert(c.partner_id.clone())
    });
    if was_routed && !outcome.is_routed() {
        outcome.not_routed = Some(NotRouted {
            blockers: vec![Blocker::NoMatch {
                detail: "no matched university or company is configured in this hub".to_owned(),
            }],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{CompanyMatch, Exclusions, UniversityMatches};

    fn outcome(universities: &[&str], companies: &[&str]) -> MatchOutcome {
        MatchOutcome {
            need_id: "NEED-1".to_owned(),
            universities: universities
                .iter()
                .map(|u| UniversityMatches {
                    university: (*u).to_owned(),
                    courses: Vec::new(),
                })
                .collect(),
            companies: companies
                .iter()
                .map(|c| CompanyMatch {
                    partner_id: (*c).to_owned(),
                    score: 0.5,
                    reasons: Vec::new(),
                    topics: Vec::new(),
                })
                .collect(),
            not_routed: None,
            exclusions: Exclusions::default(),
            candidates_considered: 0,
            candidates_scored: 0,
        }
    }

    fn kind_of(id: &str) -> Option<OrgKind> {
        match id {
            "VGR" => Some(OrgKind::Region),
            "chalmers" => Some(OrgKind::University),
            "partner-001" | "partner-002" => Some(OrgKind::Company),
            _ => None,
        }
    }

    fn ids(outcome: &MatchOutcome) -> (Vec<&str>, Vec<&str>) {
        (
            outcome
                .universities
                .iter()
                .map(|u| u.university.as_str())
                .collect(),
            outcome
                .companies
                .iter()
                .map(|c| c.partner_id.as_str())
                .collect(),
        )
    }

    #[test]
    fn challenges_go_to_universities_and_calls_to_companies_only() {
        let mut o = outcome(
            &["chalmers", "partner-001", "VGR", "unknown"],
            &[
                "partner-001",
                "chalmers",
                "VGR",
                "partner-002",
                "partner-001",
            ],
        );
        keep_configured(&mut o, kind_of);
        assert_eq!(
            ids(&o),
            (vec!["chalmers"], vec!["partner-001", "partner-002"])
        );
        assert_eq!(o.not_routed, None);
    }

    #[test]
    fn a_need_left_without_recipients_says_why() {
        let mut o = outcome(&["VGR"], &["chalmers"]);
        keep_configured(&mut o, kind_of);
        assert!(!o.is_routed());
        assert_eq!(o.not_routed.as_ref().map(NotRouted::code), Some("no_match"));
    }
}
