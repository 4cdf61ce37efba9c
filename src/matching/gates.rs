//! Whether a need may leave the region at all, before any candidate is looked at.
//!
//! Every gate is checked and every failure reported (not just the first), so that the
//! region's innovation coach sees in one status everything that must change — NEED-2026-0112
//! fails seven of them. The order is fixed, most fundamental first; the first failure is the
//! status's main reason code.

use time::Date;

use super::outcome::Blocker;
use super::profile::{NeedProfile, Stage};
use crate::catalogue::model::Visibility;

/// The gates `profile` fails on `today`; empty when it may be routed.
#[must_use]
pub(crate) fn check(profile: &NeedProfile, today: Date) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    if profile.visibility == Visibility::Internal {
        blockers.push(Blocker::VisibilityInternal);
    }
    if !profile.consent_to_share {
        blockers.push(Blocker::NoConsent);
    }
    if profile.unscanned_attachments > 0 {
        blockers.push(Blocker::UnscannedAttachment {
            count: profile.unscanned_attachments,
        });
    }
    if profile.stage == Stage::Idea {
        blockers.push(Blocker::StageNotVerified);
    } else if profile.stage.is_closed() {
        blockers.push(Blocker::StageClosed {
            stage: profile.stage,
        });
    }
    if !profile.need_owner_assigned {
        blockers.push(Blocker::NoNeedOwner);
    }
    if let Some(deadline) = profile.deadline
        && deadline < today
    {
        blockers.push(Blocker::DeadlinePassed { deadline });
    }
    if !profile.wants_university && profile.call.is_none() {
        blockers.push(Blocker::NoTargets);
    }
    blockers
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::date;

    use super::*;

    fn need() -> serde_json::Value {
        json!({
            "id": "NEED-T-1", "region": "VGR", "language": "sv", "title": "T",
            "description": "D", "desiredOutcome": "", "category": "lean", "tags": ["lean"],
            "needOwner": {"role": "Enhetschef"}, "deadline": "2027-01-01",
            "stage": "need_verified", "visibility": "public",
            "consent": {"submitterConsentToShareExternally": true, "declaredNoPatientData": true},
            "routing": {"targets": ["university"], "preferredUniversities": [],
                        "preferredStudyPeriods": [], "companyCall": {"type": "none"}},
            "attachments": []
        })
    }

    fn codes(data: &serde_json::Value, today: Date) -> Vec<&'static str> {
        let profile = NeedProfile::from_need(data).unwrap();
        check(&profile, today).iter().map(Blocker::code).collect()
    }

    #[test]
    fn an_open_verified_shared_need_passes() {
        assert!(codes(&need(), date!(2026 - 11 - 22)).is_empty());
    }

    #[test]
    fn every_failed_gate_is_reported_in_order() {
        let mut data = need();
        data["visibility"] = json!("internal");
        data["consent"]["submitterConsentToShareExternally"] = json!(false);
        data["stage"] = json!("idea");
        data["needOwner"]["role"] = json!("Not yet assigned");
        data["routing"]["targets"] = json!([]);
        assert_eq!(
            codes(&data, date!(2027 - 01 - 02)),
            [
                "visibility_internal",
                "no_consent",
                "stage_not_verified",
                "no_need_owner",
                "deadline_passed",
                "no_targets"
            ]
        );
    }

    #[test]
    fn the_deadline_day_itself_still_counts() {
        assert!(codes(&need(), date!(2027 - 01 - 01)).is_empty());
    }

    #[test]
    fn closed_stages_and_company_call_none() {
        let mut data = need();
        data["stage"] = json!("parked");
        data["routing"]["targets"] = json!(["company"]);
        assert_eq!(
            codes(&data, date!(2026 - 11 - 22)),
            ["stage_closed", "no_targets"]
        );
    }
}
