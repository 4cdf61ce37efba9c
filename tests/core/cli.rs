//! The `samverkan` binary as a user runs it: output formats and exit codes.

use std::process::Output;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{repo_path, sample_needs, samverkan_with, strip_annotations};

/// Run the binary with `args`, feeding `stdin`, with no `SAMVERKAN` configuration inherited.
fn samverkan(args: &[&str], stdin: &[u8]) -> Output {
    samverkan_with(args, stdin, &[])
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn example(path: &str) -> String {
    repo_path(&format!("schemas/examples/{path}"))
        .to_string_lossy()
        .into_owned()
}

const VALID_NEED: &str = "need.v1/valid/NEED-2026-0101.json";
const INVALID_NEED: &str = "need.v1/invalid/schema_invalid--title-missing.json";

/// Files that each must be refused with one reason code.
fn hostile_inputs(dir: &TempDir) -> Vec<(String, &'static str)> {
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write temp file");
        path.to_string_lossy().into_owned()
    };
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    let mut garbage = vec![0xff, 0xfe, 0x00, 0x01];
    garbage.extend((0u8..=255).cycle().take(4096));
    vec![
        (write("empty.json", vec![]), "empty_message"),
        (
            write("oversized.json", vec![b' '; 1024 * 1024 + 1]),
            "too_large",
        ),
        (write("garbage.bin", garbage), "malformed_json"),
        (write("deep.json", deep), "too_deep"),
        (write("array.json", b"[1,2,3]".to_vec()), "not_a_cloudevent"),
    ]
}

#[test]
fn validate_json_reports_each_file_and_exits_1_when_any_is_invalid() {
    let (valid, invalid) = (example(VALID_NEED), example(INVALID_NEED));
    let output = samverkan(&["validate", "--format", "json", &valid, &invalid], b"");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let reports = stdout_json(&output);
    assert_eq!(
        reports[0],
        json!({"file": valid, "valid": true, "reason": null, "errors": []})
    );
    assert_eq!(reports[1]["file"], json!(invalid));
    assert_eq!(reports[1]["valid"], json!(false));
    assert_eq!(reports[1]["reason"], json!("schema_invalid"));
    let errors = reports[1]["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| {
        e["instancePath"]
            .as_str()
            .is_some_and(|p| p.starts_with("/data"))
            && e["message"].is_string()
    }));
}

#[test]
fn validate_exits_0_when_all_are_valid_and_reads_stdin() {
    let body = std::fs::read(example(VALID_NEED)).expect("example");
    let output = samverkan(&["validate", "-"], &body);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "-: valid");
}

#[test]
fn validate_gives_hostile_input_its_reason_code() {
    let dir = TempDir::new().expect("temp dir");
    for (file, reason) in hostile_inputs(&dir) {
        let output = samverkan(&["validate", "--format", "json", &file], b"");
        assert_eq!(output.status.code(), Some(1), "{file}: {output:?}");
        let report = &stdout_json(&output)[0];
        assert_eq!(report["reason"], json!(reason), "{file}: {report}");
        assert_eq!(report["valid"], json!(false));
    }
}

#[test]
fn validate_text_names_the_file_and_the_pointer() {
    let invalid = example(INVALID_NEED);
    let output = samverkan(&["validate", &invalid], b"");
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with(&format!("{invalid}: invalid (schema_invalid)")),
        "{text}"
    );
    assert!(text.contains("  /data"), "{text}");
}

#[test]
fn validate_exits_2_on_io_and_usage_errors() {
    let missing = samverkan(&["validate", "/nonexistent/need.json"], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/need.json"));
    assert_eq!(samverkan(&["validate"], b"").status.code(), Some(2));
    assert_eq!(
        samverkan(&["validate", "--format", "yaml", "x"], b"")
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn the_size_limit_comes_from_configuration() {
    let dir = TempDir::new().expect("temp dir");
    let config = dir.path().join("small.toml");
    std::fs::write(&config, "[limits]\nmax_message_bytes = 100\n").expect("write config");
    let config = config.to_string_lossy().into_owned();
    let output = samverkan(
        &[
            "--config",
            &config,
            "validate",
            "--format",
            "json",
            &example(VALID_NEED),
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(stdout_json(&output)[0]["reason"], json!("too_large"));
}

fn need_json(id: &str) -> Vec<u8> {
    let mut need = sample_needs()
        .into_iter()
        .find(|n| n["id"] == id)
        .expect("sample need");
    strip_annotations(&mut need);
    serde_json::to_vec(&need).expect("serialise")
}

#[test]
fn pii_scan_reports_kinds_and_places_but_never_values() {
    let output = samverkan(
        &[
            "pii",
            "scan",
            "--format",
            "json",
            "--today",
            "2026-11-22",
            "-",
        ],
        &need_json("NEED-2026-0109"),
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let findings = stdout_json(&output)["findings"]
        .as_array()
        .cloned()
        .expect("findings");
    let mut kinds: Vec<&str> = findings.iter().filter_map(|f| f["kind"].as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds, ["personnummer", "phone"]);
    assert!(findings.iter().all(
        |f| f["pointer"].as_str().is_some_and(|p| p.starts_with('/'))
            && f["end"].as_u64() > f["start"].as_u64()
    ));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for value in ["19850522-9891", "850522-9891", "9891"] {
        assert!(!all.contains(value), "output leaks {value}: {all}");
    }
}

#[test]
fn pii_scan_exits_0_on_clean_input_and_scans_plain_text() {
    let clean = samverkan(
        &["pii", "scan", "--today", "2026-11-22", "-"],
        &need_json("NEED-2026-0111"),
    );
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert_eq!(String::from_utf8_lossy(&clean.stdout).trim(), "-: clean");
    let text = "Ring mig på 070-123 45 67 om patienten.";
    let found = samverkan(&["pii", "scan", "--format", "json", "-"], text.as_bytes());
    assert_eq!(found.status.code(), Some(1));
    assert_eq!(stdout_json(&found)["findings"][0]["kind"], json!("phone"));
    assert_eq!(stdout_json(&found)["findings"][0]["pointer"], json!(""));
    assert_eq!(
        samverkan(&["pii", "scan", "/nonexistent"], b"")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        samverkan(&["pii", "scan", "-"], &[0xff, 0xfe, 0x00])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn schemas_lists_every_type_and_prints_one() {
    let list = samverkan(&["schemas"], b"");
    assert_eq!(list.status.code(), Some(0));
    let text = String::from_utf8_lossy(&list.stdout);
    assert_eq!(text.lines().count(), samverkan::event::EventType::ALL.len());
    let one = samverkan(&["schemas", "se.samverkan.need.submitted.v1"], b"");
    assert_eq!(
        stdout_json(&one)["$id"],
        json!("https://schemas.samverkan.se/need.v1.json")
    );
    assert_eq!(samverkan(&["schemas", "nope"], b"").status.code(), Some(2));
}

#[test]
fn topology_prints_a_queue_per_configured_organisation() {
    let config = repo_path("config/sample.toml")
        .to_string_lossy()
        .into_owned();
    let output = samverkan(&["--config", &config, "topology"], b"");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    for queue in [
        "samverkan.hub.ingress",
        "samverkan.hub.dead",
        "samverkan.org.VGR",
        "samverkan.org.chalmers",
    ] {
        assert!(text.contains(queue), "{queue} missing from:\n{text}");
    }
}

#[test]
fn the_demo_tells_the_whole_story_without_a_broker_and_never_prints_a_personal_identifier() {
    let output = samverkan(&["demo"], b"");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let logs = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "== 5. Every need's reconciled status",
        "challenge → chalmers",
        "personal_data",
        "unscanned_attachment",
        ": late",
        ": unknown_need",
        "tries to withdraw VGR's need",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let row = text
        .lines()
        .find(|l| l.contains("NEED-2026-0101") && l.contains("answered"));
    assert!(row.is_some(), "0101 ends answered:\n{text}");
    // The planted identifiers of 0109/0110 (any 6-digit window of them) never appear.
    for planted in ["198505229891", "0701740642", "197811862395", "200101151564"] {
        for window in (0..planted.len() - 5).map(|i| &planted[i..i + 6]) {
            assert!(
                !text.contains(window) && !logs.contains(window),
                "{window} leaked"
            );
        }
    }
}

#[test]
fn publish_without_the_organisations_password_names_what_to_set() {
    let config = repo_path("config/sample.toml");
    let config = config.to_string_lossy();
    let need = example(VALID_NEED);
    let args = ["--config", &config, "publish", "--as", "VGR", &need];
    let output = samverkan(&args, b"");
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    for named in [
        "SAMVERKAN_PUBLISH_PASSWORD",
        "--password-env",
        "SAMVERKAN__AMQP__URL",
        "`vgr`",
    ] {
        assert!(err.contains(named), "{named} missing from: {err}");
    }
    let renamed = ["--password-env", "VGR_PASSWORD"];
    let args = [&args[..5], &renamed[..], &[need.as_str()]].concat();
    let err = String::from_utf8_lossy(&samverkan(&args, b"").stderr).into_owned();
    assert!(err.contains("VGR_PASSWORD"), "{err}");
}
