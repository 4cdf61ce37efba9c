//! One run, the same steps for the hub and for the pass-through worker:
//!
//! 1. declare the topology on the run's vhost and start observing every organisation queue;
//! 2. start the worker process and wait until it consumes `samverkan.hub.ingress`;
//! 3. **warm-up**: publish one need and wait for its whole fan-out — for the hub this is where
//!    the fan-out is learnt (the status lists the recipients; one message each, plus the
//!    status), for the pass-through it checks the copy; connection set-up, first-use
//!    allocations and the first store writes stay out of the figures;
//! 4. **measure**: publish the N needs while counting arrivals, until every need's fan-out has
//!    arrived, or nothing arrives for the stall timeout; the worker's and the bench's CPU time
//!    and writes are read at the start and the end of this phase, the worker's memory at its
//!    end;
//! 5. stop the worker (it settles what it holds) and the observer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::Connection;
use lapin::options::QueueDeclareOptions;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::LoadgenError;
use super::load::Loader;
use super::machine::MachineCounters;
use super::observe::{Arrival, Observer};
use super::procfs::{Proc, ProcessCounters, status_kib};
use super::report::{RunReport, WorkerFigures};
use super::sut::Sut;
use super::tally::{FanOut, Tally};
use super::worker::{WorkerProgram, WorkerSpec};
use super::world::NeedMessage;
use crate::transport::Outbound;
use crate::transport::amqp::declare;
use crate::transport::{EGRESS_EXCHANGE, HUB_INGRESS_QUEUE, Topology};

/// How long the worker may take to start consuming.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a quiet run checks on the worker and the publisher.
const TICK: Duration = Duration::from_millis(500);

/// What one run needs.
pub(crate) struct RunPlan<'a> {
    /// How to start the worker process.
    pub program: &'a WorkerProgram,
    /// `hub` or `pass-through`.
    pub name: &'static str,
    /// The broker URL with the run's vhost, as the hub's user.
    pub admin_url: String,
    /// The topology of the sample organisations.
    pub topology: Topology,
    /// The bench user's connection to the run's vhost.
    pub loader: &'a Loader,
    /// The warm-up need.
    pub warm_up: Arc<[NeedMessage]>,
    /// The measured needs.
    pub needs: Arc<[NeedMessage]>,
    /// The region whose queue gets the statuses.
    pub region: &'a str,
    /// Needs per second, or flat out.
    pub rate: Option<u32>,
    /// Give up after this long without an arrival.
    pub stall: Duration,
}

/// A finished run.
pub(crate) struct RunOutcome {
    pub report: RunReport,
    /// One need's fan-out as it arrived (the pass-through publishes this).
    pub template: Vec<Outbound>,
}

/// Run the worker `spec` describes through the steps in the module docs. `known` is the
/// fan-out to expect (the pass-through's); without it the warm-up learns it from the status.
pub(crate) async fn execute(
    plan: &RunPlan<'_>,
    known: Option<usize>,
    spec: &WorkerSpec,
) -> Result<RunOutcome, LoadgenError> {
    let admin = declare_topology(&plan.admin_url, &plan.topology).await?;
    let mut observer = Observer::start(&plan.admin_url, &plan.topology).await?;
    let result = match Sut::start(plan.program, spec).await {
        Ok(mut sut) => {
            let result = phases(plan, known, &admin, &mut observer, &mut sut).await;
            let stopped = sut.stop().await;
            result.and_then(|outcome| stopped.map(|()| outcome))
        }
        Err(e) => Err(e),
    };
    observer.close().await;
    crate::transport::amqp::close(&admin, "bench done").await;
    let (report, template) = result?;
    Ok(RunOutcome { report, template })
}

async fn phases(
    plan: &RunPlan<'_>,
    known: Option<usize>,
    admin: &Connection,
    observer: &mut Observer,
    sut: &mut Sut,
) -> Result<(RunReport, Vec<Outbound>), LoadgenError> {
    wait_until_consuming(plan, admin, sut).await?;
    let (fan_out, template) = warm_up(plan, known, observer, sut).await?;
    let report = measure(plan, &fan_out, observer, sut).await?;
    Ok((report, template))
}

async fn declare_topology(url: &str, topology: &Topology) -> Result<Connection, LoadgenError> {
    let context = "declaring the topology in the bench's vhost";
    let (connection, channel) = super::open_channel(url, "samverkan-bench-admin", context).await?;
    declare(&channel, topology)
        .await
        .map_err(|e| LoadgenError::broker(context, e))?;
    channel.close(200, "declared".into()).await.ok();
    Ok(connection)
}

/// Poll the ingress queue until it has a consumer (the worker is ready).
async fn wait_until_consuming(
    plan: &RunPlan<'_>,
    admin: &Connection,
    sut: &mut Sut,
) -> Result<(), LoadgenError> {
    let started = Instant::now();
    loop {
        sut.check().await?;
        let channel = admin
            .create_channel()
            .await
            .map_err(|e| LoadgenError::amqp("watching the ingress queue", "channel.open", e))?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = channel
            .queue_declare(HUB_INGRESS_QUEUE.into(), passive, Default::default())
            .await;
        channel.close(200, "looked".into()).await.ok();
        if queue.is_ok_and(|q| q.consumer_count() > 0) {
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(LoadgenError::WorkerEnded {
                run: plan.name,
                detail: format!("it did not consume within {} s", START_TIMEOUT.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publish the warm-up need and collect its fan-out.
async fn warm_up(
    plan: &RunPlan<'_>,
    known: Option<usize>,
    observer: &mut Observer,
    sut: &mut Sut,
) -> Result<(FanOut, Vec<Outbound>), LoadgenError> {
    let failed = |detail: String| LoadgenError::WarmUp {
        run: plan.name,
        detail,
    };
    let status_queue = observer
        .queue_of(plan.region)
        .ok_or_else(|| failed(format!("no queue for region {}", plan.region)))?;
    joined(plan.loader.spawn(plan.warm_up.clone(), None)).await?;
    let mut expected = known;
    let mut arrivals: Vec<Arrival> = Vec::new();
    let deadline = Instant::now() + plan.stall;
    while expected.is_none_or(|e| arrivals.len() < e) {
        sut.check().await?;
        if Instant::now() > deadline {
            let detail = format!("{} messages arrived; expected {expected:?}", arrivals.len());
            return Err(failed(detail));
        }
        let Some(arrival) = observer.next(TICK).await else {
            continue;
        };
        if known.is_none() && arrival.queue == status_queue {
            expected = Some(1 + recipients(&arrival.body).map_err(failed)?);
        }
        arrivals.push(arrival);
    }
    let mut per_queue = vec![0; observer.org_ids.len()];
    for arrival in &arrivals {
        per_queue[arrival.queue] += 1;
    }
    if per_queue[status_queue] == 0 {
        return Err(failed("nothing arrived on the region's queue".to_owned()));
    }
    // The status last, as the hub writes it after the challenges and calls.
    arrivals.sort_by_key(|a| a.queue == status_queue);
    let template = arrivals.into_iter().map(outbound).collect();
    let fan_out = FanOut {
        per_queue,
        status_queue,
    };
    Ok((fan_out, template))
}

/// The number of recipients in a `need.status` body; an error unless it is `published`.
fn recipients(body: &[u8]) -> Result<usize, String> {
    let status: Value = serde_json::from_slice(body).map_err(|e| format!("status: {e}"))?;
    let data = &status["data"];
    if data["state"] != "published" {
        return Err(format!(
            "the need was not published: state {}, reason {}",
            data["state"], data["reason"]
        ));
    }
    Ok(data["recipients"].as_array().map_or(0, Vec::len))
}

fn outbound(arrival: Arrival) -> Outbound {
    Outbound {
        exchange: EGRESS_EXCHANGE.to_owned(),
        routing_key: arrival.routing_key,
        body: arrival.body,
        content_type: arrival.content_type,
        message_id: None,
        correlation_id: None,
        kind: arrival.kind,
        headers: Default::default(),
    }
}

/// Publish the measured needs and count arrivals until every fan-out is complete.
async fn measure(
    plan: &RunPlan<'_>,
    fan_out: &FanOut,
    observer: &mut Observer,
    sut: &mut Sut,
) -> Result<RunReport, LoadgenError> {
    let mut tally = Tally::new(index(plan), fan_out.clone(), plan.needs.len());
    let bench_counters = ProcessCounters::of(Proc::This);
    let worker_counters = ProcessCounters::of(sut.proc());
    let machine_counters = MachineCounters::now();
    let mut publishing = Some(plan.loader.spawn(plan.needs.clone(), plan.rate));
    let mut sent = None;
    let mut last = Instant::now();
    while !tally.is_complete() {
        if let Some(arrival) = observer.next(TICK).await {
            tally.record(&arrival);
            last = arrival.at;
            continue;
        }
        sut.check().await?;
        if let Some(done) = publishing.take_if(|p| p.is_finished()) {
            sent = Some(joined(done).await?);
        }
        if last.elapsed() > plan.stall {
            return Err(LoadgenError::Stalled {
                run: plan.name,
                stall: plan.stall,
                complete: tally.complete_needs(),
                needs: plan.needs.len(),
                missing: tally.missing(),
            });
        }
    }
    let sent = match (sent, publishing) {
        (Some(sent), _) => sent,
        (None, Some(publishing)) => joined(publishing).await?,
        (None, None) => Vec::new(),
    };
    let n = plan.needs.len();
    let machine = machine_counters.per_need(MachineCounters::now(), n);
    let (bench_cpu, _) = bench_counters.per_need(ProcessCounters::of(Proc::This), n);
    let (cpu, bytes) = worker_counters.per_need(ProcessCounters::of(sut.proc()), n);
    // Read before the worker is told to stop: its peak over its whole life so far.
    let worker = WorkerFigures {
        cpu_ms_per_need: cpu,
        peak_rss_kib: status_kib(sut.proc(), "VmHWM"),
        rss_kib: status_kib(sut.proc(), "VmRSS"),
        write_bytes_per_need: bytes,
    };
    Ok(RunReport {
        worker,
        machine,
        load_generator_cpu_ms_per_need: bench_cpu,
        write_bytes_per_need: bytes,
        ..RunReport::new(plan.name, &tally, &sent, fan_out.total())
    })
}

/// Correlation ids → measured need: the hub correlates by need id, the pass-through by the
/// event id; the warm-up need's are known and ignored.
fn index(plan: &RunPlan<'_>) -> HashMap<String, Option<usize>> {
    let mut index = HashMap::with_capacity(2 * (plan.needs.len() + 1));
    for need in plan.warm_up.iter() {
        index.insert(need.need_id.clone(), None);
        index.insert(need.event_id.clone(), None);
    }
    for (k, need) in plan.needs.iter().enumerate() {
        index.insert(need.need_id.clone(), Some(k));
        index.insert(need.event_id.clone(), Some(k));
    }
    index
}

async fn joined(
    task: JoinHandle<Result<Vec<Instant>, LoadgenError>>,
) -> Result<Vec<Instant>, LoadgenError> {
    task.await.unwrap_or_else(|e| {
        Err(LoadgenError::WorkerEnded {
            run: "load generator",
            detail: e.to_string(),
        })
    })
}
