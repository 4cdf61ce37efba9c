//! The store against both of its databases: every test runs on SQLite (a temporary file) and on
//! PostgreSQL (a fresh database per test, dropped afterwards, pass or fail).
//!
//! PostgreSQL is required: when it cannot be reached these tests fail and say how to start it.
//! `SAMVERKAN__STORE__PG_URL` points them at another server (default
//! `postgres://postgres@127.0.0.1:5432/test`; the user must be allowed to create databases).

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_lite::FutureExt as _;
use samverkan::event::{EventId, Source};
use samverkan::settings::OrgId;
use samverkan::store::{
    AnswerApplied, AuditAction, AuditEntry, Backend, Decision, NeedId, NeedState, NewAnswer,
    NewNeed, NewRecipient, OutboxMessage, ReasonCode, RecipientKind, Store, StoreError, redact_url,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row};
use time::OffsetDateTime;
use time::macros::datetime;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const START_PG: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) \
     main start`, or point SAMVERKAN__STORE__PG_URL at a server that is running";

/// Runs `test` once on a fresh SQLite file and once on a fresh PostgreSQL database.
async fn on_both<F, Fut>(test: F)
where
    F: Fn(Backend, String) -> Fut,
    Fut: Future<Output = ()>,
{
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite://{}", dir.path().join("store.db").display());
    bounded(Backend::Sqlite, test(Backend::Sqlite, sqlite)).await;

    let admin_url = std::env::var("SAMVERKAN__STORE__PG_URL").unwrap_or(DEFAULT_PG_URL.into());
    let mut admin = AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} is unreachable ({e}): {START_PG}",
                redact_url(&admin_url)
            )
        });
    let name = format!("it_{}", uuid::Uuid::now_v7().simple());
    execute(&mut admin, &format!("CREATE DATABASE {name}")).await;
    let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    let url = match query {
        "" => format!("{server}/{name}"),
        q => format!("{server}/{name}?{q}"),
    };
    let outcome = AssertUnwindSafe(bounded(Backend::Postgres, test(Backend::Postgres, url)))
        .catch_unwind()
        .await;
    execute(&mut admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A test that hangs (a lock never released, a pool waiting for a connection) fails instead.
async fn bounded(backend: Backend, test: impl Future<Output = ()>) {
    let limit = std::time::Duration::from_secs(60);
    if tokio::time::timeout(limit, test).await.is_err() {
        panic!("{backend}: the test did not finish within {limit:?}");
    }
}

async fn execute(conn: &mut AnyConnection, sql: &str) {
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

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

fn new_need(id: &str, state: NeedState, respond_by: Option<OffsetDateTime>) -> NewNeed {
    NewNeed {
        need_id: need_id(id),
        region: org("VGR"),
        state,
        state_reason: None,
        respond_by,
        view: json!({"needId": id, "title": "Kortare väntetid på akuten", "tags": ["lean"]}),
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
        headers: BTreeMap::from([("x-samverkan-kind".into(), "test".into())]),
        body: vec![0, 159, 146, 150, b'{', b'}'],
    }
}

fn answer(need: &str, from: &str, event: &str, time: OffsetDateTime, d: Decision) -> NewAnswer {
    NewAnswer {
        need_id: need_id(need),
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
    tx.insert_recipients(&need_id(id), &recipients)
        .await
        .expect("insert recipients");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn migrations_run_at_every_connect_and_are_idempotent() {
    on_both(|backend, url| async move {
        let first = open(&url).await;
        assert_eq!(first.backend(), backend);
        seed_need(&first, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let second = open(&url).await;
        second.ping().await.expect("ping");
        let need = second.need(&need_id("NEED-1")).await.expect("read");
        assert_eq!(need.map(|n| n.recipients.len()), Some(2), "{backend}");
        if backend == Backend::Sqlite {
            let mut raw = AnyConnection::connect(&url).await.expect("raw connection");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut raw)
                .await
                .expect("journal mode");
            assert_eq!(mode, "wal");
            raw.close().await.expect("close");
        }
        first.close().await;
        second.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_inbox_dedupes_inside_the_transaction() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let source = Source::for_org("VGR");
        let (a, b) = (EventId::new_v7(), EventId::new_v7());

        let mut tx = store.begin().await.expect("begin");
        assert!(
            tx.record_inbox(&source, &a).await.expect("first"),
            "{backend}"
        );
        assert!(
            !tx.record_inbox(&source, &a).await.expect("again"),
            "{backend}"
        );
        tx.commit().await.expect("commit");
        let mut tx = store.begin().await.expect("begin");
        assert!(!tx.record_inbox(&source, &a).await.expect("redelivery"));
        assert!(
            tx.record_inbox(&Source::for_org("SLL"), &a)
                .await
                .expect("other source")
        );
        assert!(tx.record_inbox(&source, &b).await.expect("b"));
        drop(tx); // a failure before commit: nothing of it stays

        let mut tx = store.begin().await.expect("begin");
        assert!(
            tx.record_inbox(&source, &b).await.expect("retry"),
            "{backend}"
        );
        tx.rollback().await.expect("rollback");
        store.close().await;
    })
    .await;
}

/// Two hub instances got the same event (a redelivery after a lost ack): the one that records
/// it second waits for the first to commit, then skips it — or takes over if the first failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_competing_instance_skips_an_event_the_first_is_committing() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let source = Source::for_org("chalmers");
        for first_commits in [true, false] {
            let event = EventId::new_v7();
            let mut first = store.begin().await.expect("begin");
            assert!(first.record_inbox(&source, &event).await.expect("first"));
            let second = tokio::spawn({
                let (store, source, event) = (store.clone(), source.clone(), event.clone());
                async move {
                    let mut tx = store.begin().await.expect("begin");
                    let fresh = tx.record_inbox(&source, &event).await.expect("second");
                    tx.commit().await.expect("commit");
                    fresh
                }
            });
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert!(!second.is_finished(), "{backend}: the second must wait");
            if first_commits {
                first.commit().await.expect("commit");
            } else {
                first.rollback().await.expect("rollback");
            }
            let fresh = second.await.expect("second instance");
            assert_eq!(
                fresh, !first_commits,
                "{backend}, first commits: {first_commits}"
            );
        }
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn need_recipients_outbox_and_audit_commit_together_or_not_at_all() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = need_id("NEED-2026-0101");
        let deadline = datetime!(2027-06-05 12:00 UTC);
        let work = async |commit: bool| {
            let mut tx = store.begin().await.expect("begin");
            let event = EventId::parse("evt-need-1").expect("id");
            assert!(
                tx.record_inbox(&Source::for_org("VGR"), &event)
                    .await
                    .expect("inbox")
            );
            let mut need = new_need(id.as_str(), NeedState::Published, Some(deadline));
            need.state_reason = Some("matched".into());
            tx.insert_need(&need).await.expect("need");
            let recipients = [
                recipient("acme", RecipientKind::Company, 0.25),
                recipient("chalmers", RecipientKind::University, 0.75),
            ];
            tx.insert_recipients(&id, &recipients)
                .await
                .expect("recipients");
            tx.enqueue(&message("evt-out-1", "chalmers.challenge"))
                .await
                .expect("outbox");
            let routed = AuditEntry {
                need_id: Some(id.clone()),
                event_id: Some(event),
                ..AuditEntry::new(AuditAction::Routed)
            };
            tx.audit(&routed).await.expect("audit");
            if commit {
                tx.commit().await.expect("commit");
            }
        };

        work(false).await;
        assert_eq!(store.need(&id).await.expect("read"), None, "{backend}");
        assert!(store.pending_outbox(10).await.expect("outbox").is_empty());
        assert!(store.audit_trail(&id).await.expect("audit").is_empty());

        work(true).await;
        let need = store.need(&id).await.expect("read").expect("stored");
        assert_eq!((need.state, need.version), (NeedState::Published, 1));
        assert_eq!(need.state_reason.as_deref(), Some("matched"));
        assert_eq!(need.respond_by, Some(deadline));
        assert_eq!(need.view["tags"], json!(["lean"]));
        let orgs: Vec<&str> = need.recipients.iter().map(|r| r.org_id.as_str()).collect();
        assert_eq!(orgs, ["chalmers", "acme"], "best match first");
        let chalmers = &need.recipients[0];
        assert_eq!(
            (chalmers.kind, chalmers.score),
            (RecipientKind::University, 0.75)
        );
        assert_eq!(chalmers.reasons, ["topics: lean (chalmers)"]);
        assert_eq!(
            (chalmers.courses.clone(), chalmers.latest.clone()),
            (json!([{"code": "IMS902"}]), None)
        );
        let pending = store.pending_outbox(10).await.expect("outbox");
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].message,
            message("evt-out-1", "chalmers.challenge")
        );
        assert_eq!(store.audit_trail(&id).await.expect("audit").len(), 1);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_relay_sees_unsent_rows_oldest_first_until_marked_sent() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let mut ids = Vec::new();
        for batch in [["e1", "e2", "e3"].as_slice(), &["e4", "e5"]] {
            let mut tx = store.begin().await.expect("begin");
            for event in batch {
                ids.push(
                    tx.enqueue(&message(event, "acme.call"))
                        .await
                        .expect("enqueue"),
                );
            }
            tx.commit().await.expect("commit");
        }
        let events = |rows: &[samverkan::store::OutboxRow]| -> Vec<String> {
            rows.iter()
                .map(|r| r.message.event_id.to_string())
                .collect()
        };
        let all = store.pending_outbox(10).await.expect("pending");
        assert_eq!(events(&all), ["e1", "e2", "e3", "e4", "e5"], "{backend}");
        assert_eq!(
            events(&store.pending_outbox(2).await.expect("limit")),
            ["e1", "e2"]
        );

        store.mark_sent(&[ids[0], ids[2]]).await.expect("mark");
        store.mark_sent(&[ids[0]]).await.expect("again");
        store.mark_sent(&[]).await.expect("nothing");
        store.record_attempt(ids[1]).await.expect("attempt");
        store.close().await;

        // A restart: what was not confirmed is still there, in order.
        let restarted = open(&url).await;
        let left = restarted.pending_outbox(10).await.expect("pending");
        assert_eq!(events(&left), ["e2", "e4", "e5"], "{backend}");
        assert_eq!(left[0].attempts, 1);
        restarted.mark_sent(&ids).await.expect("mark all");
        assert!(
            restarted
                .pending_outbox(10)
                .await
                .expect("pending")
                .is_empty()
        );
        restarted.close().await;
    })
    .await;
}

#[tokio::test]
async fn a_stale_version_is_a_conflict() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = need_id("NEED-1");
        seed_need(&store, id.as_str(), datetime!(2027-06-05 0:00 UTC)).await;
        let read_a = store.need(&id).await.expect("a").expect("need");
        let read_b = store.need(&id).await.expect("b").expect("need");
        assert_eq!((read_a.version, read_b.version), (1, 1));

        let mut tx = store.begin().await.expect("begin");
        let v = tx
            .update_need_state(&id, read_a.version, NeedState::Answered, None)
            .await;
        assert_eq!(v.expect("first update wins"), 2);
        tx.commit().await.expect("commit");

        let mut tx = store.begin().await.expect("begin");
        let err = tx
            .update_need_state(&id, read_b.version, NeedState::Closed, None)
            .await
            .expect_err("second update must fail");
        assert!(
            matches!(err, StoreError::Conflict { expected: 1, .. }),
            "{backend}: {err}"
        );
        assert!(err.is_transient());
        let missing = need_id("NEED-404");
        let err = tx
            .update_need_state(&missing, 1, NeedState::Closed, None)
            .await;
        assert!(matches!(err, Err(StoreError::NeedNotFound { .. })));
        drop(tx);
        let need = store.need(&id).await.expect("read").expect("need");
        assert_eq!((need.state, need.version), (NeedState::Answered, 2));
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_writers_on_one_need_lose_no_update() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = need_id("NEED-HOT");
        seed_need(&store, id.as_str(), datetime!(2027-06-05 0:00 UTC)).await;
        let worker = |from: &'static str| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move {
                for i in 0..100 {
                    let mut tx = store.begin().await.expect("begin");
                    let need = tx
                        .load_need_for_update(&id)
                        .await
                        .expect("load")
                        .expect("need");
                    let time = datetime!(2027-01-01 0:00 UTC) + time::Duration::seconds(i);
                    let event = format!("{from}-{i:03}");
                    let a = answer(id.as_str(), from, &event, time, Decision::Decline);
                    assert_eq!(
                        tx.record_answer(&a).await.expect("answer"),
                        AnswerApplied::Latest
                    );
                    tx.update_need_state(&id, need.version, need.state, None)
                        .await
                        .expect("the lock makes the version current");
                    tx.commit().await.expect("commit");
                }
            })
        };
        let (a, b) = (worker("chalmers"), worker("acme"));
        a.await.expect("worker a");
        b.await.expect("worker b");

        let need = store.need(&id).await.expect("read").expect("need");
        assert_eq!(
            need.version - 1,
            200,
            "{backend}: every increment counted once"
        );
        for r in &need.recipients {
            let latest = r.latest.as_ref().expect("answered");
            assert_eq!(latest.event_id.to_string(), format!("{}-099", r.org_id));
        }
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_latest_answer_of_each_recipient_wins_by_time_then_id() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        seed_need(&store, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let t = datetime!(2027-02-01 10:00 UTC);
        let mut tx = store.begin().await.expect("begin");
        let mut apply = async |from: &str, event: &str, time, d| {
            tx.record_answer(&answer("NEED-1", from, event, time, d))
                .await
                .expect("answer")
        };
        assert_eq!(
            apply("chalmers", "b", t, Decision::Offer).await,
            AnswerApplied::Latest
        );
        let earlier = t - time::Duration::hours(1);
        assert_eq!(
            apply("chalmers", "z", earlier, Decision::Decline).await,
            AnswerApplied::Superseded
        );
        assert_eq!(
            apply("chalmers", "a", t, Decision::Decline).await,
            AnswerApplied::Superseded
        );
        assert_eq!(
            apply("chalmers", "c", t, Decision::Decline).await,
            AnswerApplied::Latest
        );
        assert_eq!(
            apply("chalmers", "c", t, Decision::Decline).await,
            AnswerApplied::Duplicate
        );
        tx.commit().await.expect("commit");
        let need = store
            .need(&need_id("NEED-1"))
            .await
            .expect("read")
            .expect("need");
        let latest = need
            .recipient(&org("chalmers"))
            .and_then(|r| r.latest.clone());
        let latest = latest.expect("chalmers answered");
        assert_eq!(
            (latest.event_id.to_string(), latest.decision),
            ("c".into(), Decision::Decline)
        );
        assert_eq!(
            (latest.time, latest.detail),
            (t, json!({"event": "c"})),
            "{backend}"
        );

        let mut tx = store.begin().await.expect("begin");
        let stranger = answer("NEED-1", "stranger", "s1", t, Decision::Interest);
        let err = tx
            .record_answer(&stranger)
            .await
            .expect_err("not a recipient");
        assert!(
            matches!(err, StoreError::NotRecipient { .. }),
            "{backend}: {err}"
        );
        tx.rollback().await.expect("rollback");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn needs_due_are_open_needs_past_respond_by_earliest_first() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let now = datetime!(2027-06-05 12:00 UTC);
        let hour = time::Duration::hours(1);
        let mut tx = store.begin().await.expect("begin");
        for (id, state, respond_by) in [
            ("DUE-LATE", NeedState::Answered, Some(now - hour)),
            ("DUE-EARLY", NeedState::Published, Some(now - hour * 2)),
            ("DUE-NOW", NeedState::Published, Some(now)),
            ("FUTURE", NeedState::Published, Some(now + hour)),
            ("CLOSED", NeedState::Closed, Some(now - hour)),
            ("WITHDRAWN", NeedState::Withdrawn, Some(now - hour)),
            ("UNMATCHED", NeedState::Unmatched, None),
        ] {
            tx.insert_need(&new_need(id, state, respond_by))
                .await
                .expect("need");
        }
        tx.commit().await.expect("commit");
        let due = |limit| {
            let store = store.clone();
            async move {
                let ids = store.needs_due(now, limit).await.expect("due");
                ids.iter().map(ToString::to_string).collect::<Vec<_>>()
            }
        };
        assert_eq!(
            due(10).await,
            ["DUE-EARLY", "DUE-LATE", "DUE-NOW"],
            "{backend}"
        );
        assert_eq!(due(1).await, ["DUE-EARLY"]);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn the_audit_trail_holds_ids_and_codes_only() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = need_id("NEED-2026-0109");
        const LATE: ReasonCode = ReasonCode::new("answer_late");
        let mut tx = store.begin().await.expect("begin");
        for (action, reason) in [
            (AuditAction::Received, None),
            (
                AuditAction::Rejected,
                Some(samverkan::event::RejectReason::PersonalData.into()),
            ),
            (AuditAction::Rejected, Some(LATE)),
        ] {
            let entry = AuditEntry {
                event_id: Some(EventId::new_v7()),
                need_id: Some(id.clone()),
                org: Some(org("VGR")),
                reason,
                ..AuditEntry::new(action)
            };
            tx.audit(&entry).await.expect("audit");
        }
        tx.commit().await.expect("commit");
        let trail = store.audit_trail(&id).await.expect("trail");
        let codes: Vec<_> = trail
            .iter()
            .map(|e| (e.action, e.reason_code.as_deref()))
            .collect();
        assert_eq!(
            codes,
            [
                (AuditAction::Received, None),
                (AuditAction::Rejected, Some("personal_data")),
                (AuditAction::Rejected, Some("answer_late")),
            ],
            "{backend}"
        );

        // Even SQL that bypasses the API cannot put a sentence into a code column.
        let mut raw = AnyConnection::connect(&url).await.expect("raw connection");
        let free_text = "INSERT INTO audit (at_ms, action, reason_code) \
                         VALUES (0, 'rejected', 'Tolvan Tolvansson, 19121212-1212')";
        let refused = sqlx::query(free_text).execute(&mut raw).await;
        assert!(
            refused.is_err(),
            "{backend}: the check constraint must refuse free text"
        );
        let rows = sqlx::query("SELECT action, reason_code FROM audit")
            .fetch_all(&mut raw)
            .await;
        for row in rows.expect("audit rows") {
            let action: String = row.get("action");
            let reason: Option<String> = row.get("reason_code");
            for code in std::iter::once(action).chain(reason) {
                assert!(
                    code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{code}"
                );
            }
        }
        raw.close().await.expect("close");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works_for_tests_and_demo() {
    let store = open("sqlite::memory:").await;
    assert_eq!(store.backend(), Backend::Sqlite);
    seed_need(&store, "NEED-MEM", datetime!(2027-06-05 0:00 UTC)).await;
    let need = store.need(&need_id("NEED-MEM")).await.expect("read");
    assert_eq!(need.map(|n| n.recipients.len()), Some(2));
}

#[tokio::test]
async fn connect_errors_name_the_url_without_its_password() {
    let err = Store::connect("postgres://hub:s3cret@127.0.0.1:1/samverkan")
        .await
        .expect_err("nothing listens on port 1");
    let message = err.to_string();
    assert!(
        message.contains("postgres://hub:***@127.0.0.1:1/samverkan"),
        "{message}"
    );
    assert!(
        message.contains("pg_ctlcluster") && !message.contains("s3cret"),
        "{message}"
    );
    assert!(err.is_transient(), "a refused connection may succeed later");

    let err = Store::connect("mysql://root:s3cret@db/x")
        .await
        .expect_err("unsupported");
    assert!(matches!(err, StoreError::InvalidUrl { .. }) && !err.to_string().contains("s3cret"));
    let missing_dir = "sqlite:///nonexistent-dir/for/samverkan.db";
    let err = Store::connect(missing_dir)
        .await
        .expect_err("no such directory");
    assert!(err.to_string().contains("nonexistent-dir"), "{err}");
}
