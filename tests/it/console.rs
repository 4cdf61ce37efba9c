//! The web console over real HTTP, on a hub over SQLite and over PostgreSQL: login and logout,
//! a wrong password, the throttle, a coach's region isolation (in the list and by URL), 403 for
//! coaches on dead letters, CSRF and origin checks, the security headers, the sv/en switch, the
//! needs filters and counts, a need page with recipients and reasons, the dead-letter replay.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use samverkan::console::{Console, hash_password};
use samverkan::http::{HttpState, serve};
use samverkan::settings::{ConsoleRole, ConsoleSettings, ConsoleUser, OrgId};
use samverkan::store::{NeedFilter, PageRequest};
use samverkan::transport::{DeadLetterAdmin, Shutdown, ShutdownTrigger};

use crate::{App, need_event, on_both_hubs, sample_needs, spawn_app};

const PASSWORD: &str = "samverkan-test";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn user(name: &str, role: ConsoleRole, region: Option<&str>, hash: &str) -> ConsoleUser {
    ConsoleUser {
        name: name.to_owned(),
        role,
        region: region.map(|r| OrgId::parse(r).expect("org id")),
        password_hash: Some(hash.to_owned()),
        password_hash_env: None,
    }
}

/// The app's HTTP surface with the console on (users coach-vgr, coach-rv, operator) and the
/// in-process broker's dead letters.
async fn serve_console(app: &App) -> (SocketAddr, ShutdownTrigger) {
    let hash = hash_password(PASSWORD).expect("hash");
    let settings = ConsoleSettings {
        enabled: true,
        users: vec![
            user("coach-vgr", ConsoleRole::Coach, Some("VGR"), &hash),
            user("coach-rv", ConsoleRole::Coach, Some("RV"), &hash),
            user("operator", ConsoleRole::Operator, None, &hash),
        ],
        session_key_env: String::new(),
        session_hours: 8,
        secure_cookie: false,
        session_key: None,
    };
    let admin: Arc<dyn DeadLetterAdmin> = Arc::new(app.broker.clone());
    let console = Console::from_settings(&settings, Some(admin))
        .expect("console")
        .expect("enabled");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("address");
    let (trigger, shutdown) = Shutdown::new();
    let state = HttpState {
        pipeline: app.pipeline.clone(),
        broker: None,
        publisher: None,
        console: Some(Arc::new(console)),
    };
    tokio::spawn(serve(listener, state, shutdown));
    (address, trigger)
}

/// A browser: a cookie jar, no redirects followed.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first `name="csrf"` field.
    fn csrf(&self) -> String {
        let start = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field: {}", self.body))
            + "name=\"csrf\" value=\"".len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    fn count(&self, needle: &str) -> usize {
        self.body.matches(needle).count()
    }
}

impl Browser {
    fn new(address: SocketAddr) -> Self {
        Self {
            base: format!("http://{address}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let jar: Vec<String> = self
            .cookies
            .lock()
            .expect("jar")
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = if jar.is_empty() {
            request
        } else {
            request.header("cookie", jar.join("; "))
        };
        let response = request.send().await.expect("answered");
        let (status, headers) = (response.status(), response.headers().clone());
        for cookie in headers.get_all(SET_COOKIE) {
            let cookie = cookie.to_str().expect("ascii");
            let (pair, attributes) = cookie.split_once(';').unwrap_or((cookie, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            let mut jar = self.cookies.lock().expect("jar");
            if value.is_empty() || attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = response.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(format!("{}{path}", self.base));
        self.send(form_body(request, form)).await
    }

    async fn login(&self, name: &str, password: &str) -> Page {
        let form = self.get("/console/login").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/console/login",
            &[("username", name), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().expect("jar").get(name).cloned()
    }
}

/// `fields` as an `application/x-www-form-urlencoded` body.
fn form_body(request: reqwest::RequestBuilder, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    request
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

/// Submit every sample need from its region and wait until the hub has handled them.
async fn submit_sample_needs(app: &App) {
    for need in sample_needs() {
        let id = need["id"].as_str().expect("id");
        let user = need["region"].as_str().expect("region").to_lowercase();
        app.send(&user, &need_event(id)).await;
    }
    app.settle().await;
}

fn assert_headers(page: &Page) {
    let h = |name: &str| {
        page.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    assert_eq!(h("content-security-policy"), CSP);
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("cache-control"), "no-store");
}

#[tokio::test]
async fn a_coach_sees_only_their_region_and_logs_in_and_out() {
    on_both_hubs(|app, backend| async move {
        submit_sample_needs(&app).await;
        let (address, trigger) = serve_console(&app).await;
        let browser = Browser::new(address);

        let page = browser.get("/console/needs").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{backend}");
        assert_eq!(page.location(), "/console/login");
        assert_headers(&page);

        let wrong = browser.login("coach-vgr", "wrong").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{backend}");
        let unknown = browser.login("nobody", PASSWORD).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        let error = |p: &Page| {
            let at = p.body.find("class=\"error\"").expect("an error");
            p.body[at..at + 80].to_owned()
        };
        assert_eq!(error(&wrong), error(&unknown), "one message for both");
        assert!(browser.cookie("svk_session").is_none());

        let login = browser.login("coach-vgr", PASSWORD).await;
        assert_eq!(
            login.status,
            StatusCode::SEE_OTHER,
            "{backend}: {}",
            login.body
        );
        assert_eq!(login.location(), "/console/needs");
        let set = login
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("svk_session="))
            .expect("a session cookie")
            .to_owned();
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
            assert!(set.contains(flag), "{set}");
        }

        // The list: VGR's needs only, even when RV's are asked for.
        let store = app.pipeline.store();
        let vgr = NeedFilter {
            region: Some(OrgId::parse("VGR").expect("id")),
            ..NeedFilter::default()
        };
        let expected = store
            .list_needs(&vgr, PageRequest { index: 0, size: 50 })
            .await
            .expect("list");
        assert!(expected.total > 0, "{backend}");
        for path in ["/console/needs", "/console/needs?region=RV"] {
            let page = browser.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{backend}");
            assert_headers(&page);
            assert!(page.body.contains("id=\"whoami\""), "{backend}");
            assert!(page.body.contains("coach-vgr"));
            assert_eq!(
                page.count("data-region=\"VGR\""),
                expected.needs.len(),
                "{backend}"
            );
            assert_eq!(page.count("data-region=\"RV\""), 0, "{backend}: {path}");
            for (state, n) in &expected.counts {
                assert!(
                    page.body.contains(&format!("data-state=\"{state}\">{n}<")),
                    "{backend}: {state} {n}"
                );
            }
        }

        // A need of the coach's region, with its recipients and reasons; never its free text.
        let need = browser.get("/console/needs/VGR/NEED-2026-0101").await;
        assert_eq!(need.status, StatusCode::OK, "{backend}");
        assert!(need.body.contains("id=\"need-state\""));
        assert!(
            need.body.contains("data-recipient=\"chalmers\""),
            "{backend}"
        );
        assert!(need.body.contains("class=\"reasons\""));
        assert!(need.body.contains("id=\"history\""));
        assert!(
            !need.body.contains("Kortare tid från triage"),
            "the title is free text"
        );
        assert!(
            !need.body.contains("kvällar och helger"),
            "the description is free text"
        );

        // Another region's need is "not found", as is one that does not exist.
        let other = browser.get("/console/needs/RV/NEED-2026-0104").await;
        let missing = browser.get("/console/needs/VGR/NEED-2099-0001").await;
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{backend}");
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let main = |p: &Page| p.body[p.body.find("<main>").expect("main")..].to_owned();
        assert_eq!(main(&other), main(&missing));

        // Coaches get 403 on dead letters.
        for path in ["/console/dead-letters", "/console/dead-letters/x"] {
            assert_eq!(
                browser.get(path).await.status,
                StatusCode::FORBIDDEN,
                "{path}"
            );
        }

        // Logout needs the session's token.
        let csrf = browser.get("/console/needs").await.csrf();
        let none = browser.post("/console/logout", &[]).await;
        assert_eq!(none.status, StatusCode::FORBIDDEN, "{backend}");
        let wrong = browser.post("/console/logout", &[("csrf", "AAAA")]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        let out = browser.post("/console/logout", &[("csrf", &csrf)]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert_eq!(out.location(), "/console/login");
        assert!(browser.cookie("svk_session").is_none());
        let after = browser.get("/console/needs").await;
        assert_eq!(after.status, StatusCode::SEE_OTHER);
        trigger.trigger();
    })
    .await;
}

#[tokio::test]
async fn an_operator_filters_every_region_and_sees_the_health_strip() {
    let app = spawn_app().await;
    submit_sample_needs(&app).await;
    let (address, trigger) = serve_console(&app).await;
    let browser = Browser::new(address);
    assert_eq!(
        browser.login("operator", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let all = browser.get("/console/needs").await;
    assert!(all.count("data-region=\"VGR\"") > 0 && all.count("data-region=\"RV\"") > 0);
    let rv = browser.get("/console/needs?region=RV").await;
    assert_eq!(rv.count("data-region=\"VGR\""), 0);
    assert_eq!(
        rv.count("data-region=\"RV\""),
        all.count("data-region=\"RV\"")
    );

    let published = browser.get("/console/needs?state=published").await;
    let rows = published.count("<tr data-need-id=");
    assert!(rows > 0);
    assert_eq!(
        rows,
        published.count("data-state=\"published\"") - 1,
        "rows + the count"
    );
    let topic = browser.get("/console/needs?topic=emergency-care").await;
    assert!(topic.body.contains("data-need-id=\"NEED-2026-0101\""));
    assert!(topic.count("<tr data-need-id=") < all.count("<tr data-need-id="));
    let old = browser.get("/console/needs?age_days=0").await;
    assert_eq!(
        old.count("<tr data-need-id="),
        0,
        "nothing is from the future"
    );

    // The health strip: the PII refusals of the sample needs are counted.
    for part in ["broker", "store", "paused", "outbox"] {
        assert!(
            all.body.contains(&format!("data-health=\"{part}\"")),
            "{part}"
        );
    }
    assert!(
        all.body.contains("data-reason=\"personal_data\""),
        "{}",
        all.body
    );
    trigger.trigger();
    app.stop().await;
}

#[tokio::test]
async fn posts_need_a_token_and_the_same_origin_and_failures_are_throttled() {
    let app = spawn_app().await;
    let (address, trigger) = serve_console(&app).await;
    let browser = Browser::new(address);

    // A login without the form's token, with another page's token, or from another site.
    let form = browser.get("/console/login").await;
    let csrf = form.csrf();
    let post = |fields: Vec<(&'static str, String)>| {
        let url = format!("{}/console/login", browser.base);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form_body(browser.client.post(url), &fields)
    };
    let fields = |csrf: &str| {
        vec![
            ("username", "operator".to_owned()),
            ("password", PASSWORD.to_owned()),
            ("csrf", csrf.to_owned()),
        ]
    };
    let no_token = browser.send(post(fields(""))).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let cross = browser
        .send(post(fields(&csrf)).header("origin", "https://evil.example"))
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let cross_site = browser
        .send(post(fields(&csrf)).header("sec-fetch-site", "cross-site"))
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);

    // Five failures for one name, then even the right password is refused for a while.
    for _ in 0..5 {
        let page = browser.login("Operator", "wrong").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let throttled = browser.login("operator", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.body.contains("class=\"error\""));
    // Another name is not affected.
    assert_eq!(
        browser.login("coach-rv", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    trigger.trigger();
    app.stop().await;
}

#[tokio::test]
async fn the_language_follows_the_browser_and_the_switch() {
    let app = spawn_app().await;
    let (address, trigger) = serve_console(&app).await;
    let browser = Browser::new(address);
    let get = |lang: Option<&str>, path: &str| {
        let request = browser.client.get(format!("{}{path}", browser.base));
        match lang {
            Some(l) => request.header("accept-language", l),
            None => request,
        }
    };
    let en = browser
        .send(get(Some("en-GB,en;q=0.9"), "/console/login"))
        .await;
    assert!(en.body.contains("<html lang=\"en\">"), "{}", en.body);
    assert!(en.body.contains("Log in"));
    let sv = browser.send(get(Some("sv-SE"), "/console/login")).await;
    assert!(sv.body.contains("<html lang=\"sv\">"));
    assert!(sv.body.contains("Logga in"));
    for id in ["id=\"lang-sv\"", "id=\"lang-en\""] {
        assert!(sv.body.contains(id), "{id}");
    }
    // The switch sets the cookie, which then wins over the browser's header.
    let switched = browser
        .send(get(Some("sv"), "/console/login?lang=en"))
        .await;
    assert!(switched.body.contains("<html lang=\"en\">"));
    assert_eq!(browser.cookie("lang").as_deref(), Some("en"));
    let later = browser.send(get(Some("sv"), "/console/login")).await;
    assert!(later.body.contains("<html lang=\"en\">"));
    trigger.trigger();
    app.stop().await;
}

#[tokio::test]
async fn an_operator_replays_a_dead_letter_with_the_sessions_token() {
    let app = spawn_app().await;
    // A need with personal data is refused and dead-lettered.
    app.send("vgr", &need_event("NEED-2026-0109")).await;
    app.settle().await;
    let (address, trigger) = serve_console(&app).await;
    let browser = Browser::new(address);
    assert_eq!(
        browser.login("operator", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );

    let list = browser.get("/console/dead-letters").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_headers(&list);
    let start = list
        .body
        .find("data-dead-letter-id=\"")
        .expect("a dead letter")
        + "data-dead-letter-id=\"".len();
    let dead_id = list.body[start..start + list.body[start..].find('"').expect("quote")].to_owned();
    let one = browser
        .get(&format!("/console/dead-letters/{dead_id}"))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.contains("id=\"dead-letter\""));
    assert!(one.body.contains("id=\"replay-one\""));

    let csrf = list.csrf();
    let forged = browser
        .post(
            "/console/dead-letters/replay",
            &[("id", &dead_id), ("csrf", "AAAA")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let replayed = browser
        .post(
            "/console/dead-letters/replay",
            &[("id", &dead_id), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.body);
    assert!(
        replayed.body.contains(&format!("data-id=\"{dead_id}\"")),
        "{}",
        replayed.body
    );
    trigger.trigger();
    app.stop().await;
}
