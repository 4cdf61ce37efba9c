//! CPU cost of one need through the pure core, no I/O: decode (structured CloudEvent) →
//! schema validation → PII guard → matching against the sample catalogues → outbound event
//! data. Target (issue: the need flow): < 200 µs median on this machine.
//!
//! Run: `cargo bench --bench pipeline`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use samverkan::catalogue::Catalogue;
use samverkan::event::{CloudEvent, EventType, Limits, Source};
use samverkan::matching::{MatchOptions, NeedProfile, match_need};
use samverkan::pii::{GuardOutcome, PiiGuard, PiiPolicy};
use samverkan::routing;
use samverkan::schema::SchemaRegistry;
use serde_json::Value;
use time::macros::{date, datetime};

fn sample(path: &str) -> String {
    std::fs::read_to_string(format!("{}/sample-data/{path}", env!("CARGO_MANIFEST_DIR")))
        .expect("sample data")
}

fn need_0101_bytes() -> Vec<u8> {
    let doc: Value = serde_json::from_str(&sample("needs.json")).unwrap();
    let mut need = doc["needs"][0].clone();
    need.as_object_mut()
        .unwrap()
        .retain(|k, _| !k.starts_with('_'));
    let event = CloudEvent::new(
        EventType::NeedSubmitted,
        Source::for_org("VGR"),
        Some("NEED-2026-0101".into()),
        need,
    );
    event.to_json_bytes()
}

fn pipeline(c: &mut Criterion) {
    let registry = SchemaRegistry::new().unwrap();
    let mut catalogue = Catalogue::new();
    catalogue
        .load_course_str(
            &registry,
            "chalmers",
            &sample("course-catalogue-chalmers.json"),
        )
        .unwrap();
    catalogue
        .load_course_str(&registry, "mdu", &sample("course-catalogue-mdu.json"))
        .unwrap();
    // config/sample.toml configures every sample partner as a company.
    let company = |_: &str| Some(samverkan::settings::OrgKind::Company);
    catalogue
        .load_partner_str(&registry, &sample("partner-registry.json"), &company)
        .unwrap();
    let guard = PiiGuard::new(PiiPolicy::Reject);
    let options = MatchOptions::default();
    let body = need_0101_bytes();
    let today = date!(2026 - 11 - 22);
    let now = datetime!(2026-11-22 12:00 UTC);
    c.bench_function(
        "need 0101: decode + validate + guard + match + route",
        |b| {
            b.iter(|| {
                let event = registry
                    .validate_bytes(black_box(&body), Limits::default())
                    .unwrap()
                    .into_inner();
                let mut data = event.data;
                assert!(matches!(
                    guard.inspect(&mut data, today),
                    GuardOutcome::Clean
                ));
                let profile = NeedProfile::from_need(&data).unwrap();
                let outcome = match_need(&profile, &catalogue, &options, today);
                black_box(routing::outbound(&data, &outcome, now).unwrap())
            });
        },
    );
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
