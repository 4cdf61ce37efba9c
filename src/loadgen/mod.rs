//! `samverkan bench`: the hub's throughput and latency on RabbitMQ, against a pass-through
//! baseline measured in the same run.
//!
//! # Why a ratio
//!
//! On one broker node the broker, not the client, is the wall (measured: about
//! 10k msg/s through one queue pair on the project machine, shared with everything else). An
//! absolute "needs per second" would mostly measure the machine and the broker of the day. So
//! every bench runs two workers back to back on the same broker, each in a process of its own
//! (see below), with the same needs, the same topology and the same prefetch:
//!
//! - the **hub** — [`crate::hub::startup::serve`], exactly what `samverkan run` runs: decode,
//!   authenticate, validate, PII guard, match, one store transaction with inbox and outbox,
//!   the relay publishing the challenges, calls and the status with confirms;
//! - a **pass-through** (`passthrough`) — the hub's own consumer and publisher moving the
//!   same fan-out (same count, queues, routing keys and body sizes) with confirms and an ack
//!   after confirm, doing nothing else.
//!
//! Hub ÷ pass-through is the figure: what the hub's work costs on top of moving its messages.
//!
//! # A process per worker
//!
//! The bench process runs only the load generator and the observer; each worker is a child
//! process of the same binary (`sut`, `worker`), so the CPU time, peak memory and storage
//! writes reported for a run are the worker's own — for the hub, what `samverkan run` would
//! use — not the bench's, and the pass-through does not start with what the hub run left.
//!
//! # Sandbox
//!
//! Each run gets a throwaway vhost (`sandbox`) and the hub run a fresh store (`store`), so
//! the operator's queues and database are never touched and every bench starts from empty.
//! The region publishes as a broker user of the run's own ([`BENCH_USER`]`-<run>`), onboarded
//! with exactly a region's permissions. Everything is deleted at the end, also on error.
//!
//! # Files
//!
//! `world` the sample data and needs, `sandbox` vhosts, `store` the hub's store,
//! `load` publishing, `observe` consuming the organisation queues, `tally` counting,
//! `sut` the worker's process, `worker` what it is handed and its side, `passthrough` the
//! baseline worker, `runs` one run's steps, `procfs` reading `/proc`, `report` figures.

mod error;
mod load;
mod machine;
mod observe;
mod passthrough;
mod procfs;
mod report;
mod runs;
mod sandbox;
mod store;
mod sut;
mod tally;
mod worker;
mod world;

use std::sync::Arc;
use std::time::Duration;

use crate::onboard::Management;
use crate::settings::Settings;
use crate::transport::amqp::redact_url;

pub use error::{LoadgenError, START_POSTGRES_HINT};
pub use machine::MachineFigures;
pub use report::{Latency, Ratio, Report, RunReport, WorkerFigures};
pub use store::{DEFAULT_POSTGRES_SERVER, StoreChoice};
pub use worker::{WORKER_SUBCOMMAND, WorkerKind, WorkerProgram, WorkerSpec, serve as serve_worker};
pub use world::{
    BENCH_USER, NeedMessage, REFERENCE_DATE, TEMPLATE_NEED, bench_user, need_messages,
};

use load::Loader;
use procfs::{Proc, status_kib};
use runs::RunPlan;
use sandbox::{Sandbox, run_url};
use store::BenchStore;
use world::World;

/// What to bench.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Needs per run (plus one warm-up need each).
    pub needs: usize,
    /// The hub's store.
    pub store: StoreChoice,
    /// Per-consumer prefetch of both workers; `amqp.prefetch` when `None`.
    pub prefetch: Option<u16>,
    /// Needs per second; flat out when `None`.
    pub rate: Option<u32>,
    /// A run fails when nothing arrives for this long.
    pub stall: Duration,
    /// Generated courses and partners added to the sample catalogue, this many of each
    /// (`crate::catalogue::synthetic`), so the hub matches at a realistic scale.
    pub catalogue: usize,
    /// How to start the worker processes.
    pub worker: WorkerProgram,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            needs: 2000,
            store: StoreChoice::Sqlite,
            prefetch: None,
            rate: None,
            stall: Duration::from_secs(60),
            catalogue: 0,
            worker: WorkerProgram::default(),
        }
    }
}

/// Run the hub and the pass-through on `settings`' broker and report both.
///
/// Creates two vhosts through the management API (`amqp.management_url`, credentials of
/// `amqp.url` unless it has its own) and a fresh store, and removes them again however the
/// bench ends.
pub async fn run(settings: &Settings, options: &BenchOptions) -> Result<Report, LoadgenError> {
    let dir = tempfile::TempDir::new()?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut world = World::new(settings, dir.path(), &bench_user(&run_id))?;
    if let Some(prefetch) = options.prefetch {
        world.settings.amqp.prefetch = prefetch.max(1);
    }
    let management = Management::new(&settings.amqp.management_url, &settings.amqp.url)?;
    let store = BenchStore::prepare(&options.store, dir.path()).await?;
    let sandbox = Sandbox::create(management, &world, &run_id).await?;
    let result = bench(&world, &sandbox, &store, options, &run_id).await;
    let vhosts_removed = sandbox.remove().await;
    let store_removed = store.remove().await;
    let report = result?;
    vhosts_removed?;
    store_removed?;
    Ok(report)
}

async fn bench(
    world: &World,
    sandbox: &Sandbox,
    store: &BenchStore,
    options: &BenchOptions,
    run_id: &str,
) -> Result<Report, LoadgenError> {
    let base = &world.settings.amqp.url;
    let admin_urls = sandbox
        .vhosts
        .iter()
        .map(|vhost| run_url(base, vhost, None))
        .collect::<Result<Vec<_>, _>>()?;
    let loaders = connect_loaders(world, sandbox).await?;
    let mut messages = need_messages(run_id, options.needs + 1)?;
    let needs: Arc<[NeedMessage]> = messages.split_off(1).into();
    let topology = crate::hub::topology(&world.settings)
        .map_err(|e| LoadgenError::broker("the sample topology", e))?;
    let plan = |i: usize, name| RunPlan {
        program: &options.worker,
        name,
        admin_url: admin_urls[i].clone(),
        topology: topology.clone(),
        loader: &loaders[i],
        warm_up: messages.clone().into(),
        needs: needs.clone(),
        region: world.region.id.as_str(),
        rate: options.rate,
        stall: options.stall,
    };
    let prefetch = world.settings.amqp.prefetch;
    let region_user = &world.region.broker_user;
    let hub_spec = WorkerSpec {
        prefetch,
        region_user: region_user.clone(),
        worker: WorkerKind::Hub {
            amqp_url: admin_urls[0].clone(),
            store_url: store.url.clone(),
            catalogue: options.catalogue,
            date: REFERENCE_DATE,
        },
    };
    let hub = runs::execute(&plan(0, "hub"), None, &hub_spec).await?;
    let pass_spec = WorkerSpec {
        prefetch,
        region_user: region_user.clone(),
        worker: WorkerKind::PassThrough {
            url: admin_urls[1].clone(),
            fan_out: hub.template.clone(),
        },
    };
    let known = Some(hub.template.len());
    let pass = runs::execute(&plan(1, "pass-through"), known, &pass_spec).await?;
    for loader in loaders {
        loader.close().await;
    }
    Ok(Report {
        needs: options.needs,
        generated_catalogue: options.catalogue,
        fan_out: u32::try_from(hub.template.len()).unwrap_or(u32::MAX),
        destinations: hub.template.iter().map(|m| m.routing_key.clone()).collect(),
        prefetch,
        rate: options.rate,
        store: store.label.clone(),
        broker: redact_url(base),
        vhosts: sandbox.vhosts.to_vec(),
        ratio: report::Ratio::of(&hub.report, &pass.report),
        hub: hub.report,
        pass_through: pass.report,
        load_generator_peak_rss_kib: status_kib(Proc::This, "VmHWM"),
    })
}

/// The bench user's connections to both vhosts.
async fn connect_loaders(world: &World, sandbox: &Sandbox) -> Result<Vec<Loader>, LoadgenError> {
    let user = world.region.broker_user.as_str();
    let credentials = Some((user, sandbox.password.as_str()));
    let mut loaders = Vec::with_capacity(sandbox.vhosts.len());
    for vhost in &sandbox.vhosts {
        let url = run_url(&world.settings.amqp.url, vhost, credentials)?;
        loaders.push(Loader::connect(&url, user, "samverkan-bench-load").await?);
    }
    Ok(loaders)
}

/// Connect to `url` as `name` and open a channel; errors say `context`.
async fn open_channel(
    url: &str,
    name: &str,
    context: &'static str,
) -> Result<(lapin::Connection, lapin::Channel), LoadgenError> {
    let connection = crate::transport::amqp::connect(url, name)
        .await
        .map_err(|e| LoadgenError::broker(context, e))?;
    let channel = connection
        .create_channel()
        .await
        .map_err(|e| LoadgenError::amqp(context, "channel.open", e))?;
    Ok((connection, channel))
}
