//! Outbound data built from matches, and the index and catalogue updates behind matching.

use samverkan::event::{CloudEvent, EventId, Source, Trace};
use samverkan::transport::Outbound;

use super::*;

#[test]
fn built_challenges_calls_and_statuses_validate_against_their_schemas() {
    let schemas = SchemaRegistry::new().unwrap();
    let catalogue = sample_catalogue();
    let now = FixedClock::reference().0;
    for mut data in sample_needs() {
        strip_annotations(&mut data);
        let id = data["id"].as_str().unwrap().to_owned();
        let outcome = outcome_on(&catalogue, &data, REFERENCE_DATE);

        let messages = routing::outbound(&data, &outcome, now).unwrap();

        assert_eq!(
            messages.len(),
            outcome.universities.len() + outcome.companies.len() + 1
        );
        for message in &messages {
            let issues = schemas.data_issues(message.event_type, &message.data);
            assert!(
                issues.is_empty(),
                "{id} → {}: {issues:?}",
                message.recipient
            );
            if let Some(view) = message.data.get("need") {
                for private in ["careUnitHsaId", "needOwner", "consent", "routing", "source"] {
                    assert!(view.get(private).is_none(), "{id}: {private} leaked");
                }
            }
        }
        let status = messages.last().unwrap();
        assert_eq!(status.event_type, EventType::NeedStatus);
        assert_eq!(status.recipient, data["region"].as_str().unwrap());
        let state = if outcome.is_routed() {
            "published"
        } else {
            "unmatched"
        };
        assert_eq!(status.data["state"], state, "{id}");
    }
}

/// One answer deadline per need: the earliest offered intake deadline (TEK907: 2026-11-27),
/// shared by the challenges, the calls and the status — as in the contract's examples.
#[test]
fn respond_by_is_the_earliest_offered_intake_deadline() {
    let catalogue = sample_catalogue();
    let data = need("NEED-2026-0101");
    let outcome = matched(&catalogue, "NEED-2026-0101");

    let messages = routing::outbound(&data, &outcome, FixedClock::reference().0).unwrap();

    for message in &messages {
        assert_eq!(
            message.data["respondBy"], "2026-11-27",
            "{}",
            message.recipient
        );
    }
    let status = &messages.last().unwrap().data;
    assert_eq!(
        status["changed"],
        "challenge sent to chalmers, mdu; calls sent to partner-001, partner-013"
    );
    assert_eq!(status["recipients"][0]["org"], "chalmers");
}

#[test]
fn unmatched_status_carries_the_reason() {
    let catalogue = sample_catalogue();
    let data = need("NEED-2026-0107");
    let outcome = matched(&catalogue, "NEED-2026-0107");

    let status = routing::need_status_data(&data, &outcome, FixedClock::reference().0).unwrap();

    assert_eq!(status["state"], "unmatched");
    assert_eq!(status["respondBy"], Value::Null);
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .starts_with("visibility_internal: ")
    );
}

#[test]
fn builders_refuse_a_need_that_may_not_leave_the_region() {
    let catalogue = sample_catalogue();
    let mut data = need("NEED-2026-0101");
    let outcome = outcome_on(&catalogue, &data, REFERENCE_DATE);
    data["visibility"] = json!("internal");
    let now = FixedClock::reference().0;

    let challenge = routing::challenge_data(&data, &outcome, &outcome.universities[0], now);
    let call = routing::call_data(&data, &outcome, &outcome.companies[0], now);

    assert!(matches!(challenge, Err(RoutingError::NotShareable { .. })));
    assert!(matches!(call, Err(RoutingError::NotShareable { .. })));
}

#[test]
fn a_need_without_tags_matches_nothing_and_says_so() {
    let catalogue = sample_catalogue();
    let mut data = need("NEED-2026-0101");
    data["tags"] = json!([]);

    let outcome = outcome_on(&catalogue, &data, REFERENCE_DATE);

    assert_eq!(outcome.not_routed.unwrap().code(), "no_tags");
    assert_eq!(outcome.candidates_considered, 0);
}

/// A minimal course for generated catalogues: open intake, LP3 2026/2027.
fn generated_course(code: &str, topics: &[&str]) -> Value {
    json!({
        "courseCode": code,
        "name": {"en": format!("Generated course {code}")},
        "languageOfInstruction": ["en"],
        "topics": topics,
        "learningOutcomes": [],
        "instances": [{
            "instanceId": format!("{code}-LP3"), "academicYear": "2026/2027", "term": "VT2027",
            "studyPeriods": ["LP3"], "startDate": "2027-01-18", "endDate": "2027-03-20",
            "caseIntake": {"opensAt": "2026-10-01", "deadline": "2026-12-04", "status": "open",
                           "maxCases": 5, "casesAccepted": 0}
        }],
        "externalCases": {"accepts": true, "maxCasesPerInstance": 5,
                          "dataPolicy": "aggregated_or_anonymised_only", "ndaPossible": true}
    })
}

/// The topic index means a need is never compared with entries that share no topic with it:
/// 5,000 unrelated courses cost no scoring work at all.
#[test]
fn entries_sharing_no_topic_are_never_scored() {
    let mut catalogue = Catalogue::new();
    for n in 0..5_000 {
        let topics = if n % 2 == 0 {
            ["laboratory", "sterilisation"]
        } else {
            ["diagnostics", "surgery"]
        };
        catalogue
            .upsert_course("uni", &generated_course(&format!("GEN{n:04}"), &topics))
            .unwrap();
    }

    let outcome = matched(&catalogue, "NEED-2026-0101");

    assert_eq!(outcome.candidates_considered, 0);
    assert_eq!(outcome.candidates_scored, 0);
    assert_eq!(outcome.not_routed.unwrap().code(), "no_match");

    catalogue
        .upsert_course(
            "uni",
            &generated_course("HIT001", &["lean", "patient-flow", "laboratory"]),
        )
        .unwrap();
    let outcome = matched(&catalogue, "NEED-2026-0101");
    assert_eq!(outcome.candidates_considered, 1);
    assert_eq!(courses_of(&outcome, "uni"), ["HIT001"]);
}

/// Skipping hopeless candidates must not change the result: the top 3 with the bound equal
/// the top 3 of a run that keeps (and therefore scores) every candidate.
#[test]
fn bounded_work_gives_exactly_the_top_n() {
    let mut catalogue = Catalogue::new();
    let pool = [
        "patient-flow",
        "lean",
        "emergency-care",
        "laboratory",
        "surgery",
    ];
    for n in 0..2_000usize {
        let topics: Vec<&str> = (0..1 + n % 4)
            .map(|k| pool[(n / 7 + k * 3) % pool.len()])
            .collect();
        let mut topics = topics;
        topics.dedup();
        let course = generated_course(&format!("GEN{n:04}"), &topics);
        catalogue
            .upsert_course(if n % 3 == 0 { "uni-a" } else { "uni-b" }, &course)
            .unwrap();
    }
    let data = need("NEED-2026-0101");
    let profile = NeedProfile::from_need(&data).unwrap();
    let bounded = MatchOptions::default();
    let exhaustive = MatchOptions {
        max_courses_per_university: 100_000,
        ..MatchOptions::default()
    };

    let fast = match_need(&profile, &catalogue, &bounded, REFERENCE_DATE);
    let full = match_need(&profile, &catalogue, &exhaustive, REFERENCE_DATE);

    assert!(
        fast.candidates_scored < full.candidates_scored,
        "the bound skipped work"
    );
    for university in &fast.universities {
        let all = full.university(&university.university).unwrap();
        assert_eq!(
            university.courses,
            all.courses[..university.courses.len()],
            "{}",
            university.university
        );
    }
}

#[test]
fn removing_and_upserting_courses_updates_matching() {
    let mut catalogue = sample_catalogue();

    catalogue.remove_course("chalmers", "TEK901", None).unwrap();
    let without = matched(&catalogue, "NEED-2026-0101");
    catalogue
        .remove_course("chalmers", "TEK907", Some("TEK907-2026-2027-LP3-LP4"))
        .unwrap();
    let without_instance = matched(&catalogue, "NEED-2026-0101");
    let unknown = catalogue.remove_course("chalmers", "TEK901", None);

    assert!(!courses_of(&without, "chalmers").contains(&"TEK901".to_owned()));
    assert!(!courses_of(&without_instance, "chalmers").contains(&"TEK907".to_owned()));
    assert!(
        catalogue
            .course("chalmers", "TEK907")
            .unwrap()
            .instances
            .is_empty()
    );
    assert!(matches!(unknown, Err(CatalogueError::UnknownCourse { .. })));
}

#[test]
fn the_same_inputs_give_the_same_outcome_whatever_the_load_order() {
    let forward = sample_catalogue();
    let mut backward = Catalogue::new();
    let registry = read_json("sample-data/partner-registry.json");
    for partner in registry["partners"].as_array().unwrap().iter().rev() {
        let mut partner = partner.clone();
        strip_annotations(&mut partner);
        backward.upsert_partner(&partner).unwrap();
    }
    for (org, file) in [
        ("mdu", "sample-data/course-catalogue-mdu.json"),
        ("chalmers", "sample-data/course-catalogue-chalmers.json"),
    ] {
        for course in read_json(file)["courses"].as_array().unwrap().iter().rev() {
            backward.upsert_course(org, course).unwrap();
        }
    }

    for data in sample_needs() {
        let id = data["id"].as_str().unwrap();
        let a = matched(&forward, id);
        let b = matched(&backward, id);
        assert_eq!(a.universities, b.universities, "{id}");
        assert_eq!(a.companies, b.companies, "{id}");
        let a_codes: BTreeSet<_> = a.exclusions.counts.keys().collect();
        let b_codes: BTreeSet<_> = b.exclusions.counts.keys().collect();
        assert_eq!(a_codes, b_codes, "{id}");
    }
}

/// Every sample need's outbound events, byte for byte: routing key, then the structured body,
/// with fixed ids, time and trace context. The golden file was written by the builders before
/// they were made cheaper (`json!` → direct maps, one view per need, the body written without
/// a `Value` tree); run with `SAMVERKAN_UPDATE_GOLDEN=1` to rewrite it after a deliberate change.
#[test]
fn outbound_bodies_are_byte_for_byte_as_pinned() {
    let catalogue = sample_catalogue();
    let now = FixedClock::reference().0;
    let trace = Trace::new(
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        Some("vendor=1"),
    );
    let mut text = String::new();
    for mut data in sample_needs() {
        strip_annotations(&mut data);
        let id = data["id"].as_str().unwrap().to_owned();
        let outcome = outcome_on(&catalogue, &data, REFERENCE_DATE);
        let messages = routing::outbound(&data, &outcome, now).unwrap();
        for (n, message) in messages.into_iter().enumerate() {
            let mut event = CloudEvent::new(
                message.event_type,
                Source::hub(),
                Some(id.clone()),
                message.data,
            );
            event.id = EventId::parse(&format!("{id}-{n}")).unwrap();
            event.time = now;
            let event = trace.stamp(event);
            let out = Outbound::to_org(&message.recipient, &event);
            assert_eq!(
                out.body,
                serde_json::to_vec(&event.to_value()).unwrap(),
                "{id} → {}",
                message.recipient
            );
            text.push_str(&out.routing_key);
            text.push('\n');
            text.push_str(std::str::from_utf8(&out.body).unwrap());
            text.push('\n');
        }
    }
    let golden = repo_path("tests/core/matching/outbound.golden");
    if std::env::var_os("SAMVERKAN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &text).unwrap();
    }
    let pinned = std::fs::read_to_string(&golden).unwrap();
    assert!(
        text.lines().count() > 20,
        "every sample need sends something"
    );
    assert!(
        text == pinned,
        "outbound bytes changed; diff against {golden:?}"
    );
}
