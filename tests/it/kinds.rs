//! Recipient kinds end to end, on the in-process broker with a SQLite file and with a fresh
//! PostgreSQL database: a partner entry must be a configured company, a challenge goes only to
//! a university and a call only to a company, and nobody is recorded twice on one need.

use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::settings::OrgId;
use samverkan::store::ReferenceEntry;
use serde_json::{Value, json};

use crate::{need_event, on_both_hubs};
use crate::{read_json, strip_annotations};

fn of_type(events: &[Value], t: EventType) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == t.as_str())
        .cloned()
        .collect()
}

/// Partner registry entry 0 (partner-001) with `id`, as `partner.upserted` from the registry.
fn partner_upsert(id: &str) -> CloudEvent {
    let mut entry = read_json("sample-data/partner-registry.json")["partners"][0].clone();
    strip_annotations(&mut entry);
    entry["id"] = json!(id);
    CloudEvent::new(
        EventType::PartnerUpserted,
        Source::for_org("registry"),
        Some(id.to_owned()),
        entry,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mis_kinded_partner_entry_is_refused_and_the_next_need_still_gets_its_status() {
    on_both_hubs(|app, backend| async move {
        for id in ["chalmers", "VGR", "partner-099"] {
            app.send("registry", &partner_upsert(id)).await;
        }
        let told = of_type(
            &app.org_events("registry").await,
            EventType::MessageRejected,
        );
        assert_eq!(told.len(), 3, "{backend}: {told:#?}");
        for t in &told {
            assert_eq!(t["data"]["reason"], "unauthorized", "{backend}");
            let detail = t["data"]["detail"].as_str().unwrap_or_default();
            assert!(detail.contains("is not a configured company"), "{detail}");
        }
        app.send("vgr", &need_event("NEED-2026-0101")).await;
        let statuses = of_type(&app.org_events("VGR").await, EventType::NeedStatus);
        assert_eq!(statuses.len(), 1, "{backend}");
        assert_eq!(statuses[0]["data"]["state"], "published");
        let to_chalmers = app.org_events("chalmers").await;
        assert_eq!(to_chalmers.len(), 1, "{backend}: {to_chalmers:#?}");
        assert_eq!(
            to_chalmers[0]["type"],
            EventType::ChallengePublished.as_str()
        );
        assert_eq!(
            app.dead_reasons().await,
            ["unauthorized"; 3],
            "{backend}: only the three entries"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organisation_is_never_recorded_twice_on_one_need() {
    on_both_hubs(|app, backend| async move {
        // A partner entry for Chalmers recorded before kinds were checked (or under another
        // configuration): the catalogue holds Chalmers as a course owner and as a partner.
        let entry = partner_upsert("chalmers").data;
        let mut tx = app.pipeline.store().begin().await.expect("begin");
        let key = ReferenceEntry {
            key: "partner:chalmers".into(),
            replaces_earlier: true,
        };
        let registry = OrgId::parse("registry").expect("org");
        tx.record_reference(EventType::PartnerUpserted.as_str(), &registry, &entry, &key)
            .await
            .expect("record");
        tx.commit().await.expect("commit");
        app.pipeline.catch_up_reference().await.expect("catch up");
        app.send("vgr", &need_event("NEED-2026-0101")).await;
        let statuses = of_type(&app.org_events("VGR").await, EventType::NeedStatus);
        assert_eq!(statuses.len(), 1, "{backend}: {statuses:#?}");
        assert_eq!(statuses[0]["data"]["state"], "published");
        let listed: Vec<&str> = statuses[0]["data"]["recipients"]
            .as_array()
            .expect("recipients")
            .iter()
            .filter_map(|r| r["org"].as_str())
            .collect();
        assert_eq!(
            listed.iter().filter(|o| **o == "chalmers").count(),
            1,
            "{backend}: {listed:?}"
        );
        let to_chalmers = app.org_events("chalmers").await;
        assert_eq!(to_chalmers.len(), 1, "{backend}: {to_chalmers:#?}");
        assert_eq!(
            to_chalmers[0]["type"],
            EventType::ChallengePublished.as_str()
        );
        assert!(app.dead_reasons().await.is_empty(), "{backend}");
        app.stop().await;
    })
    .await;
}

#[test]
fn a_course_file_must_belong_to_a_configured_university() {
    let sample = crate::repo_path("config/sample.toml");
    let mut settings = samverkan::settings::load_from(Some(&sample), Default::default())
        .expect("config/sample.toml loads");
    let schemas = samverkan::schema::SchemaRegistry::new().expect("schemas");
    for (owner, configured) in [
        ("VGR", "it is configured as a region"),
        ("kth", "no organisation with this id is configured"),
    ] {
        settings.catalogue.courses[0].org = OrgId::parse(owner).expect("org id");
        let refused = samverkan::hub::load_catalogue(&settings, &schemas)
            .expect_err("a course file of a non-university");
        assert_eq!(
            refused.to_string(),
            format!("catalogue: `{owner}` is not a configured university: {configured}")
        );
    }
}
