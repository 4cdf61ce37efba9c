//! The stream of needs and answers: needs at a steady pace, each need's answers once it is
//! stored; it goes on through the fault (the publisher reconnects when the broker goes away).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::bail;
use samverkan::event::CloudEvent;
use serde_json::Value;
use sqlx::AnyPool;

use crate::broker::Publisher;
use crate::workload::{Recipient, Rng, answers_for};

/// Needs published per tick of the stream (4 ticks a second).
const NEEDS_PER_TICK: usize = 25;

/// What the stream sent.
pub(crate) struct Streamed {
    pub answers: Vec<(String, CloudEvent)>,
    pub republished: usize,
    pub error: Option<String>,
}

/// Publish the needs at a steady pace and, as each need is stored, its answers (one or two).
pub(crate) async fn stream(
    url: String,
    needs: Vec<(String, CloudEvent)>,
    db: AnyPool,
    users: HashMap<String, String>,
) -> Streamed {
    let mut publisher = Publisher::new(url);
    let mut rng = Rng(0xfa17_5eed);
    let base = time::macros::datetime!(2026-11-22 11:00 UTC);
    let mut recipients: Option<Vec<Recipient>> = None;
    let mut answered: HashSet<String> = HashSet::new();
    let mut answers = Vec::new();
    let mut next = 0;
    let mut error = None;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let limit = Duration::from_secs(120);
    while answered.len() < needs.len() {
        tick.tick().await;
        if Instant::now() > deadline {
            error = Some(format!(
                "only {} of {} needs stored within 300 s",
                answered.len(),
                needs.len()
            ));
            break;
        }
        if next < needs.len() {
            let end = (next + NEEDS_PER_TICK).min(needs.len());
            if let Err(e) = publisher.publish(&needs[next..end], limit).await {
                error = Some(format!("{e:#}"));
                break;
            }
            next = end;
        }
        let Ok(stored) = sqlx::query_scalar::<_, String>("SELECT need_id FROM needs")
            .fetch_all(&db)
            .await
        else {
            continue;
        };
        if recipients.is_none() {
            let Some(first) = stored.first() else {
                continue;
            };
            recipients = recipients_of(&db, first).await.ok();
        }
        let Some(to) = &recipients else { continue };
        let mut batch = Vec::new();
        for id in stored {
            if answered.contains(&id) {
                continue;
            }
            let n: usize = id
                .rsplit('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            batch.extend(answers_for(&id, to, 1 + n % 2, base, &mut rng, &users));
            answered.insert(id);
        }
        rng.shuffle(&mut batch);
        for chunk in batch.chunks(200) {
            if let Err(e) = publisher.publish(chunk, limit).await {
                error = Some(format!("{e:#}"));
            }
        }
        answers.extend(batch);
        if error.is_some() {
            break;
        }
    }
    let republished = publisher.republished;
    publisher.close().await;
    Streamed {
        answers,
        republished,
        error,
    }
}

async fn recipients_of(db: &AnyPool, need: &str) -> anyhow::Result<Vec<Recipient>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT org_id, kind, courses FROM recipients WHERE need_id = $1")
            .bind(need.to_owned())
            .fetch_all(db)
            .await?;
    if rows.is_empty() {
        bail!("{need} has no recipients");
    }
    rows.into_iter()
        .map(|(org_id, kind, courses)| {
            Ok(Recipient {
                org_id,
                university: kind == "university",
                courses: serde_json::from_str::<Value>(&courses)?,
            })
        })
        .collect()
}
