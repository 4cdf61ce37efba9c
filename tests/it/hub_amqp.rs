//! `samverkan run`'s service on the real RabbitMQ: each test gets its own virtual host (so
//! hubs running in parallel tests never share a queue) and its own SQLite file.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;
use lapin::{Channel, Connection};
use samverkan::clock::FixedClock;
use samverkan::event::{CloudEvent, EventType};
use samverkan::hub::startup::serve;
use samverkan::onboard::{self, Existing, Management, Password};
use samverkan::settings::{self, Settings};
use samverkan::transport::amqp::connect;
use samverkan::transport::{HUB_DEAD_QUEUE, Topology};
use samverkan::transport::{REASON_HEADER, Shutdown, ShutdownTrigger};
use serde_json::Value;
use tempfile::TempDir;
use time::macros::date;

use crate::need_event;
use crate::{AsUser, START_BROKER, management_url, publish_as, repo_path, vhost_url};

/// Password of the organisations' broker users this suite creates.
pub(crate) const ORG_PASSWORD: &str = "samverkan-it";

/// `rabbitmqctl args` on the broker under test; fails the test when it fails.
fn rabbitmqctl(args: &[&str]) -> String {
    crate::rabbitmqctl(args).unwrap_or_else(|out| panic!("rabbitmqctl {args:?}: {out}"))
}

/// A hub served on its own vhost.
pub(crate) struct RabbitApp {
    pub(crate) vhost: String,
    pub(crate) settings: Settings,
    trigger: ShutdownTrigger,
    task: std::thread::JoinHandle<()>,
    _dir: TempDir,
}

pub(crate) async fn spawn_rabbit_app() -> RabbitApp {
    spawn_rabbit_app_with(&[]).await
}

/// [`spawn_rabbit_app`] with extra `SAMVERKAN__…` settings.
pub(crate) async fn spawn_rabbit_app_with(extra: &[(&str, String)]) -> RabbitApp {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let vhost = format!("it-{}", &id[16..]);
    rabbitmqctl(&["add_vhost", &vhost]);
    rabbitmqctl(&["set_permissions", "-p", &vhost, "guest", ".*", ".*", ".*"]);
    let dir = TempDir::new().expect("temp dir");
    let mut env = HashMap::from([
        (
            "SAMVERKAN__AMQP__URL".to_owned(),
            vhost_url("guest", "guest", &vhost),
        ),
        // The hub sets its queue policies through the management API of the same broker.
        (
            "SAMVERKAN__AMQP__MANAGEMENT_URL".to_owned(),
            management_url(),
        ),
        (
            "SAMVERKAN__AMQP__CONNECTION_NAME".to_owned(),
            format!("hub-{vhost}"),
        ),
        (
            "SAMVERKAN__STORE__URL".to_owned(),
            format!("sqlite://{}", dir.path().join("hub.db").display()),
        ),
    ]);
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let settings =
        settings::load_from(Some(&repo_path("config/sample.toml")), env).expect("settings");
    // The organisations that send in these tests get exactly what onboarding grants them:
    // publish to ingress, read their own queue.
    let grants = onboard::plan(&settings, &["VGR".into(), "RV".into(), "chalmers".into()])
        .expect("the sample organisations");
    let management =
        Management::new(&settings.amqp.management_url, &settings.amqp.url).expect("management URL");
    onboard::apply(
        &management,
        grants,
        &Password::Given(ORG_PASSWORD.into()),
        Existing::reset_all(),
    )
    .await
    .unwrap_or_else(|e| panic!("cannot onboard the sample organisations: {e}"));
    let (trigger, shutdown) = Shutdown::new();
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    // The hub gets its own runtime on its own thread, as `samverkan run` does.
    let task = std::thread::spawn({
        let settings = settings.clone();
        move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime
                .block_on(serve(&settings, clock, shutdown))
                .expect("the hub starts on RabbitMQ");
        }
    });
    let app = RabbitApp {
        vhost,
        settings,
        trigger,
        task,
        _dir: dir,
    };
    // The hub declares the topology at start; wait until the org queues exist.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        // A failed passive declare closes the channel, so each try gets a fresh one.
        let (connection, channel) = app.channel_as("guest", "guest").await;
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let declared = channel
            .queue_declare("samverkan.org.VGR".into(), passive, Default::default())
            .await;
        connection.close(200, "done".into()).await.ok();
        if declared.is_ok() {
            return app;
        }
        assert!(
            Instant::now() < deadline,
            "the hub did not declare its topology"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl RabbitApp {
    pub(crate) async fn channel_as(&self, user: &str, password: &str) -> (Connection, Channel) {
        let url = vhost_url(user, password, &self.vhost);
        let connection = connect(&url, &format!("it-client-{user}"))
            .await
            .unwrap_or_else(|e| panic!("cannot reach RabbitMQ ({e}); {START_BROKER}"));
        let channel = connection.create_channel().await.expect("channel");
        (connection, channel)
    }

    /// Publish raw bodies to ingress as `user` (the AMQP user_id RabbitMQ checks).
    pub(crate) async fn publish_as(&self, user: &str, bodies: &[(String, Vec<u8>)]) {
        let url = vhost_url(user, ORG_PASSWORD, &self.vhost);
        let messages: Vec<AsUser> = bodies
            .iter()
            .map(|(routing_key, body)| AsUser::new(user, routing_key, body.clone()))
            .collect();
        publish_as(&url, &format!("it-client-{user}"), &messages).await;
    }

    pub(crate) async fn send(&self, user: &str, event: &CloudEvent) {
        self.publish_as(
            user,
            &[(event.event_type.as_str().to_owned(), event.to_json_bytes())],
        )
        .await;
    }

    /// Take messages from `queue` until `done` says enough, or fail once 60 s pass without a
    /// new message: a slow machine only makes the stream slower, a hub that stopped
    /// publishing stops it.
    pub(crate) async fn take(
        &self,
        queue: &str,
        done: impl Fn(&[lapin::message::BasicGetMessage]) -> bool,
    ) -> Vec<lapin::message::BasicGetMessage> {
        const STALL: Duration = Duration::from_secs(60);
        let (connection, channel) = self.channel_as("guest", "guest").await;
        let mut deadline = Instant::now() + STALL;
        let mut got = Vec::new();
        while !done(&got) {
            assert!(
                Instant::now() < deadline,
                "{queue}: no new message for 60 s after {} messages",
                got.len()
            );
            match channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .expect("get")
            {
                Some(message) => {
                    got.push(message);
                    deadline = Instant::now() + STALL;
                }
                None => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        connection.close(200, "done".into()).await.ok();
        got
    }

    pub(crate) async fn stop(self) {
        self.trigger.trigger();
        let task = self.task;
        tokio::task::spawn_blocking(move || task.join())
            .await
            .expect("join")
            .expect("hub thread");
        rabbitmqctl(&["delete_vhost", &self.vhost]);
    }
}

pub(crate) fn json(message: &lapin::message::BasicGetMessage) -> Value {
    serde_json::from_slice(&message.delivery.data).expect("JSON body")
}

pub(crate) fn header(message: &lapin::message::BasicGetMessage, name: &str) -> Option<String> {
    let headers = message.delivery.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        other => Some(format!("{other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_flows_through_rabbitmq_with_persistent_correlated_messages() {
    // A port nobody uses right now, for the hub's /readyz and /metrics.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let http = format!("http://127.0.0.1:{port}");
    let app =
        spawn_rabbit_app_with(&[("SAMVERKAN__HTTP__LISTEN", format!("127.0.0.1:{port}"))]).await;
    let ready = wait_for_http(&format!("{http}/readyz")).await;
    assert!(ready.contains("\"broker\":\"connected\""), "{ready}");
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    let challenge = app
        .take(&Topology::org_queue_name("chalmers"), |got| !got.is_empty())
        .await;
    let props = &challenge[0].delivery.properties;
    assert_eq!(
        json(&challenge[0])["type"],
        EventType::ChallengePublished.as_str()
    );
    assert_eq!(props.delivery_mode(), &Some(2));
    assert_eq!(
        props.correlation_id().as_ref().map(|c| c.as_str()),
        Some("NEED-2026-0101")
    );
    assert!(props.message_id().is_some());
    let status = app
        .take(&Topology::org_queue_name("VGR"), |got| !got.is_empty())
        .await;
    assert_eq!(json(&status[0])["data"]["state"], "published");
    let metrics = wait_for_http(&format!("{http}/metrics")).await;
    assert!(
        metrics.contains("samverkan_deliveries_total{outcome=\"accepted\",reason=\"\"} 1\n"),
        "{metrics}"
    );
    app.stop().await;
}

/// GET `url` until it answers 200 (the hub starts its listener while starting up).
async fn wait_for_http(url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = reqwest::get(url).await
            && response.status().is_success()
        {
            return response.text().await.expect("body");
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer 200 within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_on_rabbitmq_are_dead_lettered_and_reported_to_the_sender() {
    let app = spawn_rabbit_app().await;
    let need = need_event("NEED-2026-0105");
    let key = EventType::NeedSubmitted.as_str().to_owned();
    app.publish_as("chalmers", &[(key.clone(), need.to_json_bytes())])
        .await;
    app.publish_as("vgr", &[(key.clone(), b"{\"specversion\":".to_vec())])
        .await;
    app.send("vgr", &need_event("NEED-2026-0109")).await;
    let dead = app.take(HUB_DEAD_QUEUE, |got| got.len() >= 3).await;
    let mut reasons: Vec<String> = dead
        .iter()
        .filter_map(|m| header(m, REASON_HEADER))
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["malformed_json", "personal_data", "unauthorized"]);
    let to_vgr = app
        .take(&Topology::org_queue_name("VGR"), |got| got.len() >= 2)
        .await;
    let mut vgr_reasons: Vec<String> = to_vgr
        .iter()
        .map(|m| json(m)["data"]["reason"].to_string())
        .collect();
    vgr_reasons.sort();
    assert_eq!(vgr_reasons, ["\"malformed_json\"", "\"personal_data\""]);
    let to_chalmers = app
        .take(&Topology::org_queue_name("chalmers"), |got| !got.is_empty())
        .await;
    assert_eq!(json(&to_chalmers[0])["data"]["reason"], "unauthorized");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_hubs_connections_mid_stream_loses_no_need() {
    const NEEDS: usize = 1000;
    let app = spawn_rabbit_app().await;
    let template = need_event("NEED-2026-0101");
    let bodies: Vec<(String, Vec<u8>)> = (0..NEEDS)
        .map(|i| {
            let id = format!("NEED-LOAD-{i:05}");
            let mut event = CloudEvent::new(
                template.event_type,
                template.source.clone(),
                Some(id.clone()),
                template.data.clone(),
            );
            event.data["id"] = Value::String(id);
            (event.event_type.as_str().to_owned(), event.to_json_bytes())
        })
        .collect();
    let publisher = app.publish_as("vgr", &bodies);
    let closer = async {
        // Once the hub is well into the stream, close its connections as a broker would.
        let queue = Topology::org_queue_name("VGR");
        let early = app.take(&queue, |got| got.len() >= 100).await;
        let name = format!("{}-", app.settings.amqp.connection_name);
        let listed = rabbitmqctl(&[
            "list_connections",
            "-q",
            "--no-table-headers",
            "pid",
            "client_properties",
        ]);
        let pids: Vec<&str> = listed
            .lines()
            .filter(|l| l.contains(&format!("{{\"connection_name\",\"{name}")))
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert!(!pids.is_empty(), "no hub connections found:\n{listed}");
        for pid in pids {
            // A connection that is already gone needs no closing.
            let _ = crate::rabbitmqctl(&["close_connection", pid, "test: simulated outage"]);
        }
        early
    };
    let ((), early) = tokio::join!(publisher, closer);
    let subjects = |got: &[lapin::message::BasicGetMessage]| -> HashSet<String> {
        got.iter().map(|m| json(m)["subject"].to_string()).collect()
    };
    let mut ids = subjects(&early);
    let rest = app
        .take(&Topology::org_queue_name("VGR"), |got| {
            subjects(got).union(&ids).count() >= NEEDS
        })
        .await;
    ids.extend(subjects(&rest));
    assert_eq!(
        ids.len(),
        NEEDS,
        "every need has its status, duplicates allowed"
    );
    let statuses = early.len() + rest.len();
    assert!(statuses >= NEEDS, "{statuses}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samverkan_publish_sends_as_the_organisation_and_the_hub_routes_it() {
    let app = spawn_rabbit_app().await;
    let dir = TempDir::new().expect("temp dir");
    let file = dir.path().join("need.json");
    std::fs::write(&file, need_event("NEED-2026-0101").to_json_bytes()).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_samverkan"))
        .current_dir(repo_path(""))
        .args(["--config", "config/sample.toml", "publish", "--as", "VGR"])
        .arg(&file)
        .env(
            "SAMVERKAN__AMQP__URL",
            vhost_url("guest", "guest", &app.vhost),
        )
        .env("SAMVERKAN_PUBLISH_PASSWORD", ORG_PASSWORD)
        .output()
        .expect("run samverkan publish");
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("published as VGR"));
    let status = app
        .take(&Topology::org_queue_name("VGR"), |got| !got.is_empty())
        .await;
    assert_eq!(json(&status[0])["data"]["state"], "published");
    app.stop().await;
}
