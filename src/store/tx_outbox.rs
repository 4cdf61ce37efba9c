//! Outbox rows written inside a delivery's transaction: what the relay publishes once the
//! transaction commits (the relay's side — claim, mark sent, retry — is `outbox.rs`).

use sqlx::Row;

use super::StoreError;
use super::feed::FeedEntry;
use super::records::OutboxMessage;
use super::rows::{now_ms, to_json};
use super::tx::{ROWS_PER_INSERT, Tx, multi_row_insert};

/// The columns an outbox row is written with; `attempts` starts at 0.
const INSERT: &str = "INSERT INTO outbox (event_id, exchange, routing_key, content_type, \
                      correlation_id, amqp_type, message_id, headers, body, created_at_ms, \
                      attempts) VALUES ";
/// Bound values per row (every column of [`INSERT`] but `attempts`).
const COLUMNS: usize = 10;

impl Tx {
    /// Writes a message for the relay to publish once this transaction commits; returns its
    /// outbox id (for [`Store::mark_sent`](super::Store::mark_sent) after a direct publish).
    pub async fn enqueue(&mut self, message: &OutboxMessage) -> Result<i64, StoreError> {
        let sql = multi_row_insert(INSERT, 1, COLUMNS, ", 0") + " RETURNING id";
        let query = bind_row(sqlx::query(sqlx::AssertSqlSafe(sql)), message, now_ms())?;
        let row = query.fetch_one(&mut *self.inner).await?;
        let id: i64 = row.try_get(0)?;
        self.note_feed(message, id);
        Ok(id)
    }

    /// Writes several messages for the relay in as few statements as possible (a need's
    /// challenges, calls and status); they get ids in the order given.
    pub(crate) async fn enqueue_all(
        &mut self,
        messages: &[OutboxMessage],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        for chunk in messages.chunks(ROWS_PER_INSERT) {
            let sql = multi_row_insert(INSERT, chunk.len(), COLUMNS, ", 0") + " RETURNING id";
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for message in chunk {
                query = bind_row(query, message, now)?;
            }
            let rows = query.fetch_all(&mut *self.inner).await?;
            // Ids follow the order of the values (the relay publishes in id order), but
            // `RETURNING` promises no order of its own.
            let mut ids = rows
                .iter()
                .map(|row| row.try_get::<i64, _>(0))
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort_unstable();
            for (message, id) in chunk.iter().zip(ids) {
                self.note_feed(message, id);
            }
        }
        Ok(())
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
