//! The worker process: what the bench hands a worker it starts, and the worker's side.
//!
//! Each run's system under test — the hub, or the pass-through — runs in a process of its own
//! (`samverkan bench-worker`, a hidden subcommand of the same binary), so the CPU time, peak
//! memory and storage writes the bench reports are that worker's alone, not the load
//! generator's, the observer's or what the previous run left behind.
//!
//! The bench writes one [`WorkerSpec`] as a JSON line to the worker's stdin (stdin, not the
//! command line or a file: the broker URL holds a password) and keeps stdin open; closing it
//! is the order to stop. The worker loads the operator's configuration the way the bench did
//! (the same `--config` and environment) and builds the same sample world from it
//! ([`World::new`]), then takes from the spec what is the run's own: the vhost URL, the store,
//! the prefetch, the catalogue size and the clock's date, or the fan-out to copy. A dead bench
//! closes the pipe too, so a worker never outlives its bench by more than its shutdown.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::Date;

use super::LoadgenError;
use super::passthrough::PassThrough;
use super::world::World;
use crate::catalogue::{Catalogue, synthetic};
use crate::clock::{FixedClock, SharedClock};
use crate::hub::startup::{StartupError, serve_with};
use crate::hub::{HubError, load_catalogue};
use crate::schema::SchemaRegistry;
use crate::settings::Settings;
use crate::transport::{Outbound, Shutdown};

/// The hidden subcommand a worker process runs.
pub const WORKER_SUBCOMMAND: &str = "bench-worker";

/// How the bench starts its worker processes.
#[derive(Debug, Clone, Default)]
pub struct WorkerProgram {
    /// The `samverkan` binary; the running executable when `None` (tests name the binary,
    /// since theirs is the test harness).
    pub exe: Option<PathBuf>,
    /// The configuration file the worker loads (`--config`), the bench's own.
    pub config: Option<PathBuf>,
    /// Environment set for the worker on top of the bench's (which it inherits).
    pub env: Vec<(String, String)>,
}

impl WorkerProgram {
    /// The executable to start.
    pub(crate) fn exe(&self) -> Result<PathBuf, LoadgenError> {
        match &self.exe {
            Some(exe) => Ok(exe.clone()),
            None => Ok(std::env::current_exe()?),
        }
    }
}

/// Everything a worker process needs beyond the operator's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// Per-consumer prefetch.
    pub prefetch: u16,
    /// The broker user the region publishes as in this bench (the hub checks `user_id`
    /// against it).
    pub region_user: String,
    /// Which worker, and its run's own settings.
    pub worker: WorkerKind,
}

/// The hub or the pass-through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum WorkerKind {
    /// The hub, as `samverkan run` serves it.
    Hub {
        /// The broker URL with the run's vhost, as the hub's user.
        amqp_url: String,
        /// The run's fresh store.
        store_url: String,
        /// Generated courses and partners to add to the sample catalogue.
        catalogue: usize,
        /// The clock is pinned to noon of this date (the sample data's).
        date: Date,
    },
    /// The baseline worker.
    PassThrough {
        /// The broker URL with the run's vhost, as the hub's user.
        url: String,
        /// One need's fan-out as the hub published it.
        fan_out: Vec<Outbound>,
    },
}

impl WorkerSpec {
    /// `hub` or `pass-through`, as the report names the run.
    #[must_use]
    pub fn run(&self) -> &'static str {
        match self.worker {
            WorkerKind::Hub { .. } => "hub",
            WorkerKind::PassThrough { .. } => "pass-through",
        }
    }
}

/// The worker's side: serve `spec` on `operator`'s configuration until `shutdown`.
///
/// # Errors
///
/// When the sample world or the catalogue cannot be built, or the worker fails.
pub async fn serve(
    operator: &Settings,
    spec: WorkerSpec,
    shutdown: Shutdown,
) -> Result<(), LoadgenError> {
    let dir = tempfile::TempDir::new()?;
    let mut world = World::new(operator, dir.path(), &spec.region_user)?;
    world.settings.amqp.prefetch = spec.prefetch.max(1);
    match spec.worker {
        WorkerKind::Hub {
            amqp_url,
            store_url,
            catalogue: generated,
            date,
        } => {
            let catalogue = catalogue(&world, generated)?;
            let settings = world.for_run(amqp_url, &store_url, "samverkan-bench-hub");
            let clock: SharedClock = Arc::new(FixedClock::at_noon(date));
            serve_with(&settings, clock, catalogue, shutdown)
                .await
                .map_err(LoadgenError::from)
        }
        WorkerKind::PassThrough { url, fan_out } => {
            let topology = crate::hub::topology(&world.settings)
                .map_err(|e| LoadgenError::broker("the sample topology", e))?;
            let worker = PassThrough {
                url,
                topology,
                prefetch: world.settings.amqp.prefetch,
                fan_out,
            };
            worker.serve(shutdown).await
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::EGRESS_EXCHANGE;

    #[test]
    fn a_spec_survives_its_json_line() {
        let hub = WorkerSpec {
            prefetch: 500,
            region_user: "samverkan-bench-r1".into(),
            worker: WorkerKind::Hub {
                amqp_url: "amqp://u:p@h/v".into(),
                store_url: "sqlite:///tmp/x.db".into(),
                catalogue: 10_000,
                date: super::super::REFERENCE_DATE,
            },
        };
        let pass = WorkerSpec {
            prefetch: 1,
            region_user: "samverkan-bench-r1".into(),
            worker: WorkerKind::PassThrough {
                url: "amqp://u:p@h/w".into(),
                fan_out: vec![Outbound {
                    exchange: EGRESS_EXCHANGE.to_owned(),
                    routing_key: "VGR.x".into(),
                    body: b"{}".to_vec(),
                    content_type: Some("application/json".into()),
                    message_id: None,
                    correlation_id: None,
                    kind: None,
                    headers: Default::default(),
                }],
            },
        };
        for spec in [hub, pass] {
            let line = serde_json::to_string(&spec).unwrap();
            assert!(!line.contains('\n'));
            let back: WorkerSpec = serde_json::from_str(&line).unwrap();
            assert_eq!(back, spec);
        }
    }
}
