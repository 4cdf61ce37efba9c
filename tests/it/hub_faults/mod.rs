//! Fault tests: competing hubs, SIGKILL.
//!
//! Both run against the real RabbitMQ (a fresh virtual host per test, deleted afterwards, pass or
//! fail) and a real store, and both check the store afterwards, not only the wire: duplicates on
//! the wire are allowed (a relay that dies between publish and `mark_sent` publishes again, and
//! receivers dedupe by event id), but every event must have had its effects exactly once.
//!
//! - [`two_hubs_on_one_postgres_lose_and_double_no_answer`]: two hub instances (each `serve` on
//!   its own thread and runtime) consume the same `samverkan.hub.ingress` and share one fresh
//!   PostgreSQL database; 200 needs, then 2,000 answers, each answer published twice. The two
//!   relays share the outbox through claims, so the region's statuses are checked not to be
//!   doubled on the wire. Threads rather than `samverkan run` processes: the two instances still
//!   share nothing but the database and the broker (each has its own runtime, connection pools
//!   and AMQP connections), and a thread lets the clock be pinned to the sample data's reference
//!   date, as everywhere else in this suite, so the outcome does not change with the calendar.
//! - [`a_sigkilled_hub_restarts_and_every_event_counts_once`]: `samverkan run` as a child
//!   process on a SQLite file, killed with SIGKILL twice while it works (once amid 250 needs,
//!   once amid 250 answers) and started again on the same store and vhost (with a 2 s relay
//!   lease, so what a killed run had claimed is published again soon). It has to be a process
//!   (a thread cannot be SIGKILLed); its clock is pinned to the reference date with
//!   `SAMVERKAN__HUB__FIXED_DATE`, like the rest of the suite.
//!
//! Needs and answers are published by one broker user with RabbitMQ's `impersonator` tag, which may
//! set any AMQP `user_id`: the hub authenticates by `user_id` exactly as if each organisation
//! had published itself, and the test does not have to create and permit seventeen organisation
//! users per virtual host (a second of `rabbitmqctl` each).
//!
//! PostgreSQL is `SAMVERKAN__STORE__PG_URL`, else `postgres://postgres@127.0.0.1:5432/test` (the
//! user must be allowed to create databases), as in `store.rs`.

// One file per concern: `broker` (vhosts, publishing, watching queues), `database`
// (PostgreSQL per test), `workload` (needs and answers), `checks` (exactly-once assertions),
// and the two tests, `two_hubs` and `sigkill`. The imports below are shared by all of them.
#[allow(unused_imports)]
mod prelude {
    pub(crate) use std::collections::{BTreeMap, BTreeSet, HashMap};
    pub(crate) use std::fs::OpenOptions;
    pub(crate) use std::path::{Path, PathBuf};
    pub(crate) use std::process::{Child, Command, ExitStatus, Stdio};
    pub(crate) use std::sync::{Arc, Once};
    pub(crate) use std::time::{Duration, Instant};

    pub(crate) use lapin::options::{
        BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
    };
    pub(crate) use lapin::{BasicProperties, Channel, Confirmation, Connection};
    pub(crate) use samverkan::clock::FixedClock;
    pub(crate) use samverkan::event::{CloudEvent, EventId, EventType, Source};
    pub(crate) use samverkan::hub::startup::serve;
    pub(crate) use samverkan::need::{Need, NeedId, NeedState, RecipientKind};
    pub(crate) use samverkan::settings::{self, Settings};
    pub(crate) use samverkan::store::{AuditAction, Store};
    pub(crate) use samverkan::transport::amqp::connect;
    pub(crate) use samverkan::transport::{
        HUB_DEAD_QUEUE, HUB_INGRESS_QUEUE, INGRESS_EXCHANGE, Topology,
    };
    pub(crate) use samverkan::transport::{Shutdown, ShutdownTrigger};
    pub(crate) use serde_json::{Value, json};
    pub(crate) use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection as _};
    pub(crate) use tempfile::TempDir;
    pub(crate) use time::OffsetDateTime;
    pub(crate) use time::macros::{date, datetime};

    pub(crate) use crate::{
        DEFAULT_PG_URL, PgDatabase, START_BROKER, START_PG, need_event, repo_path,
    };
}

#[allow(unused_imports)]
pub(crate) use prelude::*;

/// The broker user that publishes on behalf of the organisations (tag `impersonator`).
pub(crate) const RELAY_USER: &str = "samverkan-it-impersonator";
pub(crate) const RELAY_PASSWORD: &str = "samverkan-it";

mod broker;
mod checks;
mod database;
mod sigkill;
mod two_hubs;
mod workload;

#[allow(unused_imports)]
pub(crate) use broker::*;
#[allow(unused_imports)]
pub(crate) use checks::*;
#[allow(unused_imports)]
pub(crate) use database::*;
#[allow(unused_imports)]
pub(crate) use sigkill::*;
#[allow(unused_imports)]
pub(crate) use two_hubs::*;
#[allow(unused_imports)]
pub(crate) use workload::*;
