//! Generated catalogues for benchmarks: courses and partners at any scale, deterministic, from
//! the contract's topic vocabulary (`common.v1.json#/$defs/topic`, 36 topics).
//!
//! The sample data has twenty entries; matching and the hub must be measured against
//! catalogues the size of a country's (the matching bench, `samverkan bench --catalogue N`).
//! Every entry carries 2–5 topics drawn uniformly, so *every* topic is carried by about 10 %
//! of the entries — the popular-topic case — and a five-tag need shares a topic with roughly
//! 40 % of each catalogue. Intake windows, capacities, NDAs, subscriptions and regions are
//! mixed so that the filters pass some candidates and fail others, as in the sample data. The
//! generated universities (other than `chalmers` and `mdu`) and partners are not configured
//! organisations, so the hub matches against them but routes nothing to them.

use serde_json::Value;
use time::{Date, Duration};

use super::model::{
    CaseIntake, Course, DataPolicy, ExternalCases, Instance, IntakeStatus, LanguageCode,
    LocalizedText, Nda, Partner, PartnerStatus, Subscription, Visibility,
};
use super::{Catalogue, CatalogueError};
use crate::clock::REFERENCE_DATE;

const COMMON_SCHEMA: &str = include_str!("../../schemas/common.v1.json");
/// Universities the generated courses belong to.
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

/// The contract's topic vocabulary (`common.v1.json#/$defs/topic`).
fn vocabulary() -> Vec<String> {
    let schema: Value = serde_json::from_str(COMMON_SCHEMA).unwrap_or_default();
    schema["$defs"]["topic"]["enum"]
        .as_array()
        .map(|topics| {
            topics
                .iter()
                .filter_map(|t| Some(t.as_str()?.to_owned()))
                .collect()
        })
        .unwrap_or_default()
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

/// Adds `size` generated courses and `size` generated partners to `catalogue`: courses of
/// `chalmers`, `mdu` and `uni-02` … `uni-39` in turn, partners `partner-g000000` … . The same
/// `size` always gives the same entries.
///
/// # Errors
///
/// When an entry cannot be added (a generated course code or partner id that is taken).
pub fn extend(catalogue: &mut Catalogue, size: usize) -> Result<(), CatalogueError> {
    let topics = vocabulary();
    let mut rng = Rng(0x5EED_2026_1122);
    for n in 0..size {
        let org = match n % UNIVERSITIES {
            0 => "chalmers".to_owned(),
            1 => "mdu".to_owned(),
            u => format!("uni-{u:02}"),
        };
        catalogue.upsert_course_entry(&org, course(&mut rng, &topics, n))?;
        catalogue.upsert_partner_entry(partner(&mut rng, &topics, n))?;
    }
    Ok(())
}

/// A catalogue of `size` generated courses and `size` generated partners (see [`extend`]).
///
/// # Errors
///
/// As [`extend`].
pub fn catalogue(size: usize) -> Result<Catalogue, CatalogueError> {
    let mut catalogue = Catalogue::new();
    extend(&mut catalogue, size)?;
    Ok(catalogue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vocabulary_is_the_contracts_36_topics() {
        assert_eq!(vocabulary().len(), 36);
    }

    #[test]
    fn the_same_size_gives_the_same_catalogue() {
        let a = catalogue(50).expect("generated");
        let b = catalogue(50).expect("generated");
        let course = |c: &Catalogue, code: &str| format!("{:?}", c.course("mdu", code));
        assert_eq!(course(&a, "G4100041"), course(&b, "G4100041"));
        let partner = |c: &Catalogue| format!("{:?}", c.partner("partner-g000049"));
        assert_eq!(partner(&a), partner(&b));
        assert!(a.course("chalmers", "G0000000").is_some());
        assert!(a.partner("partner-g000049").is_some());
        assert!(a.partner("partner-g000050").is_none());
    }
}
