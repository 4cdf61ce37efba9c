//! Needs and answers to stream (as in tests/it/hub_faults/workload.rs).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use samverkan::catalogue::strip_annotations;
use samverkan::event::{CloudEvent, EventId, EventType, Source};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// `count` copies of the sample need NEED-2026-0101 as `need.submitted` from VGR, ids
/// `<prefix>-00001`…, each as (broker user, event).
pub(crate) fn need_events(
    repo: &Path,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<(String, CloudEvent)>> {
    let text = std::fs::read_to_string(repo.join("sample-data/needs.json"))
        .context("sample-data/needs.json")?;
    let all: Value = serde_json::from_str(&text)?;
    let mut template = all["needs"]
        .as_array()
        .and_then(|needs| needs.iter().find(|n| n["id"] == "NEED-2026-0101"))
        .context("NEED-2026-0101 in sample-data/needs.json")?
        .clone();
    strip_annotations(&mut template);
    Ok((1..=count)
        .map(|i| {
            let id = format!("{prefix}-{i:05}");
            let mut data = template.clone();
            data["id"] = Value::String(id.clone());
            let event = CloudEvent::new(
                EventType::NeedSubmitted,
                Source::for_org("VGR"),
                Some(id),
                data,
            );
            ("vgr".to_owned(), event)
        })
        .collect())
}

/// A recipient of the needs (all copies of one need have the same ones).
pub(crate) struct Recipient {
    pub org_id: String,
    pub university: bool,
    pub courses: Value,
}

/// A small deterministic generator (SplitMix64): shuffles, event ids and times.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// `count` answers to need `id`, round-robin over its `recipients`: universities offer one of
/// their matched course instances or decline; companies propose, show interest or decline.
/// Times fall within three minutes after `base`; ids begin with random hex.
pub(crate) fn answers_for(
    id: &str,
    recipients: &[Recipient],
    count: usize,
    base: OffsetDateTime,
    rng: &mut Rng,
    users: &HashMap<String, String>,
) -> Vec<(String, CloudEvent)> {
    (0..count)
        .map(|j| {
            let recipient = &recipients[j % recipients.len()];
            let round = j / recipients.len();
            let decline = json!({"needId": id, "decision": "decline"});
            let (event_type, data) = match recipient.university {
                true => {
                    let courses = recipient.courses.as_array().map_or(&[][..], Vec::as_slice);
                    let data = match courses {
                        [] => decline,
                        _ if (round + j) % 3 == 2 => decline,
                        _ => {
                            let course = &courses[round % courses.len()];
                            json!({"needId": id, "decision": "offer",
                                "courseCode": course["courseCode"],
                                "instanceId": course["instanceId"]})
                        }
                    };
                    (EventType::OfferSubmitted, data)
                }
                false => {
                    let data = match (round + j) % 3 {
                        0 => json!({"needId": id, "decision": "proposal",
                            "summary": "A twelve-week pilot of our flow dashboard.", "trl": 7}),
                        1 => json!({"needId": id, "decision": "interest"}),
                        _ => decline,
                    };
                    (EventType::ProposalSubmitted, data)
                }
            };
            let org = recipient.org_id.as_str();
            let mut event =
                CloudEvent::new(event_type, Source::for_org(org), Some(id.to_owned()), data);
            let event_id = format!("{:08x}-{id}-{j:02}", rng.next() as u32);
            event.id = EventId::parse(&event_id).expect("a valid event id");
            event.time = base + time::Duration::minutes(rng.below(3) as i64);
            let user = users.get(org).cloned().unwrap_or_else(|| org.to_owned());
            (user, event)
        })
        .collect()
}

/// The hub's rule: the latest answer has the latest millisecond time, ties broken by the
/// greater event id.
pub(crate) fn latest<'a>(answers: impl Iterator<Item = &'a CloudEvent>) -> Option<&'a CloudEvent> {
    answers.max_by_key(|e| {
        (
            e.time.unix_timestamp_nanos() / 1_000_000,
            e.id.as_ref().to_owned(),
        )
    })
}
