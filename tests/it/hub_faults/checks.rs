//! The exactly-once checks shared by both tests.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// The check both tests end with.

/// Every need and every answer sent is in the store exactly once, with exactly one set of
/// effects, and each need's state is what the answers sent give.
pub(crate) async fn assert_each_event_counted_once(
    store: &Store,
    db: &AnyPool,
    needs: &[(String, CloudEvent)],
    answers: &[(String, CloudEvent)],
) {
    let status_key = status_key();
    let mut sent: BTreeMap<&str, Vec<&CloudEvent>> = BTreeMap::new();
    for (_, event) in answers {
        sent.entry(event.subject.as_deref().expect("subject"))
            .or_default()
            .push(event);
    }
    assert_eq!(
        count(db, "SELECT count(*) FROM needs", &[]).await,
        needs.len() as i64
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM answers", &[]).await,
        answers.len() as i64,
        "answers lost or recorded twice"
    );
    assert_eq!(
        count(db, "SELECT count(*) FROM inbox", &[]).await,
        (needs.len() + answers.len()) as i64,
        "every event is in the inbox once"
    );
    assert_eq!(
        count(
            db,
            "SELECT count(*) FROM outbox WHERE sent_at_ms IS NULL",
            &[]
        )
        .await,
        0,
        "the outbox is flushed"
    );
    for (_, need) in needs {
        let id = need.subject.as_deref().expect("subject");
        let record = store
            .need(&crate::need_key(
                need.data["region"].as_str().expect("region"),
                id,
            ))
            .await
            .expect("read the need")
            .unwrap_or_else(|| panic!("{id} is not in the store"));
        let sent = sent.get(id).map_or(&[][..], Vec::as_slice);

        // The answer history holds exactly the answers sent, each once.
        let recorded: Vec<String> =
            sqlx::query_scalar("SELECT event_id FROM answers WHERE need_id = $1")
                .bind(id.to_owned())
                .fetch_all(db)
                .await
                .expect("answers of a need");
        let recorded_set: BTreeSet<&str> = recorded.iter().map(String::as_str).collect();
        let sent_set: BTreeSet<&str> = sent.iter().map(|e| e.id.as_ref()).collect();
        assert_eq!(recorded.len(), sent.len(), "{id}: answers in the history");
        assert_eq!(recorded_set, sent_set, "{id}: answers in the history");

        // Each recipient's latest answer is the latest of what it sent.
        let mut counts = BTreeMap::from([
            ("offers", 0),
            ("proposals", 0),
            ("interests", 0),
            ("declines", 0),
        ]);
        for recipient in &record.recipients {
            let org = recipient.org_id.as_str();
            let from: Vec<&CloudEvent> = sent
                .iter()
                .copied()
                .filter(|e| e.source == Source::for_org(org))
                .collect();
            let expected = latest(&from);
            let actual = recipient.latest.as_ref().map(|l| l.event_id.as_ref());
            assert_eq!(actual, expected.as_deref(), "{id}: latest answer of {org}");
            if let Some(winner) = from.iter().find(|e| Some(e.id.as_ref()) == actual) {
                let decision = winner.data["decision"].as_str().unwrap_or_default();
                let key = match decision {
                    "offer" => "offers",
                    "proposal" => "proposals",
                    "interest" => "interests",
                    _ => "declines",
                };
                *counts.entry(key).or_default() += 1;
                let stored = recipient.latest.as_ref().map(|l| l.decision.as_str());
                assert_eq!(stored, Some(decision), "{id}: decision of {org}");
            }
        }
        let positive = sent.iter().any(|e| e.data["decision"] != "decline");
        let state = if positive {
            NeedState::Answered
        } else {
            NeedState::Published
        };
        assert_eq!(record.state, state, "{id}: state");

        // One set of effects: routed once, one status and one audit entry per visible change.
        let trail = store
            .audit_trail(&record.need_id)
            .await
            .expect("audit trail");
        let of = |action: AuditAction| trail.iter().filter(move |a| a.action == action);
        assert_eq!(of(AuditAction::Routed).count(), 1, "{id}: routed");
        let answered: Vec<&str> = of(AuditAction::Answered)
            .filter_map(|a| a.event_id.as_deref())
            .collect();
        let distinct: BTreeSet<&str> = answered.iter().copied().collect();
        assert_eq!(
            answered.len(),
            distinct.len(),
            "{id}: an answer applied twice"
        );
        assert!(distinct.is_subset(&sent_set), "{id}: {answered:?}");
        assert_eq!(
            of(AuditAction::StateChanged).count(),
            usize::from(positive),
            "{id}: state changes"
        );
        assert_eq!(
            record.version(),
            1 + answered.len() as i64,
            "{id}: one version per visible change"
        );
        let statuses = count(
            db,
            "SELECT count(*) FROM outbox WHERE correlation_id = $1 AND routing_key = $2",
            &[id, status_key.as_str()],
        )
        .await;
        assert_eq!(statuses, record.version(), "{id}: one status per version");
        let others = count(
            db,
            "SELECT count(*) FROM outbox WHERE correlation_id = $1 AND routing_key <> $2",
            &[id, status_key.as_str()],
        )
        .await;
        assert_eq!(
            others,
            record.recipients.len() as i64,
            "{id}: one challenge or call per recipient"
        );

        // The last status the region got says what the store says.
        let body: Vec<u8> = sqlx::query_scalar(
            "SELECT body FROM outbox WHERE correlation_id = $1 AND routing_key = $2 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(id.to_owned())
        .bind(status_key.clone())
        .fetch_one(db)
        .await
        .expect("last status");
        let last: Value = serde_json::from_slice(&body).expect("status JSON");
        assert_eq!(last["data"]["state"], state.as_str(), "{id}: last status");
        assert_eq!(last["data"]["counts"], json!(counts), "{id}: last status");
    }
}
