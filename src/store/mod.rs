//! The hub's durable state: needs, their recipients and answers, the inbox, the outbox and the
//! audit trail.
//!
//! # Why it looks like this
//!
//! **Two backends, one code path.** SQLite is the embedded default (one file, nothing to run);
//! PostgreSQL is for several hub instances competing on the same queues. [`Store`] is one type
//! over both, chosen by URL (`sqlite://PATH`, `sqlite::memory:`, `postgres://…`), built on sqlx's
//! `Any` driver. The alternative — an enum of `SqlitePool`/`PgPool` — would write every query's
//! bind-and-decode code twice for the sake of native column types we do not need. The price of
//! `Any` is a small set of portable types, which this schema turns into a rule: times are unix
//! milliseconds in `BIGINT` columns (they compare as numbers, so "respond-by has passed" is one
//! indexed `<=`), JSON is `TEXT`, bytes are `BLOB`/`BYTEA`. The SQL text is the same for both:
//! `$1` placeholders (SQLite reads `$N` as the N-th argument), `ON CONFLICT … DO NOTHING`,
//! `RETURNING`. Only two things differ, both about concurrency: PostgreSQL locks rows (a need
//! with `SELECT … FOR UPDATE`, the outbox rows a relay claims with `FOR UPDATE SKIP LOCKED`),
//! and SQLite transactions start with `BEGIN IMMEDIATE` on a single writer connection
//! (`connect.rs` explains why).
//!
//! **Two migration folders.** `migrations/sqlite` and `migrations/postgres` create identical
//! tables; the dialects disagree only on how to spell an auto-increment key, a byte string and a
//! pattern check. They are embedded at compile time (`include_str!` into an sqlx `Migrator`; the
//! `migrate!` macro would need sqlx's `macros` feature, which this crate does not build) and run
//! on every connect, which is idempotent.
//!
//! **Nothing lost, nothing twice.** A [`Tx`] carries the inbox row, the effects and the outbox
//! rows of one event; the delivery is acked after it commits. The relay claims unsent rows with
//! [`Store::claim_outbox`] (a lease in `outbox.claimed_until_ms`), publishes them with confirms
//! and calls [`Store::mark_sent`], or gives a failed row back: [`Store::retry_later`] (its own
//! backoff), [`Store::release`] (the broker was away) or [`Store::park`] (it can never be sent).
//! The running relay does all of that with [`Store::settle_and_claim`]: one transaction per
//! batch records the last batch's fates and claims the next (`settle.rs`). It claims only what
//! it was not handed: while it holds the store's handoff ([`Store::hand_off`]), a [`Tx`] writes
//! its outbox rows already claimed for it and hands them over at the commit (`handoff.rs`).
//! Whatever was not confirmed before a crash is claimed again once its lease runs out, so
//! it is published again and receivers dedupe by event id. [`Store::prune`] deletes sent outbox
//! rows, inbox rows and audit entries past their retention.
//!
//! **Few statements per batch.** A group commit writes many deliveries in one [`Tx`], and each
//! statement costs more than its rows. So the rows nothing in the transaction reads back
//! (recipients, outbox rows, audit entries, and without savepoints new needs) are written
//! behind, one statement per table (`pending.rs`), and a batch without savepoints records its
//! events in the inbox ahead, in one statement (`inbox.rs`).
//!
//! **Competing instances.** Answers to one need are serialised by the need's row lock
//! ([`Tx::load_need_for_update`]) and, as a second line, by the need's `version`: the store
//! keeps it to itself, in the [`StoredNeed`] a load hands out, and checks it when
//! `Tx::record_state` gives that back (a stale one fails with [`StoreError::Conflict`], which
//! is transient: reload and re-apply). The state machine sees only the plain
//! [`Need`](crate::need::Need). The inbox's primary key makes the second instance to see an
//! event skip it.
//! Their relays share the outbox through claims: a row one relay holds is skipped by the others
//! until it is sent, given back or its lease expires, so each outbound event goes on the wire
//! once (PostgreSQL picks rows with `FOR UPDATE SKIP LOCKED`; `outbox.rs` explains).
//!
//! **Timers survive restarts.** The close timer asks [`Store::needs_due`] instead of keeping
//! deadlines in memory.
//!
//! **No personal data at rest beyond the need view.** Needs keep only the PII-free view; the
//! audit trail takes ids and codes only ([`AuditEntry`], [`ReasonCode`]), and the database
//! checks that its codes are codes.

mod codes;
mod connect;
mod error;
mod feed;
mod handoff;
mod inbox;
mod migrations;
mod needs_list;
mod outbox;
mod parked;
mod pending;
mod records;
mod retention;
mod rows;
mod savepoint;
mod settle;
mod timeline;
mod tokens;
mod tx;
mod tx_outbox;
mod webhook_state;
mod webhooks;

use sqlx::Any;
use time::OffsetDateTime;

/// The hub's one URL redaction, here for the store's callers.
pub use crate::redact::redact_url;
pub use codes::{AuditAction, ReasonCode};
pub use connect::Backend;
pub use error::{Fault, StoreError};
pub use feed::FeedEvent;
pub use handoff::{Backlog, CAPACITY as HANDOFF_CAPACITY, Handed, HandoffReceiver};
pub use migrations::migrator;
pub use needs_list::{NeedFilter, NeedPage, NeedSummary, PageRequest};
pub use parked::ParkedRow;
pub use records::{
    AuditEntry, AuditRecord, NewNeed, NewRecipient, OutboxMessage, OutboxRow, ReferenceEntry,
    ReferenceEvent, StoredNeed,
};
pub use retention::{Pruned, Retention};
pub use settle::{ClaimLimits, RowFate, Settlement};
pub use timeline::AnswerEntry;
pub use tokens::TokenRecord;
pub use tx::Tx;
pub use webhook_state::{WebhookLease, WebhookState};
pub use webhooks::{ParkedWebhookEvent, WebhookRegistration};

use connect::Pools;
use rows::{audit_from_row, fetch_need, to_ms};

use crate::need::{NeedId, NeedKey, NeedState};
use crate::settings::{OrgId, StoreSettings};

/// Connections used when [`Store::connect`] is given only a URL.
pub(crate) const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// The durable state of the hub over SQLite or PostgreSQL. Cloning is cheap and clones share
/// the connection pools.
#[derive(Debug, Clone)]
pub struct Store {
    pools: Pools,
}

impl Store {
    /// Opens the store at `url` and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUrl`], [`StoreError::Connect`] (the message names the URL without
    /// its password and says how to start PostgreSQL when it refused the connection) or
    /// [`StoreError::Migrate`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// [`Store::connect`] with the `[store]` settings.
    ///
    /// # Errors
    ///
    /// As [`Store::connect`].
    pub async fn from_settings(settings: &StoreSettings) -> Result<Self, StoreError> {
        Self::connect_with(&settings.url, settings.max_connections).await
    }

    async fn connect_with(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let pools = connect::open(url, max_connections).await?;
        tracing::debug!(backend = %pools.backend, url = %redact_url(url), "Store opened.");
        Ok(Self { pools })
    }

    /// Which database this is.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.pools.backend
    }

    /// Starts a write transaction. See [`Tx`].
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Tx::begin(&self.pools).await
    }

    /// Checks that the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pools.reader).await?;
        Ok(())
    }

    /// Checks that the store can take writes now, within `timeout`: SQLite takes and releases
    /// the write lock on the writer connection (`BEGIN IMMEDIATE; ROLLBACK`); PostgreSQL
    /// answers on a pooled connection and is not read-only (a standby after a fail-over, or
    /// `default_transaction_read_only`). `/readyz` and the hub's pause both ask this.
    pub(crate) async fn probe_write(&self, timeout: std::time::Duration) -> Result<(), StoreError> {
        let probe = async {
            match self.pools.backend {
                Backend::Sqlite => {
                    let tx = self.pools.writer.begin_with("BEGIN IMMEDIATE").await?;
                    tx.rollback().await?;
                }
                Backend::Postgres => {
                    let read_only: String =
                        sqlx::query_scalar("SELECT current_setting('transaction_read_only')")
                            .fetch_one(&self.pools.writer)
                            .await?;
                    if read_only != "off" {
                        return Err(StoreError::Unwritable {
                            detail: "PostgreSQL is read-only (a standby, or \
                                     default_transaction_read_only is on)"
                                .to_owned(),
                        });
                    }
                }
            }
            Ok(())
        };
        tokio::time::timeout(timeout, probe)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unwritable {
                    detail: format!("no answer within {timeout:?}"),
                })
            })
    }

    /// Closes every connection; later calls fail with a pool-closed error. Waits for open
    /// transactions to end, so commit or drop every [`Tx`] first.
    pub async fn close(&self) {
        self.pools.writer.close().await;
        self.pools.reader.close().await;
    }

    /// A need with its recipients and their latest answers, read from one consistent snapshot.
    pub async fn need(&self, key: &NeedKey) -> Result<Option<StoredNeed>, StoreError> {
        let mut tx = self.read_tx().await?;
        let need = fetch_need(&mut tx, key, false).await?;
        tx.commit().await?;
        Ok(need)
    }

    /// Up to `limit` needs of `region` (in any state, or in `state`), in need id order, each
    /// read like [`Store::need`]: what `GET /v1/needs` lists for the calling region.
    pub async fn needs_of_region(
        &self,
        region: &OrgId,
        state: Option<NeedState>,
        limit: i64,
    ) -> Result<Vec<StoredNeed>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT need_id FROM needs WHERE region = $1 AND ($2 = '' OR state = $2) \
             ORDER BY need_id LIMIT $3",
        )
        .bind(region.as_str())
        .bind(state.map_or("", NeedState::as_str))
        .bind(limit)
        .fetch_all(&self.pools.reader)
        .await?;
        let mut needs = Vec::with_capacity(ids.len());
        for id in ids {
            let need_id = NeedId::parse(&id)
                .map_err(|_| StoreError::corrupt("needs.need_id", "not a need id"))?;
            // A need is never deleted, so each one read here is still there.
            if let Some(need) = self.need(&NeedKey::new(region.clone(), need_id)).await? {
                needs.push(need);
            }
        }
        Ok(needs)
    }

    /// The regions that have a need with this id, in id order (for an operator who knows only
    /// the id: `samverkan needs show`).
    pub async fn regions_with_need(&self, need_id: &NeedId) -> Result<Vec<OrgId>, StoreError> {
        let regions: Vec<String> =
            sqlx::query_scalar("SELECT region FROM needs WHERE need_id = $1 ORDER BY region")
                .bind(need_id.as_str())
                .fetch_all(&self.pools.reader)
                .await?;
        regions
            .iter()
            .map(|r| rows::org_id(r, "needs.region"))
            .collect()
    }

    /// Up to `limit` needs still waiting for answers whose respond-by is at or before `now`,
    /// earliest deadline first: the close timer's work list.
    pub async fn needs_due(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> Result<Vec<NeedKey>, StoreError> {
        let [a, b] = NeedState::AWAITING_ANSWERS;
        let keys: Vec<(String, String)> = sqlx::query_as(
            "SELECT region, need_id FROM needs WHERE state IN ($1, $2) AND respond_by_ms <= $3 \
             ORDER BY respond_by_ms, need_id, region LIMIT $4",
        )
        .bind(a.as_str())
        .bind(b.as_str())
        .bind(to_ms(now))
        .bind(limit)
        .fetch_all(&self.pools.reader)
        .await?;
        keys.iter()
            .map(|(region, id)| {
                let need_id = NeedId::parse(id)
                    .map_err(|_| StoreError::corrupt("needs.need_id", "not a need id"))?;
                Ok(NeedKey::new(rows::org_id(region, "needs.region")?, need_id))
            })
            .collect()
    }

    /// The recorded reference-data events with an id above `after`, in id order. Ids are
    /// committed in order (see [`Tx::record_reference`]), so a hub that remembers the last id it
    /// applied and asks for the ones after it misses none.
    pub(crate) async fn reference_events_after(
        &self,
        after: i64,
    ) -> Result<Vec<ReferenceEvent>, StoreError> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT id, event_type, org_id, data FROM reference_events WHERE id > $1 ORDER BY id",
        )
        .bind(after)
        .fetch_all(&self.pools.reader)
        .await?;
        rows.into_iter()
            .map(|(id, event_type, org_id, data)| {
                let data = serde_json::from_str(&data)
                    .map_err(|_| StoreError::corrupt("reference_events.data", "not JSON"))?;
                Ok(ReferenceEvent {
                    id,
                    event_type,
                    org_id,
                    data,
                })
            })
            .collect()
    }

    /// The audit trail of the needs with this id, oldest first. Where two regions use the id
    /// their entries are listed together: each entry's `region` says whose need it concerns
    /// where the hub knew (routing, answers, state changes; not refusals).
    pub async fn audit_trail(&self, need_id: &NeedId) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, action, event_id, need_id, region, org_id, reason_code FROM audit \
             WHERE need_id = $1 ORDER BY id",
        )
        .bind(need_id.as_str())
        .fetch_all(&self.pools.reader)
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// A read-only snapshot: on SQLite a deferred transaction (WAL gives it a snapshot at its
    /// first read), on PostgreSQL `REPEATABLE READ` so both statements of a read see one state.
    async fn read_tx(&self) -> Result<sqlx::Transaction<'static, Any>, StoreError> {
        Ok(match self.pools.backend {
            Backend::Sqlite => self.pools.reader.begin().await?,
            Backend::Postgres => {
                self.pools
                    .reader
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        })
    }

    /// A short write transaction outside the event pipeline (the relay's claims and
    /// bookkeeping, in `outbox.rs`).
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, Any>, StoreError> {
        Ok(match self.pools.backend {
            Backend::Sqlite => self.pools.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pools.writer.begin().await?,
        })
    }
}
