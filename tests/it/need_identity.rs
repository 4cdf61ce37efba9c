//! Need identity end to end, on the in-process broker with a SQLite file and with a fresh
//! PostgreSQL database: need ids are unique within a region, and a need that is not yours is
//! refused exactly like one that does not exist.

use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::store::AuditAction;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::need_key;
use crate::{App, need_event, on_both_hubs};

/// Sample need 0101 (VGR's) submitted by `region` as its own need `id`.
fn need_of(region: &str, id: &str) -> CloudEvent {
    let mut event = need_event("NEED-2026-0101");
    event.source = Source::for_org(region);
    event.subject = Some(id.to_owned());
    event.data["id"] = json!(id);
    event.data["region"] = json!(region);
    event
}

fn withdrawal(region: &str, id: &str) -> CloudEvent {
    CloudEvent::new(
        EventType::NeedWithdrawn,
        Source::for_org(region),
        Some(id.to_owned()),
        json!({"needId": id, "reason": "Solved internally."}),
    )
}

fn offer(org: &str, id: &str, region: Option<&str>, course: &Value) -> CloudEvent {
    let mut data = json!({"needId": id, "decision": "offer",
        "courseCode": course["courseCode"], "instanceId": course["instanceId"]});
    if let Some(region) = region {
        data["region"] = json!(region);
    }
    let mut event = CloudEvent::new(
        EventType::OfferSubmitted,
        Source::for_org(org),
        Some(id.to_owned()),
        data,
    );
    event.time = datetime!(2026-11-23 09:00 UTC);
    event
}

fn of_type(events: &[Value], t: EventType) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["type"] == t.as_str())
        .cloned()
        .collect()
}

/// The need ids these tests use: two that exist, one that never does.
const IDS: [&str; 3] = ["NEED-2026-0101", "NEED-2026-0106", "NEED-2026-9999"];

/// (reason, detail with the need id replaced by `<id>`, errors) of a `message.rejected`.
fn refusal(rejected: &Value) -> (String, String, String) {
    let data = &rejected["data"];
    let detail = data["detail"].as_str().unwrap_or_default();
    (
        data["reason"].as_str().unwrap_or_default().to_owned(),
        IDS.iter()
            .fold(detail.to_owned(), |d, id| d.replace(id, "<id>")),
        data["errors"].to_string(),
    )
}

/// `samverkan needs show ARGS` against the store of `app`.
fn needs_show(app: &App, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_samverkan"))
        .current_dir(crate::repo_path(""))
        .args(["--config", "config/sample.toml", "needs", "show"])
        .args(args)
        .env("SAMVERKAN__STORE__URL", &app.settings.store.url)
        .output()
        .expect("run samverkan needs show")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_regions_submit_the_same_need_id_and_both_are_routed() {
    on_both_hubs(|app, backend| async move {
        let id = "NEED-2026-0101";
        app.send("vgr", &need_of("VGR", id)).await;
        app.send("rv", &need_of("RV", id)).await;
        for region in ["VGR", "RV"] {
            let events = app.org_events(region).await;
            let statuses = of_type(&events, EventType::NeedStatus);
            assert_eq!(statuses.len(), 1, "{backend} {region}: {events:#?}");
            assert_eq!(statuses[0]["data"]["state"], "published", "{backend}");
            let need = app
                .pipeline
                .store()
                .need(&need_key(region, id))
                .await
                .expect("read")
                .expect("stored");
            assert_eq!(need.region.as_str(), region, "{backend}");
            assert!(!need.recipients.is_empty(), "{backend} {region}");
        }
        // The audit trail of the id tells the two needs apart.
        let trail = app
            .pipeline
            .store()
            .audit_trail(&need_key("VGR", id).need_id)
            .await
            .expect("audit trail");
        let mut routed: Vec<&str> = trail
            .iter()
            .filter(|a| a.action == AuditAction::Routed)
            .filter_map(|a| a.region.as_deref())
            .collect();
        routed.sort_unstable();
        assert_eq!(routed, ["RV", "VGR"], "{backend}");
        // Chalmers got a challenge for each, and each names its region.
        let challenges = of_type(
            &app.org_events("chalmers").await,
            EventType::ChallengePublished,
        );
        let mut regions: Vec<&str> = challenges
            .iter()
            .filter_map(|c| c["data"]["need"]["region"].as_str())
            .collect();
        regions.sort_unstable();
        assert_eq!(regions, ["RV", "VGR"], "{backend}");
        let course = challenges[0]["data"]["courses"][0].clone();
        // The id alone is ambiguous for Chalmers: it must name the region.
        app.send("chalmers", &offer("chalmers", id, None, &course))
            .await;
        let told = of_type(
            &app.org_events("chalmers").await,
            EventType::MessageRejected,
        );
        assert_eq!(told.len(), 1, "{backend}: {told:#?}");
        assert_eq!(told[0]["data"]["reason"], "schema_invalid");
        assert_eq!(told[0]["data"]["errors"][0]["instancePath"], "/data/region");
        // Named, the offer reaches RV's need only.
        app.send("chalmers", &offer("chalmers", id, Some("RV"), &course))
            .await;
        let rv = of_type(&app.org_events("RV").await, EventType::NeedStatus);
        assert_eq!(rv.len(), 1, "{backend}: {rv:#?}");
        assert_eq!(rv[0]["data"]["state"], "answered");
        assert!(app.org_events("VGR").await.is_empty(), "{backend}");
        // `needs show` asks which region when the id alone is ambiguous.
        let both = needs_show(&app, &[id]);
        assert_eq!(both.status.code(), Some(1), "{backend}: {both:?}");
        let said = String::from_utf8_lossy(&both.stderr);
        assert!(said.contains("VGR") && said.contains("RV"), "{said}");
        let shown = needs_show(&app, &["--format", "json", "--region", "RV", id]);
        assert!(shown.status.success(), "{backend}: {shown:?}");
        let shown: Value = serde_json::from_slice(&shown.stdout).expect("JSON");
        assert_eq!(
            (shown["region"].as_str(), shown["state"].as_str()),
            (Some("RV"), Some("answered"))
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_another_regions_need_is_refused_like_a_need_that_does_not_exist() {
    on_both_hubs(|app, backend| async move {
        app.send("vgr", &need_event("NEED-2026-0101")).await;
        app.org_events("VGR").await;
        app.send("rv", &withdrawal("RV", "NEED-2026-0101")).await;
        app.send("rv", &withdrawal("RV", "NEED-2026-9999")).await;
        let told = of_type(&app.org_events("RV").await, EventType::MessageRejected);
        assert_eq!(told.len(), 2, "{backend}: {told:#?}");
        let details: Vec<&str> = told
            .iter()
            .filter_map(|t| t["data"]["detail"].as_str())
            .collect();
        assert!(
            ["NEED-2026-0101", "NEED-2026-9999"].iter().all(|id| details
                .iter()
                .filter(|d| d.contains(id))
                .count()
                == 1),
            "each detail names the id sent: {details:?}"
        );
        assert_eq!(refusal(&told[0]), refusal(&told[1]), "{backend}");
        assert_eq!(told[0]["data"]["reason"], "unknown_need");
        // VGR's need is untouched and nobody was told it was withdrawn.
        assert!(app.org_events("VGR").await.is_empty(), "{backend}");
        assert!(
            of_type(
                &app.org_events("chalmers").await,
                EventType::ChallengeWithdrawn
            )
            .is_empty()
        );
        let need = app
            .pipeline
            .store()
            .need(&need_key("VGR", "NEED-2026-0101"))
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(need.state.as_str(), "published", "{backend}");
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_university_answering_a_need_it_was_not_sent_is_told_the_need_is_unknown() {
    on_both_hubs(|app, backend| async move {
        // 0106 goes to Chalmers only.
        let sent = "NEED-2026-0106";
        app.send("vgr", &need_event(sent)).await;
        let course = of_type(
            &app.org_events("chalmers").await,
            EventType::ChallengePublished,
        )[0]["data"]["courses"][0]
            .clone();
        assert!(app.org_events("mdu").await.is_empty(), "0106 is not MDU's");
        assert_eq!(app.org_events("VGR").await.len(), 1, "the first status");
        app.send("mdu", &offer("mdu", sent, None, &course)).await;
        app.send("mdu", &offer("mdu", "NEED-2026-9999", None, &course))
            .await;
        // Naming the right region does not help a university the need was not sent to.
        app.send("mdu", &offer("mdu", sent, Some("VGR"), &course))
            .await;
        let told = of_type(&app.org_events("mdu").await, EventType::MessageRejected);
        assert_eq!(told.len(), 3, "{backend}: {told:#?}");
        let mut seen: Vec<(String, String, String)> = told.iter().map(refusal).collect();
        seen.dedup();
        assert_eq!(seen.len(), 1, "{backend}: {seen:#?}");
        assert_eq!(seen[0].0, "unknown_need");
        assert!(app.org_events("VGR").await.is_empty(), "{backend}");
        app.stop().await;
    })
    .await;
}
