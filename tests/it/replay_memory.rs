//! Replaying dead letters on the in-process broker (what the demo's console does), with the
//! same outcomes as on RabbitMQ (tests/it/replay.rs), and `samverkan audit` telling the story
//! afterwards, on SQLite and PostgreSQL.

use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::transport::{DeadLetterAdmin, ReplayOutcome, Selector};
use serde_json::{Value, json};

use crate::{App, need_event, need_key, on_both_hubs};

const NEED: &str = "NEED-2026-0101";

fn withdrawal(id: &str) -> CloudEvent {
    CloudEvent::new(
        EventType::NeedWithdrawn,
        Source::for_org("VGR"),
        Some(id.to_owned()),
        json!({"needId": id, "reason": "Solved internally by nurse Anna."}),
    )
}

/// `samverkan audit ARGS` against the store of `app`.
fn audit(app: &App, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_samverkan"))
        .current_dir(crate::repo_path(""))
        .args(["--config", "config/sample.toml", "audit"])
        .args(args)
        .env("SAMVERKAN__STORE__URL", &app.settings.store.url)
        .output()
        .expect("run samverkan audit")
}

#[tokio::test]
async fn dead_letters_replay_on_the_in_process_broker_and_audit_tells_the_story() {
    on_both_hubs(|app, backend| async move {
        let admin: &dyn DeadLetterAdmin = &app.broker;
        app.send("vgr", &withdrawal(NEED)).await;
        app.send("vgr", &need_event("NEED-2026-0109")).await;
        app.settle().await;
        let seen = admin.list(10).await.expect("list");
        assert_eq!(seen.messages.len(), 2, "{backend}: {seen:#?}");
        assert_eq!(seen.by_reason["unknown_need"], 1, "{backend}");

        // Unchanged: refused again, same code, a new dead letter counted as a replay.
        let report = admin
            .replay(&Selector::Reason("unknown_need".into()))
            .await
            .expect("replay");
        assert_eq!(report.replayed(), 1, "{backend}: {report:?}");
        app.settle().await;
        let seen = admin.list(10).await.expect("list");
        let again: Vec<_> = seen
            .messages
            .iter()
            .filter(|d| d.reason == "unknown_need")
            .collect();
        assert_eq!(again.len(), 1, "{backend}: {seen:#?}");
        assert_eq!(again[0].replays, 1, "{backend}");
        let pii = seen
            .messages
            .iter()
            .find(|d| d.reason == "personal_data")
            .expect("the personal-data refusal");
        let shown = admin.show(&pii.id).await.expect("show").expect("found");
        assert!(shown.not_replayable.is_some(), "{backend}: {shown:?}");

        // Fixed: the need arrives; the replay withdraws it, as VGR.
        app.send("vgr", &need_event(NEED)).await;
        app.settle().await;
        let report = admin
            .replay(&Selector::Ids(vec![again[0].id.clone(), pii.id.clone()]))
            .await
            .expect("replay");
        let outcome = |id: &str| {
            let item = report.items.iter().find(|i| i.id == id);
            item.map(|i| i.outcome.clone()).expect("reported")
        };
        assert_eq!(outcome(&again[0].id), ReplayOutcome::Replayed, "{backend}");
        assert!(
            matches!(outcome(&pii.id), ReplayOutcome::NotReplayable { .. }),
            "{backend}: {report:?}"
        );
        app.settle().await;
        let stored = app
            .pipeline
            .store()
            .need(&need_key("VGR", NEED))
            .await
            .expect("read")
            .expect("need");
        assert_eq!(stored.need.state.as_str(), "withdrawn", "{backend}");
        assert_eq!(
            admin.list(10).await.expect("list").messages.len(),
            1,
            "{backend}"
        );
        assert_eq!(app.pipeline.metrics().replays("accepted"), 1, "{backend}");
        assert_eq!(app.pipeline.metrics().replays("refused"), 1, "{backend}");

        // The story, as ids, codes and times.
        let out = audit(&app, &[NEED, "--format", "json"]);
        assert!(out.status.success(), "{backend}: {out:?}");
        let history: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let actions: Vec<&str> = history["trail"]
            .as_array()
            .expect("trail")
            .iter()
            .filter_map(|t| t["action"].as_str())
            .collect();
        let expected = [
            "rejected",
            "rejected",
            "replayed",
            "routed",
            "answered",
            "state_changed",
            "replayed",
        ];
        let mut sorted_expected = expected.to_vec();
        sorted_expected.sort_unstable();
        let mut sorted = actions.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, sorted_expected, "{backend}: {actions:?}");
        assert_eq!(history["state"], "withdrawn", "{backend}");
        assert!(
            history["recipients"]
                .as_array()
                .is_some_and(|r| !r.is_empty()),
            "{backend}: {history}"
        );
        let text = audit(&app, &[NEED]);
        assert!(text.status.success(), "{backend}: {text:?}");
        let text = String::from_utf8(text.stdout).expect("UTF-8");
        assert!(
            text.contains("unknown_need") && text.contains("replayed"),
            "{text}"
        );
        assert!(!text.contains("Anna"), "no free text: {text}");
        let unknown = audit(&app, &["NEED-2026-9999"]);
        assert_eq!(unknown.status.code(), Some(1), "{backend}: {unknown:?}");
        assert!(
            String::from_utf8_lossy(&unknown.stderr).contains("NEED-2026-9999"),
            "{backend}: {unknown:?}"
        );
        app.stop().await;
    })
    .await;
}
