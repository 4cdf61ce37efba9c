//! The console's screenshots in `docs/console/`: a tool, not a check (ignored by default; run
//! by `scripts/screenshots`). It starts `samverkan demo --serve` as a newcomer would, logs in as
//! the demo operator, and saves the login page, the needs list, a need and the dead letters as
//! PNGs (1280×900), to `SAMVERKAN_SCREENSHOTS` or `docs/console/`.

use std::path::PathBuf;

use super::driver::Browser;
use super::hub::log_in;
use crate::{DemoServer, repo_path};

/// The tallest screenshot, in CSS pixels (a long need page is cut there).
const MAX_HEIGHT: u32 = 2400;

/// The pages, in the order a newcomer meets them: (file, path, what the page must show first).
const PAGES: [(&str, &str, &str); 3] = [
    ("needs.png", "/console/needs", "table#needs"),
    (
        "need.png",
        "/console/needs/VGR/NEED-2026-0101",
        "#recipients",
    ),
    (
        "dead-letters.png",
        "/console/dead-letters",
        "table#dead-letters",
    ),
];

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a tool: scripts/screenshots writes docs/console/*.png"]
async fn screenshots_of_the_console() {
    let dir = std::env::var_os("SAMVERKAN_SCREENSHOTS")
        .map_or_else(|| repo_path("docs/console"), PathBuf::from);
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    let demo = tokio::task::spawn_blocking(DemoServer::start)
        .await
        .expect("demo started");
    let browser = Browser::open().await;
    let save = |name: &str, png: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("wrote {}", path.display());
    };

    browser.goto(&demo.url("/console/login?lang=en")).await;
    browser.wait_for("form#login").await;
    save("login.png", browser.screenshot(MAX_HEIGHT).await);
    log_in(
        &browser,
        &demo.url("/console/login"),
        "operator",
        "samverkan-demo",
    )
    .await;
    for (name, path, shown) in PAGES {
        browser.goto(&demo.url(path)).await;
        browser.wait_for(shown).await;
        save(name, browser.screenshot(MAX_HEIGHT).await);
    }
    browser.close().await;
    let (status, output) = tokio::task::spawn_blocking(move || demo.interrupt())
        .await
        .expect("demo stopped");
    assert!(status.success(), "{output}");
}
