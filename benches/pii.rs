//! Criterion benchmarks of the PII guard (`samverkan::pii`).
//!
//! Every need passes the guard before it can leave the region, so the scan must
//! stay cheap: the target is well under 50 µs per 4 KiB of text. Measured here:
//! `scan_text` on a realistic 4 KiB Swedish need text, clean, with planted
//! identifiers, and with the same identifiers disguised as copy-paste leaves
//! them (invisible characters, tabs, no-break spaces, Arabic-Indic digits, a
//! full-width `＠`), and `PiiGuard::inspect` on the NEED-2026-0101 JSON document.

// Benchmark set-up may panic on missing sample data; that is not library code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use samverkan::pii::{PiiGuard, PiiPolicy, scan_text};
use serde_json::Value;
use time::{Date, macros::date};

const TODAY: Date = date!(2026 - 11 - 22);
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-data/needs.json");
const TARGET_LEN: usize = 4096;

fn sample_needs() -> Vec<Value> {
    let text = std::fs::read_to_string(SAMPLE).expect("read sample needs");
    let doc: Value = serde_json::from_str(&text).expect("parse sample needs");
    doc["needs"].as_array().expect("needs array").clone()
}

/// Largest char boundary at or below `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// 4 KiB of the clean sample needs' free text (including the 0111 trap text
/// full of dates, orgnr and HSA-ids), repeated as needed.
fn clean_text(needs: &[Value]) -> String {
    let parts: Vec<&str> = needs
        .iter()
        .filter(|n| {
            n["_test"]["expectedPii"]
                .as_array()
                .is_some_and(Vec::is_empty)
        })
        .flat_map(|n| [&n["title"], &n["description"], &n["desiredOutcome"]])
        .filter_map(Value::as_str)
        .collect();
    let mut text = String::new();
    while text.len() < TARGET_LEN {
        for part in &parts {
            text.push_str(part);
            text.push('\n');
        }
    }
    text.truncate(floor_boundary(&text, TARGET_LEN));
    text
}

/// The sample data's planted identifiers, as written.
const PLANTED: [&str; 4] = [
    " patient 19850522-9891 ",
    " ring 070-174 06 42 ",
    " (200101+1564) ",
    " pilot.contact@example.org ",
];

/// The same identifiers as copy-paste leaves them.
const DISGUISED: [&str; 4] = [
    " patient 1985\u{200b}0522\u{2011}98\u{ad}91 ",
    " ring tel070\t174\u{a0}06\u{2060}42 ",
    " (\u{662}\u{660}\u{660}\u{661}\u{660}\u{661}+\u{661}\u{665}\u{666}\u{664}) ",
    " pilot.contact\u{ff20}example.org ",
];

/// The clean text with four identifiers planted at roughly even intervals,
/// trimmed back to 4 KiB.
fn planted_text(clean: &str, planted: &[&str]) -> String {
    let mut text = String::new();
    let mut from = 0;
    for (i, p) in planted.iter().enumerate() {
        let to = floor_boundary(clean, (i + 1) * TARGET_LEN / 5);
        text.push_str(&clean[from..to]);
        text.push_str(p);
        from = to;
    }
    text.push_str(&clean[from..]);
    text.truncate(floor_boundary(&text, TARGET_LEN));
    text
}

fn bench_scan_text(c: &mut Criterion) {
    let needs = sample_needs();
    let clean = clean_text(&needs);
    let planted = planted_text(&clean, &PLANTED);
    let disguised = planted_text(&clean, &DISGUISED);
    assert!(
        scan_text(&clean, TODAY).is_empty(),
        "clean text must be clean"
    );
    assert_eq!(scan_text(&planted, TODAY).len(), 4, "planted text");
    assert_eq!(scan_text(&disguised, TODAY).len(), 4, "disguised text");

    let mut group = c.benchmark_group("scan_text");
    for (name, text) in [
        ("clean_4KiB", &clean),
        ("planted_4KiB", &planted),
        ("disguised_4KiB", &disguised),
    ] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| scan_text(black_box(text), TODAY)));
    }
    group.finish();
}

fn bench_inspect(c: &mut Criterion) {
    let need = sample_needs()
        .into_iter()
        .find(|n| n["id"] == "NEED-2026-0101")
        .expect("NEED-2026-0101");
    let mut group = c.benchmark_group("inspect");
    for policy in [PiiPolicy::Reject, PiiPolicy::Redact] {
        let guard = PiiGuard::new(policy);
        group.bench_function(format!("NEED-2026-0101/{policy:?}"), |b| {
            b.iter_batched_ref(
                || need.clone(),
                |data| guard.inspect(black_box(data), TODAY),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_scan_text, bench_inspect);
criterion_main!(benches);
