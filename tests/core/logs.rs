//! What a delivery writes to the log: its span names the event, its type, the sender and the
//! need (ids only); a refusal is logged at INFO with its reason code; content never appears.
//!
//! The hub runs on a current-thread runtime so that every task it spawns logs through the
//! subscriber this test installs for its own thread (no global subscriber: tests run in
//! parallel in one binary).

use serde_json::Value;

use crate::{capture_logs, need_event, spawn_app};

#[tokio::test(flavor = "current_thread")]
async fn a_refusal_is_logged_with_its_ids_and_reason_and_without_the_personal_data() {
    let (sink, _guard) = capture_logs();

    let app = spawn_app().await;
    let leaky = need_event("NEED-2026-0109");
    app.send("vgr", &leaky).await;
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    app.settle().await;
    app.stop().await;

    let lines = sink.lines();
    let refused: Vec<&Value> = lines.iter().filter(|l| l["message"] == "refused").collect();
    assert_eq!(refused.len(), 1, "one refusal logged: {lines:#?}");
    let line = refused[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["reason"], "personal_data");
    let span = &line["span"];
    assert_eq!(span["name"], "delivery");
    assert_eq!(span["event_id"], leaky.id.as_ref());
    assert_eq!(span["event_type"], "se.samverkan.need.submitted.v1");
    assert_eq!(span["org"], "VGR");
    assert_eq!(span["need_id"], "NEED-2026-0109");

    let text = serde_json::to_string(&lines).expect("json");
    for planted in ["19850522-9891", "198505229891", "070-174 06 42", "remiss"] {
        assert!(
            !text.contains(planted),
            "{planted:?} reached the log: {text}"
        );
    }
}
