//! End to end on RabbitMQ and both stores: what a careless or hostile partner sends cannot stop
//! the hub's outbound traffic. After a refused message with ~125 kB of headers and a few
//! hundred events with 300-character subjects — both once made outbox rows that could never
//! be published and stalled the relay for good — the next valid need's status still reaches
//! its region within seconds.

use lapin::types::{AMQPValue, FieldTable};
use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::store::Store;
use samverkan::transport::{HUB_INGRESS_QUEUE, Topology};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::hub_faults::{
    RELAY_PASSWORD, RELAY_USER, ThreadHub, Vhost, Watch, hub_env, load_settings,
};
use crate::need_event;
use crate::{AsUser, on_both, publish_as};

/// Publishes to ingress as VGR (the impersonating test user sets VGR's `user_id`).
async fn publish_as_vgr(vhost: &Vhost, messages: &[(Vec<u8>, &str, FieldTable)]) {
    let messages: Vec<AsUser> = messages
        .iter()
        .map(|(body, routing_key, headers)| AsUser {
            headers: headers.clone(),
            ..AsUser::new("vgr", routing_key, body.clone())
        })
        .collect();
    let url = vhost.url(RELAY_USER, RELAY_PASSWORD);
    publish_as(&url, "it-outbox-stall", &messages).await;
}

fn long_subject_need(i: usize) -> CloudEvent {
    let template = need_event("NEED-2026-0101");
    let subject = format!("{i:04}{}", "N".repeat(296));
    CloudEvent::new(
        EventType::NeedSubmitted,
        Source::for_org("VGR"),
        Some(subject),
        template.data,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_do_not_stop_the_next_needs_status() {
    on_both(|backend, url| async move {
        let vhost = Vhost::create().await;
        let hub = ThreadHub::spawn(load_settings(&hub_env(&vhost, &url, "stall")));
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(vhost.queue_counts(HUB_INGRESS_QUEUE).await, Some((_, 1))) {
            hub.assert_running();
            assert!(
                Instant::now() < deadline,
                "{backend}: the hub did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let need_type = EventType::NeedSubmitted.as_str();
        // ~125 kB of typed headers that grow to ~250 kB once rendered as text (finding 1).
        let mut big = FieldTable::default();
        for i in 0..7800 {
            big.insert(
                format!("t{i:05}").into(),
                AMQPValue::Timestamp(1_767_225_600),
            );
        }
        let mut hostile = vec![(b"{not json".to_vec(), need_type, big)];
        hostile.extend((0..300).map(|i| {
            (
                long_subject_need(i).to_json_bytes(),
                need_type,
                FieldTable::default(),
            )
        }));
        publish_as_vgr(&vhost, &hostile).await;

        let valid = need_event("NEED-2026-0101");
        let sent = Instant::now();
        publish_as_vgr(
            &vhost,
            &[(valid.to_json_bytes(), need_type, FieldTable::default())],
        )
        .await;
        let mut vgr = Watch::open(&vhost, &Topology::org_queue_name("VGR")).await;
        let ids = BTreeSet::from(["NEED-2026-0101".to_owned()]);
        vgr.wait_until_published(&ids, || hub.assert_running())
            .await;
        let took = sent.elapsed();
        eprintln!("{backend}: the valid need's status arrived after {took:?}");
        assert!(took < Duration::from_secs(20), "{backend}: took {took:?}");
        vgr.close().await;
        hub.stop().await;
        let store = Store::connect(&url).await.expect("store");
        let parked = store.parked_by_reason().await.expect("parked");
        eprintln!("{backend}: parked {parked:?}");
        store.close().await;
    })
    .await;
}
