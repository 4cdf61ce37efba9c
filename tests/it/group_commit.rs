//! Group commit: deliveries that arrive together are written in one transaction and committed
//! once, and each still comes out exactly as it would alone — a refused one is refused, a
//! duplicate counts once, one that fails for its own data is dead-lettered after its attempts,
//! and the others' effects stay. Each test makes its deliveries one batch for certain: one
//! worker, a batch as large as what the test sends, and a window long enough for all of it,
//! waited although no other batch is in flight (by default an idle hub does not wait).

use samverkan::event::EventType;
use samverkan::transport::{HUB_DEAD_QUEUE, REASON_HEADER};
use serde_json::Value;

use crate::hub_faults::sql_pool;
use crate::{App, need_event, on_both_hubs_with};

/// One worker, batches of `size`, a window the test never waits out, waited although no other
/// batch is in flight.
fn one_batch_of(size: &'static str) -> [(&'static str, &'static str); 4] {
    [
        ("SAMVERKAN__HUB__WORKERS", "1"),
        ("SAMVERKAN__HUB__BATCH_MAX", size),
        ("SAMVERKAN__HUB__BATCH_WINDOW_MS", "30000"),
        ("SAMVERKAN__HUB__BATCH_WINDOW_WHEN_IDLE", "true"),
    ]
}

/// Send the sample need `id` as its region.
async fn send_need(app: &App, id: &str) {
    let event = need_event(id);
    let user = if event.data["region"] == "VGR" {
        "vgr"
    } else {
        "rv"
    };
    app.send(user, &event).await;
}

/// Every region's events: (need id, state) of each status and the reason of each rejection.
async fn regions_view(app: &App) -> (Vec<(String, String)>, Vec<String>) {
    let (mut statuses, mut rejections) = (Vec::new(), Vec::new());
    for region in ["VGR", "RV"] {
        let events: Vec<Value> = app.org_events(region).await;
        for event in events {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            if event["type"] == EventType::NeedStatus.as_str() {
                statuses.push((text(&event["subject"]), text(&event["data"]["state"])));
            } else if event["type"] == EventType::MessageRejected.as_str() {
                rejections.push(text(&event["data"]["reason"]));
            }
        }
    }
    statuses.sort();
    (statuses, rejections)
}

fn published(ids: &[&str]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| ((*id).to_owned(), "published".to_owned()))
        .collect()
}

async fn dead_reasons(app: &App) -> Vec<String> {
    let dead = app.broker.drain(HUB_DEAD_QUEUE).expect("dead-letter queue");
    dead.iter()
        .map(|d| d.headers[REASON_HEADER].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_delivery_on_an_idle_hub_does_not_wait_out_the_window() {
    // A window longer than `settle` waits: with no other batch in flight the hub must not
    // wait it out (by default), so the need is through long before.
    let window = [("SAMVERKAN__HUB__BATCH_WINDOW_MS", "60000")];
    on_both_hubs_with(&window, |app, backend| async move {
        send_need(&app, "NEED-2026-0102").await;
        app.settle().await;
        let (statuses, rejections) = regions_view(&app).await;
        assert_eq!(statuses, published(&["NEED-2026-0102"]), "{backend}");
        assert!(rejections.is_empty(), "{backend}: {rejections:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_inside_a_batch_leaves_the_others_effects_intact() {
    on_both_hubs_with(&one_batch_of("4"), |app, backend| async move {
        // NEED-2026-0109 carries a personnummer: refused as personal_data.
        for id in [
            "NEED-2026-0102",
            "NEED-2026-0109",
            "NEED-2026-0103",
            "NEED-2026-0104",
        ] {
            send_need(&app, id).await;
        }
        app.settle().await;
        // The refusal is written into the batch too.
        assert_eq!(app.pipeline.metrics().largest_batch(), 4, "{backend}");
        let (statuses, rejections) = regions_view(&app).await;
        assert_eq!(
            statuses,
            published(&["NEED-2026-0102", "NEED-2026-0103", "NEED-2026-0104"]),
            "{backend}"
        );
        assert_eq!(rejections, ["personal_data"], "{backend}");
        assert_eq!(dead_reasons(&app).await, ["personal_data"], "{backend}");
        let store = app.pipeline.store();
        let refused = crate::need_key("VGR", "NEED-2026-0109");
        let other = crate::need_key("RV", "NEED-2026-0109");
        assert!(store.need(&refused).await.expect("read").is_none());
        assert!(store.need(&other).await.expect("read").is_none());
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_inside_a_batch_is_processed_once() {
    on_both_hubs_with(&one_batch_of("3"), |app, backend| async move {
        let twice = need_event("NEED-2026-0102");
        let user = if twice.data["region"] == "VGR" {
            "vgr"
        } else {
            "rv"
        };
        app.send(user, &twice).await;
        send_need(&app, "NEED-2026-0103").await;
        app.send(user, &twice).await;
        app.settle().await;
        let metrics = app.pipeline.metrics();
        assert_eq!(metrics.largest_batch(), 3, "{backend}");
        assert_eq!(metrics.duplicates(), 1, "{backend}");
        let (statuses, rejections) = regions_view(&app).await;
        assert_eq!(
            statuses,
            published(&["NEED-2026-0102", "NEED-2026-0103"]),
            "{backend}: one status each"
        );
        assert!(rejections.is_empty(), "{backend}: {rejections:?}");
        assert!(dead_reasons(&app).await.is_empty());
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_need_id_in_use_inside_a_batch_is_refused_and_the_batch_written_again_with_savepoints() {
    on_both_hubs_with(&one_batch_of("2"), |app, backend| async move {
        send_need(&app, "NEED-2026-0102").await;
        send_need(&app, "NEED-2026-0103").await;
        app.settle().await;
        // A new event reusing a need id, in a batch with another need: it is refused after its
        // first writes, which only a savepoint undoes, so the batch (first written without
        // savepoints) is rolled back and written again, still as one batch.
        send_need(&app, "NEED-2026-0102").await;
        send_need(&app, "NEED-2026-0104").await;
        app.settle().await;
        let metrics = app.pipeline.metrics();
        assert_eq!(
            metrics.batched_deliveries(),
            4,
            "{backend}: two batches of two"
        );
        let (statuses, rejections) = regions_view(&app).await;
        assert_eq!(
            statuses,
            published(&["NEED-2026-0102", "NEED-2026-0103", "NEED-2026-0104"]),
            "{backend}: one status each"
        );
        assert_eq!(rejections, ["invalid_attribute"], "{backend}");
        assert_eq!(dead_reasons(&app).await, ["invalid_attribute"], "{backend}");
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_failing_for_its_own_data_inside_a_batch_affects_only_itself() {
    on_both_hubs_with(&one_batch_of("4"), |app, backend| async move {
        // The database refuses one need id, every time (SQLite: a trigger's ABORT, a
        // constraint failure; PostgreSQL: a check violation, class 23).
        let db = sql_pool(&app.settings.store.url).await;
        let refuse: &[&str] = if backend == "sqlite" {
            &["CREATE TRIGGER refuse_one BEFORE INSERT ON needs \
               WHEN NEW.need_id = 'NEED-2026-0103' \
               BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
        } else {
            &[
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF NEW.need_id = 'NEED-2026-0103' THEN \
                 RAISE EXCEPTION 'refused by the test' USING ERRCODE = '23514'; END IF; \
                 RETURN NEW; END $$",
                "CREATE TRIGGER refuse_one BEFORE INSERT ON needs FOR EACH ROW \
                 EXECUTE FUNCTION refuse_one()",
            ]
        };
        for sql in refuse {
            sqlx::query(*sql).execute(&db).await.expect("trigger");
        }
        db.close().await;
        for id in [
            "NEED-2026-0102",
            "NEED-2026-0103",
            "NEED-2026-0104",
            "NEED-2026-0105",
        ] {
            send_need(&app, id).await;
        }
        app.settle().await;
        let metrics = app.pipeline.metrics();
        assert_eq!(
            metrics.largest_batch(),
            3,
            "{backend}: the others in one commit"
        );
        let (statuses, rejections) = regions_view(&app).await;
        assert_eq!(
            statuses,
            published(&["NEED-2026-0102", "NEED-2026-0104", "NEED-2026-0105"]),
            "{backend}"
        );
        assert!(rejections.is_empty(), "{backend}: {rejections:?}");
        assert_eq!(dead_reasons(&app).await, ["retries_exhausted"], "{backend}");
        // Its attempts on its own, each counted; the failure inside the batch is not.
        assert_eq!(
            metrics.store_faults("data"),
            u64::from(app.settings.hub.max_attempts),
            "{backend}"
        );
        assert!(!app.pipeline.pause().is_paused());
        app.stop().await;
    })
    .await;
}
