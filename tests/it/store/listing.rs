//! Listing needs (region, state, topic, age, pages, counts per state), a need's answer
//! timeline and refusals per reason: what `samverkan needs list` and the console read.

use samverkan::store::{NeedFilter, PageRequest};

use super::*;

fn need_of(region: &str, id: &str, state: NeedState, category: &str, tags: &[&str]) -> NewNeed {
    NewNeed {
        need_id: need_id(id),
        region: org(region),
        state,
        state_reason: None,
        respond_by: None,
        // The title mentions a topic in quotes: only category and tags may match a topic.
        view: json!({"needId": id, "title": "Om \"lean\" på akuten", "category": category,
                     "tags": tags, "urgency": "high"})
        .to_string(),
    }
}

/// Six needs: VGR N1..N4 and RV N1, N5, created a second apart in this order (newest last).
async fn seed(store: &Store, url: &str) {
    let needs = [
        need_of(
            "VGR",
            "NEED-1",
            NeedState::Published,
            "patient-flow",
            &["lean"],
        ),
        need_of("VGR", "NEED-2", NeedState::Unmatched, "elderly-care", &[]),
        need_of(
            "RV",
            "NEED-1",
            NeedState::Published,
            "elderly-care",
            &["lean"],
        ),
        need_of(
            "VGR",
            "NEED-3",
            NeedState::Published,
            "uncategorised",
            &["diagnostics"],
        ),
        need_of("VGR", "NEED-4", NeedState::Answered, "patient-flow", &[]),
        need_of("RV", "NEED-5", NeedState::Rejected, "diagnostics", &[]),
    ];
    for need in &needs {
        let mut tx = store.begin().await.expect("begin");
        tx.insert_need(need).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    // Distinct creation times, so "newest first" is not decided by the tie-break.
    let mut conn = AnyConnection::connect(url).await.expect("connect");
    let base = OffsetDateTime::now_utc().unix_timestamp() * 1000 - 60_000;
    for (i, need) in (0i64..).zip(&needs) {
        sqlx::query("UPDATE needs SET created_at_ms = $1 WHERE need_id = $2 AND region = $3")
            .bind(base + i * 1000)
            .bind(need.need_id.as_str())
            .bind(need.region.as_str())
            .execute(&mut conn)
            .await
            .expect("set created_at_ms");
    }
    conn.close().await.ok();
    let mut tx = store.begin().await.expect("begin");
    let recipients = [recipient("chalmers", RecipientKind::University, 0.9)];
    tx.insert_recipients(&key("NEED-1"), &recipients)
        .await
        .expect("recipients");
    tx.commit().await.expect("commit");
}

fn ids(page: &samverkan::store::NeedPage) -> Vec<String> {
    page.needs
        .iter()
        .map(|n| format!("{}/{}", n.region, n.need_id.as_str()))
        .collect()
}

const ALL: PageRequest = PageRequest { index: 0, size: 50 };

#[tokio::test]
async fn needs_are_listed_newest_first_with_counts_per_state() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        seed(&store, &url).await;
        let all = store
            .list_needs(&NeedFilter::default(), ALL)
            .await
            .expect("list");
        assert_eq!(
            ids(&all),
            [
                "RV/NEED-5",
                "VGR/NEED-4",
                "VGR/NEED-3",
                "RV/NEED-1",
                "VGR/NEED-2",
                "VGR/NEED-1"
            ],
            "{backend}"
        );
        assert_eq!(all.total, 6);
        assert_eq!(all.counts.get("published"), Some(&3), "{backend}");
        assert_eq!(all.counts.get("closed"), None);
        let first = all.needs.last().expect("VGR/NEED-1");
        assert_eq!(first.recipients, 1, "{backend}");
        assert_eq!(first.category.as_deref(), Some("patient-flow"));
        assert_eq!(first.tags, ["lean"]);
        assert_eq!(first.urgency.as_deref(), Some("high"));

        // One region; the state filter narrows the rows but not the counts.
        let vgr_published = NeedFilter {
            region: Some(org("VGR")),
            state: Some(NeedState::Published),
            ..NeedFilter::default()
        };
        let page = store.list_needs(&vgr_published, ALL).await.expect("list");
        assert_eq!(ids(&page), ["VGR/NEED-3", "VGR/NEED-1"], "{backend}");
        assert_eq!(page.total, 2);
        assert_eq!(page.counts.get("published"), Some(&2));
        assert_eq!(page.counts.get("unmatched"), Some(&1));
        assert_eq!(page.counts.get("rejected"), None, "{backend}: RV's only");

        // Pages of two.
        let second = PageRequest { index: 1, size: 2 };
        let page = store
            .list_needs(&NeedFilter::default(), second)
            .await
            .expect("list");
        assert_eq!(ids(&page), ["VGR/NEED-3", "RV/NEED-1"], "{backend}");
        assert_eq!(page.total, 6);
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn needs_are_filtered_by_topic_and_age() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        seed(&store, &url).await;
        let topic = |t: &str| NeedFilter {
            topic: Some(t.to_owned()),
            ..NeedFilter::default()
        };
        // Category or tag; never the title, which mentions "lean" too.
        let lean = store.list_needs(&topic("lean"), ALL).await.expect("list");
        assert_eq!(ids(&lean), ["RV/NEED-1", "VGR/NEED-1"], "{backend}");
        let diagnostics = store
            .list_needs(&topic("diagnostics"), ALL)
            .await
            .expect("list");
        assert_eq!(ids(&diagnostics), ["RV/NEED-5", "VGR/NEED-3"], "{backend}");
        assert_eq!(diagnostics.counts.get("rejected"), Some(&1));
        let none = store.list_needs(&topic("high"), ALL).await.expect("list");
        assert_eq!(none.total, 0, "{backend}: urgency is not a topic");

        // Age: make two needs ten days old.
        let mut conn = AnyConnection::connect(&url).await.expect("connect");
        let ten_days_ago = (OffsetDateTime::now_utc() - time::Duration::days(10))
            .unix_timestamp()
            * 1000;
        sqlx::query("UPDATE needs SET created_at_ms = $1 WHERE need_id IN ('NEED-1', 'NEED-2') AND region = 'VGR'")
            .bind(ten_days_ago)
            .execute(&mut conn)
            .await
            .expect("backdate");
        conn.close().await.ok();
        let recent = NeedFilter {
            region: Some(org("VGR")),
            created_since: Some(OffsetDateTime::now_utc() - time::Duration::days(7)),
            ..NeedFilter::default()
        };
        let page = store.list_needs(&recent, ALL).await.expect("list");
        assert_eq!(ids(&page), ["VGR/NEED-4", "VGR/NEED-3"], "{backend}");
        assert_eq!(page.counts.get("unmatched"), None, "{backend}");
        store.close().await;
    })
    .await;
}

#[tokio::test]
async fn answers_are_a_timeline_and_refusals_are_counted_per_reason() {
    on_both(|backend, url| async move {
        let store = open(&url).await;
        seed_need(&store, "NEED-1", datetime!(2027-06-05 0:00 UTC)).await;
        let mut tx = store.begin().await.expect("begin");
        let later = answer(
            "NEED-1",
            "acme",
            &event(2),
            datetime!(2026-11-20 10:00 UTC),
            Decision::Proposal,
        );
        let earlier = answer(
            "NEED-1",
            "acme",
            &event(1),
            datetime!(2026-11-19 10:00 UTC),
            Decision::Interest,
        );
        tx.record_answer(&later).await.expect("later");
        tx.record_answer(&earlier).await.expect("earlier");
        const PII: ReasonCode = ReasonCode::new("personal_data");
        const SCHEMA: ReasonCode = ReasonCode::new("schema_invalid");
        for reason in [PII, PII, SCHEMA] {
            tx.audit(&AuditEntry {
                reason: Some(reason),
                ..AuditEntry::new(AuditAction::Rejected)
            })
            .await
            .expect("audit");
        }
        tx.audit(&AuditEntry::new(AuditAction::Routed))
            .await
            .expect("audit");
        tx.commit().await.expect("commit");

        let timeline = store
            .answer_timeline(&key("NEED-1"))
            .await
            .expect("timeline");
        let seen: Vec<_> = timeline
            .iter()
            .map(|a| (a.org_id.as_str(), a.decision))
            .collect();
        assert_eq!(
            seen,
            [("acme", Decision::Interest), ("acme", Decision::Proposal)],
            "{backend}"
        );
        let other = NeedKey::new(org("RV"), need_id("NEED-1"));
        assert!(
            store
                .answer_timeline(&other)
                .await
                .expect("timeline")
                .is_empty()
        );

        let hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
        let refusals = store.refusals_since(hour_ago).await.expect("refusals");
        assert_eq!(
            refusals.get("personal_data"),
            Some(&2),
            "{backend}: {refusals:?}"
        );
        assert_eq!(refusals.get("schema_invalid"), Some(&1));
        assert_eq!(refusals.len(), 2);
        let future = OffsetDateTime::now_utc() + time::Duration::minutes(1);
        assert!(
            store
                .refusals_since(future)
                .await
                .expect("refusals")
                .is_empty()
        );
        store.close().await;
    })
    .await;
}
