//! Counting, after a fault: from the store (every event's effect exactly once) and from the
//! organisation queues (every outbound message arrived at least once).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use samverkan::event::{CloudEvent, Source};
use samverkan::transport::Topology;
use serde_json::Value;
use sqlx::AnyPool;

use crate::broker::Vhost;
use crate::workload::latest;

#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Events whose effect is missing, plus outbound messages that never reached their queue.
    pub lost: usize,
    /// Effects applied more than once (routed twice, an answer applied twice, a status or a
    /// challenge written twice).
    pub duplicated: usize,
    /// Needs whose state, version or latest answers disagree with what was sent.
    pub wrong: usize,
    /// Outbound messages that arrived more than once (allowed: receivers dedupe by id).
    pub wire_duplicates: usize,
    pub notes: Vec<String>,
}

impl Counts {
    fn note(&mut self, note: String) {
        if self.notes.len() < 12 {
            self.notes.push(note);
        }
    }
}

pub(crate) async fn check(
    db: &AnyPool,
    vhost: &Vhost,
    needs: &[(String, CloudEvent)],
    answers: &[(String, CloudEvent)],
) -> anyhow::Result<Counts> {
    let mut c = Counts::default();
    let stored: HashMap<String, (String, i64)> =
        sqlx::query_as::<_, (String, String, i64)>("SELECT need_id, state, version FROM needs")
            .fetch_all(db)
            .await?
            .into_iter()
            .map(|(id, state, version)| (id, (state, version)))
            .collect();
    let mut inbox: HashMap<String, usize> = HashMap::new();
    for id in sqlx::query_scalar::<_, String>("SELECT event_id FROM inbox")
        .fetch_all(db)
        .await?
    {
        *inbox.entry(id).or_default() += 1;
    }
    let mut recorded: HashMap<String, usize> = HashMap::new();
    for id in sqlx::query_scalar::<_, String>("SELECT event_id FROM answers")
        .fetch_all(db)
        .await?
    {
        *recorded.entry(id).or_default() += 1;
    }
    let audit: Vec<(Option<String>, String, Option<String>)> = sqlx::query_as(
        "SELECT need_id, action, event_id FROM audit \
         WHERE action IN ('routed', 'answered', 'state_changed')",
    )
    .fetch_all(db)
    .await?;
    let mut routed: HashMap<String, usize> = HashMap::new();
    let mut applied: HashMap<String, usize> = HashMap::new();
    let mut answered_per_need: HashMap<String, usize> = HashMap::new();
    let mut state_changes: HashMap<String, usize> = HashMap::new();
    for (need, action, event) in audit {
        let need = need.unwrap_or_default();
        match action.as_str() {
            "routed" => *routed.entry(need).or_default() += 1,
            "answered" => {
                *applied.entry(event.unwrap_or_default()).or_default() += 1;
                *answered_per_need.entry(need).or_default() += 1;
            }
            _ => *state_changes.entry(need).or_default() += 1,
        }
    }
    let recipients: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT need_id, org_id, answer_event_id FROM recipients")
            .fetch_all(db)
            .await?;
    let outbox: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT event_id, routing_key, correlation_id FROM outbox")
            .fetch_all(db)
            .await?;
    let unsent =
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM outbox WHERE sent_at_ms IS NULL")
            .fetch_one(db)
            .await?;

    // Needs: stored once, routed once.
    for (_, event) in needs {
        let id = event.subject.clone().unwrap_or_default();
        let in_inbox = inbox.get(event.id.as_ref()).copied().unwrap_or(0);
        if !stored.contains_key(&id) || in_inbox == 0 {
            c.lost += 1;
            c.note(format!(
                "need {id} lost (stored: {}, inbox: {in_inbox})",
                stored.contains_key(&id)
            ));
        }
        let times = routed.get(&id).copied().unwrap_or(0);
        if times > 1 || in_inbox > 1 {
            c.duplicated += 1;
            c.note(format!(
                "need {id} routed {times} times, {in_inbox} in the inbox"
            ));
        }
    }
    // Answers: recorded once, applied at most once.
    let mut sent_for: BTreeMap<&str, Vec<&CloudEvent>> = BTreeMap::new();
    for (_, event) in answers {
        let id = event.id.as_ref();
        sent_for
            .entry(event.subject.as_deref().unwrap_or_default())
            .or_default()
            .push(event);
        let rows = recorded.get(id).copied().unwrap_or(0);
        let in_inbox = inbox.get(id).copied().unwrap_or(0);
        if rows == 0 || in_inbox == 0 {
            c.lost += 1;
            c.note(format!(
                "answer {id} lost (recorded {rows}, inbox {in_inbox})"
            ));
        }
        if rows > 1 || in_inbox > 1 || applied.get(id).copied().unwrap_or(0) > 1 {
            c.duplicated += 1;
            c.note(format!("answer {id} applied more than once"));
        }
    }
    let sent_ids: BTreeSet<&str> = needs
        .iter()
        .chain(answers)
        .map(|(_, e)| e.id.as_ref())
        .collect();
    let strangers = inbox
        .keys()
        .filter(|id| !sent_ids.contains(id.as_str()))
        .count();
    if strangers > 0 {
        c.wrong += strangers;
        c.note(format!("{strangers} inbox entries for events never sent"));
    }

    // Each need: state, latest answers, one version, one status per version, one challenge or
    // call per recipient.
    let status_key = Topology::egress_routing_key("VGR", samverkan::event::EventType::NeedStatus);
    let mut statuses: HashMap<&str, i64> = HashMap::new();
    let mut calls: HashMap<&str, i64> = HashMap::new();
    for (_, key, correlation) in &outbox {
        let Some(need) = correlation.as_deref() else {
            continue;
        };
        let map = if *key == status_key {
            &mut statuses
        } else {
            &mut calls
        };
        *map.entry(need).or_default() += 1;
    }
    let mut latest_of: HashMap<(&str, &str), Option<&str>> = HashMap::new();
    let mut recipients_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (need, org, answer) in &recipients {
        latest_of.insert((need, org), answer.as_deref());
        recipients_of.entry(need).or_default().push(org);
    }
    for (_, event) in needs {
        let id = event.subject.as_deref().unwrap_or_default();
        let Some((state, version)) = stored.get(id) else {
            continue;
        };
        let sent = sent_for.get(id).map_or(&[][..], Vec::as_slice);
        let positive = sent.iter().any(|e| e.data["decision"] != "decline");
        let expected_state = if positive { "answered" } else { "published" };
        let answered = answered_per_need.get(id).copied().unwrap_or(0) as i64;
        let mut problems = Vec::new();
        if state != expected_state {
            problems.push(format!("state {state}, expected {expected_state}"));
        }
        if *version != 1 + answered {
            problems.push(format!(
                "version {version} after {answered} answers applied"
            ));
        }
        if state_changes.get(id).copied().unwrap_or(0) != usize::from(positive) {
            problems.push("state changes".to_owned());
        }
        let orgs = recipients_of.get(id).map_or(&[][..], Vec::as_slice);
        for &org in orgs {
            let source = Source::for_org(org);
            let from = sent.iter().copied().filter(|e| e.source == source);
            let expected = latest(from).map(|e| e.id.as_ref());
            let actual = latest_of.get(&(id, org)).copied().flatten();
            if expected != actual {
                problems.push(format!(
                    "latest answer of {org}: {actual:?}, sent {expected:?}"
                ));
            }
        }
        if !problems.is_empty() {
            c.wrong += 1;
            c.note(format!("{id}: {}", problems.join("; ")));
        }
        let written = statuses.get(id).copied().unwrap_or(0);
        let others = calls.get(id).copied().unwrap_or(0);
        let wanted = orgs.len() as i64;
        if written > *version || others > wanted {
            c.duplicated += 1;
            c.note(format!("{id}: {written} statuses for version {version}, {others} calls for {wanted} recipients"));
        } else if written < *version || others < wanted {
            c.lost += 1;
            c.note(format!("{id}: {written} statuses for version {version}, {others} calls for {wanted} recipients"));
        }
    }

    // The wire: every outbox row reached its organisation's queue (duplicates allowed).
    if unsent > 0 {
        c.note(format!("{unsent} outbox rows never marked sent"));
    }
    let mut expected: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (event_id, key, _) in &outbox {
        let org = key.split('.').next().unwrap_or_default();
        expected.entry(org).or_default().insert(event_id);
    }
    for (org, ids) in &expected {
        let bodies = vhost.drain(&Topology::org_queue_name(org)).await?;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for body in bodies {
            let event: Value = serde_json::from_slice(&body).unwrap_or_default();
            let id = event["id"].as_str().unwrap_or_default().to_owned();
            *seen.entry(id).or_default() += 1;
        }
        let missing = ids.iter().filter(|id| !seen.contains_key(**id)).count();
        let twice: usize = seen.values().map(|n| n - 1).sum();
        let strangers = seen.keys().filter(|id| !ids.contains(id.as_str())).count();
        c.wire_duplicates += twice;
        if missing > 0 {
            c.lost += missing;
            c.note(format!(
                "{missing} of {} messages for {org} never reached its queue",
                ids.len()
            ));
        }
        if strangers > 0 {
            c.wrong += strangers;
            c.note(format!(
                "{strangers} messages on {org}'s queue that the outbox does not have"
            ));
        }
    }
    Ok(c)
}
