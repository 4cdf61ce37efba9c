//! `samverkan demo --serve`: the story's data stays and the console serves it, with the demo
//! users, until Ctrl-C — tested as a newcomer uses it, over HTTP against the real binary.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, ORIGIN, SET_COOKIE};

use crate::DemoServer;

/// The `name=value` pairs of a response's `Set-Cookie` headers that set a value.
fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.contains("Max-Age=0"))
        .filter_map(|v| v.split(';').next())
        .map(str::to_owned)
        .collect()
}

/// The `value` of the hidden `csrf` input of a form.
fn csrf_field(html: &str) -> String {
    let input = html
        .split("<input")
        .find(|tag| tag.contains(r#"name="csrf""#))
        .unwrap_or_else(|| panic!("no csrf field in:\n{html}"));
    let value = input.split(r#"value=""#).nth(1).expect("a value");
    value[..value.find('"').expect("closing quote")].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_serve_keeps_the_stories_data_and_serves_the_console_to_the_demo_users_until_ctrl_c() {
    let demo = tokio::task::spawn_blocking(DemoServer::start)
        .await
        .expect("demo started");
    let printed = demo.text();
    for expected in ["coach-vgr", "coach-rv", "operator", "samverkan-demo"] {
        assert!(
            printed.contains(expected),
            "{expected} not printed:\n{printed}"
        );
    }
    let origin = demo.url("");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");

    let form = http
        .get(demo.url("/console/login"))
        .send()
        .await
        .expect("GET login");
    assert_eq!(form.status(), StatusCode::OK);
    let pre_login = cookies(&form).join("; ");
    let csrf = csrf_field(&form.text().await.expect("body"));
    let login = http
        .post(demo.url("/console/login"))
        .header(COOKIE, &pre_login)
        .header(ORIGIN, &origin)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("username", "coach-vgr")
                .append_pair("password", "samverkan-demo")
                .append_pair("csrf", &csrf)
                .finish(),
        )
        .send()
        .await
        .expect("POST login");
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "{login:?}");
    assert_eq!(login.headers()[LOCATION], "/console/needs");
    let session = cookies(&login).join("; ");

    let needs = http
        .get(demo.url("/console/needs"))
        .header(COOKIE, &session)
        .send()
        .await
        .expect("GET needs");
    assert_eq!(needs.status(), StatusCode::OK);
    let page = needs.text().await.expect("body");
    // The story's VGR needs are there; RV's are not (a coach sees only their region).
    assert!(page.contains(r#"data-need-id="NEED-2026-0101""#), "{page}");
    assert!(page.contains(r#"data-region="VGR""#), "{page}");
    assert!(
        !page.contains(r#"data-region="RV""#),
        "coach-vgr sees RV:\n{page}"
    );

    let (status, output) = tokio::task::spawn_blocking(move || demo.interrupt())
        .await
        .expect("demo stopped");
    assert!(status.success(), "demo --serve exited {status}:\n{output}");
    assert!(output.contains("console stopped"), "{output}");
}
