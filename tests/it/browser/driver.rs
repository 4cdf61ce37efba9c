//! Headless Chromium driven over WebDriver: Debian's `chromedriver` on a free port of
//! 127.0.0.1, a fresh profile per browser, and waits that are conditions with a deadline.
//!
//! Why a child process per test rather than one shared driver: each test gets its own cookies
//! and profile, a crashed browser takes only its own test down, and dropping the [`Browser`]
//! (even on a panic) kills the driver and every Chromium process it started — they share a
//! process group that is killed as a whole.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;

/// How long a page may take to show what a test waits for.
pub(super) const WAIT: Duration = Duration::from_secs(15);
/// How long ChromeDriver may take to answer `/status` after it starts.
const DRIVER_START: Duration = Duration::from_secs(20);
/// What to do when Chromium or its driver is missing (CI installs them, see scripts/test).
const INSTALL_HINT: &str = "the browser tests need Debian's Chromium and its ChromeDriver: \
    run `apt-get install -y chromium chromium-driver` (scripts/test does it when they are missing)";

/// `name` on the `PATH`, or a failure that says how to install it.
fn executable(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    found.unwrap_or_else(|| panic!("`{name}` is not installed: {INSTALL_HINT}"))
}

/// A running `chromedriver`, killed (with the browsers it started) on drop.
struct Chromedriver {
    child: Child,
    url: String,
}

impl Chromedriver {
    /// Start the driver on a free port and wait until its `/status` says it is ready.
    async fn start() -> Self {
        let program = executable("chromedriver");
        // A port taken between the probe and the driver's bind makes the driver exit: try again.
        for _ in 0..3 {
            let port = free_port();
            let child = spawn_in_own_group(
                Command::new(&program)
                    .arg(format!("--port={port}"))
                    .arg("--allowed-ips=127.0.0.1")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            );
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            if driver.await_ready().await {
                return driver;
            }
        }
        panic!("chromedriver did not start three times in a row (`chromedriver --version` works?)");
    }

    /// Poll `/status` until it answers `ready: true` (true), the driver exits (false) or the
    /// deadline passes (a failure).
    async fn await_ready(&mut self) -> bool {
        let deadline = Instant::now() + DRIVER_START;
        let http = reqwest::Client::new();
        loop {
            if let Ok(Some(_exited)) = self.child.try_wait() {
                return false;
            }
            let status = http.get(format!("{}/status", self.url)).send().await;
            if let Ok(response) = status
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver at {} was not ready within {DRIVER_START:?}",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The driver leads its own process group; the browsers it started are in it too.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawn `command` as the leader of a new process group (see [`Chromedriver`]'s drop).
fn spawn_in_own_group(command: &mut Command) -> Child {
    use std::os::unix::process::CommandExt;
    command
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver: {e}; {INSTALL_HINT}"))
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A headless Chromium session with a fresh profile.
pub(super) struct Browser {
    client: Client,
    // Dropped after the client: the driver's drop kills the browser, then the profile goes.
    _driver: Chromedriver,
    _profile: TempDir,
}

impl Browser {
    /// Start ChromeDriver and a headless Chromium (1280×900, no GPU, no sandbox: CI runs as root).
    pub(super) async fn open() -> Self {
        let chromium = executable("chromium");
        let driver = Chromedriver::start().await;
        let profile = TempDir::new().expect("a profile directory");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start headless Chromium: {e}; {INSTALL_HINT}"));
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Open `url` and wait until it has loaded.
    pub(super) async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The address of the page shown now.
    pub(super) async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// The first element matching `css`, waiting for it up to [`WAIT`].
    pub(super) async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no `{css}` within {WAIT:?} on {}: {e}\n{}",
                self.url().await,
                self.body_text().await
            ),
        }
    }

    /// Open `url` again and again until an element matching `css` is there (`present`) or is
    /// not, up to [`WAIT`]: for what the hub does after the page was served.
    pub(super) async fn reload_until(&self, url: &str, css: &str, present: bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            self.goto(url).await;
            if self.all(css).await.is_empty() != present {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` still {} on {url} after {WAIT:?}:\n{}",
                if present { "absent" } else { "present" },
                self.body_text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the text of the first `css` element is `expected` (trimmed).
    pub(super) async fn wait_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text_of(css).await;
            if text.as_deref() == Some(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` did not read {expected:?} within {WAIT:?} on {}; it reads {text:?}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The trimmed text of the first `css` element, `None` when there is none.
    pub(super) async fn text_of(&self, css: &str) -> Option<String> {
        let element = self.client.find(Locator::Css(css)).await.ok()?;
        let text = element.text().await.ok()?;
        Some(text.trim().to_owned())
    }

    /// Every element matching `css` now (no waiting).
    pub(super) async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find_all `{css}`: {e}"))
    }

    /// The attribute `name` of every element matching `css` now.
    pub(super) async fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        let mut values = Vec::new();
        for element in self.all(css).await {
            if let Some(value) = element.attr(name).await.expect("attribute") {
                values.push(value);
            }
        }
        values
    }

    /// Type `text` into the first `css` element.
    pub(super) async fn fill(&self, css: &str, text: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("clear");
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Click the first `css` element.
    pub(super) async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    /// The page's visible text, for failure messages.
    pub(super) async fn body_text(&self) -> String {
        self.text_of("body").await.unwrap_or_default()
    }

    /// The whole page as a PNG, 1280 pixels wide: the window is made as tall as the page (at
    /// most `max_height`) first, since WebDriver shoots only what the window shows.
    pub(super) async fn screenshot(&self, max_height: u32) -> Vec<u8> {
        // WebDriver's scripts run outside the page's CSP.
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .ok()
            .and_then(|h| h.as_u64())
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(900);
        let (_, window) = self.client.get_window_size().await.expect("window size");
        let (_, inner) = self.viewport().await;
        let chrome = u32::try_from(window.saturating_sub(inner)).unwrap_or(0);
        self.client
            .set_window_size(1280, height.min(max_height) + chrome)
            .await
            .expect("resize the window");
        let png = self.client.screenshot().await.expect("screenshot");
        // Back to the usual size, so the next page is measured from it.
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("resize the window");
        png
    }

    /// The viewport's width and height.
    async fn viewport(&self) -> (u64, u64) {
        let size = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("viewport size");
        let at = |i: usize| size[i].as_u64().unwrap_or(0);
        (at(0), at(1))
    }

    /// End the session (the browser quits), then stop the driver.
    pub(super) async fn close(self) {
        let Browser {
            client,
            _driver,
            _profile,
        } = self;
        let _ = client.close().await;
    }
}
