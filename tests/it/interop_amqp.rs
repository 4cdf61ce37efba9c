//! Binary-mode CloudEvents as the official SDKs' AMQP bindings send them, on the real
//! RabbitMQ: attributes in `cloudEvents_` / `ce-` headers, `time` as an AMQP timestamp or as
//! epoch milliseconds, `data` alone in the body; and `samverkan listen` showing an
//! organisation its verdicts.

use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use samverkan::event::{CloudEvent, EventType};
use samverkan::transport::{INGRESS_EXCHANGE, Topology};
use serde_json::Value;

use crate::hub_amqp::{ORG_PASSWORD, RabbitApp, json, spawn_rabbit_app};
use crate::{management_url, vhost_url};
use crate::{need_event, repo_path};

const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// `event`'s attributes as `prefix` headers, `time` given as `time`, plus a trace parent.
fn binary_headers(event: &CloudEvent, prefix: &str, time: AMQPValue) -> FieldTable {
    let mut table = FieldTable::default();
    let mut text = |name: &str, value: &str| {
        table.insert(
            format!("{prefix}{name}").into(),
            AMQPValue::LongString(value.into()),
        );
    };
    text("specversion", "1.0");
    text("id", event.id.as_ref());
    text("source", event.source.as_ref());
    text("type", event.event_type.as_str());
    text("dataschema", &event.dataschema);
    text("traceparent", PARENT);
    if let Some(subject) = &event.subject {
        text("subject", subject);
    }
    table.insert(format!("{prefix}time").into(), time);
    table
}

/// Publish `body` to ingress as `vgr` in binary mode with `headers`.
async fn publish_binary(app: &RabbitApp, headers: FieldTable, body: &[u8]) {
    let (connection, channel) = app.channel_as("vgr", ORG_PASSWORD).await;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_user_id("vgr".into())
        .with_headers(headers);
    let options = BasicPublishOptions {
        mandatory: true,
        immediate: false,
    };
    let confirm = channel
        .basic_publish(
            INGRESS_EXCHANGE.into(),
            EventType::NeedSubmitted.as_str().into(),
            options,
            body,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack(), "{confirm:?}");
    connection.close(200, "done".into()).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_mode_with_an_amqp_typed_time_is_accepted_and_a_refusal_names_the_event() {
    let app = spawn_rabbit_app().await;
    let by_timestamp = need_event("NEED-2026-0101");
    let seconds = u64::try_from(by_timestamp.time.unix_timestamp()).expect("after 1970");
    let headers = binary_headers(&by_timestamp, "cloudEvents_", AMQPValue::Timestamp(seconds));
    publish_binary(
        &app,
        headers,
        &serde_json::to_vec(&by_timestamp.data).expect("JSON"),
    )
    .await;
    let by_millis = need_event("NEED-2026-0102");
    let millis = i64::try_from(by_millis.time.unix_timestamp_nanos() / 1_000_000).expect("ms");
    let headers = binary_headers(&by_millis, "cloudEvents_", AMQPValue::LongLongInt(millis));
    publish_binary(
        &app,
        headers,
        &serde_json::to_vec(&by_millis.data).expect("JSON"),
    )
    .await;
    let refused = need_event("NEED-2026-0103");
    let headers = binary_headers(&refused, "ce-", AMQPValue::LongLongInt(millis));
    publish_binary(&app, headers, b"{\"id\": \"not-the-event\",").await;

    let to_vgr = app
        .take(&Topology::org_queue_name("VGR"), |got| got.len() >= 3)
        .await;
    let events: Vec<Value> = to_vgr.iter().map(json).collect();
    let of = |kind: EventType| -> Vec<&Value> {
        events
            .iter()
            .filter(|e| e["type"] == kind.as_str())
            .collect()
    };
    let mut statuses: Vec<&str> = of(EventType::NeedStatus)
        .iter()
        .map(|s| s["subject"].as_str().expect("subject"))
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        ["NEED-2026-0101", "NEED-2026-0102"],
        "{events:#?}"
    );
    let rejected = of(EventType::MessageRejected);
    assert_eq!(rejected.len(), 1, "{events:#?}");
    assert_eq!(rejected[0]["data"]["reason"], "malformed_json");
    assert_eq!(rejected[0]["data"]["rejectedEventId"], refused.id.as_ref());
    assert!(
        events.iter().all(|e| e["traceparent"] == PARENT),
        "{events:#?}"
    );
    app.stop().await;
}

/// `samverkan listen --as VGR --format json --count 1 [extra…]` on `vhost`, once it says (on
/// stderr) that it listens to `what`.
fn start_listen(vhost: &str, extra: &[&str], what: &str) -> std::process::Child {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_samverkan"))
        .current_dir(repo_path(""))
        .args(["--config", "config/sample.toml", "listen", "--as", "VGR"])
        .args(["--format", "json", "--count", "1"])
        .args(extra)
        .env("SAMVERKAN_PUBLISH_PASSWORD", ORG_PASSWORD)
        .env("SAMVERKAN__AMQP__URL", vhost_url("guest", "guest", vhost))
        .env("SAMVERKAN__AMQP__MANAGEMENT_URL", management_url())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run samverkan listen");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let started = lines.by_ref().map_while(Result::ok).any(|line| {
        seen.push(line.clone());
        line.starts_with(&format!("listening to {what}"))
    });
    assert!(started, "listen did not start: {seen:#?}");
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_shows_an_organisation_its_rejection_and_takes_nothing_from_its_queue() {
    let app = spawn_rabbit_app().await;
    let vhost = app.vhost.clone();
    let child = tokio::task::spawn_blocking(move || {
        start_listen(&vhost, &[], "a tap of samverkan.org.VGR")
    })
    .await
    .expect("listen starts");
    let refused = need_event("NEED-2026-0109");
    app.send("vgr", &refused).await;
    let output = finished(child).await;
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["type"], EventType::MessageRejected.as_str());
    assert_eq!(lines[0]["data"]["reason"], "personal_data");
    assert_eq!(lines[0]["data"]["rejectedEventId"], refused.id.as_ref());
    let queued = app
        .take(&Topology::org_queue_name("VGR"), |got| !got.is_empty())
        .await;
    assert_eq!(json(&queued[0])["id"], lines[0]["id"], "the queue kept it");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_consume_takes_the_organisations_queue_as_the_organisation() {
    let app = spawn_rabbit_app().await;
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    let vhost = app.vhost.clone();
    let child = tokio::task::spawn_blocking(move || {
        start_listen(&vhost, &["--consume"], "samverkan.org.VGR (consuming")
    })
    .await
    .expect("listen starts");
    let output = finished(child).await;
    let event: Value = serde_json::from_slice(&output.stdout).expect("one JSON event");
    assert_eq!(event["type"], EventType::NeedStatus.as_str());
    assert_eq!(event["subject"], "NEED-2026-0101");
    app.stop().await;
}

/// The output of a `samverkan listen` that ends after one event, which must succeed.
async fn finished(child: std::process::Child) -> std::process::Output {
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("listen ends after one event")
    .expect("join")
    .expect("output");
    assert!(output.status.success(), "{output:?}");
    output
}
