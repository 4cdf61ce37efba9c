//! The store against both of its databases: every test runs on SQLite (a temporary file) and on
//! PostgreSQL (a fresh database per test, dropped afterwards, pass or fail).
//!
//! PostgreSQL is required: when it cannot be reached these tests fail and say how to start it.
//! `SAMVERKAN__STORE__PG_URL` points them at another server (default
//! `postgres://postgres@127.0.0.1:5432/test`; the user must be allowed to create databases).
//!
//! Store-specific helpers live here (running on both stores is `crate::on_both`); `commit` holds connecting, the inbox, transactions and the outbox,
//! `needs` the need rows: versions, answers, due dates and the audit trail, `upgrade` a store
//! migrated by an earlier version.

use std::collections::BTreeMap;

use samverkan::event::{EventId, Source};
use samverkan::need::RecipientKind;
use samverkan::need::{AnswerApplied, Decision, NeedId, NeedKey, NeedState, NewAnswer};
use samverkan::settings::OrgId;
use samverkan::store::{
    AuditAction, AuditEntry, Backend, NewNeed, NewRecipient, OutboxMessage, ReasonCode, Store,
    StoreError,
};
use serde_json::json;
use sqlx::{AnyConnection, Connection, Row};
use time::OffsetDateTime;
use time::macros::datetime;

pub(crate) use crate::on_both;

async fn open(url: &str) -> Store {
    Store::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

fn need_id(s: &str) -> NeedId {
    NeedId::parse(s).expect("need id")
}

fn org(s: &str) -> OrgId {
    OrgId::parse(s).expect("org id")
}

/// The key of VGR's need `s` (every seeded need is VGR's).
fn key(s: &str) -> NeedKey {
    NeedKey::new(org("VGR"), need_id(s))
}

fn new_need(id: &str, state: NeedState, respond_by: Option<OffsetDateTime>) -> NewNeed {
    NewNeed {
        need_id: need_id(id),
        region: org("VGR"),
        state,
        state_reason: None,
        respond_by,
        view: json!({"needId": id, "title": "Kortare väntetid på akuten", "tags": ["lean"]})
            .to_string(),
    }
}

fn recipient(id: &str, kind: RecipientKind, score: f64) -> NewRecipient {
    NewRecipient {
        org_id: org(id),
        kind,
        score,
        reasons: vec![format!("topics: lean ({id})")],
        courses: json!([{"code": "IMS902"}]),
    }
}

fn message(event: &str, routing_key: &str) -> OutboxMessage {
    OutboxMessage {
        event_id: EventId::parse(event).expect("event id"),
        exchange: "samverkan.egress".into(),
        routing_key: routing_key.into(),
        content_type: "application/cloudevents+json".into(),
        correlation_id: Some("NEED-1".into()),
        kind: None,
        message_id: None,
        headers: BTreeMap::from([("x-samverkan-kind".into(), "test".into())]),
        body: vec![0, 159, 146, 150, b'{', b'}'],
        recipient: None,
    }
}

/// A status event for `to`'s feed, numbered `n` in its body.
fn for_org(to: &str, event: &str, n: u8) -> OutboxMessage {
    OutboxMessage {
        kind: Some("se.samverkan.need.status.v1".into()),
        recipient: Some(org(to)),
        body: format!("{{\"n\":{n}}}").into_bytes(),
        ..message(event, &format!("{to}.se.samverkan.need.status.v1"))
    }
}

/// Event id number `n` (a valid UUID).
fn event(n: u8) -> String {
    format!("0190d0e0-0000-7000-8000-0000000000{n:02}")
}

fn answer(need: &str, from: &str, event: &str, time: OffsetDateTime, d: Decision) -> NewAnswer {
    NewAnswer {
        need_id: need_id(need),
        region: org("VGR"),
        org_id: org(from),
        source: Source::for_org(from),
        event_id: EventId::parse(event).expect("event id"),
        time,
        decision: d,
        detail: json!({"event": event}),
    }
}

/// Commits one published need with recipients `chalmers` (university) and `acme` (company).
async fn seed_need(store: &Store, id: &str, respond_by: OffsetDateTime) {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_need(&new_need(id, NeedState::Published, Some(respond_by)))
        .await
        .expect("insert need");
    let recipients = [
        recipient("chalmers", RecipientKind::University, 0.9),
        recipient("acme", RecipientKind::Company, 0.4),
    ];
    tx.insert_recipients(&key(id), &recipients)
        .await
        .expect("insert recipients");
    tx.commit().await.expect("commit");
}

mod behind;
mod commit;
mod feed;
mod listing;
mod needs;
mod savepoint;
mod upgrade;
