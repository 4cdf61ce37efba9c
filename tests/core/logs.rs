//! What a delivery writes to the log: its span names the event, its type, the sender and the
//! need (ids only); a refusal is logged at INFO with its reason code; content never appears.
//!
//! The hub runs on a current-thread runtime so that every task it spawns logs through the
//! subscriber this test installs for its own thread (no global subscriber: tests run in
//! parallel in one binary).

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

use crate::{need_event, spawn_app};

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes)
            .expect("utf-8 log")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refusal_is_logged_with_its_ids_and_reason_and_without_the_personal_data() {
    let sink = Captured::default();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .without_time()
            .with_writer(sink.clone())
            .with_filter(tracing_subscriber::filter::LevelFilter::DEBUG),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

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
