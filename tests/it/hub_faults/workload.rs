//! Needs and answers to publish, and what the store must end up with.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Events: copies of NEED-2026-0101, and answers to them.

/// `count` copies of NEED-2026-0101 as `need.submitted` from VGR, ids `<prefix>-00001`….
pub(crate) fn need_events(prefix: &str, count: usize) -> Vec<(String, CloudEvent)> {
    let template = need_event("NEED-2026-0101");
    (1..=count)
        .map(|i| {
            let id = format!("{prefix}-{i:05}");
            let mut event = CloudEvent::new(
                template.event_type,
                template.source.clone(),
                Some(id.clone()),
                template.data.clone(),
            );
            event.data["id"] = Value::String(id);
            ("vgr".to_owned(), event)
        })
        .collect()
}

/// A small deterministic generator (SplitMix64): shuffles, event ids and times.
pub(crate) struct Rng(pub(crate) u64);

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

/// `count` answers to `need`, round-robin over its recipients (so a recipient answers several
/// times and only its latest answer counts), each as `(broker user, event)`.
///
/// Universities offer one of their matched course instances or decline; companies propose,
/// show interest or decline; with `declines_only` everyone declines. The times fall on three
/// minutes after `base`, so one recipient's answers often have the same time and the event id
/// decides; the ids begin with random hex, so their order is not the order they were made in.
pub(crate) fn answers_for(
    need: &Need,
    count: usize,
    base: OffsetDateTime,
    declines_only: bool,
    rng: &mut Rng,
    users: &HashMap<String, String>,
) -> Vec<(String, CloudEvent)> {
    let id = need.need_id.as_str();
    assert!(!need.recipients.is_empty(), "{id} has no recipients");
    (0..count)
        .map(|j| {
            let recipient = &need.recipients[j % need.recipients.len()];
            let round = j / need.recipients.len();
            let decline = json!({"needId": id, "decision": "decline"});
            let (event_type, data) = match recipient.kind {
                RecipientKind::University => {
                    let courses = recipient.courses.as_array().map_or(&[][..], Vec::as_slice);
                    let data = match courses {
                        [] => decline,
                        _ if declines_only || round % 2 == 1 => decline,
                        _ => {
                            let course = &courses[round % courses.len()];
                            json!({"needId": id, "decision": "offer",
                                "courseCode": course["courseCode"],
                                "instanceId": course["instanceId"]})
                        }
                    };
                    (EventType::OfferSubmitted, data)
                }
                RecipientKind::Company => {
                    let data = match (round + j) % 3 {
                        _ if declines_only => decline,
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
            event.id = EventId::parse(&event_id).expect("event id");
            event.time = base + time::Duration::minutes(rng.below(3) as i64);
            let user = users
                .get(org)
                .unwrap_or_else(|| panic!("{org} is not configured"));
            (user.clone(), event)
        })
        .collect()
}

/// Organisation id → broker user.
pub(crate) fn broker_users(settings: &Settings) -> HashMap<String, String> {
    settings
        .organisations
        .iter()
        .map(|o| (o.id.to_string(), o.broker_user.clone()))
        .collect()
}

/// The hub's rule: the latest answer is the one with the latest millisecond time, ties broken
/// by the greater event id.
pub(crate) fn latest(answers: &[&CloudEvent]) -> Option<String> {
    answers
        .iter()
        .max_by_key(|e| {
            (
                e.time.unix_timestamp_nanos() / 1_000_000,
                e.id.as_ref().to_owned(),
            )
        })
        .map(|e| e.id.as_ref().to_owned())
}
