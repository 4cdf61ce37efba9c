//! Catalogue changes across hub instances: two pipelines on one store (SQLite file or a fresh
//! PostgreSQL database), like two `samverkan run` processes, end with the same catalogue.

use std::collections::HashMap;
use std::sync::Arc;

use samverkan::clock::FixedClock;
use samverkan::event::{CloudEvent, EventType, RejectReason, Source};
use samverkan::hub;
use samverkan::pipeline::{Outcome, Pipeline};
use samverkan::settings::{self, Settings};
use samverkan::store::{Backend, Store};
use samverkan::transport::Inbound;
use serde_json::{Value, json};
use time::macros::date;

use crate::hub_faults::{count, sql_pool};
use crate::need_event;
use crate::on_both;
use crate::{read_json, repo_path, strip_annotations};

/// A hub instance: the sample configuration's pipeline on the store at `url`.
async fn instance(url: &str) -> Pipeline {
    let env = HashMap::from([("SAMVERKAN__STORE__URL".to_owned(), url.to_owned())]);
    let settings: Settings =
        settings::load_from(Some(&repo_path("config/sample.toml")), env).expect("settings");
    let store = Store::connect(url).await.expect("store");
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    let pipeline = hub::build(&settings, store, clock).expect("pipeline");
    pipeline
        .catch_up_reference()
        .await
        .expect("start-up replay");
    pipeline
}

/// Hand `event` to `pipeline` as if broker user `user` had published it.
async fn deliver(pipeline: &Pipeline, user: &str, event: &CloudEvent) -> Outcome {
    let inbound = Inbound {
        body: event.to_json_bytes(),
        content_type: Some("application/cloudevents+json".into()),
        headers: Default::default(),
        user_id: Some(user.into()),
        message_id: Some(event.id.to_string()),
        routing_key: event.event_type.as_str().into(),
        redelivered: false,
        trace: Default::default(),
        replay: None,
    };
    pipeline.handle(&inbound).await.expect("handled")
}

/// Deliver `event` from Chalmers to `pipeline` and check it was accepted.
async fn accepted_from_chalmers(backend: Backend, pipeline: &Pipeline, event: &CloudEvent) {
    let outcome = deliver(pipeline, "chalmers", event).await;
    assert!(
        matches!(outcome, Outcome::Accepted { .. }),
        "{backend}: {outcome:?}"
    );
}

fn chalmers_event(event_type: EventType, data: Value) -> CloudEvent {
    CloudEvent::new(event_type, Source::for_org("chalmers"), None, data)
}

/// Chalmers removes course `code` (a new event id each time).
fn removal_of(code: &str) -> CloudEvent {
    chalmers_event(
        EventType::CourseRemoved,
        json!({"courseCode": code, "reason": "Not given next year."}),
    )
}

/// A new Chalmers course: TEK901 under another code.
fn new_course(code: &str) -> Value {
    let mut catalogue = read_json("sample-data/course-catalogue-chalmers.json");
    strip_annotations(&mut catalogue);
    let mut course = catalogue["courses"][0].clone();
    assert_eq!(course["courseCode"], "TEK901");
    course["courseCode"] = json!(code);
    course
}

/// Each of `hubs` refuses to remove Chalmers' course `code` as `unknown_course`: it is gone.
async fn assert_course_gone(backend: Backend, code: &str, hubs: &[(&str, &Pipeline)]) {
    for (name, pipeline) in hubs {
        let outcome = deliver(pipeline, "chalmers", &removal_of(code)).await;
        let gone = matches!(
            outcome,
            Outcome::Refused {
                reason: RejectReason::UnknownCourse,
                ..
            }
        );
        assert!(gone, "{backend}: {name}: {outcome:?}");
    }
}

/// The course codes `pipeline` offers Chalmers for NEED-2026-0101, read from the outbox.
async fn offered_for_0101(pipeline: &Pipeline) -> Vec<String> {
    let outcome = deliver(pipeline, "vgr", &need_event("NEED-2026-0101")).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
    let rows = pipeline
        .store()
        .pending_outbox(10_000)
        .await
        .expect("outbox");
    let challenge = rows
        .iter()
        .rev()
        .map(|r| serde_json::from_slice::<Value>(&r.message.body).expect("JSON"))
        .find(|e| e["type"] == EventType::ChallengePublished.as_str())
        .expect("a challenge to Chalmers");
    challenge["data"]["courses"]
        .as_array()
        .expect("courses")
        .iter()
        .filter_map(|c| c["courseCode"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_taken_by_one_instance_reaches_the_other() {
    on_both(|backend, url| async move {
        let a = instance(&url).await;
        let b = instance(&url).await;
        let removal = removal_of("TEK901");
        accepted_from_chalmers(backend, &a, &removal).await;
        // B took nothing itself; one catch-up (the poller's, every second) brings it along.
        assert_eq!(
            b.catch_up_reference().await.expect("catch up"),
            1,
            "{backend}"
        );
        assert_eq!(b.catch_up_reference().await.expect("again"), 0, "{backend}");
        let offered = offered_for_0101(&b).await;
        assert!(
            !offered.is_empty(),
            "{backend}: 0101 still reaches Chalmers"
        );
        assert!(
            !offered.iter().any(|c| c == "TEK901"),
            "{backend}: B offered a course A removed: {offered:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_apply_in_the_order_the_store_recorded_them() {
    on_both(|backend, url| async move {
        let a = instance(&url).await;
        let b = instance(&url).await;
        // B adds a course; A, which has not polled yet, is asked to remove it. A checks
        // against everything recorded so far, so the removal is accepted, not `unknown_course`.
        let added = chalmers_event(EventType::CourseUpserted, new_course("TEK999"));
        accepted_from_chalmers(backend, &b, &added).await;
        let removal = removal_of("TEK999");
        accepted_from_chalmers(backend, &a, &removal).await;
        // B applies A's removal after its own upsert; removing it again is refused on both.
        assert_eq!(
            b.catch_up_reference().await.expect("catch up"),
            1,
            "{backend}"
        );
        assert_course_gone(backend, "TEK999", &[("A", &a), ("B", &b)]).await;
        // A hub started later replays both changes, in order, and ends where A and B are.
        let c = instance(&url).await;
        let offered = offered_for_0101(&c).await;
        assert!(
            !offered.iter().any(|code| code == "TEK999"),
            "{backend}: {offered:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_log_keeps_only_what_a_new_hub_needs() {
    on_both(|backend, url| async move {
        let a = instance(&url).await;
        let late = instance(&url).await;
        let db = sql_pool(&url).await;
        let rows = async || {
            count(
                &db,
                "SELECT count(*) FROM reference_events WHERE entity_key = $1",
                &["course:chalmers:TEK999"],
            )
            .await
        };
        let accepted = async |event: &CloudEvent| accepted_from_chalmers(backend, &a, event).await;
        let upsert = || chalmers_event(EventType::CourseUpserted, new_course("TEK999"));
        for _ in 0..3 {
            accepted(&upsert()).await;
        }
        assert_eq!(rows().await, 1, "{backend}: an upsert replaces the earlier ones");
        let instance_removal = chalmers_event(
            EventType::CourseRemoved,
            json!({"courseCode": "TEK999", "instanceId": "TEK901-2026-2027-LP3", "reason": "Full."}),
        );
        accepted(&instance_removal).await;
        assert_eq!(rows().await, 2, "{backend}: removing an instance edits the course");
        accepted(&upsert()).await;
        accepted(&removal_of("TEK999")).await;
        assert_eq!(rows().await, 1, "{backend}: only the removal is left");
        // A hub that missed all of it, and one started now, end where A is: no TEK999.
        late.catch_up_reference().await.expect("catch up");
        let fresh = instance(&url).await;
        let hubs = [("A", &a), ("late", &late), ("fresh", &fresh)];
        assert_course_gone(backend, "TEK999", &hubs).await;
        db.close().await;
    })
    .await;
}

/// The in-memory store has one connection: a catalogue change must not wait for a second one
/// (the catch-up runs before the transaction, not inside it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_change_on_the_one_connection_in_memory_store_does_not_wait() {
    let hub = instance("sqlite::memory:").await;
    let added = chalmers_event(EventType::CourseUpserted, new_course("TEK999"));
    let handled = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        deliver(&hub, "chalmers", &added),
    )
    .await
    .expect("handled without waiting for a connection");
    assert!(matches!(handled, Outcome::Accepted { .. }), "{handled:?}");
    let outcome = deliver(&hub, "chalmers", &removal_of("TEK999")).await;
    assert!(matches!(outcome, Outcome::Accepted { .. }), "{outcome:?}");
}
