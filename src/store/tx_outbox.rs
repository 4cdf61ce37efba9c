//! Outbox rows written inside a delivery's transaction: what the relay publishes once the
//! transaction commits (the relay's side — claim, mark sent, retry — is `outbox.rs`). While this
//! process's relay holds a handoff, the rows are written claimed for it and handed to it at the
//! commit (`handoff.rs`).

use std::sync::Arc;
use std::time::Instant;

use sqlx::Row;

use super::StoreError;
use super::feed::FeedEntry;
use super::handoff::{Handed, Handoff, Ticket};
use super::outbox::now_sql;
use super::records::{OutboxMessage, OutboxRow};
use super::rows::{from_ms, now_ms, to_json};
use super::tx::{Tx, multi_row_insert};

/// The columns an outbox row is written with; `attempts` starts at 0.
const INSERT: &str = "INSERT INTO outbox (event_id, exchange, routing_key, content_type, \
                      correlation_id, amqp_type, message_id, headers, body, created_at_ms, \
                      attempts) VALUES ";
/// [`INSERT`] for rows claimed for the relay as they are written: the lease and the token are
/// each row's last two values.
const INSERT_CLAIMED: &str = "INSERT INTO outbox (event_id, exchange, routing_key, content_type, \
                      correlation_id, amqp_type, message_id, headers, body, created_at_ms, \
                      attempts, claimed_until_ms, claim_token) VALUES ";
/// Bound values per row (every column of [`INSERT`] but `attempts`).
const COLUMNS: usize = 10;

/// A transaction's outbox rows on their way to the relay (or not: [`Ticket::Unclaimed`]).
#[derive(Debug)]
pub(super) struct Handing {
    ticket: Ticket,
    token: String,
    lease_ms: i64,
    /// Before the first row was written.
    written_at: Option<Instant>,
    rows: Vec<OutboxRow>,
}

impl Handing {
    /// A slot in `handoff`'s channel if one frees up in time, else unclaimed rows.
    pub(super) async fn new(handoff: &Arc<Handoff>) -> Self {
        Self {
            ticket: handoff.ticket().await,
            token: handoff.token.clone(),
            lease_ms: i64::try_from(handoff.lease.as_millis()).unwrap_or(i64::MAX / 4),
            written_at: None,
            rows: Vec::new(),
        }
    }

    /// Gives the committed rows to the relay (an unclaimed write just ends).
    pub(super) fn hand_over(self) {
        if let Ticket::Direct(permit) = self.ticket
            && !self.rows.is_empty()
        {
            permit.send(Handed {
                rows: self.rows,
                written_at: self.written_at.unwrap_or_else(Instant::now),
            });
        }
    }
}

impl Tx {
    /// Writes a message for the relay to publish once this transaction commits, at once (what
    /// is written behind goes first, so ids keep the order messages were given in); returns its
    /// outbox id. The pipeline writes behind ([`Tx::enqueue_all`]).
    pub async fn enqueue(&mut self, message: &OutboxMessage) -> Result<i64, StoreError> {
        self.flush().await?;
        let ids = self.insert(vec![(message.clone(), now_ms())]).await?;
        ids.first()
            .copied()
            .ok_or_else(|| StoreError::from(sqlx::Error::RowNotFound))
    }

    /// One statement for `chunk` (each message with the time it was enqueued), claimed for the
    /// relay when this transaction hands its rows over (then they are kept for it); the ids in
    /// the order of `chunk`.
    pub(super) async fn insert(
        &mut self,
        chunk: Vec<(OutboxMessage, i64)>,
    ) -> Result<Vec<i64>, StoreError> {
        let claimed = self
            .handing
            .as_mut()
            .filter(|h| matches!(h.ticket, Ticket::Direct(_)))
            .map(|h| {
                h.written_at.get_or_insert_with(Instant::now);
                (h.token.clone(), h.lease_ms)
            });
        let sql = match claimed {
            // Each row's lease and token are its last two values.
            Some(_) => {
                let tail = format!(", 0, {} + ?, ?", now_sql(self.backend()));
                multi_row_insert(self.backend(), INSERT_CLAIMED, chunk.len(), COLUMNS, &tail)
            }
            None => multi_row_insert(self.backend(), INSERT, chunk.len(), COLUMNS, ", 0"),
        } + " RETURNING id";
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (message, now) in &chunk {
            query = bind_row(query, message, *now)?;
            if let Some((token, lease_ms)) = &claimed {
                query = query.bind(*lease_ms).bind(token.clone());
            }
        }
        let rows = query.fetch_all(&mut *self.inner).await?;
        // Ids follow the order of the values (the relay publishes in id order), but
        // `RETURNING` promises no order of its own.
        let mut ids = rows
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        for ((message, _), id) in chunk.iter().zip(&ids) {
            self.note_feed(message, *id);
        }
        if let (Some((token, _)), Some(handing)) = (claimed, self.handing.as_mut()) {
            for ((message, now), id) in chunk.into_iter().zip(&ids) {
                handing.rows.push(OutboxRow {
                    id: *id,
                    message,
                    created_at: from_ms(now, "outbox.created_at_ms")?,
                    attempts: 0,
                    claim_token: Some(token.clone()),
                });
            }
        }
        Ok(ids)
    }

    /// How many rows are to be handed over so far (for a savepoint).
    pub(super) fn handed_len(&self) -> usize {
        self.handing.as_ref().map_or(0, |h| h.rows.len())
    }

    /// Forgets the rows to be handed over beyond the first `len` (rolled back to a savepoint).
    pub(super) fn unhand(&mut self, len: usize) {
        if let Some(handing) = self.handing.as_mut() {
            handing.rows.truncate(len);
        }
    }

    /// Keeps an organisation's event for its feed, written at the commit (`feed.rs`); the feed
    /// names the outbox row `outbox_id` rather than copying its body.
    fn note_feed(&mut self, message: &OutboxMessage, outbox_id: i64) {
        if let (Some(org), Some(kind)) = (&message.recipient, &message.kind) {
            self.feed.push(FeedEntry {
                org: org.clone(),
                event_id: message.event_id.clone(),
                event_type: kind.clone(),
                outbox_id,
            });
        }
    }
}

type Args = sqlx::any::AnyArguments;

/// One row's values, in [`INSERT`]'s column order.
fn bind_row<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, Args>,
    message: &'q OutboxMessage,
    now: i64,
) -> Result<sqlx::query::Query<'q, sqlx::Any, Args>, StoreError> {
    Ok(query
        .bind(message.event_id.as_ref())
        .bind(message.exchange.as_str())
        .bind(message.routing_key.as_str())
        .bind(message.content_type.as_str())
        .bind(message.correlation_id.as_deref())
        .bind(message.kind.as_deref())
        .bind(message.message_id.as_deref())
        .bind(to_json(&message.headers, "outbox.headers")?)
        .bind(message.body.as_slice())
        .bind(now))
}
