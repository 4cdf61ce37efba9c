//! The running hub: a pipeline, a worker loop over the ingress queue, the outbox relay, the
//! close timer, the catalogue poller and the pruning of old rows.
//!
//! [`App::build`] turns [`Settings`](crate::settings::Settings) into an assembled hub (schemas
//! compiled, catalogue loaded, store connected and migrated); [`App::run`] drives it over any
//! transport until the shutdown fires: RabbitMQ for `samverkan run` ([`startup`]), the
//! in-process broker for the demo and fast tests. Shutdown stops taking deliveries, lets the
//! ones in flight finish and settle, then lets the relay publish what they committed.

mod app;
mod batch;
pub mod outbox_relay;
pub(crate) mod recover;
pub(crate) mod reference;
pub mod retention;
pub mod startup;
pub mod timer;
pub(crate) mod worker;
mod writer;

pub use app::{App, HubError, build, load_catalogue, topology};
