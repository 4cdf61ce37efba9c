//! Criterion benchmark of matching (`samverkan::matching::match_need`).
//!
//! Matching cost per need must grow far slower than the catalogues (docs/matching.md). Target:
//! NEED-2026-0101 against 100,000 courses + 100,000 partners in under 1 ms (median); 1k and
//! 10k of each show the growth.
//!
//! `match_need_for/…` is the same need as the hub matches it: reasons only for the
//! organisations it has (the sample configuration's `chalmers` and `mdu`; the generated ones
//! are not configured, so their matches are dropped unread).
//!
//! The catalogues come from `samverkan::catalogue::synthetic`, the generator `samverkan bench
//! --catalogue N` uses too: deterministic, every topic carried by about 10 % of the entries.

// Benchmark set-up may panic on missing sample data; that is not library code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use samverkan::catalogue::synthetic::catalogue;
use samverkan::matching::{MatchOptions, NeedProfile, REFERENCE_DATE, match_need, match_need_for};
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn need_0101() -> NeedProfile {
    let text = std::fs::read_to_string(format!("{ROOT}/sample-data/needs.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let need = doc["needs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "NEED-2026-0101")
        .unwrap();
    NeedProfile::from_need(need).unwrap()
}

fn bench_match_need(c: &mut Criterion) {
    let profile = need_0101();
    let options = MatchOptions::default();
    let mut group = c.benchmark_group("match_need/NEED-2026-0101");
    for size in SIZES {
        let catalogue = catalogue(size).expect("a generated catalogue");
        let outcome = match_need(&profile, &catalogue, &options, REFERENCE_DATE);
        eprintln!(
            "{size} courses + {size} partners: {} candidates considered, {} scored, \
             {} universities, {} companies",
            outcome.candidates_considered,
            outcome.candidates_scored,
            outcome.universities.len(),
            outcome.companies.len()
        );
        group.bench_with_input(
            BenchmarkId::from_parameter(size),
            &catalogue,
            |b, catalogue| {
                b.iter(|| match_need(black_box(&profile), catalogue, &options, REFERENCE_DATE));
            },
        );
    }
    group.finish();
    let mut hub = c.benchmark_group("match_need_for/NEED-2026-0101");
    let configured = |id: &str| matches!(id, "chalmers" | "mdu");
    for size in SIZES {
        let catalogue = catalogue(size).expect("a generated catalogue");
        hub.bench_with_input(
            BenchmarkId::from_parameter(size),
            &catalogue,
            |b, catalogue| {
                b.iter(|| {
                    match_need_for(
                        black_box(&profile),
                        catalogue,
                        &options,
                        REFERENCE_DATE,
                        &configured,
                    )
                });
            },
        );
    }
    hub.finish();
}

criterion_group!(benches, bench_match_need);
criterion_main!(benches);
