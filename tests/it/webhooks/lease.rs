//! One hub instance at a time delivers an organisation's webhooks: the lease on its delivery
//! state, on both stores, and two hubs sharing PostgreSQL handing delivery over.

use std::time::Duration;

use samverkan::settings::WebhookSecret;
use samverkan::store::{ParkedWebhookEvent, Store};
use tempfile::TempDir;
use time::OffsetDateTime;

use super::receiver::{Answer, Receiver};
use super::{QUICK, caught_up, config_with_webhooks, org, submit, wait_for};
use crate::{PgDatabase, on_both, spawn_app_from};

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_leased_delivery_refuses_a_second_holder_and_stale_writes() {
    on_both(|backend, url| async move {
        let store = Store::connect(&url).await.expect("store");
        let vgr = org("VGR");
        let first = store
            .lease_webhook(&vgr, "http://a.example/", LEASE)
            .await
            .expect("lease")
            .expect("the first lease is granted");
        assert_eq!(first.state.delivered_seq, 0, "{backend}");
        let second = store.lease_webhook(&vgr, "http://a.example/", LEASE).await;
        assert!(second.expect("lease").is_none(), "{backend}: held");

        let mut state = first.state.clone();
        state.delivered_seq = 3;
        assert!(
            store
                .save_webhook_state(&first.token, &state)
                .await
                .expect("save")
        );
        assert!(
            !store
                .save_webhook_state("stale", &state)
                .await
                .expect("save"),
            "{backend}"
        );
        assert!(
            store
                .renew_webhook_lease(&vgr, &first.token, LEASE)
                .await
                .expect("renew")
        );

        // A lease that ran out is taken over, and the old holder can no longer write.
        let rv = org("RV");
        let lapsed = store
            .lease_webhook(&rv, "http://b.example/", Duration::ZERO)
            .await;
        let lapsed = lapsed.expect("lease").expect("granted");
        let taken = store.lease_webhook(&rv, "http://b.example/", LEASE).await;
        let taken = taken.expect("lease").expect("a lapsed lease is taken over");
        assert!(
            !store
                .save_webhook_state(&lapsed.token, &lapsed.state)
                .await
                .expect("save")
        );
        assert!(
            !store
                .renew_webhook_lease(&rv, &lapsed.token, LEASE)
                .await
                .expect("renew")
        );
        assert!(
            store
                .save_webhook_state(&taken.token, &taken.state)
                .await
                .expect("save")
        );

        // Released, the position is where the holder left it.
        store
            .release_webhook_lease(&vgr, &first.token)
            .await
            .expect("release");
        let next = store.lease_webhook(&vgr, "http://a.example/", LEASE).await;
        let next = next.expect("lease").expect("granted after release");
        assert_eq!(next.state.delivered_seq, 3, "{backend}");

        // Parking and requeueing, under the lease.
        let parked = ParkedWebhookEvent {
            org_id: vgr.clone(),
            seq: 2,
            event_id: "0190d0e0-0000-7000-8000-000000000002".into(),
            event_type: "se.samverkan.need.status.v1".into(),
            last_error: "503".into(),
            attempts: 7,
            parked_at: OffsetDateTime::now_utc(),
        };
        assert!(
            !store
                .park_webhook_event("stale", &next.state, &parked)
                .await
                .expect("park")
        );
        assert!(
            store
                .park_webhook_event(&next.token, &next.state, &parked)
                .await
                .expect("park")
        );
        let listed = store.webhook_parked(Some(&vgr), 10).await.expect("parked");
        assert_eq!(listed.len(), 1, "{backend}");
        assert_eq!((listed[0].seq, listed[0].attempts), (2, 7), "{backend}");
        assert_eq!(store.webhook_parked_count(None).await.expect("count"), 1);
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            store
                .requeue_webhook_events(&vgr, &[2, 9], now)
                .await
                .expect("requeue"),
            [2]
        );
        assert_eq!(
            store.webhook_parked_count(Some(&vgr)).await.expect("count"),
            0
        );
        assert!(
            store
                .unpark_webhook_event(&next.token, &next.state, 2)
                .await
                .expect("unpark")
        );
        assert!(
            store
                .webhook_parked(None, 10)
                .await
                .expect("parked")
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn registrations_are_kept_replaced_and_removed() {
    on_both(|backend, url| async move {
        let store = Store::connect(&url).await.expect("store");
        let org = org("partner-001");
        let now = OffsetDateTime::now_utc();
        assert!(
            store
                .webhook_registration(&org)
                .await
                .expect("read")
                .is_none()
        );
        let first = WebhookSecret::new(super::SECRET);
        store
            .put_webhook(&org, "https://a.example/in", &first, now)
            .await
            .expect("put");
        let second = WebhookSecret::new("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        store
            .put_webhook(&org, "https://b.example/in", &second, now)
            .await
            .expect("put");
        let registered = store.webhook_registration(&org).await.expect("read");
        let registered = registered.expect("registered");
        assert_eq!(registered.url, "https://b.example/in", "{backend}");
        assert_eq!(registered.secret, second, "{backend}");
        assert_eq!(store.webhook_registrations().await.expect("all").len(), 1);
        assert!(
            store.delete_webhook(&org).await.expect("delete"),
            "{backend}"
        );
        assert!(
            !store.delete_webhook(&org).await.expect("delete"),
            "{backend}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_postgres_deliver_each_event_once_and_hand_over() {
    let receiver = Receiver::start(Answer::Always(200)).await;
    let dir = TempDir::new().expect("temp dir");
    let config = config_with_webhooks(&dir, &[("VGR", &receiver.url)]);
    let database = PgDatabase::create().await;
    let mut settings = QUICK.to_vec();
    settings.push(("SAMVERKAN__STORE__URL", &database.url));
    let first = spawn_app_from(&config, &settings).await;
    let second = spawn_app_from(&config, &settings).await;
    let limit = Duration::from_secs(30);
    submit(&first, &["NEED-2026-0101", "NEED-2026-0102"]).await;
    wait_for("the first batch is delivered", limit, || {
        caught_up(&first, "VGR")
    })
    .await;
    // Whoever held the lease, the first hub stops (and gives its lease back if it had it).
    first.stop().await;
    submit(&second, &["NEED-2026-0103", "NEED-2026-0106"]).await;
    wait_for("the second batch is delivered", limit, || {
        caught_up(&second, "VGR")
    })
    .await;

    let feed = second
        .pipeline
        .store()
        .feed_after(&org("VGR"), 0, 100)
        .await
        .expect("feed");
    let ids: Vec<String> = feed
        .iter()
        .map(|e| e.event_id.as_ref().to_owned())
        .collect();
    assert!(ids.len() >= 4, "{ids:?}");
    assert_eq!(
        receiver.delivered_ids(),
        ids,
        "each event once, in feed order"
    );
    second.stop().await;
}
