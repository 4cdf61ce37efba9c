//! The hub on the in-process broker and a temporary SQLite file (or the store a test names),
//! assembled by [`samverkan::hub::App::build`] exactly as `samverkan run` assembles it, with the
//! clock pinned to the sample data's reference date.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use samverkan::catalogue::strip_annotations;
use samverkan::clock::FixedClock;
use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::hub;
use samverkan::pipeline::Pipeline;
use samverkan::settings::{self, Settings};
use samverkan::transport::memory::MemoryBroker;
use samverkan::transport::{
    HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE, HUB_REPLAY_QUEUE, INGRESS_EXCHANGE, Topology,
};
use samverkan::transport::{Inbound, Outbound, Publish, REASON_HEADER, Shutdown, ShutdownTrigger};
use serde_json::Value;
use tempfile::TempDir;
use time::macros::date;

use super::{repo_path, sample_needs};

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
    spawn_app_from(&repo_path("config/sample.toml"), extra).await
}

/// [`spawn_app_with`] on the configuration file `config` instead of `config/sample.toml`.
pub async fn spawn_app_from(config: &std::path::Path, extra: &[(&str, &str)]) -> App {
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
    let settings = settings::load_from(Some(config), env).expect("settings");
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    let app = hub::App::build(&settings, clock, None)
        .await
        .expect("the hub assembles");
    let pipeline = app.pipeline().clone();
    let broker = MemoryBroker::new(&hub::topology(&settings).expect("topology"));
    let (trigger, shutdown) = Shutdown::new();
    let consumer = broker
        .consumer(HUB_INGRESS_QUEUE, 64)
        .expect("consumer")
        .with_shutdown(shutdown.clone());
    let publisher = Arc::new(broker.publisher());
    let task = tokio::spawn(app.run(consumer, publisher, shutdown));
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

    /// Wait until nothing is left to do: ingress and replays drained and every delivery settled (so its
    /// transaction committed), then the outbox published.
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ingress = [HUB_INGRESS_QUEUE, HUB_REPLAY_QUEUE]
                .iter()
                .map(|q| {
                    self.broker.queue_len(q).expect("queue")
                        + self.broker.unacked(q).expect("queue")
                })
                .sum::<usize>();
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
