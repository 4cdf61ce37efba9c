//! Listing needs by region, state, topic and age, newest first, a page at a time, with how many
//! needs are in each state: what `samverkan needs list` prints and the console's needs page
//! shows.
//!
//! One query per question, each over indexed columns (migration 0013 adds `needs (region,
//! created_at_ms, need_id)`, `needs (created_at_ms, need_id, region)` and `needs (region,
//! state)`), so a page of a store with tens of thousands of
//! needs is read in milliseconds. The topic is the one part that lives inside the need view
//! (`category` and `tags`, both from the shared topic vocabulary); the two dialects spell that
//! JSON lookup differently, so it is the only fragment chosen by backend. The counts per state
//! ignore the state filter, so a reader filtering on one state still sees how many are in the
//! others. A summary carries only codes from closed vocabularies (state, category, tags,
//! urgency), ids, counts and times — never the need's free text.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::Store;
use super::connect::Backend;
use super::error::StoreError;
use super::rows::{from_ms, org_id, to_ms};
use crate::need::{NeedId, NeedState};
use crate::settings::OrgId;

/// Which needs to list. Every field left `None` lists every need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeedFilter {
    /// Only needs of this region.
    pub region: Option<OrgId>,
    /// Only needs in this state.
    pub state: Option<NeedState>,
    /// Only needs whose category or one of whose tags is this topic.
    pub topic: Option<String>,
    /// Only needs first stored at or after this time.
    pub created_since: Option<OffsetDateTime>,
}

/// Which page of a listing: `index` 0 is the newest `size` needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Page number, from 0.
    pub index: u32,
    /// Needs per page, at least 1.
    pub size: u32,
}

/// One need in a listing: ids, codes, counts and times only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedSummary {
    /// The need's id.
    pub need_id: NeedId,
    /// Its region.
    pub region: OrgId,
    /// Its state.
    pub state: NeedState,
    /// The view's category (a topic, or `uncategorised`), when it has one.
    pub category: Option<String>,
    /// The view's tags (topics).
    pub tags: Vec<String>,
    /// The view's urgency code.
    pub urgency: Option<String>,
    /// How many universities and companies received it.
    pub recipients: i64,
    /// When it was first stored.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// A page of needs and the counts per state of every need the filter (without its state)
/// selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedPage {
    /// The page's needs, newest first.
    pub needs: Vec<NeedSummary>,
    /// How many needs the whole filter (state included) selects.
    pub total: u64,
    /// Needs per state under the filter without its state; states with none are left out.
    pub counts: BTreeMap<&'static str, u64>,
}

/// A WHERE clause and its string or number arguments, numbered as they are added.
#[derive(Default)]
struct Clause {
    sql: Vec<String>,
    args: Vec<Arg>,
}

enum Arg {
    Text(String),
    Int(i64),
}

impl Clause {
    fn push(&mut self, fragment: &str, arg: Arg) {
        self.args.push(arg);
        let n = self.args.len();
        self.sql.push(fragment.replace("$?", &format!("${n}")));
    }

    fn build(filter: &NeedFilter, backend: Backend, with_state: bool) -> Self {
        let mut clause = Self::default();
        if let Some(region) = &filter.region {
            clause.push("n.region = $?", Arg::Text(region.as_str().to_owned()));
        }
        if let (true, Some(state)) = (with_state, filter.state) {
            clause.push("n.state = $?", Arg::Text(state.as_str().to_owned()));
        }
        if let Some(since) = filter.created_since {
            clause.push("n.created_at_ms >= $?", Arg::Int(to_ms(since)));
        }
        if let Some(topic) = &filter.topic {
            let fragment = match backend {
                Backend::Sqlite => {
                    "(json_extract(n.view, '$.category') = $? OR EXISTS (SELECT 1 FROM \
                     json_each(n.view, '$.tags') t WHERE t.value = $?))"
                }
                Backend::Postgres => {
                    "(n.view::jsonb ->> 'category' = $? OR (n.view::jsonb -> 'tags') @> \
                     jsonb_build_array($?::text))"
                }
            };
            // A byte scan first, so the JSON is read only where the topic's quoted spelling
            // occurs (a vocabulary topic has no LIKE wildcard in it).
            if topic
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                clause.push("n.view LIKE $?", Arg::Text(format!("%\"{topic}\"%")));
            }
            // Both placeholders take the same argument.
            clause.args.push(Arg::Text(topic.clone()));
            let n = clause.args.len();
            clause.sql.push(fragment.replace("$?", &format!("${n}")));
        }
        clause
    }

    fn where_sql(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }

    fn bind<'q>(
        &'q self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        for arg in &self.args {
            query = match arg {
                Arg::Text(s) => query.bind(s.as_str()),
                Arg::Int(i) => query.bind(*i),
            };
        }
        query
    }
}

impl Store {
    /// One page of the needs `filter` selects, newest first (ties by need id, then region, both
    /// descending: the order of the listing indexes),
    /// with the filter's total and the counts per state.
    pub async fn list_needs(
        &self,
        filter: &NeedFilter,
        page: PageRequest,
    ) -> Result<NeedPage, StoreError> {
        let backend = self.pools.backend;
        let all = Clause::build(filter, backend, true);
        let size = i64::from(page.size.max(1));
        let offset = i64::from(page.index).saturating_mul(size);
        let sql = format!(
            "SELECT n.need_id, n.region, n.state, n.view, n.created_at_ms, n.updated_at_ms, \
             (SELECT COUNT(*) FROM recipients r WHERE r.need_id = n.need_id AND r.region = \
             n.region) AS recipients FROM needs n{} ORDER BY n.created_at_ms DESC, n.need_id \
             DESC, n.region DESC LIMIT {size} OFFSET {offset}",
            all.where_sql()
        );
        let rows = all
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pools.reader)
            .await?;
        let needs = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;

        let stateless = Clause::build(filter, backend, false);
        let sql = format!(
            "SELECT n.state, COUNT(*) AS c FROM needs n{} GROUP BY n.state",
            stateless.where_sql()
        );
        let rows = stateless
            .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_all(&self.pools.reader)
            .await?;
        let mut counts = BTreeMap::new();
        for row in &rows {
            let state: String = row.try_get("state")?;
            let count: i64 = row.try_get("c")?;
            let state = NeedState::parse(&state)
                .ok_or_else(|| StoreError::corrupt("needs.state", "not a known state"))?;
            counts.insert(state.as_str(), u64::try_from(count).unwrap_or(0));
        }
        let total = match filter.state {
            Some(state) => counts.get(state.as_str()).copied().unwrap_or(0),
            None => counts.values().sum(),
        };
        Ok(NeedPage {
            needs,
            total,
            counts,
        })
    }

    /// Refusals recorded in the audit trail at or after `since`, per reason code. Every
    /// refusal the pipeline records is audited in its transaction; a delivery dead-lettered
    /// as `retries_exhausted` is not (the store could not write), so it is not counted here.
    pub async fn refusals_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT reason_code, COUNT(*) FROM audit WHERE at_ms >= $1 AND action = 'rejected' \
             GROUP BY reason_code",
        )
        .bind(to_ms(since))
        .fetch_all(&self.pools.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(code, n)| {
                (
                    code.unwrap_or_else(|| "unknown".to_owned()),
                    u64::try_from(n).unwrap_or(0),
                )
            })
            .collect())
    }
}

fn summary_from_row(row: &AnyRow) -> Result<NeedSummary, StoreError> {
    let need_id: String = row.try_get("need_id")?;
    let region: String = row.try_get("region")?;
    let state: String = row.try_get("state")?;
    let view: String = row.try_get("view")?;
    let view: serde_json::Value =
        serde_json::from_str(&view).map_err(|_| StoreError::corrupt("needs.view", "not JSON"))?;
    let text = |key: &str| view.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let tags = view
        .get("tags")
        .and_then(|t| t.as_array())
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(NeedSummary {
        need_id: NeedId::parse(&need_id)
            .map_err(|_| StoreError::corrupt("needs.need_id", "not a need id"))?,
        region: org_id(&region, "needs.region")?,
        state: NeedState::parse(&state)
            .ok_or_else(|| StoreError::corrupt("needs.state", "not a known state"))?,
        category: text("category"),
        tags,
        urgency: text("urgency"),
        recipients: row.try_get("recipients")?,
        created_at: from_ms(row.try_get("created_at_ms")?, "needs.created_at_ms")?,
        updated_at: from_ms(row.try_get("updated_at_ms")?, "needs.updated_at_ms")?,
    })
}
