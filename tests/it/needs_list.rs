//! `samverkan needs list` against the store of a hub that took the sample needs, on SQLite and
//! on PostgreSQL: filters, counts per state, JSON and text, and a refused filter.

use serde_json::Value;

use crate::{App, need_event, on_both_hubs, sample_needs, samverkan_with};

fn needs_list(app: &App, args: &[&str]) -> std::process::Output {
    let config = crate::repo_path("config/sample.toml");
    let config = config.to_str().expect("UTF-8 path");
    let mut all = vec!["--config", config, "needs", "list"];
    all.extend_from_slice(args);
    samverkan_with(
        &all,
        b"",
        &[("SAMVERKAN__STORE__URL", &app.settings.store.url)],
    )
}

fn json_of(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_are_listed_by_region_state_and_topic() {
    on_both_hubs(|app, backend| async move {
        for need in sample_needs() {
            let id = need["id"].as_str().expect("id");
            let user = need["region"].as_str().expect("region").to_lowercase();
            app.send(&user, &need_event(id)).await;
        }
        app.settle().await;

        let all = json_of(&needs_list(&app, &["--format", "json"]));
        let listed = all["needs"].as_array().expect("needs").len() as u64;
        let total = all["total"].as_u64().expect("total");
        assert_eq!(listed, total, "{backend}: {all}");
        let counted: u64 = all["counts"]
            .as_object()
            .expect("counts")
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert_eq!(counted, total, "{backend}");

        let rv = json_of(&needs_list(&app, &["--region", "RV", "--format", "json"]));
        let rv_needs = rv["needs"].as_array().expect("needs");
        assert!(!rv_needs.is_empty(), "{backend}");
        assert!(
            rv_needs.iter().all(|n| n["region"] == "RV"),
            "{backend}: {rv}"
        );
        for need in rv_needs {
            assert!(need.get("title").is_none() && need.get("description").is_none());
        }

        let published = json_of(&needs_list(
            &app,
            &["--state", "published", "--format", "json"],
        ));
        let states: Vec<&Value> = published["needs"]
            .as_array()
            .expect("needs")
            .iter()
            .map(|n| &n["state"])
            .collect();
        assert!(
            !states.is_empty() && states.iter().all(|s| *s == "published"),
            "{backend}: {published}"
        );
        assert_eq!(
            published["counts"], all["counts"],
            "counts ignore the state filter"
        );

        let topic = json_of(&needs_list(
            &app,
            &[
                "--topic",
                "emergency-care",
                "--limit",
                "1",
                "--format",
                "json",
            ],
        ));
        assert_eq!(
            topic["needs"].as_array().expect("needs").len(),
            1,
            "{backend}: {topic}"
        );

        let text = needs_list(&app, &["--region", "VGR"]);
        assert!(text.status.success(), "{text:?}");
        let text = String::from_utf8(text.stdout).expect("UTF-8");
        assert!(
            text.contains("NEED-2026-0101") && !text.contains("NEED-2026-0104"),
            "{text}"
        );

        let bad = needs_list(&app, &["--state", "open"]);
        assert_eq!(bad.status.code(), Some(2), "{bad:?}");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--state"));
    })
    .await;
}
