//! Reconciliation: the need state machine. Answers, withdrawals and the passing
//! of the respond-by date become state changes, and every change becomes one
//! `se.samverkan.need.status.v1` for the owning region. The states and the diagram that
//! connects them are on [`NeedState`]; this module implements the edges after routing:
//! [`apply_answer`] (`published ─► answered`), [`close`] (`published | answered ─► closed`)
//! and [`withdraw`] (any open state `─► withdrawn`).
//!
//! # Why it is pure
//!
//! Each function takes the need as it stands ([`Need`]), the parsed input and
//! `now`, and returns what to record and what to publish. It reads no clock, no store, no
//! broker. So every rule is a plain unit test, the order in which competing hub instances see
//! answers cannot change the outcome (the caller holds the need's row lock around
//! load → apply → record), and a refusal is a [`Rejection`] ready to go back to the sender.
//!
//! # Rules and the decisions behind them
//!
//! - **Latest answer wins, per recipient**: by event `time`, ties by event id. Times compare at
//!   millisecond precision because that is what the store keeps and compares (when it records
//!   an answer, in SQL), so both always agree. A decline
//!   is an answer like any other.
//! - **`answered` means a positive answer was received**, even if that recipient's latest
//!   answer is now a decline: the state machine has no edge back to `published`, and a state
//!   that depended on arrival order would break "latest wins regardless of order". A decline
//!   alone leaves the need `published`; the counts show it.
//! - **Late** (`deadline`): `respondBy` is a date, the last day answers are taken, in
//!   Swedish time. An answer is late when its own `time` or the hub's `now` is at or after the
//!   end of that day, or the need is closed. The event time alone would let a sender backdate
//!   an answer into the window; `now` alone would take an answer that says it was written
//!   after the deadline. With both, nothing changes a need once its window has ended, whether
//!   or not the close timer has run yet, so the final summary is final.
//! - **A need that is not yours does not exist** (README, "Need identity"): a need is
//!   identified by its region and id, and an answer or withdrawal concerning a need the sender
//!   may not see — another region's need, a need that was not sent to the sender, one that was
//!   never published — is refused exactly like an id nobody uses: `unknown_need`, with a
//!   detail that names only the id the sender sent ([`unknown_need`]). So nobody can probe
//!   which needs exist elsewhere.
//! - **Check order**: unknown need (including not a recipient) → wrong kind → withdrawn →
//!   late → unknown course. Visibility comes first so that no later refusal tells an
//!   organisation anything about a need it did not receive.
//! - **Every visible change publishes one status**: a state change, or a recipient's latest
//!   answer changing (a decline while `published` changes no state but changes the counts). An
//!   answer that is superseded and changes no state, or a duplicate, publishes nothing.
//!
//! Rejections carry pointers (`/subject`, `/time`, `/data/courseCode`) and fixed sentences,
//! never values from the refused event.
//!
//! # Using it
//!
//! In one store transaction: load the need for update; [`apply_answer`] (or [`withdraw`],
//! [`close`]); on a refusal send the [`Rejection`] back; otherwise record the answer, store
//! `transition.need.state` and `state_reason` when [`Transition::state_changed`], and enqueue
//! `transition.status` as `need.status` to the need's region (plus each [`Notice`] as
//! `challenge.withdrawn`). Store respond-by dates as [`closes_at`] so that the store's close
//! timer query finds a need exactly when its window ends.

mod answer;
mod apply;
mod close;
pub(crate) mod deadline;
#[cfg(test)]
mod fixture;
mod report;
mod status;
mod withdraw;

use serde_json::Value;

use crate::event::{Issue, RejectReason};
use crate::need::{Need, NeedId, NeedState};
use crate::rejection::Rejection;

pub use answer::Answer;
pub use apply::{AnswerDecision, apply_answer};
pub use close::close;
pub use deadline::{closes_at, respond_by_date};
pub(crate) use report::need_report;
pub use status::{Counts, status_data};
pub use withdraw::{Notice, Withdraw, Withdrawal, withdraw};

/// One change of a need, and the `need.status` that tells the owning region about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The need after the change: state, state reason, latest answers and `updated_at` are
    /// updated.
    pub need: Need,
    /// The state before the change.
    pub from: NeedState,
    /// What changed, in the words of the status (`changed`).
    pub changed: String,
    /// `need-status.v1.json` data for the region.
    pub status: Value,
}

impl Transition {
    /// The state after the change.
    #[must_use]
    pub fn state(&self) -> NeedState {
        self.need.state
    }

    /// Whether the state itself changed (and the store's need row must be updated).
    #[must_use]
    pub fn state_changed(&self) -> bool {
        self.from != self.need.state
    }
}

/// The refusal of an answer or withdrawal whose need the sender may not see, and of one whose
/// need does not exist: the same for every case, naming only the id the sender sent.
#[must_use]
pub fn unknown_need(need_id: &NeedId) -> Rejection {
    refuse(
        RejectReason::UnknownNeed,
        &format!(
            "No need {need_id} is known to you: a region may withdraw only needs it submitted, \
             a university or company may answer only needs whose challenge or call was sent to \
             it."
        ),
        &[("/subject", "unknown need id")],
    )
}

/// A refusal with one sentence and the pointers it concerns.
fn refuse(reason: RejectReason, detail: &str, errors: &[(&str, &str)]) -> Rejection {
    Rejection {
        reason,
        detail: detail.to_owned(),
        errors: errors
            .iter()
            .map(|(pointer, message)| Issue::new(*pointer, *message))
            .collect(),
    }
}
