//! Committed outbox rows handed straight to this process's relay, instead of the relay finding
//! them again with a claim.
//!
//! **Why.** Without it, every outbound message costs the database three writes of its row:
//! the insert, the relay's claim (an `UPDATE … RETURNING` that rewrites the row and reads its
//! body back) and the sent mark. Measured in `samverkan bench` on PostgreSQL, the claim was
//! the second most expensive statement per need, and on SQLite it held the one writer. Yet the
//! process that commits a row is usually the one whose relay publishes it, and it still has
//! the row in memory.
//!
//! **How.** When the hub's relay starts, it opens a handoff on its store ([`Store::hand_off`]).
//! A transaction that enqueues outbox rows then writes them *already claimed*, under the
//! handoff's token and with the relay's lease, and at its commit passes them to the relay over
//! a bounded channel. The relay publishes them and marks them sent under that token, exactly as
//! rows it claimed. Nothing about durability changes: the rows are in the database before they
//! are handed over; if the process dies holding them, their lease runs out and any relay claims
//! them again (a duplicate at worst, never a loss), as with a claim.
//!
//! **Bounded, and order kept.** The channel holds [`CAPACITY`] commits. A transaction takes
//! its slot when it begins, before it takes SQLite's writer ([`Handoff::ticket`]), waiting for
//! one if the relay is behind: the intake goes at the relay's pace instead of leaving it a
//! backlog. When none frees up within [`SLOT_WAIT`] — the relay is stuck, or stopped — the
//! transaction writes its rows unclaimed, for the relay's claim, as before, and turns handing
//! over off (later transactions do not wait). Such a row is older than any row handed over
//! later, so the relay then gives back what it was handed until then (it becomes claimable in
//! id order) and claims from the database, oldest first. Once a claim comes back short it
//! turns handing over on again ([`HandoffReceiver::reopen`]), leaving what it is handed
//! meanwhile in the channel; only once a claim finds less than a full batch, with no
//! unclaimed write under way when it began and none begun since
//! ([`HandoffReceiver::caught_up`]), does it publish handed rows again. So an organisation
//! never receives a later event ahead of an earlier one because of the handoff.

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::{OutboxRow, Store};

/// Commits the channel holds.
pub const CAPACITY: usize = 8;

/// How long a transaction waits for a slot before it writes its rows unclaimed: several of the
/// relay's batches, so only a relay that is stuck (or a broker that confirms nothing) turns
/// handing over off.
pub(super) const SLOT_WAIT: Duration = Duration::from_secs(2);

/// One commit's rows, handed to the relay.
#[derive(Debug)]
pub struct Handed {
    /// In id order, claimed under the handoff's token.
    pub rows: Vec<OutboxRow>,
    /// Taken before the first of them was written: their lease began after it.
    pub written_at: Instant,
}

/// The sending side, shared by every clone of the store it was opened on.
#[derive(Debug)]
pub(super) struct Handoff {
    sender: mpsc::Sender<Handed>,
    /// The claim token the handed rows are written under.
    pub(super) token: String,
    /// How long other relays skip them.
    pub(super) lease: Duration,
    mode: Mutex<Mode>,
    /// Wakes the transactions waiting for a slot when the relay stops handing over.
    stopped: Notify,
}

/// Whether rows are handed over, and what the relay must know to turn that back on.
#[derive(Debug)]
struct Mode {
    direct: bool,
    /// Counts unclaimed writes begun, so the relay can tell whether one began during its claim.
    epoch: u64,
    /// Unclaimed writes not yet committed or rolled back.
    writing: usize,
}

/// What a transaction does with its outbox rows.
#[derive(Debug)]
pub(super) enum Ticket {
    /// Writes them claimed and hands them over at the commit.
    Direct(mpsc::OwnedPermit<Handed>),
    /// Writes them unclaimed.
    Unclaimed {
        /// Ends the write's count when the transaction ends.
        _writing: Writing,
    },
}

/// An unclaimed write under way (see [`Mode::writing`]).
#[derive(Debug)]
pub(super) struct Writing(Arc<Handoff>);

impl Drop for Writing {
    fn drop(&mut self) {
        self.0.mode().writing -= 1;
    }
}

impl Handoff {
    fn mode(&self) -> std::sync::MutexGuard<'_, Mode> {
        // The lock guards plain counters, left consistent by every holder.
        self.mode.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot in the channel while rows are handed over, waiting up to [`SLOT_WAIT`] for one
    /// (the relay frees a slot with every batch it takes, so a commit waits for the relay
    /// rather than leave it a backlog to claim); otherwise an unclaimed write, which turns
    /// handing over off until the relay has caught up.
    pub(super) async fn ticket(self: &Arc<Self>) -> Ticket {
        // Before looking: a stop after the look still ends the wait.
        let stopped = self.stopped.notified();
        if self.mode().direct {
            let slot = tokio::time::timeout(SLOT_WAIT, self.sender.clone().reserve_owned());
            tokio::select! {
                reserved = slot => match reserved {
                    Ok(Ok(permit)) => return Ticket::Direct(permit),
                    Ok(Err(_)) | Err(_) => {
                        tracing::debug!("no room in the relay's handoff; outbox rows go unclaimed");
                        self.mode().direct = false;
                    }
                },
                () = stopped => {}
            }
        }
        let mut mode = self.mode();
        mode.epoch += 1;
        mode.writing += 1;
        Ticket::Unclaimed {
            _writing: Writing(self.clone()),
        }
    }
}

/// The relay's side of a handoff.
#[derive(Debug)]
pub struct HandoffReceiver {
    receiver: mpsc::Receiver<Handed>,
    handoff: Arc<Handoff>,
}

/// Where the relay's backlog stood when a claim began (see [`HandoffReceiver::caught_up`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    epoch: Option<u64>,
}

impl HandoffReceiver {
    /// Whether rows are being handed over (otherwise the relay claims them).
    #[must_use]
    pub fn is_direct(&self) -> bool {
        self.handoff.mode().direct
    }

    /// Turns handing over off: the relay gave rows back, and later ones must not overtake them.
    pub fn stop(&self) {
        {
            let mut mode = self.handoff.mode();
            mode.direct = false;
            mode.epoch += 1;
        }
        self.handoff.stopped.notify_waiters();
    }

    /// Hands rows over again after [`HandoffReceiver::stop`] or a full channel turned it off.
    /// What is handed over from now on is newer than every unclaimed row, but the relay must
    /// not publish it before a claim has taken those ([`HandoffReceiver::caught_up`]).
    pub fn reopen(&self) {
        self.handoff.mode().direct = true;
    }

    /// Taken just before a claim: what [`HandoffReceiver::caught_up`] checks afterwards.
    #[must_use]
    pub fn before_claim(&self) -> Backlog {
        let mode = self.handoff.mode();
        Backlog {
            epoch: (mode.direct && mode.writing == 0).then_some(mode.epoch),
        }
    }

    /// After a claim that found less than a full batch: whether every unclaimed row is now
    /// claimed — no unclaimed write was under way when the claim began, none began since, and
    /// rows are still handed over. Then the relay may publish what it is handed.
    #[must_use]
    pub fn caught_up(&self, before: Backlog) -> bool {
        let mode = self.handoff.mode();
        mode.direct && before.epoch == Some(mode.epoch)
    }

    /// A commit already handed over, if any.
    pub fn try_take(&mut self) -> Option<Handed> {
        self.receiver.try_recv().ok()
    }

    /// Waits for the next commit handed over; `None` once closed and drained.
    pub async fn take(&mut self) -> Option<Handed> {
        self.receiver.recv().await
    }

    /// Hands nothing over any more (transactions write unclaimed rows from now on) and
    /// returns what was handed over or is being committed with a slot, waiting for those
    /// commits to end.
    pub async fn close(&mut self) -> Vec<Handed> {
        self.stop();
        self.receiver.close();
        let mut left = Vec::new();
        while let Some(handed) = self.receiver.recv().await {
            left.push(handed);
        }
        left
    }
}

/// A handoff whose rows are leased for `lease`, and its receiving side.
pub(super) fn open(lease: Duration) -> (Arc<Handoff>, HandoffReceiver) {
    let (sender, receiver) = mpsc::channel(CAPACITY);
    let handoff = Arc::new(Handoff {
        sender,
        token: format!("handoff-{}", uuid::Uuid::new_v4()),
        lease,
        // Off until a claim of the relay has come back short: what a crash left goes first.
        mode: Mutex::new(Mode {
            direct: false,
            epoch: 0,
            writing: 0,
        }),
        stopped: Notify::new(),
    });
    let receiver = HandoffReceiver {
        receiver,
        handoff: handoff.clone(),
    };
    (handoff, receiver)
}

/// The handoff every clone of one store shares: none until a relay opens one, and a closed
/// one counts as none.
#[derive(Debug, Clone, Default)]
pub(super) struct Slot(Arc<RwLock<Option<Arc<Handoff>>>>);

impl Slot {
    /// The open handoff, if any.
    pub(super) fn current(&self) -> Option<Arc<Handoff>> {
        let slot = self.0.read().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref()
            .filter(|handoff| !handoff.sender.is_closed())
            .cloned()
    }

    /// Opens a handoff unless an open one exists (another relay on this store already has
    /// it).
    pub(super) fn open(&self, lease: Duration) -> Option<HandoffReceiver> {
        let mut slot = self.0.write().unwrap_or_else(PoisonError::into_inner);
        if slot
            .as_ref()
            .is_some_and(|handoff| !handoff.sender.is_closed())
        {
            return None;
        }
        let (handoff, receiver) = open(lease);
        *slot = Some(handoff);
        Some(receiver)
    }
}

impl Store {
    /// Has this store's transactions write their outbox rows claimed for the caller, a relay,
    /// and hand them over at their commits (see the module docs); `lease` is the claim's.
    /// `None` when a relay already holds this store's handoff: that one gets the rows.
    #[must_use]
    pub fn hand_off(&self, lease: Duration) -> Option<HandoffReceiver> {
        self.pools.handoff.open(lease)
    }
}
