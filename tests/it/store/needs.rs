//! Need rows: optimistic versions, competing writers, latest answers, due dates, audit.

use super::*;

#[tokio::test]
async fn a_stale_version_is_a_conflict() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = key("NEED-1");
        seed_need(&store, id.need_id.as_str(), datetime!(2027-06-05 0:00 UTC)).await;
        let read_a = store.need(&id).await.expect("a").expect("need");
        let read_b = store.need(&id).await.expect("b").expect("need");
        assert_eq!((read_a.version(), read_b.version()), (1, 1));

        let mut tx = store.begin().await.expect("begin");
        let v = tx
            .update_need_state(&id, read_a.version(), NeedState::Answered, None)
            .await;
        assert_eq!(v.expect("first update wins"), 2);
        tx.commit().await.expect("commit");

        let mut tx = store.begin().await.expect("begin");
        let err = tx
            .update_need_state(&id, read_b.version(), NeedState::Closed, None)
            .await
            .expect_err("second update must fail");
        assert!(
            matches!(err, StoreError::Conflict { expected: 1, .. }),
            "{backend}: {err}"
        );
        assert!(err.is_transient());
        let missing = key("NEED-404");
        let err = tx
            .update_need_state(&missing, 1, NeedState::Closed, None)
            .await;
        assert!(matches!(err, Err(StoreError::NeedNotFound { .. })));
        drop(tx);
        let need = store.need(&id).await.expect("read").expect("need");
        assert_eq!((need.state, need.version()), (NeedState::Answered, 2));
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_writers_on_one_need_lose_no_update() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let id = key("NEED-HOT");
        seed_need(&store, id.need_id.as_str(), datetime!(2027-06-05 0:00 UTC)).await;
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
                    let a = answer(id.need_id.as_str(), from, &event, time, Decision::Decline);
                    assert_eq!(
                        tx.record_answer(&a).await.expect("answer"),
                        AnswerApplied::Latest
                    );
                    tx.update_need_state(&id, need.version(), need.state, None)
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
            need.version() - 1,
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
            .need(&key("NEED-1"))
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
                ids.iter()
                    .map(|key| key.need_id.to_string())
                    .collect::<Vec<_>>()
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
async fn need_ids_are_unique_within_a_region_not_across_regions() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        let vgr = key("NEED-1");
        let rv = NeedKey::new(org("RV"), need_id("NEED-1"));
        seed_need(&store, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let mut tx = store.begin().await.expect("begin");
        let mut theirs = new_need("NEED-1", NeedState::Published, None);
        theirs.region = org("RV");
        tx.insert_need(&theirs)
            .await
            .expect("another region may use the id");
        let again = tx
            .insert_need(&new_need("NEED-1", NeedState::Published, None))
            .await;
        assert!(
            matches!(again, Err(StoreError::NeedExists { .. })),
            "{backend}: {again:?}"
        );
        tx.insert_recipients(
            &rv,
            &[recipient("chalmers", RecipientKind::University, 0.5)],
        )
        .await
        .expect("recipients");
        // Chalmers received NEED-1 from both regions, acme from VGR only.
        let regions = tx
            .recipient_regions(&need_id("NEED-1"), &org("chalmers"))
            .await
            .expect("regions");
        assert_eq!(regions, [org("RV"), org("VGR")], "{backend}");
        let regions = tx
            .recipient_regions(&need_id("NEED-1"), &org("acme"))
            .await
            .expect("regions");
        assert_eq!(regions, [org("VGR")], "{backend}");
        let mut to_rv = answer(
            "NEED-1",
            "chalmers",
            "a-1",
            datetime!(2027-02-01 10:00 UTC),
            Decision::Offer,
        );
        to_rv.region = org("RV");
        assert_eq!(
            tx.record_answer(&to_rv).await.expect("answer"),
            AnswerApplied::Latest
        );
        let mut acme_to_rv = answer(
            "NEED-1",
            "acme",
            "a-2",
            datetime!(2027-02-01 10:00 UTC),
            Decision::Interest,
        );
        acme_to_rv.region = org("RV");
        let refused = tx.record_answer(&acme_to_rv).await;
        assert!(
            matches!(refused, Err(StoreError::NotRecipient { .. })),
            "{backend}: {refused:?}"
        );
        drop(tx);
        let mut tx = store.begin().await.expect("begin");
        tx.insert_need(&theirs).await.expect("RV's need");
        tx.insert_recipients(
            &rv,
            &[recipient("chalmers", RecipientKind::University, 0.5)],
        )
        .await
        .expect("recipients");
        tx.record_answer(&to_rv).await.expect("answer");
        tx.update_need_state(&rv, 1, NeedState::Answered, None)
            .await
            .expect("RV's need moves");
        tx.commit().await.expect("commit");
        let ours = store.need(&vgr).await.expect("read").expect("VGR's");
        let others = store.need(&rv).await.expect("read").expect("RV's");
        assert_eq!((ours.state, ours.version()), (NeedState::Published, 1));
        assert_eq!((others.state, others.version()), (NeedState::Answered, 2));
        assert_eq!(ours.recipients.len(), 2, "{backend}");
        assert!(ours.recipients.iter().all(|r| r.latest.is_none()));
        assert_eq!(others.recipients.len(), 1);
        assert!(others.recipients[0].latest.is_some(), "{backend}");
        assert_eq!(
            store
                .regions_with_need(&need_id("NEED-1"))
                .await
                .expect("regions"),
            [org("RV"), org("VGR")]
        );
        store.close().await;
    })
    .await;
}
