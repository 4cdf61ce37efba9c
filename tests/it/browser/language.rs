//! The language switch: Swedish and English labels, chosen by the browser and switched by hand.

use super::driver::Browser;
use super::hub::{ConsoleHub, PASSWORD, log_in};

/// The `lang` attribute of the page's `<html>`.
async fn page_lang(browser: &Browser) -> String {
    let html = browser.wait_for("html").await;
    html.attr("lang")
        .await
        .expect("attribute")
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_language_switch_changes_the_labels_between_swedish_and_english() {
    let hub = ConsoleHub::with_needs(&["NEED-2026-0101"]).await;
    let browser = Browser::open().await;
    let submit = "form#login button[type=submit]";
    browser.goto(&hub.url("/console/login?lang=en")).await;
    assert_eq!(page_lang(&browser).await, "en");
    let english = browser.wait_for(submit).await.text().await.expect("text");

    browser.click("a#lang-sv").await;
    browser.wait_for(r#"html[lang="sv"]"#).await;
    let swedish = browser.wait_for(submit).await.text().await.expect("text");
    assert_ne!(
        english, swedish,
        "the login button's label is the same in both languages"
    );

    // The choice stays with the browser (a cookie): the pages after logging in are Swedish too.
    log_in(&browser, &hub.url("/console/login"), "coach-vgr", PASSWORD).await;
    assert_eq!(page_lang(&browser).await, "sv");
    browser.wait_for("table#needs").await;
    let headers_sv = browser
        .wait_for("table#needs thead")
        .await
        .text()
        .await
        .expect("text");

    browser.click("a#lang-en").await;
    browser.wait_for(r#"html[lang="en"]"#).await;
    let headers_en = browser
        .wait_for("table#needs thead")
        .await
        .text()
        .await
        .expect("text");
    assert_ne!(
        headers_sv, headers_en,
        "the needs table's headers did not change language"
    );
    browser.close().await;
    hub.stop().await;
}
