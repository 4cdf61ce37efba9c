//! `GET /v1/feed` over real HTTP, on a hub over SQLite and over PostgreSQL: a university reads
//! the challenges its queue gets, page by page through opaque cursors, long-polls for new ones
//! (also when another hub instance sharing the store commits them), and answers with `curl`
//! alone; no organisation ever reads another's events.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use samverkan::event::{CloudEvent, EventType, Source};
use samverkan::transport::ShutdownTrigger;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::{App, issue_token, need_event, on_both_hubs, spawn_app_with};

const NEED: &str = "NEED-2026-0101";
const CURL: &str = "/usr/bin/curl";
const CHALLENGE: &str = "se.samverkan.challenge.published.v1";

/// The hub's API on a free port, with a client.
struct Api {
    address: SocketAddr,
    client: reqwest::Client,
    trigger: ShutdownTrigger,
}

impl Api {
    async fn listen(app: &App) -> Self {
        let (address, trigger) = crate::serve_http(app.pipeline.clone()).await;
        let client = reqwest::Client::new();
        Self {
            address,
            client,
            trigger,
        }
    }

    /// `GET path` with `token` (none: no `Authorization`): status and JSON body.
    async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        get(&self.client, self.address, token, path).await
    }

    /// VGR's need `NEED`, posted over HTTP in structured mode and accepted.
    async fn submit_need(&self, vgr: &str) {
        let response = self
            .client
            .post(format!("http://{}/v1/events", self.address))
            .header(AUTHORIZATION, format!("Bearer {vgr}"))
            .header(CONTENT_TYPE, "application/cloudevents+json")
            .body(need_event(NEED).to_json_bytes())
            .send()
            .await
            .expect("POST /v1/events is answered");
        assert_eq!(response.status().as_u16(), 202, "the need is accepted");
    }
}

async fn get(
    client: &reqwest::Client,
    address: SocketAddr,
    token: Option<&str>,
    path: &str,
) -> (u16, Value) {
    let mut request = client.get(format!("http://{address}{path}"));
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"));
    (status, body)
}

/// The events of a 200 page, and its `next` (which is never null).
fn page((status, body): (u16, Value)) -> (Vec<Value>, String) {
    assert_eq!(status, 200, "{body}");
    let next = body["next"]
        .as_str()
        .unwrap_or_else(|| panic!("no next: {body}"));
    let events = body["events"].as_array().expect("events").clone();
    (events, next.to_owned())
}

fn ids(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["id"].to_string()).collect()
}

/// The hex cursor of position `seq`, as the hub writes it (only to ask beyond the head).
fn cursor_at(seq: i64) -> String {
    format!("v1:{seq}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_university_pages_through_its_own_feed_by_cursor() {
    on_both_hubs(|app, backend| async move {
        let api = Api::listen(&app).await;
        let url = app.settings.store.url.clone();
        let (vgr, chalmers) = (issue_token(&url, "VGR"), issue_token(&url, "chalmers"));
        api.submit_need(&vgr).await;
        // The feed holds what the queue got, in the queue's order.
        let queued = app.org_events("chalmers").await;
        let (all, end) = page(api.get(Some(&chalmers), "/v1/feed").await);
        assert_eq!(ids(&all), ids(&queued), "{backend}");
        let challenge = all
            .iter()
            .find(|e| e["type"] == CHALLENGE && e["subject"] == NEED)
            .unwrap_or_else(|| panic!("{backend}: no challenge for {NEED} in {all:?}"));
        assert_eq!(challenge["data"]["university"], "chalmers", "{backend}");

        // One at a time through `next`, to an empty page that stays where it is.
        let (mut paged, mut after) = (Vec::new(), String::new());
        loop {
            let path = format!("/v1/feed?limit=1&after={after}");
            let (events, next) = page(api.get(Some(&chalmers), &path).await);
            assert!(events.len() <= 1, "{backend}");
            if events.is_empty() {
                assert_eq!(next, after, "{backend}: an empty page stays put");
                break;
            }
            assert_ne!(next, after, "{backend}: a page moves the cursor");
            paged.extend(events);
            after = next;
        }
        assert_eq!(ids(&paged), ids(&all), "{backend}");
        assert_eq!(after, end, "{backend}: the same position either way");

        // No one else's feed holds a chalmers event.
        for other in ["VGR", "mdu", "partner-001"] {
            let token = issue_token(&url, other);
            let (theirs, _) = page(api.get(Some(&token), "/v1/feed?limit=1000").await);
            assert!(
                theirs.iter().all(|e| e["data"]["university"] != "chalmers"
                    && !ids(&all).contains(&e["id"].to_string())),
                "{backend}: {other} reads chalmers' events: {theirs:?}"
            );
        }
        refusals(&api, &chalmers, backend).await;
        api.trigger.trigger();
        app.stop().await;
    })
    .await;
}

/// No token, a cursor that is not one or is beyond the feed, limits and waits out of range.
async fn refusals(api: &Api, chalmers: &str, backend: &str) {
    let (status, body) = api.get(None, "/v1/feed").await;
    assert_eq!(
        (status, &body["reason"]),
        (401, &json!("unauthenticated")),
        "{backend}"
    );
    let beyond = format!("/v1/feed?after={}", cursor_at(1_000_000));
    for (path, reason) in [
        ("/v1/feed?after=not-a-cursor", "invalid_cursor"),
        ("/v1/feed?after=76313a2d31", "invalid_cursor"),
        (beyond.as_str(), "invalid_cursor"),
        ("/v1/feed?limit=0", "bad_request"),
        ("/v1/feed?limit=1001", "bad_request"),
        ("/v1/feed?wait=31", "bad_request"),
        ("/v1/feed?wait=soon", "bad_request"),
    ] {
        let (status, body) = api.get(Some(chalmers), path).await;
        assert_eq!(
            (status, body["reason"].as_str()),
            (400, Some(reason)),
            "{backend}: {path}: {body}"
        );
        assert!(
            body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_answers_with_the_event_once_it_is_committed() {
    on_both_hubs(|app, backend| async move {
        let api = Api::listen(&app).await;
        let url = app.settings.store.url.clone();
        let (vgr, chalmers) = (issue_token(&url, "VGR"), issue_token(&url, "chalmers"));
        // Nothing yet: the wait ends with an empty page and a cursor to ask again with.
        let (events, start) = page(api.get(Some(&chalmers), "/v1/feed?wait=1").await);
        assert!(events.is_empty(), "{backend}: {events:?}");
        assert!(!start.is_empty(), "{backend}");

        let (client, address) = (api.client.clone(), api.address);
        let path = format!("/v1/feed?after={start}&wait=10");
        let token = chalmers.clone();
        let poll = tokio::spawn(async move { get(&client, address, Some(&token), &path).await });
        api.submit_need(&vgr).await;
        let (events, next) = page(poll.await.expect("the long poll"));
        assert!(
            events
                .iter()
                .any(|e| e["type"] == CHALLENGE && e["subject"] == NEED),
            "{backend}: {events:?}"
        );
        assert_ne!(next, start, "{backend}");
        api.trigger.trigger();
        app.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_sees_events_another_hub_instance_commits_to_the_shared_store() {
    on_both_hubs(|app, backend| async move {
        let url = app.settings.store.url.clone();
        // A second hub on the same database: its commits never tick this hub's feed signal.
        let other = spawn_app_with(&[("SAMVERKAN__STORE__URL", &url)]).await;
        let (api, other_api) = (Api::listen(&app).await, Api::listen(&other).await);
        let (vgr, chalmers) = (issue_token(&url, "VGR"), issue_token(&url, "chalmers"));
        let (events, start) = page(api.get(Some(&chalmers), "/v1/feed").await);
        assert!(events.is_empty(), "{backend}: {events:?}");

        let (client, address) = (api.client.clone(), api.address);
        let path = format!("/v1/feed?after={start}&wait=20");
        let poll = tokio::spawn(async move { get(&client, address, Some(&chalmers), &path).await });
        other_api.submit_need(&vgr).await;
        let (events, _) = page(poll.await.expect("the long poll"));
        assert!(
            events.iter().any(|e| e["type"] == CHALLENGE),
            "{backend}: {events:?}"
        );
        for api in [api, other_api] {
            api.trigger.trigger();
        }
        other.stop().await;
        app.stop().await;
    })
    .await;
}

/// `curl ARGS` with `stdin`: its status, stdout and stderr. Fails (never skips) without curl.
fn curl(args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    assert!(
        Path::new(CURL).exists(),
        "{CURL} is missing: install curl (e.g. `apt-get install curl`); this test needs it"
    );
    let mut child = Command::new(CURL)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {CURL}: {e}"));
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin).expect("stdin");
    let output = child.wait_with_output().expect("curl finishes");
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).expect("UTF-8");
    (
        output.status.success(),
        text(output.stdout),
        text(output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_curl_alone_a_university_reads_its_challenge_and_the_region_sees_the_offer() {
    on_both_hubs(|app, backend| async move {
        let api = Api::listen(&app).await;
        let url = app.settings.store.url.clone();
        let (vgr, chalmers) = (issue_token(&url, "VGR"), issue_token(&url, "chalmers"));
        api.submit_need(&vgr).await;
        let base = format!("http://{}", api.address);
        let auth = format!("Authorization: Bearer {chalmers}");
        let feed_url = format!("{base}/v1/feed?limit=10");
        let (ok, out, err) = curl(&["-sf", "-H", &auth, &feed_url], b"");
        assert!(ok, "{backend}: curl GET /v1/feed failed: {err}");
        let feed: Value = serde_json::from_str(&out).expect("the feed is JSON");
        let challenge = feed["events"]
            .as_array()
            .expect("events")
            .iter()
            .find(|e| e["type"] == CHALLENGE && e["subject"] == NEED)
            .unwrap_or_else(|| panic!("{backend}: no challenge in {feed}"))
            .clone();
        let course = &challenge["data"]["courses"][0];
        let data = json!({"needId": NEED, "decision": "offer",
            "courseCode": course["courseCode"], "instanceId": course["instanceId"], "cases": 1});
        let mut offer = CloudEvent::new(
            EventType::OfferSubmitted,
            Source::for_org("chalmers"),
            Some(NEED.to_owned()),
            data,
        );
        offer.time = datetime!(2026-11-23 09:00 UTC);
        let events_url = format!("{base}/v1/events");
        let args = [
            "-sS",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/cloudevents+json",
            "--data-binary",
            "@-",
            &events_url,
        ];
        let (ok, out, err) = curl(&args, &offer.to_json_bytes());
        assert!(ok, "{backend}: curl POST /v1/events failed: {err}");
        let (body, status) = out.rsplit_once('\n').expect("a status line");
        assert_eq!(status, "202", "{backend}: {body}");

        let (status, need) = api.get(Some(&vgr), &format!("/v1/needs/{NEED}")).await;
        assert_eq!(status, 200, "{backend}: {need}");
        assert_eq!(need["counts"]["offers"], 1, "{backend}: {need}");
        let recipients = need["recipients"].as_array().expect("recipients");
        let answered = recipients
            .iter()
            .find(|r| r["org"] == "chalmers")
            .unwrap_or_else(|| panic!("{backend}: chalmers is no recipient: {need}"));
        assert_eq!(answered["latest"]["decision"], "offer", "{backend}");
        api.trigger.trigger();
        app.stop().await;
    })
    .await;
}
