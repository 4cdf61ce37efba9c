//! The outbox relay: publishes what the pipeline committed, marks it sent once confirmed.
//!
//! It is the only thing that publishes the hub's events. Rows are claimed oldest first in
//! batches capped in rows (the confirm window) and bytes ([`Store::claim_outbox_within`]) and
//! published with pipelined confirms; a row is marked sent only after the broker confirmed it
//! and routed it to a queue. The relay itself is pipelined too (`pipelined.rs`): while a batch
//! awaits its confirms, one store transaction records the batch before it and claims the next,
//! and rows that commits hand over meanwhile go out with it (`handed.rs`).
//!
//! **No row can stall the others.** Each failed row gets one of three fates, decided from the
//! error alone ([`verdict`]):
//!
//! - **parked** at once when it can never be published — a short-string property over 255
//!   bytes, headers over the negotiated frame size, a body over `hub.relay_max_message_bytes`
//!   (the publisher checks before sending, so such a row never costs a connection) — and after
//!   `hub.relay_max_attempts` failed attempts when the broker keeps refusing it (unroutable,
//!   its publish closing the channel). A nack is not counted towards parking: it is how a full
//!   organisation queue refuses (`reject-publish`), and that row waits until the organisation
//!   consumes. A parked row stays in the outbox with a stable
//!   reason code, is logged at WARN with its event id, counted in `samverkan_outbox_parked` and
//!   listed by `samverkan dead-letters parked`; it is never retried.
//! - **retried later**: the broker refused it, so it waits for its own next-attempt time (the
//!   backoff grows per attempt, jittered), while the rows behind it go on at once. A row that
//!   has failed before is published alone, so a row that breaks the channel cannot count
//!   failures against its neighbours: a row is parked only for failures of its own.
//! - **waiting**: the broker link was down or lost — an outage, not the row's fault. The row is
//!   given back untouched (no attempt counted) and the relay pauses as a whole (jittered,
//!   doubling to 5 s), since nothing can be published until the broker is back.
//!
//! **Several relays, one outbox.** Hub instances sharing a database each run a relay. A claim
//! is a lease (`[hub] relay_lease_secs`): while one relay holds a row the others skip it, so
//! each event goes on the wire once, and the relays split the backlog between them (on
//! PostgreSQL two claims at the same moment take disjoint rows). A relay that dies holding
//! rows — a SIGKILL between claim and confirm — leaves them claimed until the lease runs out;
//! then any relay, including the restarted hub's, claims and publishes them again, and
//! receivers dedupe by event id. A batch must be published well within the lease, or another
//! relay publishes it too: a broker that withholds confirms for longer than the lease (the
//! publisher waits up to its confirm timeout) costs duplicates, never a loss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

mod fate;
mod handed;
mod intake;
mod pipelined;

pub use fate::{
    BODY_TOO_LARGE, BROKER_REFUSED, HEADER_NAME_TOO_LONG, HEADERS_TOO_LARGE, PROPERTY_TOO_LONG,
    UNROUTABLE, Verdict, verdict,
};

use crate::pipeline::outbox::from_row;
use crate::settings::Settings;
use crate::store::{ClaimLimits, OutboxRow, RowFate, Settlement, Store, StoreError};
use crate::transport::{Backoff, TransportError};
use crate::transport::{Outbound, Publish, Shutdown};

/// Shortest and longest relay-wide pause while the broker is unreachable.
const MIN_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// How often the relay looks even when nobody woke it (rows from another hub instance, rows
/// whose next attempt has come).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// How much shorter than the lease a batch's publishing must be (the settings own the figure,
/// since they check the lease against it).
pub(crate) const LEASE_MARGIN: Duration = crate::settings::RELAY_LEASE_MARGIN;

/// How much the relay claims at a time, for how long, and how it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayConfig {
    /// Rows per pass (the confirm window).
    pub batch: usize,
    /// Bytes (bodies and headers) per pass; the first row is taken whatever its size.
    pub batch_bytes: usize,
    /// How long other relays skip the claimed rows.
    pub lease: Duration,
    /// Failed attempts after which a row the broker keeps refusing is parked (at least 2).
    pub max_attempts: i64,
    /// Delays between attempts at one row.
    pub retry: Backoff,
}

impl RelayConfig {
    /// How long publishing one claimed batch may take: the lease less [`LEASE_MARGIN`] (the
    /// settings require a lease longer than the publisher's confirm timeout plus twice the
    /// margin, so a confirm that arrives in time is never cut off).
    #[must_use]
    pub(crate) fn publish_deadline(&self) -> Duration {
        self.lease
            .saturating_sub(LEASE_MARGIN)
            .max(Duration::from_millis(100))
    }

    /// What one claim may take.
    #[must_use]
    pub(crate) fn limits(&self) -> ClaimLimits {
        ClaimLimits {
            rows: i64::try_from(self.batch.max(1)).unwrap_or(i64::MAX),
            bytes: i64::try_from(self.batch_bytes).unwrap_or(i64::MAX),
            lease: self.lease,
        }
    }

    /// The relay the settings describe (`[hub] relay_*`, `[amqp] confirm_window`).
    #[must_use]
    pub fn from_settings(settings: &Settings) -> Self {
        let hub = &settings.hub;
        Self {
            batch: settings.amqp.confirm_window,
            batch_bytes: hub.relay_batch_bytes,
            lease: Duration::from_secs(hub.relay_lease_secs),
            max_attempts: i64::from(hub.relay_max_attempts),
            retry: Backoff {
                initial: hub.relay_retry_initial(),
                max: hub.relay_retry_max(),
            },
        }
    }
}

impl Default for RelayConfig {
    /// 256 rows or 8 MiB per pass, a 10 s lease, parked after 10 attempts 1 s … 5 min apart.
    fn default() -> Self {
        Self {
            batch: 256,
            batch_bytes: 8 << 20,
            lease: Duration::from_secs(10),
            max_attempts: 10,
            retry: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(300),
            },
        }
    }
}

/// Publish pending outbox rows until `shutdown`, one batch on the wire while the store records
/// the batch before it and claims the one after it (`pipelined.rs`).
pub async fn run<P: Publish>(
    store: Store,
    publisher: Arc<P>,
    wake: Arc<Notify>,
    config: RelayConfig,
    shutdown: Shutdown,
) {
    let handoff = store.hand_off(config.lease);
    pipelined::run(
        &store,
        publisher.as_ref(),
        &wake,
        handoff,
        &config,
        &shutdown,
    )
    .await;
}

async fn sleep_or_shutdown(pause: Duration, shutdown: &Shutdown) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        () = shutdown.wait() => {}
    }
}

/// What one pass did with the rows it claimed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Rows claimed.
    pub claimed: usize,
    /// Rows confirmed and marked sent.
    pub published: usize,
    /// Rows the broker refused, waiting for their next attempt.
    pub retrying: usize,
    /// Rows set aside for good.
    pub parked: usize,
    /// Rows given back because the broker was unreachable.
    pub waiting: usize,
}

/// Claim one batch of due rows no other relay holds, publish it, and settle each row by its
/// [`verdict`] (the relay's loop does the same with the next batch's claim overlapping the
/// confirms). Rows that never failed go out together with pipelined confirms; rows that failed
/// before go out one by one after them.
pub async fn relay_once<P: Publish>(
    store: &Store,
    publisher: &P,
    config: &RelayConfig,
) -> Result<Pass, StoreError> {
    let claimed_at = Instant::now();
    let rows = store
        .claim_outbox_within(config.limits().rows, config.limits().bytes, config.lease)
        .await?;
    let deadline = claimed_at + config.publish_deadline();
    let published = publish_batch(publisher, &rows, deadline, config, None).await;
    let Some((settlement, mut pass)) = published else {
        return Ok(Pass::default());
    };
    store.settle_and_claim(&settlement, None).await?;
    pass.claimed = rows.len();
    Ok(pass)
}

/// Publishes `rows` and judges each; `None` when there are none. Rows that never failed go
/// out first, together with what commits hand over meanwhile (`handed`, judged with them);
/// rows that failed before go out one by one after them. A batch not published by `deadline`
/// (its lease less the margin) is given back whole.
async fn publish_batch<P: Publish>(
    publisher: &P,
    rows: &[OutboxRow],
    deadline: Instant,
    config: &RelayConfig,
    mut handed: Option<&mut handed::Handed<'_>>,
) -> Option<(Vec<Settlement>, Pass)> {
    if rows.is_empty() {
        return None;
    }
    let (fresh, suspects): (Vec<&OutboxRow>, Vec<&OutboxRow>) =
        rows.iter().partition(|row| row.attempts == 0);
    let publishing = async {
        let mut results = match handed.as_deref_mut() {
            Some(more) if !fresh.is_empty() => {
                let messages: Vec<Outbound> = fresh.iter().map(|r| from_row(&r.message)).collect();
                publisher.publish_train(&messages, more).await
            }
            _ => publish(publisher, &fresh).await,
        };
        for row in &suspects {
            results.extend(publish(publisher, std::slice::from_ref(row)).await);
        }
        results
    };
    let Ok(results) = tokio::time::timeout_at(deadline.into(), publishing).await else {
        // The broker holds back confirms (flow control, a stalled link): give the rows back
        // before the lease runs out, rather than race another relay for them. Whatever was
        // confirmed meanwhile is published again; receivers dedupe by event id.
        tracing::warn!(
            rows = rows.len(),
            deadline = ?config.publish_deadline(),
            "publishing a claimed batch took longer than its deadline; giving the rows back"
        );
        let taken = handed.map_or(&[][..], |h| h.rows.as_slice());
        let pass = Pass {
            claimed: rows.len() + taken.len(),
            waiting: rows.len() + taken.len(),
            ..Pass::default()
        };
        let mut given_back = Settlement::release_all(rows);
        given_back.extend(Settlement::release_all(taken));
        return Some((given_back, pass));
    };
    let taken = handed.map_or(&[][..], |h| h.rows.as_slice());
    let published = fresh
        .iter()
        .copied()
        .chain(taken)
        .chain(suspects.iter().copied());
    let mut judged = judge(config, published.zip(&results));
    judged.1.claimed = rows.len() + taken.len();
    Some(judged)
}

/// Each row's fate by its [`verdict`], for the store to record under the token of the claim
/// that handed the row out, so it applies only while this relay's claim holds.
fn judge<'a>(
    config: &RelayConfig,
    published: impl Iterator<Item = (&'a OutboxRow, &'a Result<(), TransportError>)>,
) -> (Vec<Settlement>, Pass) {
    let mut pass = Pass::default();
    let mut fates = Vec::new();
    for (row, result) in published {
        let fate = match verdict(row.attempts, result, config) {
            Verdict::Sent => {
                pass.published += 1;
                RowFate::Sent
            }
            Verdict::Wait => {
                pass.waiting += 1;
                RowFate::Release
            }
            Verdict::Retry(delay) => {
                log_retry(row, result, delay);
                pass.retrying += 1;
                RowFate::Retry(delay)
            }
            Verdict::Park(reason, detail) => {
                tracing::warn!(
                    outbox_id = row.id,
                    event_id = %row.message.event_id,
                    routing_key = %row.message.routing_key,
                    reason = %reason,
                    detail = %detail,
                    "outbox row can never be published; parked (samverkan dead-letters parked)"
                );
                pass.parked += 1;
                RowFate::Park(reason, detail)
            }
        };
        fates.push((row, fate));
    }
    (Settlement::of(fates), pass)
}

async fn publish<P: Publish>(
    publisher: &P,
    rows: &[&OutboxRow],
) -> Vec<Result<(), TransportError>> {
    if rows.is_empty() {
        return Vec::new();
    }
    let messages: Vec<Outbound> = rows.iter().map(|r| from_row(&r.message)).collect();
    publisher.publish_all(&messages).await
}

fn log_retry(row: &OutboxRow, result: &Result<(), TransportError>, delay: Duration) {
    if let Err(error) = result {
        tracing::warn!(
            outbox_id = row.id,
            event_id = %row.message.event_id,
            attempt = row.attempts + 1,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "the broker refused an outbox row; it is retried alone, the others go on"
        );
    }
}
