//! A store created before need ids were scoped by region (migrations 1–4) keeps its needs,
//! recipients and answers through `0006_need_scope`, each now its own region's.

use sqlx::migrate::Migrator;

use super::*;

/// The migrations of `backend` before need scoping, as the hub embeds and records them.
fn before_need_scope(backend: Backend) -> Migrator {
    let embedded = samverkan::store::migrator(backend);
    Migrator::with_migrations(
        embedded
            .iter()
            .filter(|migration| migration.version < 5)
            .cloned()
            .collect(),
    )
}

#[tokio::test]
async fn needs_recorded_before_need_scoping_belong_to_their_region_after_it() {
    on_both(|backend, url| async move {
        let raw_url = match backend {
            Backend::Sqlite => format!("{url}?mode=rwc"),
            Backend::Postgres => url.clone(),
        };
        let mut raw = AnyConnection::connect(&raw_url)
            .await
            .expect("raw connection");
        let old = before_need_scope(backend);
        assert_eq!(old.iter().count(), 4, "{backend}");
        old.run(&mut raw).await.expect("migrations 1-4");
        for statement in [
            "INSERT INTO needs (need_id, region, state, view, created_at_ms, updated_at_ms) \
             VALUES ('NEED-1', 'VGR', 'answered', '{}', 0, 0)",
            "INSERT INTO recipients (need_id, org_id, kind, score, reasons, courses, \
             answer_event_id, answer_time_ms, decision, detail) VALUES ('NEED-1', 'chalmers', \
             'university', 0.9, '[]', '[]', 'a-1', 5, 'offer', '{}')",
            "INSERT INTO answers (event_source, event_id, need_id, org_id, time_ms, decision, \
             payload, recorded_at_ms) VALUES ('urn:samverkan:org:chalmers', 'a-1', 'NEED-1', \
             'chalmers', 5, 'offer', '{}', 5)",
        ] {
            sqlx::query(statement)
                .execute(&mut raw)
                .await
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
        }
        raw.close().await.expect("close");

        let store = open(&url).await;
        let need = store
            .need(&key("NEED-1"))
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(need.state, NeedState::Answered, "{backend}");
        let chalmers = need.recipient(&org("chalmers")).expect("recipient kept");
        let latest = chalmers.latest.as_ref().expect("latest answer kept");
        assert_eq!(latest.decision, Decision::Offer);
        let mut tx = store.begin().await.expect("begin");
        assert_eq!(
            tx.recipient_regions(&need_id("NEED-1"), &org("chalmers"))
                .await
                .expect("regions"),
            [org("VGR")],
            "{backend}"
        );
        let mut theirs = new_need("NEED-1", NeedState::Published, None);
        theirs.region = org("RV");
        tx.insert_need(&theirs)
            .await
            .expect("RV may now use the id");
        tx.commit().await.expect("commit");
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
