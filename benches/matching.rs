//! Criterion benchmark of matching (`samverkan::matching::match_need`).
//!
//! Matching cost per need must grow far slower than the catalogues (docs/matching.md). Target:
//! NEED-2026-0101 against 100,000 courses + 100,000 partners in under 1 ms (median); 1k and
//! 10k of each show the growth.
//!
//! The catalogues are generated deterministically (xorshift, fixed seed) from the shared
//! topic vocabulary (`common.v1.json#/$defs/topic`, 36 topics): every entry carries 2–5
//! topics drawn uniformly, so *every* topic is carried by about 10 % of the entries — the
//! popular-topic case — and a five-tag need shares a topic with roughly 40 % of each
//! catalogue. Intake windows, capacities, NDAs, subscriptions and regions are mixed so that
//! the filters pass some candidates and fail others, as in the sample data.

// Benchmark set-up may panic on missing sample data; that is not library code.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use samverkan::catalogue::Catalogue;
use samverkan::catalogue::model::{
    CaseIntake, Course, DataPolicy, ExternalCases, Instance, IntakeStatus, LanguageCode,
    LocalizedText, Nda, Partner, PartnerStatus, Subscription, Visibility,
};
use samverkan::matching::{MatchOptions, NeedProfile, REFERENCE_DATE, match_need};
use serde_json::Value;
use time::{Date, Duration};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const UNIVERSITIES: usize = 40;

/// Words course names, outcomes and partner descriptions are drawn from (sv and en).
const WORDS: &[&str] = &[
    "flow",
    "patient",
    "quality",
    "improvement",
    "capacity",
    "planning",
    "scheduling",
    "simulation",
    "model",
    "data",
    "analysis",
    "process",
    "lean",
    "safety",
    "handover",
    "logistics",
    "supply",
    "traceability",
    "instrument",
    "sterile",
    "emergency",
    "triage",
    "ward",
    "theatre",
    "surgery",
    "digital",
    "service",
    "design",
    "innovation",
    "management",
    "monitoring",
    "remote",
    "home",
    "elderly",
    "medication",
    "primary",
    "laboratory",
    "sample",
    "diagnostics",
    "device",
    "usability",
    "ergonomics",
    "learning",
    "change",
    "organisation",
    "flöde",
    "kvalitet",
    "förbättring",
    "kapacitet",
    "planering",
    "schemaläggning",
    "simulering",
    "patientsäkerhet",
    "överlämning",
    "logistik",
    "spårbarhet",
    "sterilteknik",
    "akutmottagning",
    "vårdavdelning",
    "operation",
    "tjänstedesign",
    "innovation",
    "hemsjukvård",
    "läkemedel",
    "provtagning",
    "diagnostik",
    "arbetsmiljö",
    "lärande",
    "förändring",
    "verksamhet",
    "mätning",
    "uppföljning",
    "väntetid",
    "kö",
    "resurser",
    "bemanning",
    "beslutsstöd",
];
const COUNTIES: &[&str] = &[
    "SE-AB", "SE-AC", "SE-BD", "SE-C", "SE-D", "SE-E", "SE-F", "SE-G", "SE-H", "SE-I", "SE-K",
    "SE-M", "SE-N", "SE-O", "SE-S", "SE-T", "SE-U", "SE-W", "SE-X", "SE-Y", "SE-Z",
];
const CALL_TYPES: &[&str] = &[
    "open_innovation_call",
    "market_dialogue",
    "procurement_notice",
    "testbed_offer",
    "research_collaboration",
];

/// Deterministic xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// `count` distinct items.
    fn distinct(&mut self, items: &[String], count: usize) -> Vec<String> {
        let mut chosen: Vec<String> = Vec::with_capacity(count);
        while chosen.len() < count.min(items.len()) {
            let item = &items[self.below(items.len())];
            if !chosen.contains(item) {
                chosen.push(item.clone());
            }
        }
        chosen
    }

    fn sentence(&mut self, words: usize) -> String {
        (0..words)
            .map(|_| self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn day_around(&mut self, base: Date, spread: i64) -> Date {
        base + Duration::days(self.below(2 * spread as usize) as i64 - spread)
    }
}

fn vocabulary() -> Vec<String> {
    let text = std::fs::read_to_string(format!("{ROOT}/schemas/common.v1.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    schema["$defs"]["topic"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

fn instance(rng: &mut Rng, code: &str, index: usize) -> Instance {
    let period = 1 + rng.below(4);
    let start = rng.day_around(REFERENCE_DATE + Duration::days(120), 150);
    let status = match rng.below(10) {
        0..=4 => IntakeStatus::Open,
        5..=7 => IntakeStatus::NotOpen,
        _ => IntakeStatus::Closed,
    };
    let opens_at = rng.day_around(REFERENCE_DATE, 40);
    let max_cases = 2 + rng.below(7) as u32;
    Instance {
        instance_id: format!("{code}-{index}"),
        academic_year: "2026/2027".to_owned(),
        study_periods: vec![format!("LP{period}")],
        start_date: start,
        end_date: start + Duration::days(60 + rng.below(80) as i64),
        case_intake: rng.chance(85).then(|| CaseIntake {
            opens_at,
            deadline: opens_at + Duration::days(40 + rng.below(60) as i64),
            status,
            max_cases,
            cases_accepted: rng.below(max_cases as usize + 1) as u32,
        }),
    }
}

fn course(rng: &mut Rng, topics: &[String], n: usize) -> Course {
    let code = format!("G{:02}{n:05}", n % 100);
    let count = 2 + rng.below(4);
    let instances = (0..1 + rng.below(2))
        .map(|i| instance(rng, &code, i))
        .collect();
    let policies = [
        DataPolicy::NoPersonalData,
        DataPolicy::AggregatedOrAnonymisedOnly,
        DataPolicy::SyntheticOrAnonymisedOnly,
    ];
    Course {
        course_code: code,
        name: LocalizedText {
            sv: Some(rng.sentence(4)),
            en: Some(rng.sentence(4)),
        },
        language_of_instruction: if rng.chance(50) {
            vec![LanguageCode::En]
        } else {
            vec![LanguageCode::Sv]
        },
        topics: rng.distinct(topics, count),
        learning_outcomes: (0..2 + rng.below(2)).map(|_| rng.sentence(6)).collect(),
        instances,
        external_cases: ExternalCases {
            accepts: rng.chance(80),
            max_cases_per_instance: 8,
            data_policy: policies[rng.below(policies.len())],
            nda_possible: rng.chance(50),
        },
    }
}

fn partner(rng: &mut Rng, topics: &[String], n: usize) -> Partner {
    let count = 2 + rng.below(4);
    let capability_tags = rng.distinct(topics, count);
    let regions = if rng.chance(30) {
        vec!["SE".to_owned()]
    } else {
        (0..1 + rng.below(3))
            .map(|_| rng.pick(COUNTIES).to_owned())
            .collect()
    };
    Partner {
        id: format!("partner-g{n:06}"),
        name: format!("Generated partner {n}"),
        description: rng.sentence(10),
        product_maturity_trl: rng.chance(80).then(|| 3 + rng.below(7) as u8),
        regions_served: regions.clone(),
        nda: Nda {
            signed: rng.chance(70),
            expires: Some(rng.day_around(REFERENCE_DATE + Duration::days(200), 365)),
        },
        subscription: Subscription {
            active: rng.chance(85),
            topics: capability_tags[..1 + rng.below(capability_tags.len())].to_vec(),
            regions,
            visibility_levels: if rng.chance(60) {
                vec![Visibility::Public, Visibility::PartnersNda]
            } else {
                vec![Visibility::Public]
            },
            trl_min: rng.chance(70).then(|| 1 + rng.below(7) as u8),
            languages: vec![LanguageCode::Sv, LanguageCode::En],
            call_types: vec![
                CALL_TYPES[rng.below(2)].to_owned(),
                rng.pick(CALL_TYPES).to_owned(),
            ],
            paused_until: rng.chance(5).then(|| REFERENCE_DATE + Duration::days(30)),
        },
        status: if rng.chance(90) {
            PartnerStatus::Active
        } else {
            PartnerStatus::PendingVerification
        },
        capability_tags,
    }
}

fn catalogue(size: usize) -> Catalogue {
    let topics = vocabulary();
    let mut rng = Rng(0x5EED_2026_1122);
    let mut catalogue = Catalogue::new();
    for n in 0..size {
        let org = match n % UNIVERSITIES {
            0 => "chalmers".to_owned(),
            1 => "mdu".to_owned(),
            u => format!("uni-{u:02}"),
        };
        catalogue
            .upsert_course_entry(&org, course(&mut rng, &topics, n))
            .unwrap();
        catalogue
            .upsert_partner_entry(partner(&mut rng, &topics, n))
            .unwrap();
    }
    catalogue
}

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
        let catalogue = catalogue(size);
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
}

criterion_group!(benches, bench_match_need);
criterion_main!(benches);
