//! The hub of a browser test: [`spawn_app`]'s hub on the in-process broker, its HTTP surface
//! with the console on a free port, and the three console users of the contract (`coach-vgr`,
//! `coach-rv`, `operator`) with an argon2id hash computed here; the operator's dead letters are
//! the in-process broker's.

use std::sync::{Arc, OnceLock};

use samverkan::console::{Console, hash_password};
use samverkan::http::{HttpState, serve};
use samverkan::settings::{ConsoleRole, ConsoleUser, OrgId};
use samverkan::transport::{DeadLetterAdmin, Shutdown, ShutdownTrigger};

use super::driver::Browser;
use crate::{App, need_event, spawn_app};

/// Every test user's password.
pub(super) const PASSWORD: &str = "browser-test-password";

/// The PHC hash of [`PASSWORD`], computed once per test process (argon2 is slow on purpose).
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password(PASSWORD).expect("an argon2id hash"))
        .clone()
}

fn user(name: &str, role: ConsoleRole, region: Option<&str>) -> ConsoleUser {
    ConsoleUser {
        name: name.to_owned(),
        role,
        region: region.map(|r| OrgId::parse(r).expect("org id")),
        password_hash: Some(password_hash()),
        password_hash_env: None,
    }
}

/// A hub serving the console.
pub(super) struct ConsoleHub {
    pub(super) app: App,
    origin: String,
    http: ShutdownTrigger,
}

impl ConsoleHub {
    /// A hub with the sample needs `needs` submitted by their regions and settled.
    pub(super) async fn with_needs(needs: &[&str]) -> Self {
        let app = spawn_app().await;
        for id in needs {
            let event = need_event(id);
            let region = event.data["region"].as_str().expect("region").to_owned();
            let user = app
                .settings
                .organisation(&region)
                .expect("configured region")
                .broker_user
                .clone();
            app.send(&user, &event).await;
        }
        app.settle().await;
        Self::serve(app).await
    }

    /// Serve `app`'s HTTP surface with the console on a free port of 127.0.0.1.
    async fn serve(app: App) -> Self {
        let mut settings = app.settings.console.clone();
        settings.enabled = true;
        // Plain http on 127.0.0.1: a `Secure` cookie would be a test of Chromium, not of us.
        settings.secure_cookie = false;
        settings.users = vec![
            user("coach-vgr", ConsoleRole::Coach, Some("VGR")),
            user("coach-rv", ConsoleRole::Coach, Some("RV")),
            user("operator", ConsoleRole::Operator, None),
        ];
        let dead_letters: Arc<dyn DeadLetterAdmin> = Arc::new(app.broker.clone());
        let console = Console::from_settings(&settings, Some(dead_letters))
            .expect("the console")
            .expect("enabled");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let origin = format!("http://{}", listener.local_addr().expect("address"));
        let (http, shutdown) = Shutdown::new();
        let state = HttpState {
            pipeline: app.pipeline.clone(),
            broker: None,
            publisher: None,
            console: Some(Arc::new(console)),
        };
        tokio::spawn(serve(listener, state, shutdown));
        ConsoleHub { app, origin, http }
    }

    /// The URL of `path` (absolute, e.g. `/console/needs`).
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Stop serving, then stop the hub.
    pub(super) async fn stop(self) {
        self.http.trigger();
        self.app.stop().await;
    }
}

/// Log `name` in through the login form and wait for the page that says who is logged in.
pub(super) async fn log_in(browser: &Browser, login_url: &str, name: &str, password: &str) {
    browser.goto(login_url).await;
    browser.wait_for("form#login").await;
    browser.fill("form#login input[name=username]", name).await;
    browser
        .fill("form#login input[name=password]", password)
        .await;
    browser.click("form#login button[type=submit]").await;
    let whoami = browser.wait_for("#whoami").await;
    let text = whoami.text().await.expect("#whoami text");
    assert!(text.contains(name), "#whoami reads {text:?}, not {name}");
}
