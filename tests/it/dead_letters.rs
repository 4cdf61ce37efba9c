//! `samverkan dead-letters list` on the real RabbitMQ: it shows reasons and leaves every dead
//! letter where it was.

use lapin::options::{
    BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use samverkan::transport::amqp::{declare, peek};
use samverkan::transport::{
    DEAD_LETTER_EXCHANGE, HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE, INGRESS_EXCHANGE, Topology,
};
use samverkan::transport::{DETAIL_HEADER, ORIGINAL_ROUTING_KEY_HEADER, REASON_HEADER};

use crate::hub_faults::Vhost;
use crate::samverkan_with;

/// A body that must never be shown.
const PLANTED: &[u8] = br#"{"description": "ring 070-174 06 42 om patient 19850522-9891"}"#;

async fn publish(channel: &Channel, exchange: &str, key: &str, id: &str, headers: FieldTable) {
    let properties = BasicProperties::default()
        .with_message_id(id.into())
        .with_delivery_mode(2)
        .with_headers(headers);
    let confirm = channel
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions::default(),
            PLANTED,
            properties,
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    assert!(confirm.is_ack(), "{confirm:?}");
}

fn hub_headers(reason: &str, detail: &str, key: &str) -> FieldTable {
    let mut headers = FieldTable::default();
    for (name, value) in [
        (REASON_HEADER, reason),
        (DETAIL_HEADER, detail),
        (ORIGINAL_ROUTING_KEY_HEADER, key),
    ] {
        headers.insert(name.into(), AMQPValue::LongString(value.into()));
    }
    headers
}

/// Two dead letters the hub wrote, one the broker wrote (a delivery rejected without requeue).
async fn three_dead_letters(vhost: &Vhost) {
    let (connection, channel) = vhost.channel().await;
    let topology = Topology::new(["VGR"], 5).expect("topology");
    declare(&channel, &topology).await.expect("declare");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let need = "se.samverkan.need.submitted.v1";
    let pii = hub_headers("personal_data", "personnummer at character offset 24", need);
    publish(&channel, DEAD_LETTER_EXCHANGE, need, "evt-pii", pii).await;
    let invalid = hub_headers("schema_invalid", "/data/title: required", need);
    publish(&channel, DEAD_LETTER_EXCHANGE, need, "evt-invalid", invalid).await;
    publish(
        &channel,
        INGRESS_EXCHANGE,
        need,
        "evt-poison",
        FieldTable::default(),
    )
    .await;
    let delivery = channel
        .basic_get(HUB_INGRESS_QUEUE.into(), BasicGetOptions { no_ack: false })
        .await
        .expect("get")
        .expect("the poison message");
    delivery
        .delivery
        .acker
        .nack(BasicNackOptions {
            requeue: false,
            ..Default::default()
        })
        .await
        .expect("nack");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while vhost.messages(HUB_DEAD_QUEUE) != Some(3) {
        assert!(
            std::time::Instant::now() < deadline,
            "the broker did not dead-letter it"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    connection.close(200, "done".into()).await.ok();
}

/// Wait until `n` dead letters are ready again: the broker puts back what a closed channel
/// held a moment after the close, not during it.
async fn until_ready(vhost: &Vhost, n: u32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while vhost
        .queue_counts(HUB_DEAD_QUEUE)
        .await
        .map(|(ready, _)| ready)
        != Some(n)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{n} dead letters never ready again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_with_reasons_and_stay_in_the_queue() {
    let vhost = Vhost::create().await;
    three_dead_letters(&vhost).await;
    for _ in 0..2 {
        until_ready(&vhost, 3).await;
        let (connection, channel) = vhost.channel().await;
        let seen = peek(&channel, 10).await.expect("peek");
        connection.close(200, "looked".into()).await.ok();
        assert_eq!(seen.total, 3);
        let reasons: Vec<&str> = seen.messages.iter().map(|m| m.reason.as_str()).collect();
        assert_eq!(
            reasons,
            ["personal_data", "schema_invalid", "broker:rejected"]
        );
        let ids: Vec<_> = seen
            .messages
            .iter()
            .map(|m| m.message_id.as_deref())
            .collect();
        assert_eq!(
            ids,
            [Some("evt-pii"), Some("evt-invalid"), Some("evt-poison")]
        );
        assert!(
            seen.messages
                .iter()
                .all(|m| m.bytes == PLANTED.len()
                    && m.routing_key == "se.samverkan.need.submitted.v1")
        );
        assert_eq!(seen.messages[1].detail, "/data/title: required");
        assert_eq!(seen.by_reason.values().sum::<usize>(), 3);
    }
    until_ready(&vhost, 3).await;
    let (connection, channel) = vhost.channel().await;
    let first = peek(&channel, 1).await.expect("peek one");
    connection.close(200, "looked".into()).await.ok();
    assert_eq!((first.total, first.messages.len()), (3, 1));

    let url = vhost.url("guest", "guest");
    until_ready(&vhost, 3).await;
    let output = samverkan_with(
        &["dead-letters", "list", "--format", "json"],
        b"",
        &[("SAMVERKAN__AMQP__URL", &url)],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(listed["total"], 3);
    assert_eq!(listed["byReason"]["personal_data"], 1);
    until_ready(&vhost, 3).await;
    let text = samverkan_with(
        &["dead-letters", "list"],
        b"",
        &[("SAMVERKAN__AMQP__URL", &url)],
    );
    let shown = format!(
        "{}{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&text.stdout),
        String::from_utf8_lossy(&text.stderr)
    );
    assert!(shown.contains("broker:rejected"), "{shown}");
    // The log names the vhost, whose random tail may hold any four digits.
    let shown = shown.replace(vhost.name.as_str(), "<vhost>");
    for value in ["9891", "850522", "174 06"] {
        assert!(!shown.contains(value), "a body leaked: {shown}");
    }
    // Listing took nothing.
    until_ready(&vhost, 3).await;
}

#[tokio::test]
async fn listing_without_the_topology_says_how_to_declare_it() {
    let vhost = Vhost::create().await;
    let url = vhost.url("guest", "guest");
    let output = samverkan_with(
        &["dead-letters", "list"],
        b"",
        &[("SAMVERKAN__AMQP__URL", &url)],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("topology --declare"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_escapes_what_a_sender_wrote() {
    let vhost = Vhost::create().await;
    let (connection, channel) = vhost.channel().await;
    let topology = Topology::new(["VGR"], 5).expect("topology");
    declare(&channel, &topology).await.expect("declare");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    // A clear-screen, a title change, a bidi override, NUL and a very long tail.
    let hostile = format!(
        "se.evil\x1b[2J\x1b]0;pwned\x07\u{202e}txt.exe\0{}",
        "w".repeat(3000)
    );
    let key = "se.evil\x1b[2J\u{202e}";
    let headers = hub_headers("unknown_type", &hostile, &hostile);
    publish(
        &channel,
        DEAD_LETTER_EXCHANGE,
        key,
        "id\x1b[31m\u{2066}",
        headers,
    )
    .await;
    connection.close(200, "done".into()).await.ok();
    let url = vhost.url("guest", "guest");
    for format in ["text", "json"] {
        until_ready(&vhost, 1).await;
        let output = samverkan_with(
            &["dead-letters", "list", "--format", format],
            b"",
            &[("SAMVERKAN__AMQP__URL", &url)],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let stdout = String::from_utf8(output.stdout).expect("UTF-8");
        for raw in ['\x1b', '\x07', '\0', '\u{202e}', '\u{2066}'] {
            assert!(
                !stdout.contains(raw),
                "{format}: {raw:?} reached the terminal"
            );
            assert!(!stderr.contains(raw), "{format}: {raw:?} reached stderr");
        }
        // What a person reads: the text, or the JSON's strings once decoded.
        let read = if format == "json" {
            let listed: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
            assert_eq!(listed["byReason"]["unknown_type"], 1);
            let m = &listed["messages"][0];
            format!("{} {} {}", m["detail"], m["messageId"], m["routingKey"]).replace(r"\\", r"\")
        } else {
            stdout
        };
        assert!(
            read.contains(r"se.evil\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}txt.exe\u{0}"),
            "{format}: {read}"
        );
        assert!(read.contains(r"id\u{1b}[31m\u{2066}"), "{format}: {read}");
        assert!(!read.contains(&"w".repeat(1001)), "{format}: not bounded");
    }
}
