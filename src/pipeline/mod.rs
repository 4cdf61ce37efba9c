//! One delivery, from bytes to a settled message.
//!
//! ```text
//! Inbound ─► admit (decode → authenticate → authorize → validate)
//!         ─► [begin tx] ─► savepoint ─► inbox (source, id): seen before? ─► Duplicate
//!         ─► per type: need.submitted → PII guard → match → route   (need.rs)
//!                      course/partner → catalogue                    (reference.rs)
//!         ─► outbox rows + audit ─► release savepoint ─► [commit] ─► Outcome
//! any refusal ─► back to the savepoint; dead letter + message.rejected + audit (refuse.rs)
//! ```
//!
//! [`Pipeline::handle_in`] writes one delivery into a transaction it is given and never
//! commits: the worker puts many deliveries into one transaction (group commit, one commit per
//! batch instead of per delivery), and each delivery's writes sit behind a savepoint, so a
//! refusal or failure undoes that delivery only. [`Pipeline::handle`] is one delivery in its
//! own transaction (the worker's single-delivery path, HTTP) and returns an [`Outcome`] only
//! once its effects are committed; the worker (`crate::hub`) maps it to ack or requeue in one
//! `match`. Nothing here publishes: the outbox relay does, after commit.
//! Whoever commits outbox rows through the pipeline — the AMQP worker, `POST /v1/events`, the
//! close timer — then wakes the relay through [`Pipeline::relay_wake`], so the rows go out at
//! once rather than at the relay's next poll.

mod admit;
mod answer;
mod auth;
mod close;
mod deliver;
mod need;
pub(crate) mod outbox;
mod reference;
mod refuse;
mod span;

use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

pub use admit::{Admitted, admit};
use auth::sent_as;
pub use auth::{Directory, authenticate, authorize, sender_kind};
pub use deliver::Admission;
pub use refuse::{Refusal, RefusedEvent};

use crate::catalogue::Catalogue;
use crate::clock::SharedClock;
use crate::event::{EventType, Limits, RejectReason};
use crate::matching::MatchOptions;
use crate::metrics::Metrics;
use crate::pause::Pause;
use crate::pii::PiiGuard;
use crate::schema::SchemaRegistry;
use crate::settings::WebhooksSettings;
use crate::store::{Store, StoreError};
use crate::transport::{Inbound, Origin};

/// What handling a delivery achieved; all of it is durable when returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The event's effects are committed.
    Accepted {
        /// Its type.
        event_type: EventType,
    },
    /// The event was processed before (redelivery or re-send); nothing changed.
    Duplicate,
    /// The event was refused; dead letter and rejection are committed to the outbox.
    Refused {
        /// Why.
        reason: RejectReason,
        /// The `message.rejected` data the sender is sent (reason, detail, pointers; never
        /// values), for a transport that answers the sender directly (HTTP).
        data: Box<serde_json::Value>,
    },
}

/// Everything one delivery needs: the pure core plus the store.
pub struct Pipeline {
    registry: SchemaRegistry,
    guard: PiiGuard,
    directory: Directory,
    limits: Limits,
    clock: SharedClock,
    catalogue: RwLock<Catalogue>,
    /// Id of the last recorded reference event applied to `catalogue`; locked while catching
    /// up, so changes are applied one catch-up at a time, in id order.
    reference_seen: tokio::sync::Mutex<i64>,
    match_options: MatchOptions,
    store: Store,
    metrics: Metrics,
    pause: Pause,
    relay_wake: Arc<Notify>,
    webhooks: WebhooksSettings,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The parts a [`Pipeline`] is built from.
pub struct PipelineParts {
    /// Compiled schemas.
    pub registry: SchemaRegistry,
    /// The PII guard with its policy.
    pub guard: PiiGuard,
    /// Configured organisations.
    pub directory: Directory,
    /// Input limits.
    pub limits: Limits,
    /// Time.
    pub clock: SharedClock,
    /// Courses and partners (loaded from files, kept current by events).
    pub catalogue: Catalogue,
    /// Matching tunables.
    pub match_options: MatchOptions,
    /// The store.
    pub store: Store,
    /// `[webhooks]`, for the HTTP API's registrations.
    pub webhooks: WebhooksSettings,
}

impl Pipeline {
    /// Assemble a pipeline.
    pub fn new(parts: PipelineParts) -> Self {
        Self {
            registry: parts.registry,
            guard: parts.guard,
            directory: parts.directory,
            limits: parts.limits,
            clock: parts.clock,
            catalogue: RwLock::new(parts.catalogue),
            reference_seen: tokio::sync::Mutex::new(0),
            metrics: Metrics::default(),
            pause: Pause::new(),
            relay_wake: Arc::new(Notify::new()),
            match_options: parts.match_options,
            store: parts.store,
            webhooks: parts.webhooks,
        }
    }

    /// The store, for the relay and read surfaces.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Whether the hub is paused for a store fault (shared by the worker, the prober and
    /// `/readyz`).
    pub fn pause(&self) -> &Pause {
        &self.pause
    }

    /// What wakes the outbox relay that publishes this pipeline's commits: notified (one
    /// permit, `notify_one`) after every delivery that committed outbox rows, whichever way it
    /// came in. The relay also polls, so a missed wake costs latency, never an event.
    pub fn relay_wake(&self) -> &Arc<Notify> {
        &self.relay_wake
    }

    /// What this process's deliveries came to, for `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

impl Pipeline {
    /// The configured organisations (the HTTP API finds a token's organisation here).
    pub(crate) fn directory(&self) -> &Directory {
        &self.directory
    }

    /// `[webhooks]` (the HTTP API checks registered URLs by it).
    pub(crate) fn webhooks(&self) -> &WebhooksSettings {
        &self.webhooks
    }

    /// The input limits (the HTTP API sets its body limit above `max_message_bytes`).
    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// Record a refusal a transport made before the pipeline could read the message (an HTTP
    /// body in a content type that is no CloudEvent), exactly as an admission refusal: dead
    /// letter, `message.rejected` to the sender known from `inbound.user_id`, audit.
    pub(crate) async fn refuse_unread(
        &self,
        inbound: &Inbound,
        rejection: crate::rejection::Rejection,
    ) -> Result<Outcome, StoreError> {
        let refusal = Refusal {
            rejection,
            sender: authenticate(&self.directory, sent_as(&self.directory, inbound))
                .ok()
                .cloned(),
            event: RefusedEvent::sniff(inbound, self.limits),
            body: crate::transport::KeptBody::Original,
        };
        span::refused(&refusal);
        self.refuse(inbound, &refusal).await
    }

    /// What a dead letter of `inbound` names (event id, source, type, sender, need id), for a
    /// delivery the worker gives up on: it was admitted, so it decodes, and its sender is known.
    pub(crate) fn origin_of(&self, inbound: &Inbound) -> Origin {
        let sender = authenticate(&self.directory, sent_as(&self.directory, inbound)).ok();
        match crate::event::decode(inbound.raw(), self.limits) {
            Ok(event) => RefusedEvent::of(&event).origin(sender),
            Err(_) => RefusedEvent::default().origin(sender),
        }
    }
}

/// Course and partner changes, which [`Pipeline::update_reference`] handles.
fn is_reference(t: EventType) -> bool {
    matches!(
        t,
        EventType::CourseUpserted | EventType::CourseRemoved | EventType::PartnerUpserted
    )
}
