//! Small JSON builders for the matcher's unit tests: one need, course and partner each, valid
//! enough for matching, which tests then bend one field at a time.

use serde_json::{Value, json};
use time::Date;
use time::macros::date;

use super::{MatchOptions, MatchOutcome, NeedProfile, match_need};
use crate::catalogue::Catalogue;

/// The day the unit tests run on.
pub(super) const TODAY: Date = date!(2026 - 11 - 22);

/// A verified, shareable Swedish need in VGR about lean, asking for both kinds of recipient.
pub(super) fn need() -> Value {
    json!({
        "id": "NEED-T-1", "region": "VGR", "language": "sv",
        "title": "Flödet på akuten", "description": "Vi vill förbättra flödet.",
        "desiredOutcome": "", "category": "lean", "tags": ["lean", "patient-flow"],
        "needOwner": {"role": "Enhetschef"}, "deadline": "2027-06-05",
        "stage": "need_verified", "visibility": "partners_nda",
        "consent": {"submitterConsentToShareExternally": true, "declaredNoPatientData": true},
        "routing": {"targets": ["university", "company"], "preferredUniversities": [],
                    "preferredStudyPeriods": [],
                    "companyCall": {"type": "open_innovation_call", "trlMin": 5, "trlMax": 8}},
        "attachments": []
    })
}

/// A course on lean and patient flow with one LP3 instance whose intake is open today.
pub(super) fn course(code: &str) -> Value {
    json!({
        "courseCode": code, "name": {"en": "Lean flow"}, "languageOfInstruction": ["sv"],
        "topics": ["lean", "patient-flow"], "learningOutcomes": ["Improve flow"],
        "instances": [instance(&format!("{code}-LP3"), "LP3", "2027-01-18", "2027-03-20")],
        "externalCases": {"accepts": true, "maxCasesPerInstance": 5,
                          "dataPolicy": "aggregated_or_anonymised_only", "ndaPossible": false}
    })
}

/// An instance with an intake open from 2026-10-01 to 2026-12-04, 1 of 5 cases taken.
pub(super) fn instance(id: &str, period: &str, start: &str, end: &str) -> Value {
    json!({
        "instanceId": id, "academicYear": "2026/2027", "studyPeriods": [period],
        "startDate": start, "endDate": end,
        "caseIntake": {"opensAt": "2026-10-01", "deadline": "2026-12-04", "status": "open",
                       "maxCases": 5, "casesAccepted": 1}
    })
}

/// An active partner in VGR (SE-O) subscribed to lean calls, NDA valid until 2027-02-10.
pub(super) fn partner(id: &str) -> Value {
    json!({
        "id": id, "name": "Test AB", "description": "Lean flow analytics",
        "capabilityTags": ["lean"], "productMaturityTrl": 7, "regionsServed": ["SE-O"],
        "nda": {"signed": true, "expires": "2027-02-10"},
        "subscription": {"active": true, "topics": ["lean"], "regions": ["SE-O"],
                         "visibilityLevels": ["public", "partners_nda"], "trlMin": 5,
                         "languages": ["sv"], "callTypes": ["open_innovation_call"]},
        "status": "active"
    })
}

/// Matches `need` against the given courses (all at `uni`) and partners on [`TODAY`].
pub(super) fn run(need: &Value, courses: &[Value], partners: &[Value]) -> MatchOutcome {
    let mut catalogue = Catalogue::new();
    for course in courses {
        catalogue.upsert_course("uni", course).unwrap();
    }
    for partner in partners {
        catalogue.upsert_partner(partner).unwrap();
    }
    let profile = NeedProfile::from_need(need).unwrap();
    match_need(&profile, &catalogue, &MatchOptions::default(), TODAY)
}
