//! The contract: sample data validates, every example file gets the verdict its name says.

use std::fs;

use samverkan::event::{EventType, Limits, RejectReason};
use samverkan::schema::SchemaRegistry;
use serde_json::Value;

use crate::{read_json, repo_path, sample_needs, strip_annotations};

fn registry() -> SchemaRegistry {
    SchemaRegistry::new().expect("embedded schemas compile")
}

/// Validate each `_`-stripped entry of `list` as the data of `event_type`.
fn assert_entries_valid(registry: &SchemaRegistry, event_type: EventType, list: &[Value]) {
    assert!(!list.is_empty(), "no entries for {event_type}");
    for entry in list {
        let mut data = entry.clone();
        strip_annotations(&mut data);
        let issues = registry.data_issues(event_type, &data);
        let name = entry.get("id").or_else(|| entry.get("courseCode"));
        assert!(
            issues.is_empty(),
            "{event_type} {name:?} is invalid: {issues:#?}"
        );
    }
}

fn array_at(file: &str, key: &str) -> Vec<Value> {
    read_json(file)[key].as_array().cloned().unwrap_or_default()
}

#[test]
fn every_sample_need_is_valid_need_data() {
    assert_entries_valid(&registry(), EventType::NeedSubmitted, &sample_needs());
}

#[test]
fn every_sample_course_is_valid_course_data() {
    let registry = registry();
    for file in [
        "course-catalogue-chalmers.json",
        "course-catalogue-mdu.json",
    ] {
        let courses = array_at(&format!("sample-data/{file}"), "courses");
        assert_entries_valid(&registry, EventType::CourseUpserted, &courses);
    }
}

#[test]
fn every_sample_partner_is_valid_partner_data() {
    let partners = array_at("sample-data/partner-registry.json", "partners");
    assert_entries_valid(&registry(), EventType::PartnerUpserted, &partners);
}

/// `(schema dir, valid or invalid, file name, bytes)` for every example.
fn examples() -> Vec<(String, String, String, Vec<u8>)> {
    let root = repo_path("schemas/examples");
    let mut out = Vec::new();
    for dir in fs::read_dir(&root).expect("schemas/examples exists") {
        let dir = dir.expect("dir entry").path();
        for verdict in ["valid", "invalid"] {
            let Ok(files) = fs::read_dir(dir.join(verdict)) else {
                continue;
            };
            for file in files {
                let path = file.expect("file entry").path();
                let schema = dir
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let bytes = fs::read(&path).expect("readable example");
                out.push((schema, verdict.to_owned(), name, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_schema_has_valid_and_at_least_three_invalid_examples() {
    let examples = examples();
    for t in EventType::ALL {
        let dir = t.schema_file().trim_end_matches(".json");
        let count = |v: &str| {
            examples
                .iter()
                .filter(|(s, k, ..)| s == dir && k == v)
                .count()
        };
        assert!(count("valid") >= 1, "{dir}: no valid example");
        assert!(
            count("invalid") >= 3,
            "{dir}: fewer than 3 invalid examples"
        );
    }
}

#[test]
fn every_example_gets_the_verdict_its_name_says() {
    let registry = registry();
    let mut failures = Vec::new();
    for (schema, verdict, name, bytes) in examples() {
        let result = registry.validate_bytes(&bytes, Limits::default());
        let expected = (verdict == "invalid").then(|| {
            name.split_once("--")
                .map(|(code, _)| code)
                .unwrap_or("<unnamed>")
        });
        if let Some(code) = expected {
            assert!(
                RejectReason::parse(code).is_some(),
                "{schema}/{name}: unknown reason {code}"
            );
        }
        let got = result.as_ref().err().map(|e| e.reason().as_str());
        if got != expected {
            failures.push(format!(
                "{schema}/{verdict}/{name}: expected {expected:?}, got {result:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn valid_examples_declare_the_type_of_their_folder() {
    for (schema, verdict, name, bytes) in examples() {
        if verdict != "valid" {
            continue;
        }
        let event: Value = serde_json::from_slice(&bytes).expect("json");
        let t = event["type"]
            .as_str()
            .and_then(EventType::parse)
            .expect("known type");
        assert_eq!(format!("{schema}.json"), t.schema_file(), "{schema}/{name}");
    }
}
