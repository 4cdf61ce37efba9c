//! An innovation coach in the console: their region's needs, where each went and why, and
//! nothing of another region's.

use super::driver::Browser;
use super::hub::{ConsoleHub, PASSWORD, log_in};
use crate::need_key;

/// Two VGR needs and two RV needs, all routed.
const NEEDS: [&str; 4] = [
    "NEED-2026-0101",
    "NEED-2026-0102",
    "NEED-2026-0104",
    "NEED-2026-0105",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_coach_logs_in_opens_a_need_and_sees_its_recipients_and_their_match_reasons() {
    let hub = ConsoleHub::with_needs(&NEEDS).await;
    let stored = hub
        .app
        .pipeline
        .store()
        .need(&need_key("VGR", "NEED-2026-0101"))
        .await
        .expect("store")
        .expect("NEED-2026-0101 is stored");
    assert!(!stored.recipients.is_empty(), "0101 was routed to someone");
    let browser = Browser::open().await;
    log_in(&browser, &hub.url("/console/login"), "coach-vgr", PASSWORD).await;

    // The list: both of VGR's needs, each a link to its page.
    let row = r#"table#needs tbody tr[data-need-id="NEED-2026-0101"][data-region="VGR"]"#;
    browser.wait_for(row).await;
    browser
        .wait_for(r#"table#needs tbody tr[data-need-id="NEED-2026-0102"]"#)
        .await;
    browser.click(&format!("{row} a.need-link")).await;

    // The need: its state, and every recipient the store has, each with its reasons.
    browser
        .wait_text("#need-state", stored.state.as_str())
        .await;
    assert_eq!(
        browser.url().await.path(),
        "/console/needs/VGR/NEED-2026-0101"
    );
    for recipient in &stored.recipients {
        let org = recipient.org_id.as_str();
        let reasons = format!(r#"#recipients [data-recipient="{org}"] .reasons"#);
        let shown = browser.wait_for(&reasons).await.text().await.expect("text");
        assert!(
            !recipient.reasons.is_empty() && !shown.trim().is_empty(),
            "{org}: no reasons shown ({:?} in the store)",
            recipient.reasons
        );
        for reason in &recipient.reasons {
            assert!(
                shown.contains(reason.as_str()),
                "{org}: reason {reason:?} not shown in {shown:?}"
            );
        }
    }
    browser.close().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_coach_never_sees_another_regions_need_in_the_list_nor_by_its_url() {
    let hub = ConsoleHub::with_needs(&NEEDS).await;
    let browser = Browser::open().await;
    log_in(&browser, &hub.url("/console/login"), "coach-rv", PASSWORD).await;

    // The list shows RV's needs, and only those, even when asked for VGR's.
    for path in ["/console/needs", "/console/needs?region=VGR"] {
        browser.goto(&hub.url(path)).await;
        browser.wait_for("table#needs").await;
        let mut ids = browser
            .attrs("table#needs tbody tr[data-need-id]", "data-need-id")
            .await;
        ids.sort();
        let regions = browser
            .attrs("table#needs tbody tr[data-need-id]", "data-region")
            .await;
        assert!(regions.iter().all(|r| r == "RV"), "{path}: {regions:?}");
        if path == "/console/needs" {
            assert_eq!(ids, ["NEED-2026-0104", "NEED-2026-0105"], "{path}");
        } else {
            assert!(
                !ids.iter().any(|id| id.ends_with("0101")),
                "{path}: {ids:?}"
            );
        }
    }

    // By URL: VGR's need is the same "not found" page as a need that does not exist.
    browser
        .goto(&hub.url("/console/needs/RV/NEED-2026-0104"))
        .await;
    browser.wait_for("#need-state").await;
    browser
        .goto(&hub.url("/console/needs/VGR/NEED-2026-0101"))
        .await;
    let other_region = browser.wait_for("h1").await.text().await.expect("text");
    assert!(
        browser.all("#need-state").await.is_empty(),
        "VGR's need shown to coach-rv"
    );
    assert!(!browser.body_text().await.contains("NEED-2026-0101"));
    browser
        .goto(&hub.url("/console/needs/RV/NEED-2026-0999"))
        .await;
    let missing = browser.wait_for("h1").await.text().await.expect("text");
    assert_eq!(
        other_region, missing,
        "another region's need reads like a missing one"
    );
    browser.close().await;
    hub.stop().await;
}
