//! An operator in the console: a dead letter replayed, after its cause was fixed, is processed.

use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::store::AuditAction;
use serde_json::json;
use time::macros::datetime;

use super::driver::Browser;
use super::hub::{ConsoleHub, PASSWORD, log_in};
use crate::{need_event, need_key};

const NEED: &str = "NEED-2026-0101";
/// A company that receives the call for [`NEED`] (see the demo's story).
const COMPANY: &str = "partner-001";

/// `COMPANY`'s proposal for [`NEED`].
fn proposal() -> CloudEvent {
    let data = json!({"needId": NEED, "decision": "proposal",
        "summary": "A twelve-week pilot of a patient-flow dashboard.", "trl": 8});
    let mut event = CloudEvent::new(
        EventType::ProposalSubmitted,
        Source::for_org(COMPANY),
        Some(NEED.to_owned()),
        data,
    );
    event.time = datetime!(2026-11-23 09:00 UTC);
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_replays_a_dead_letter_after_its_cause_is_fixed_and_sees_it_processed() {
    // The proposal arrives before its need: refused, unknown_need, dead-lettered.
    let hub = ConsoleHub::with_needs(&[]).await;
    hub.app.send(COMPANY, &proposal()).await;
    hub.app.settle().await;
    // The cause goes away: the need arrives and the company receives its call.
    hub.app.send("vgr", &need_event(NEED)).await;
    hub.app.settle().await;
    let key = need_key("VGR", NEED);
    let store = hub.app.pipeline.store();
    let need = store.need(&key).await.expect("store").expect("stored");
    let recipient = |n: &samverkan::need::Need| {
        n.recipients
            .iter()
            .find(|r| r.org_id.as_str() == COMPANY)
            .cloned()
    };
    let before = recipient(&need).expect("the company received the call");
    assert!(before.latest.is_none(), "no answer yet: {before:?}");

    let browser = Browser::open().await;
    log_in(&browser, &hub.url("/console/login"), "operator", PASSWORD).await;
    browser.goto(&hub.url("/console/dead-letters")).await;
    let row = r#"table#dead-letters tbody tr[data-reason="unknown_need"]"#;
    let id = browser
        .wait_for(row)
        .await
        .attr("data-dead-letter-id")
        .await
        .expect("attribute")
        .expect("a dead-letter id");
    browser
        .click(&format!(
            r#"form#replay input[type=checkbox][name=id][value="{id}"]"#
        ))
        .await;
    browser.click("form#replay button#replay-selected").await;

    // Gone from the dead letters, and processed: the answer is on the need's page.
    let dead_letters = hub.url("/console/dead-letters");
    let this_row = format!(r#"tr[data-dead-letter-id="{id}"]"#);
    browser.reload_until(&dead_letters, &this_row, false).await;
    let page = hub.url(&format!("/console/needs/VGR/{NEED}"));
    let answer = format!(r#"#answers [data-answer-from="{COMPANY}"]"#);
    browser.reload_until(&page, &answer, true).await;
    let after = store.need(&key).await.expect("store").expect("stored");
    let latest = recipient(&after).and_then(|r| r.latest);
    assert!(
        latest.is_some(),
        "the replayed proposal was recorded: {after:?}"
    );
    let trail = store.audit_trail(&key.need_id).await.expect("audit trail");
    assert!(
        trail.iter().any(|a| a.action == AuditAction::Replayed),
        "the replay is audited: {trail:?}"
    );
    browser.close().await;
    hub.stop().await;
}
