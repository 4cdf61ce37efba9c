//! The need flow end to end on the in-process broker and a temporary SQLite store: the same
//! pipeline, worker and relay as `samverkan run`, with the clock pinned to the sample data's
//! reference date.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use samverkan::clock::FixedClock;
use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::hub;
use samverkan::pipeline::Pipeline;
use samverkan::settings::{self, Settings};
use samverkan::store::Store;
use samverkan::transport::memory::MemoryBroker;
use samverkan::transport::{HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE, INGRESS_EXCHANGE, Topology};
use samverkan::transport::{Inbound, Outbound, Publish, REASON_HEADER, Shutdown, ShutdownTrigger};
use serde_json::Value;
use tempfile::TempDir;
use time::macros::date;

use crate::hub_faults::PgDatabase;
use crate::{repo_path, sample_needs, strip_annotations};

/// A hub running on the in-process broker.
pub struct App {
    pub broker: MemoryBroker,
    pub pipeline: Arc<Pipeline>,
    pub settings: Settings,
    trigger: ShutdownTrigger,
    task: tokio::task::JoinHandle<()>,
    _dir: TempDir,
}

/// Start a hub with `config/sample.toml` (sample catalogues and registry) on a fresh SQLite file.
pub async fn spawn_app() -> App {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with extra `SAMVERKAN__…` settings.
pub async fn spawn_app_with(extra: &[(&str, &str)]) -> App {
    let dir = TempDir::new().expect("temp dir");
    let db = dir.path().join("hub.db");
    let mut env = HashMap::from([(
        "SAMVERKAN__STORE__URL".to_owned(),
        format!("sqlite://{}", db.display()),
    )]);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    std::env::set_current_dir(repo_path("")).expect("cd to the repository");
    let settings =
        settings::load_from(Some(&repo_path("config/sample.toml")), env).expect("settings");
    let store = Store::connect(&settings.store.url).await.expect("store");
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    let pipeline = Arc::new(hub::build(&settings, store, clock).expect("pipeline"));
    let topology = Topology::new(
        settings.organisations.iter().map(|o| o.id.as_str()),
        settings.amqp.delivery_limit,
    )
    .expect("topology");
    let broker = MemoryBroker::new(&topology);
    let (trigger, shutdown) = Shutdown::new();
    let consumer = broker
        .consumer(HUB_INGRESS_QUEUE, 64)
        .expect("consumer")
        .with_shutdown(shutdown.clone());
    let publisher = Arc::new(broker.publisher());
    let task = tokio::spawn({
        let (pipeline, settings) = (pipeline.clone(), settings.clone());
        async move { hub::run(pipeline, consumer, publisher, &settings, shutdown).await }
    });
    App {
        broker,
        pipeline,
        settings,
        trigger,
        task,
        _dir: dir,
    }
}

impl App {
    /// Publish raw `body` into ingress as broker user `user`.
    pub async fn send_raw(&self, user: Option<&str>, routing_key: &str, body: Vec<u8>) {
        let publisher = match user {
            Some(user) => self.broker.publisher_as(user),
            None => self.broker.publisher(),
        };
        let out = Outbound {
            exchange: INGRESS_EXCHANGE.to_owned(),
            routing_key: routing_key.to_owned(),
            body,
            content_type: Some("application/cloudevents+json".to_owned()),
            message_id: None,
            correlation_id: None,
            kind: None,
            headers: Default::default(),
        };
        let results = publisher.publish_all(&[out]).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }

    /// Publish `event` as broker user `user`.
    pub async fn send(&self, user: &str, event: &CloudEvent) {
        self.send_raw(Some(user), event.event_type.as_str(), event.to_json_bytes())
            .await;
    }

    /// Wait until the ingress queue is empty and the outbox is flushed, then return every
    /// message of `org`'s queue.
    pub async fn queue(&self, name: &str) -> Vec<Inbound> {
        self.settle().await;
        self.broker.drain(name).expect("queue exists")
    }

    /// The reason codes of everything dead-lettered so far, sorted.
    pub async fn dead_reasons(&self) -> Vec<String> {
        let dead = self.queue(HUB_DEAD_QUEUE).await;
        let mut reasons: Vec<String> = dead
            .iter()
            .map(|d| d.headers[REASON_HEADER].clone())
            .collect();
        reasons.sort_unstable();
        reasons
    }

    /// Every message of organisation `org`'s queue, parsed.
    pub async fn org_events(&self, org: &str) -> Vec<Value> {
        let messages = self.queue(&Topology::org_queue_name(org)).await;
        messages
            .iter()
            .map(|m| serde_json::from_slice(&m.body).expect("JSON event"))
            .collect()
    }

    /// Wait until nothing is left to do: ingress drained and every delivery settled (so its
    /// transaction committed), then the outbox published.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ingress = self.broker.queue_len(HUB_INGRESS_QUEUE).expect("ingress")
                + self.broker.unacked(HUB_INGRESS_QUEUE).expect("ingress");
            let pending = self
                .pipeline
                .store()
                .pending_outbox(1)
                .await
                .expect("outbox")
                .len();
            if ingress == 0 && pending == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the hub did not settle within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop the hub and wait for it.
    pub async fn stop(self) {
        self.trigger.trigger();
        self.task.await.expect("hub task");
    }
}

/// Runs `test` on a hub over a SQLite file, then on one over a fresh PostgreSQL database.
pub async fn on_both_hubs<F, Fut>(test: F)
where
    F: Fn(App, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    test(spawn_app().await, "sqlite").await;
    let database = PgDatabase::create().await;
    let url = database.url.clone();
    test(
        spawn_app_with(&[("SAMVERKAN__STORE__URL", &url)]).await,
        "postgres",
    )
    .await;
}

/// A sample need as `need.submitted` from its region.
pub fn need_event(id: &str) -> CloudEvent {
    let mut need = sample_needs()
        .into_iter()
        .find(|n| n["id"] == id)
        .expect("sample need");
    strip_annotations(&mut need);
    let region = need["region"].as_str().expect("region").to_owned();
    CloudEvent::new(
        EventType::NeedSubmitted,
        Source::for_org(&region),
        Some(id.to_owned()),
        need,
    )
}

fn of_type(events: &[Value], t: EventType) -> Vec<&Value> {
    events.iter().filter(|e| e["type"] == t.as_str()).collect()
}

/// Every organisation queue except `except`, with what it holds.
async fn others(app: &App, except: &[&str]) -> Vec<(String, usize)> {
    app.settle().await;
    let mut out = Vec::new();
    for org in &app.settings.organisations {
        if except.contains(&org.id.as_str()) {
            continue;
        }
        let n = app
            .broker
            .queue_len(&Topology::org_queue_name(org.id.as_str()))
            .expect("queue");
        if n > 0 {
            out.push((org.id.to_string(), n));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn need_0101_reaches_chalmers_courses_and_patient_flow_partners_with_reasons() {
    let app = spawn_app().await;
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    let chalmers = app.org_events("chalmers").await;
    let challenges = of_type(&chalmers, EventType::ChallengePublished);
    assert_eq!(challenges.len(), 1, "{chalmers:#?}");
    let courses = challenges[0]["data"]["courses"]
        .as_array()
        .expect("courses");
    assert!(!courses.is_empty());
    assert!(challenges[0]["subject"] == "NEED-2026-0101");
    let vgr = app.org_events("VGR").await;
    let statuses = of_type(&vgr, EventType::NeedStatus);
    assert_eq!(statuses.len(), 1, "{vgr:#?}");
    assert_eq!(statuses[0]["data"]["state"], "published");
    let mut calls = 0;
    for partner in app
        .settings
        .organisations
        .iter()
        .filter(|o| o.id.as_str().starts_with("partner-"))
    {
        for call in of_type(
            &app.org_events(partner.id.as_str()).await,
            EventType::CallPublished,
        ) {
            calls += 1;
            assert!(
                call["data"]["reasons"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty()),
                "{call}"
            );
        }
    }
    assert!(calls > 0, "no company received a call");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_with_personal_data_are_refused_and_reach_nobody() {
    let app = spawn_app().await;
    for id in ["NEED-2026-0109", "NEED-2026-0110"] {
        let event = need_event(id);
        let user = if event.data["region"] == "VGR" {
            "vgr"
        } else {
            "rv"
        };
        app.send(user, &event).await;
    }
    assert_eq!(others(&app, &["VGR", "RV"]).await, vec![]);
    let mut rejections = app.org_events("VGR").await;
    rejections.extend(app.org_events("RV").await);
    assert_eq!(rejections.len(), 2, "{rejections:#?}");
    for r in &rejections {
        assert_eq!(r["type"], EventType::MessageRejected.as_str());
        assert_eq!(r["data"]["reason"], "personal_data");
        // `id` and `time` are generated by the hub and may contain any digits.
        let mut shown = r.clone();
        let attributes = shown.as_object_mut().expect("an object");
        attributes.remove("id");
        attributes.remove("time");
        let text = shown.to_string();
        assert!(
            !text.contains("9891") && !text.contains("2395"),
            "value leaked: {text}"
        );
    }
    let dead = app.queue(HUB_DEAD_QUEUE).await;
    assert_eq!(dead.len(), 2);
    assert!(
        dead.iter()
            .all(|d| d.headers[REASON_HEADER] == "personal_data")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_dead_lettered_with_its_reason_and_the_hub_keeps_going() {
    let app = spawn_app().await;
    let need = need_event("NEED-2026-0101");
    let mut invalid = need_event("NEED-2026-0102");
    invalid.data["title"] = Value::Null;
    let submitted = EventType::NeedSubmitted.as_str();
    let mut from_university = need_event("NEED-2026-0105");
    from_university.source = Source::for_org("chalmers");
    app.send("chalmers", &from_university).await;
    app.send("mallory", &need).await;
    app.send_raw(None, submitted, need.to_json_bytes()).await;
    app.send_raw(
        Some("vgr"),
        submitted,
        b"{\"specversion\": \"1.0\", ".to_vec(),
    )
    .await;
    let unknown = need.to_json_bytes();
    let unknown = String::from_utf8(unknown)
        .expect("utf-8")
        .replace(submitted, "se.samverkan.need.submitted.v9");
    app.send_raw(Some("vgr"), "x", unknown.into_bytes()).await;
    app.send("vgr", &invalid).await;
    let reasons = app.dead_reasons().await;
    assert_eq!(
        reasons,
        [
            "malformed_json",
            "schema_invalid",
            "unauthenticated",
            "unauthenticated",
            "unauthorized",
            "unknown_type"
        ]
    );
    let to_vgr: Vec<String> = app
        .org_events("VGR")
        .await
        .iter()
        .map(|e| e["data"]["reason"].to_string())
        .collect();
    assert_eq!(to_vgr.len(), 3, "{to_vgr:?}");
    let to_chalmers = app.org_events("chalmers").await;
    assert_eq!(to_chalmers.len(), 1);
    assert_eq!(to_chalmers[0]["data"]["reason"], "unauthorized");
    // The hub still works.
    app.send("vgr", &need).await;
    assert_eq!(
        of_type(&app.org_events("VGR").await, EventType::NeedStatus).len(),
        1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_twice_has_one_set_of_effects() {
    let app = spawn_app().await;
    let need = need_event("NEED-2026-0101");
    app.send("vgr", &need).await;
    app.send("vgr", &need).await;
    let vgr = app.org_events("VGR").await;
    assert_eq!(vgr.len(), 1, "{vgr:#?}");
    assert_eq!(
        of_type(
            &app.org_events("chalmers").await,
            EventType::ChallengePublished
        )
        .len(),
        1
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_needs_stay_in_the_region_with_a_reason() {
    let app = spawn_app().await;
    let need = need_event("NEED-2026-0107");
    let region = need.data["region"].as_str().expect("region").to_owned();
    app.send(&region.to_lowercase(), &need).await;
    assert_eq!(others(&app, &[region.as_str()]).await, vec![]);
    let statuses = app.org_events(&region).await;
    assert_eq!(statuses.len(), 1, "{statuses:#?}");
    assert_eq!(statuses[0]["data"]["state"], "unmatched");
    assert!(
        statuses[0]["data"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("internal")),
        "{statuses:#?}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalogue_changes_take_effect_and_survive_a_restart() {
    let app = spawn_app().await;
    let removal = CloudEvent::new(
        EventType::CourseRemoved,
        Source::for_org("chalmers"),
        None,
        serde_json::json!({"courseCode": "TEK901", "reason": "Not given next year."}),
    );
    app.send("chalmers", &removal).await;
    // Workers handle deliveries concurrently: let the removal land first.
    app.settle().await;
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    let chalmers = app.org_events("chalmers").await;
    let challenge = of_type(&chalmers, EventType::ChallengePublished);
    assert_eq!(challenge.len(), 1, "{chalmers:#?}");
    let codes: Vec<&str> = challenge[0]["data"]["courses"]
        .as_array()
        .expect("courses")
        .iter()
        .filter_map(|c| c["courseCode"].as_str())
        .collect();
    assert!(
        !codes.contains(&"TEK901"),
        "a removed course was offered: {codes:?}"
    );
    // A hub started later on the same store replays the change.
    let store = app.pipeline.store().clone();
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    let restarted = hub::build(&app.settings, store, clock).expect("pipeline");
    assert_eq!(restarted.catch_up_reference().await.expect("replay"), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_the_redact_policy_a_need_goes_out_without_its_personal_data() {
    let app = spawn_app_with(&[("SAMVERKAN__PII__POLICY", "redact")]).await;
    let mut need = need_event("NEED-2026-0109");
    // 0109's stage keeps it inside the region; as a verified need it would be routed.
    need.data["stage"] = Value::String("need_verified".into());
    app.send("vgr", &need).await;
    let statuses = of_type(&app.org_events("VGR").await, EventType::NeedStatus)
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(statuses.len(), 1, "{statuses:#?}");
    let changed = statuses[0]["data"]["changed"].as_str().unwrap_or_default();
    assert!(
        changed.contains("redacted") && changed.contains("personnummer at /description"),
        "{changed}"
    );
    let chalmers = app.org_events("chalmers").await;
    let text = serde_json::to_string(&chalmers).expect("json");
    assert!(text.contains("[personnummer]"), "{text}");
    for window in ["198505", "229891", "850522"] {
        assert!(!text.contains(window), "{window} reached a university");
    }
    app.stop().await;
}
