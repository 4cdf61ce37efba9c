//! `samverkan demo`: the whole story in one process, no broker, no setup.
//!
//! The same pipeline, worker, relay and store as `samverkan run`, on the in-process broker and
//! a temporary SQLite file, with the sample data compiled in and the clock pinned to the sample
//! data's reference date (2026-11-22), so the output is the same on every machine and every
//! day. Two regions submit the sample needs; the PII guard refuses the ones with planted
//! personal data; matching routes the rest; Chalmers, MDU and two companies answer (one answer
//! late, one from a company that was never asked); the run ends with every need's reconciled
//! status. Only ids, codes, scores and catalogue text are printed — never a need's free text.
//!
//! With `--serve` (`serve.rs`) the story's hub keeps running afterwards, on the same temporary
//! store and in-process broker, and serves its HTTP surface with the web console so a
//! newcomer can click through what they just read, as the demo users.

mod report;
mod serve;
mod story;

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use time::macros::date;

use crate::catalogue::Catalogue;
use crate::clock::FixedClock;
use crate::hub::{self, App};
use crate::pipeline::Pipeline;
use crate::schema::SchemaRegistry;
use crate::settings::{self, Settings};
use crate::transport::memory::MemoryBroker;
use crate::transport::{HUB_INGRESS_QUEUE, Topology};
use crate::transport::{Inbound, Shutdown};

const SAMPLE_CONFIG: &str = include_str!("../../config/sample.toml");
const NEEDS: &str = include_str!("../../sample-data/needs.json");
const CHALMERS: &str = include_str!("../../sample-data/course-catalogue-chalmers.json");
const MDU: &str = include_str!("../../sample-data/course-catalogue-mdu.json");
const REGISTRY: &str = include_str!("../../sample-data/partner-registry.json");

/// The hub under demonstration and the broker it runs on.
pub(crate) struct Stage {
    pub broker: MemoryBroker,
    pub pipeline: Arc<Pipeline>,
    pub settings: Settings,
}

impl Stage {
    /// Wait until ingress is drained and the outbox is empty.
    pub(crate) async fn settle(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut quiet = 0;
        while quiet < 3 {
            // Ready or handed out (its transaction may not have committed yet), then the outbox.
            let busy = self.broker.queue_len(HUB_INGRESS_QUEUE)? > 0
                || self.broker.unacked(HUB_INGRESS_QUEUE)? > 0
                || !self.pipeline.store().pending_outbox(1).await?.is_empty();
            quiet = if busy { 0 } else { quiet + 1 };
            anyhow::ensure!(
                Instant::now() < deadline,
                "the hub did not settle within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Everything delivered to organisation `org` since the last call.
    pub(crate) fn take(&self, org: &str) -> anyhow::Result<Vec<Inbound>> {
        Ok(self.broker.drain(&Topology::org_queue_name(org))?)
    }
}

/// Run the demo, writing the story to `out`; with `serve`, then serve the console there until
/// `stop` resolves.
pub(crate) async fn run(
    out: &mut dyn Write,
    serve: Option<SocketAddr>,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = tempfile::TempDir::new().context("cannot create a temporary directory")?;
    let db = dir.path().join("demo.db");
    let env = HashMap::from([(
        "SAMVERKAN__STORE__URL".to_owned(),
        format!("sqlite://{}", db.display()),
    )]);
    let settings = settings::load_str(SAMPLE_CONFIG, env)?;
    let registry = SchemaRegistry::new()?;
    let catalogue = catalogue(&registry, &settings, out)?;
    let clock = Arc::new(FixedClock::at_noon(date!(2026 - 11 - 22)));
    let app = App::build(&settings, clock, Some(catalogue)).await?;
    writeln!(
        out,
        "store: temporary SQLite file; transport: in-process broker; clock: 2026-11-22"
    )?;
    let pipeline = app.pipeline().clone();
    let broker = MemoryBroker::new(&hub::topology(&settings)?);
    let (trigger, shutdown) = Shutdown::new();
    let consumer = broker
        .consumer(HUB_INGRESS_QUEUE, settings.amqp.prefetch)?
        .with_shutdown(shutdown.clone());
    let publisher = Arc::new(broker.publisher());
    let hub = tokio::spawn(app.run(consumer, publisher, shutdown));
    let stage = Stage {
        broker,
        pipeline,
        settings,
    };
    let routed = story::submit_needs(&stage, NEEDS, out).await?;
    story::answer(&stage, &routed, out).await?;
    report::final_table(&stage, NEEDS, out).await?;
    writeln!(out, "\ndone in {:.1} s", started.elapsed().as_secs_f64())?;
    let served = match serve {
        Some(address) => serve::console(&stage, address, out, stop).await,
        None => Ok(()),
    };
    trigger.trigger();
    hub.await.context("the hub task failed")?;
    served
}

fn catalogue(
    registry: &SchemaRegistry,
    settings: &settings::Settings,
    out: &mut dyn Write,
) -> anyhow::Result<Catalogue> {
    let mut catalogue = Catalogue::new();
    let chalmers = catalogue.load_course_str(registry, "chalmers", CHALMERS)?;
    let mdu = catalogue.load_course_str(registry, "mdu", MDU)?;
    let kind_of = |id: &str| settings.organisation(id).map(|o| o.kind);
    let partners = catalogue.load_partner_str(registry, REGISTRY, &kind_of)?;
    writeln!(
        out,
        "catalogue: {} Chalmers courses, {} MDU courses, {} partners from the registry",
        chalmers.loaded, mdu.loaded, partners.loaded
    )?;
    Ok(catalogue)
}
