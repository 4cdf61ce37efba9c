//! Looking at dead letters and replaying them: one API for the CLI and the web console, on
//! RabbitMQ and on the in-process broker alike.
//!
//! # Why a replay goes through its own queue
//!
//! A replayed dead letter must re-enter the pipeline *as its original sender*, not as the
//! operator who replays it, and be refused again with the same code when nothing changed. The
//! sender is known from the dead letter's `x-samverkan-sender` header, which the hub wrote
//! after authenticating it. A partner could write such a header too, so the hub trusts it only
//! on messages taken from [`HUB_REPLAY_QUEUE`]: a queue bound to no exchange, reached through
//! the default exchange, which partners cannot write to (their permission is
//! `^samverkan\.ingress$`). The transport marks deliveries from that queue with
//! [`Replay`](super::Replay); the pipeline then authenticates the sender by organisation id.
//!
//! # Nothing lost, nothing done twice
//!
//! A replay takes the dead letters it replays from `samverkan.hub.dead`, publishes each to the
//! replay queue with a confirm, and only then acknowledges the dead letter. Everything else it
//! looked at goes back untouched. A tool that dies between the confirm and the ack leaves the
//! dead letter in place: it may be replayed a second time, and the hub's inbox makes that
//! second delivery a duplicate.
//!
//! # What is replayable
//!
//! Only what the hub itself refused or could not process, with the body as sent and a known
//! sender; see [`not_replayable`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::TransportError;
use super::dead_letter::{
    BODY_BYTES_HEADER, BODY_HEADER, BODY_SHA256_HEADER, DEAD_LETTER_ID_HEADER,
    DEAD_LETTERED_AT_HEADER, DETAIL_HEADER, ERRORS_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER,
    NEED_ID_HEADER, ORIGINAL_ROUTING_KEY_HEADER, REASON_HEADER, REPLAYS_HEADER, SENDER_HEADER,
    SOURCE_HEADER, kept_headers, sha256_hex,
};
use super::message::{Inbound, Outbound};
use super::topology::{HUB_DEAD_QUEUE, HUB_REPLAY_QUEUE};

/// A boxed future, so [`DeadLetterAdmin`] is object-safe.
pub type AdminFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TransportError>> + Send + 'a>>;

/// Reading and replaying the hub's dead letters, whatever the broker.
pub trait DeadLetterAdmin: Send + Sync {
    /// Up to `limit` dead letters, oldest first, and the count per reason; nothing is taken
    /// out of the queue.
    fn list(&self, limit: usize) -> AdminFuture<'_, DeadLetters>;
    /// Everything one dead letter keeps except its body; `None` when no dead letter has `id`.
    fn show<'a>(&'a self, id: &'a str) -> AdminFuture<'a, Option<DeadLetterDetail>>;
    /// Replay the dead letters `selector` picks: each replayable one is published to the
    /// replay queue (confirmed) and then removed from the dead letters.
    fn replay<'a>(&'a self, selector: &'a Selector) -> AdminFuture<'a, ReplayReport>;
    /// What [`replay`](Self::replay) would do, changing nothing (`--dry-run`).
    fn check<'a>(&'a self, selector: &'a Selector) -> AdminFuture<'a, ReplayReport>;
}

/// One dead letter, without its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    /// Its id: `x-samverkan-dead-letter-id`, or for dead letters made before the hub stamped
    /// one (and those the broker made) the event id, else the message id, else the body's
    /// SHA-256 (see `id_kind`).
    pub id: String,
    /// Where `id` comes from: `dead_letter`, `event_id`, `message_id` or `sha256`.
    pub id_kind: &'static str,
    /// The hub's reason code (`x-samverkan-reason`), or the broker's reason prefixed
    /// `broker:` (e.g. `broker:delivery_limit`) when the broker dead-lettered it.
    pub reason: String,
    /// What the hub said about it (`x-samverkan-detail`); empty for broker dead letters.
    pub detail: String,
    /// The original message id (usually the event id), when it had one.
    pub message_id: Option<String>,
    /// The refused event's id (`x-samverkan-event-id`), when it could be read.
    pub event_id: Option<String>,
    /// The organisation that sent it (`x-samverkan-sender`), when it was authenticated.
    pub sender: Option<String>,
    /// The need it concerns (`x-samverkan-need-id`), for need-scoped events.
    pub need_id: Option<String>,
    /// The routing key it was first published with (the event type it claimed).
    pub routing_key: String,
    /// What the dead letter holds of the body: `original`, `redacted` or `withheld`
    /// (`x-samverkan-body`); `original` for broker dead letters.
    pub body: String,
    /// Size in bytes of the body as it was received.
    pub bytes: usize,
    /// How many times the message was replayed before this dead letter was made.
    pub replays: u32,
}

/// One dead letter in full, without its body (`dead-letters show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetterDetail {
    /// What the listing shows.
    #[serde(flatten)]
    pub letter: DeadLetter,
    /// The refused event's `source`, when it could be read.
    pub source: Option<String>,
    /// The refused event's `type`, when it could be read.
    pub event_type: Option<String>,
    /// Where the event was wrong (schema error pointers, the guard's finding kinds and
    /// positions), as the sender was told; never values.
    pub errors: Vec<ErrorAt>,
    /// Hex SHA-256 of the body as it was received.
    pub sha256: String,
    /// When the hub dead-lettered it (RFC 3339), when it said so.
    pub dead_lettered_at: Option<String>,
    /// The queue the broker dead-lettered it from, for broker dead letters.
    pub first_death_queue: Option<String>,
    /// Why it cannot be replayed; `None` when it can.
    pub not_replayable: Option<String>,
}

/// One per-location error of a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorAt {
    /// JSON pointer into the refused event.
    pub instance_path: String,
    /// What is wrong there.
    pub message: String,
}

/// What a peek saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetters {
    /// The queue.
    pub queue: String,
    /// Messages ready in the queue when looked at (not those another consumer holds, nor
    /// those a channel closed a moment ago is still giving back).
    pub total: u32,
    /// How many of each reason among those shown.
    pub by_reason: BTreeMap<String, usize>,
    /// The first `limit` messages, oldest first.
    pub messages: Vec<DeadLetter>,
}

impl DeadLetters {
    /// The listing of `messages` (already limited) out of `total`.
    pub(crate) fn of(total: u32, messages: Vec<DeadLetter>) -> Self {
        let mut by_reason = BTreeMap::new();
        for m in &messages {
            *by_reason.entry(m.reason.clone()).or_insert(0) += 1;
        }
        Self {
            queue: HUB_DEAD_QUEUE.to_owned(),
            total,
            by_reason,
            messages,
        }
    }
}

/// Which dead letters to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// These ids (as [`DeadLetter::id`] gives them).
    Ids(Vec<String>),
    /// Every dead letter with this reason code.
    Reason(String),
}

impl Selector {
    /// Whether `letter` is picked.
    #[must_use]
    pub fn picks(&self, letter: &DeadLetter) -> bool {
        match self {
            Self::Ids(ids) => ids.contains(&letter.id),
            Self::Reason(code) => *code == letter.reason,
        }
    }
}

/// What became of one picked dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReplayOutcome {
    /// Published to the replay queue and removed from the dead letters.
    Replayed,
    /// Would be replayed (dry run).
    Replayable,
    /// Left where it is, for this reason.
    NotReplayable {
        /// Why, for an operator.
        why: String,
    },
    /// The replay queue did not take it (not confirmed); the dead letter stays.
    Failed {
        /// The broker's error.
        error: String,
    },
    /// No dead letter has this id.
    NotFound,
}

/// One line of a [`ReplayReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayItem {
    /// The dead letter's id (or the id asked for, when not found).
    pub id: String,
    /// Its reason code, when found.
    pub reason: Option<String>,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: ReplayOutcome,
}

/// What a replay did (or, dry, would do), one item per picked dead letter or unknown id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// The items, in queue order, then the ids not found.
    pub items: Vec<ReplayItem>,
}

impl ReplayReport {
    /// How many were replayed.
    #[must_use]
    pub fn replayed(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.outcome == ReplayOutcome::Replayed)
            .count()
    }

    /// The report of `items` for `selector`: ids asked for and not seen are added as
    /// [`ReplayOutcome::NotFound`].
    pub(crate) fn of(selector: &Selector, dry_run: bool, mut items: Vec<ReplayItem>) -> Self {
        if let Selector::Ids(ids) = selector {
            for id in ids {
                if !items.iter().any(|i| i.id == *id) {
                    items.push(ReplayItem {
                        id: id.clone(),
                        reason: None,
                        outcome: ReplayOutcome::NotFound,
                    });
                }
            }
        }
        Self { dry_run, items }
    }
}

/// The listing view of a dead letter as taken from `samverkan.hub.dead`.
#[must_use]
pub fn describe(message: &Inbound) -> DeadLetter {
    let h = &message.headers;
    let reason = match (h.get(REASON_HEADER), h.get(FIRST_DEATH_REASON)) {
        (Some(code), _) => code.clone(),
        (None, Some(broker)) => format!("broker:{broker}"),
        (None, None) => "unknown".to_owned(),
    };
    let event_id = h.get(EVENT_ID_HEADER).cloned();
    let (id, id_kind) = match (h.get(DEAD_LETTER_ID_HEADER), &event_id, &message.message_id) {
        (Some(id), _, _) => (id.clone(), "dead_letter"),
        (None, Some(id), _) => (id.clone(), "event_id"),
        (None, None, Some(id)) => (id.clone(), "message_id"),
        (None, None, None) => (sha256_hex(&message.body), "sha256"),
    };
    DeadLetter {
        id,
        id_kind,
        reason,
        detail: h.get(DETAIL_HEADER).cloned().unwrap_or_default(),
        message_id: message.message_id.clone(),
        event_id,
        sender: h.get(SENDER_HEADER).cloned(),
        need_id: h.get(NEED_ID_HEADER).cloned(),
        routing_key: h
            .get(ORIGINAL_ROUTING_KEY_HEADER)
            .cloned()
            .unwrap_or_else(|| message.routing_key.clone()),
        body: h
            .get(BODY_HEADER)
            .cloned()
            .unwrap_or_else(|| "original".to_owned()),
        bytes: h
            .get(BODY_BYTES_HEADER)
            .and_then(|b| b.parse().ok())
            .unwrap_or(message.body.len()),
        replays: h
            .get(REPLAYS_HEADER)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    }
}

/// Everything a dead letter keeps except its body.
#[must_use]
pub fn detail(message: &Inbound) -> DeadLetterDetail {
    let h = &message.headers;
    DeadLetterDetail {
        letter: describe(message),
        source: h.get(SOURCE_HEADER).cloned(),
        event_type: h.get(EVENT_TYPE_HEADER).cloned(),
        errors: h
            .get(ERRORS_HEADER)
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_default(),
        sha256: h
            .get(BODY_SHA256_HEADER)
            .cloned()
            .unwrap_or_else(|| sha256_hex(&message.body)),
        dead_lettered_at: h.get(DEAD_LETTERED_AT_HEADER).cloned(),
        first_death_queue: h.get(FIRST_DEATH_QUEUE).cloned(),
        not_replayable: not_replayable(message),
    }
}

/// RabbitMQ's header naming why it dead-lettered a message itself.
const FIRST_DEATH_REASON: &str = "x-first-death-reason";
/// RabbitMQ's header naming the queue it dead-lettered a message from.
const FIRST_DEATH_QUEUE: &str = "x-first-death-queue";

/// Why `message` (a dead letter) cannot be replayed, or `None` when it can: the hub must have
/// refused it (not the broker), kept its body as sent, and known its sender.
#[must_use]
pub fn not_replayable(message: &Inbound) -> Option<String> {
    let h = &message.headers;
    if !h.contains_key(REASON_HEADER) {
        return Some(
            "the broker dead-lettered it, not the hub (delivery limit or rejection); \
             only what the hub refused or could not process is replayable"
                .to_owned(),
        );
    }
    match h.get(BODY_HEADER).map(String::as_str) {
        None | Some("original") => {}
        Some("redacted") => {
            return Some(
                "the body was not kept as sent (personal data was redacted); \
                 ask the sender to send it again"
                    .to_owned(),
            );
        }
        Some(_) => {
            return Some("the body was not kept; ask the sender to send it again".to_owned());
        }
    }
    if !h.contains_key(SENDER_HEADER) {
        return Some(
            "the sender was never authenticated, so it cannot be replayed in anyone's name; \
             ask the sender to send it again"
                .to_owned(),
        );
    }
    None
}

/// The message that replays `dead` (a replayable dead letter) through [`HUB_REPLAY_QUEUE`]:
/// its body, content type and kept CloudEvents headers, the original routing key, sender and
/// dead-letter id, and the replay count + 1.
#[must_use]
pub fn replay_message(dead: &Inbound) -> Outbound {
    let letter = describe(dead);
    let mut headers = kept_headers(&dead.headers);
    let mut put = |name: &str, value: String| {
        headers.insert(name.to_owned(), value);
    };
    put(ORIGINAL_ROUTING_KEY_HEADER, letter.routing_key.clone());
    put(DEAD_LETTER_ID_HEADER, letter.id.clone());
    put(
        REPLAYS_HEADER,
        (letter.replays.saturating_add(1)).to_string(),
    );
    if let Some(sender) = letter.sender {
        put(SENDER_HEADER, sender);
    }
    Outbound {
        // The default exchange: the queue by name, and nobody but the hub's side may write it.
        exchange: String::new(),
        routing_key: HUB_REPLAY_QUEUE.to_owned(),
        body: dead.body.clone(),
        content_type: dead.content_type.clone(),
        message_id: dead.message_id.clone(),
        correlation_id: None,
        kind: None,
        headers,
    }
}

/// Whether to replay one taken dead letter: the item for the report, and whether to publish.
pub(crate) fn decide(
    message: &Inbound,
    selector: &Selector,
    dry_run: bool,
) -> Option<(ReplayItem, bool)> {
    let letter = describe(message);
    if !selector.picks(&letter) {
        return None;
    }
    let (outcome, go) = match not_replayable(message) {
        Some(why) => (ReplayOutcome::NotReplayable { why }, false),
        None if dry_run => (ReplayOutcome::Replayable, false),
        None => (ReplayOutcome::Replayed, true),
    };
    let item = ReplayItem {
        id: letter.id,
        reason: Some(letter.reason),
        outcome,
    };
    Some((item, go))
}

#[cfg(test)]
mod tests;
