//! `samverkan bench`: the hub's throughput and latency on RabbitMQ, against a pass-through
//! baseline measured in the same run.
//!
//! # Why a ratio
//!
//! On one broker node the broker, not the client, is the wall (measured: about
//! 10k msg/s through one queue pair on the project machine, shared with everything else). An
//! absolute "needs per second" would mostly measure the machine and the broker of the day. So
//! every bench runs two workers back to back on the same broker, in the same process, with
//! the same needs, the same topology and the same prefetch:
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
//! # Sandbox
//!
//! Each run gets a throwaway vhost (`sandbox`) and the hub run a fresh store (`store`), so
//! the operator's queues and database are never touched and every bench starts from empty.
//! The region publishes as the dedicated broker user [`BENCH_USER`], onboarded with exactly a
//! region's permissions. Everything is deleted at the end, also on error.
//!
//! # Files
//!
//! `world` the sample data and needs, `sandbox` vhosts, `store` the hub's store,
//! `load` publishing, `observe` consuming the organisation queues, `tally` counting,
//! `sut` the worker's thread, `passthrough` the baseline worker, `runs` one run's steps,
//! `report` figures.

mod error;
mod load;
mod observe;
mod passthrough;
mod report;
mod runs;
mod sandbox;
mod store;
mod sut;
mod tally;
mod world;

use std::sync::Arc;
use std::time::Duration;

use crate::catalogue::{Catalogue, synthetic};
use crate::clock::{FixedClock, SharedClock};
use crate::hub::startup::{StartupError, serve_with};
use crate::hub::{HubError, load_catalogue};
use crate::onboard::Management;
use crate::schema::SchemaRegistry;
use crate::settings::Settings;
use crate::transport::amqp::redact_url;

pub use error::{LoadgenError, START_POSTGRES_HINT};
pub use report::{Latency, Ratio, Report, RunReport};
pub use store::{DEFAULT_POSTGRES_SERVER, StoreChoice};
pub use world::{BENCH_USER, NeedMessage, REFERENCE_DATE, TEMPLATE_NEED, need_messages};

use load::Loader;
use passthrough::PassThrough;
use runs::{RunOutcome, RunPlan};
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
    let mut world = World::new(settings, dir.path())?;
    if let Some(prefetch) = options.prefetch {
        world.settings.amqp.prefetch = prefetch.max(1);
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
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
    let catalogue = catalogue(world, options.catalogue)?;
    let hub = hub_run(
        &plan(0, "hub"),
        world,
        admin_urls[0].clone(),
        &store.url,
        catalogue,
    )
    .await?;
    let pass = pass_run(&plan(1, "pass-through"), world, &hub.template).await?;
    for loader in loaders {
        loader.close().await;
    }
    Ok(Report {
        needs: options.needs,
        generated_catalogue: options.catalogue,
        fan_out: u32::try_from(hub.template.len()).unwrap_or(u32::MAX),
        destinations: hub.template.iter().map(|m| m.routing_key.clone()).collect(),
        prefetch: world.settings.amqp.prefetch,
        rate: options.rate,
        store: store.label.clone(),
        broker: redact_url(base),
        vhosts: sandbox.vhosts.to_vec(),
        ratio: report::Ratio::of(&hub.report, &pass.report),
        hub: hub.report,
        pass_through: pass.report,
        process_peak_rss_kib: report::proc_status_kib("VmHWM"),
    })
}

/// The bench user's connections to both vhosts, opened right after its password was set (a
/// concurrent bench resets it; open connections stay authenticated).
async fn connect_loaders(world: &World, sandbox: &Sandbox) -> Result<Vec<Loader>, LoadgenError> {
    let credentials = Some((BENCH_USER, sandbox.password.as_str()));
    let mut loaders = Vec::with_capacity(sandbox.vhosts.len());
    for vhost in &sandbox.vhosts {
        let url = run_url(&world.settings.amqp.url, vhost, credentials)?;
        loaders.push(Loader::connect(&url, BENCH_USER, "samverkan-bench-load").await?);
    }
    Ok(loaders)
}

/// The sample catalogue plus `generated` generated courses and partners; `None` (the hub
/// loads the sample files itself) when nothing is generated.
fn catalogue(world: &World, generated: usize) -> Result<Option<Catalogue>, LoadgenError> {
    if generated == 0 {
        return Ok(None);
    }
    let sample = SchemaRegistry::new()
        .map_err(HubError::from)
        .and_then(|schemas| load_catalogue(&world.settings, &schemas))
        .map_err(|e| LoadgenError::from(StartupError::from(e)))?;
    let mut catalogue = sample;
    synthetic::extend(&mut catalogue, generated)
        .map_err(|e| LoadgenError::Sample(format!("generating the catalogue: {e}")))?;
    Ok(Some(catalogue))
}

/// The hub, as `samverkan run` serves it, with the clock pinned to the sample data's date.
async fn hub_run(
    plan: &RunPlan<'_>,
    world: &World,
    amqp_url: String,
    store_url: &str,
    catalogue: Option<Catalogue>,
) -> Result<RunOutcome, LoadgenError> {
    let settings = world.for_run(amqp_url, store_url, "samverkan-bench-hub");
    let clock: SharedClock = Arc::new(FixedClock::at_noon(REFERENCE_DATE));
    runs::execute(plan, None, move |shutdown| async move {
        serve_with(&settings, clock, catalogue, shutdown)
            .await
            .map_err(LoadgenError::from)
    })
    .await
}

/// The pass-through worker, publishing `template` per delivery.
async fn pass_run(
    plan: &RunPlan<'_>,
    world: &World,
    template: &[crate::transport::Outbound],
) -> Result<RunOutcome, LoadgenError> {
    let worker = PassThrough {
        url: plan.admin_url.clone(),
        topology: plan.topology.clone(),
        prefetch: world.settings.amqp.prefetch,
        fan_out: template.to_vec(),
    };
    runs::execute(plan, Some(template.len()), move |shutdown| {
        worker.serve(shutdown)
    })
    .await
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
