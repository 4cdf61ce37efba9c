//! Answers reconciled into one status per need, end to end on the in-process broker.

use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::transport::HUB_DEAD_QUEUE;
use samverkan::transport::REASON_HEADER;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::{App, need_event, spawn_app};

fn answer(org: &str, event_type: EventType, need_id: &str, data: Value) -> CloudEvent {
    let mut event = CloudEvent::new(
        event_type,
        Source::for_org(org),
        Some(need_id.to_owned()),
        data,
    );
    event.time = datetime!(2026-11-23 09:00 UTC);
    event
}

/// Submit 0101 and return (the matched Chalmers course and instance, two partner ids that got calls).
async fn publish_0101(app: &App) -> (String, String, Vec<String>) {
    app.send("vgr", &need_event("NEED-2026-0101")).await;
    let chalmers = app.org_events("chalmers").await;
    let course = &chalmers[0]["data"]["courses"][0];
    let code = course["courseCode"]
        .as_str()
        .expect("courseCode")
        .to_owned();
    let instance = course["instanceId"]
        .as_str()
        .expect("instanceId")
        .to_owned();
    let mut partners = Vec::new();
    for org in app
        .settings
        .organisations
        .iter()
        .filter(|o| o.id.as_str().starts_with("partner-"))
    {
        if !app.org_events(org.id.as_str()).await.is_empty() {
            partners.push(org.id.to_string());
        }
    }
    assert!(
        partners.len() >= 2,
        "0101 should reach two or more partners: {partners:?}"
    );
    app.org_events("VGR").await; // the first status: published
    (code, instance, partners)
}

/// Chalmers offers `code`/`instance` for `need`.
async fn offer_course(app: &App, need: &str, code: &str, instance: &str) {
    let offer =
        json!({"needId": need, "decision": "offer", "courseCode": code, "instanceId": instance});
    let event = answer("chalmers", EventType::OfferSubmitted, need, offer);
    app.send("chalmers", &event).await;
}

fn states(events: &[Value]) -> Vec<(String, Value)> {
    events
        .iter()
        .filter(|e| e["type"] == EventType::NeedStatus.as_str())
        .map(|e| {
            (
                e["data"]["state"].as_str().unwrap_or_default().to_owned(),
                e["data"]["counts"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_a_proposal_and_a_decline_become_one_answered_status() {
    let app = spawn_app().await;
    let (code, instance, partners) = publish_0101(&app).await;
    let need = "NEED-2026-0101";
    offer_course(&app, need, &code, &instance).await;
    let proposal = json!({"needId": need, "decision": "proposal", "summary": "A twelve-week pilot of our dashboard.", "trl": 8});
    let (a, b) = (&partners[0], &partners[1]);
    app.send(a, &answer(a, EventType::ProposalSubmitted, need, proposal))
        .await;
    let decline = json!({"needId": need, "decision": "decline"});
    let declined = answer(b, EventType::ProposalSubmitted, need, decline);
    app.send(b, &declined).await;
    // A redelivered or re-sent answer changes nothing.
    app.send(b, &declined).await;
    let statuses = states(&app.org_events("VGR").await);
    // One status per answer (workers may apply them in any order); the last one counts all.
    assert_eq!(statuses.len(), 3, "{statuses:#?}");
    let total = |c: &Value| ["offers", "proposals", "declines"].map(|k| c[k].as_u64().unwrap_or(0));
    let last = statuses
        .iter()
        .find(|(_, c)| total(c) == [1, 1, 1])
        .expect("a status counting all three");
    assert_eq!(last.0, "answered");
    assert!(
        statuses
            .iter()
            .all(|(_, c)| total(c).iter().sum::<u64>() <= 3)
    );
    assert!(
        statuses.iter().filter(|(s, _)| s == "answered").count() >= 2,
        "{statuses:#?}"
    );
    let record = app
        .pipeline
        .store()
        .need(&crate::need_key("VGR", need))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(record.state.as_str(), "answered");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_get_their_reason_codes_and_leave_the_status_alone() {
    let app = spawn_app().await;
    let (code, _, partners) = publish_0101(&app).await;
    let need = "NEED-2026-0101";
    let a = &partners[0];
    let proposal =
        |id: &str| json!({"needId": id, "decision": "proposal", "summary": "A pilot.", "trl": 7});
    // late: after respondBy (the answer's own time is far in the future)
    let mut late = answer(a, EventType::ProposalSubmitted, need, proposal(need));
    late.time = datetime!(2027-12-01 09:00 UTC);
    app.send(a, &late).await;
    // unknown need: a company that got no call answers
    let outsider = app
        .settings
        .organisations
        .iter()
        .find(|o| o.id.as_str().starts_with("partner-") && !partners.contains(&o.id.to_string()))
        .expect("a partner without a call")
        .id
        .to_string();
    app.send(
        &outsider,
        &answer(
            &outsider,
            EventType::ProposalSubmitted,
            need,
            proposal(need),
        ),
    )
    .await;
    // unknown need
    app.send(
        a,
        &answer(
            a,
            EventType::ProposalSubmitted,
            "NEED-2026-9999",
            proposal("NEED-2026-9999"),
        ),
    )
    .await;
    // unknown course
    let offer = json!({"needId": need, "decision": "offer", "courseCode": "XXX999", "instanceId": "XXX999-2027-LP3"});
    app.send(
        "chalmers",
        &answer("chalmers", EventType::OfferSubmitted, need, offer),
    )
    .await;
    let reasons = app.dead_reasons().await;
    assert_eq!(
        reasons,
        ["late", "unknown_course", "unknown_need", "unknown_need"]
    );
    assert!(
        states(&app.org_events("VGR").await).is_empty(),
        "no status change"
    );
    let _ = code;
    // withdrawn: the region withdraws, recipients are told, later answers are refused
    let withdrawal = CloudEvent::new(
        EventType::NeedWithdrawn,
        Source::for_org("VGR"),
        Some(need.into()),
        json!({"needId": need, "reason": "Solved internally."}),
    );
    app.send("vgr", &withdrawal).await;
    let told = app.org_events(a).await;
    assert_eq!(
        told.iter()
            .filter(|e| e["type"] == EventType::ChallengeWithdrawn.as_str())
            .count(),
        1,
        "{told:#?}"
    );
    assert_eq!(states(&app.org_events("VGR").await)[0].0, "withdrawn");
    app.send(
        a,
        &answer(a, EventType::ProposalSubmitted, need, proposal(need)),
    )
    .await;
    let dead = app.queue(HUB_DEAD_QUEUE).await;
    assert_eq!(dead[0].headers[REASON_HEADER], "withdrawn");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_close_timer_closes_a_need_once_its_respond_by_date_has_passed() {
    let app = spawn_app().await;
    publish_0101(&app).await;
    let need = crate::need_key("VGR", "NEED-2026-0101");
    let store = app.pipeline.store().clone();
    let respond_by = store
        .need(&need)
        .await
        .expect("read")
        .expect("stored")
        .respond_by
        .expect("respondBy");
    // The same store, a week later (as after a restart): what fell due is closed, once.
    let later = std::sync::Arc::new(samverkan::clock::FixedClock(
        respond_by + time::Duration::days(7),
    ));
    let pipeline = samverkan::hub::build(&app.settings, store.clone(), later).expect("pipeline");
    assert_eq!(
        samverkan::hub::timer::close_due(&pipeline)
            .await
            .expect("close"),
        1
    );
    assert_eq!(
        samverkan::hub::timer::close_due(&pipeline)
            .await
            .expect("close"),
        0
    );
    let record = store.need(&need).await.expect("read").expect("stored");
    assert_eq!(record.state.as_str(), "closed");
    let statuses = states(&app.org_events("VGR").await);
    assert_eq!(
        statuses.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["closed"]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_show_prints_the_reconciled_state_from_the_store() {
    let app = spawn_app().await;
    let (code, instance, _) = publish_0101(&app).await;
    let need = "NEED-2026-0101";
    offer_course(&app, need, &code, &instance).await;
    app.settle().await;
    let show = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_samverkan"))
            .current_dir(crate::repo_path(""))
            .args(["--config", "config/sample.toml", "needs", "show"])
            .args(args)
            .env("SAMVERKAN__STORE__URL", &app.settings.store.url)
            .output()
            .expect("run samverkan needs show")
    };
    let output = show(&["--format", "json", need]);
    assert!(output.status.success(), "{output:?}");
    let shown: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(shown["state"], "answered");
    assert_eq!(shown["counts"]["offers"], 1);
    let chalmers = shown["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .find(|r| r["org"] == "chalmers")
        .cloned();
    assert_eq!(
        chalmers.expect("chalmers is a recipient")["latest"]["decision"],
        "offer"
    );
    let text = show(&[need]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("state:      answered"));
    assert_eq!(show(&["NEED-2026-9999"]).status.code(), Some(1));
    app.stop().await;
}
