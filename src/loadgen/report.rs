//! What a bench reports: per run counts, rates, latency percentiles and the worker process's
//! own CPU, memory and writes, and the ratio of the hub to the pass-through — the figure that
//! matters, since absolute rates depend on the machine and the broker far more than on the hub.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::machine::MachineFigures;
use super::tally::Tally;

/// The whole bench.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Needs published per run (the warm-up need not counted).
    pub needs: usize,
    /// Generated courses, and as many generated partners, in the hub's catalogue beside the
    /// sample ones (`--catalogue`).
    pub generated_catalogue: usize,
    /// Messages one need causes: its status to the region, one challenge or call per recipient.
    pub fan_out: u32,
    /// Routing keys of one need's fan-out (`<orgId>.<event type>`), the status last.
    pub destinations: Vec<String>,
    /// Per-consumer prefetch of both workers.
    pub prefetch: u16,
    /// Publishing rate limit in needs per second; `None`: as fast as confirms allow.
    pub rate: Option<u32>,
    /// The hub's store.
    pub store: String,
    /// The broker, without password.
    pub broker: String,
    /// The throwaway vhosts (hub run, pass-through run), deleted at the end.
    pub vhosts: Vec<String>,
    /// The hub run.
    pub hub: RunReport,
    /// The pass-through run.
    pub pass_through: RunReport,
    /// Hub ÷ pass-through.
    pub ratio: Ratio,
    /// VmHWM of the bench process at the end, KiB: the load generator and the observer of both
    /// runs (the workers run in processes of their own; see [`WorkerFigures`]).
    pub load_generator_peak_rss_kib: Option<u64>,
}

/// One run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `hub` or `pass-through`.
    pub run: &'static str,
    /// Needs published and confirmed.
    pub messages_in: u64,
    /// Messages that arrived on organisation queues as part of a need's fan-out.
    pub messages_out: u64,
    /// `messages_in` × fan-out.
    pub expected_out: u64,
    /// Copies beyond a need's fan-out.
    pub duplicates: u64,
    /// Messages for no measured need.
    pub unexpected: u64,
    /// Needs whose whole fan-out arrived.
    pub complete_needs: usize,
    /// First publish → last expected arrival, seconds.
    pub duration_secs: f64,
    /// Needs in per second.
    pub msgs_in_per_sec: f64,
    /// Messages out per second.
    pub msgs_out_per_sec: f64,
    /// Publish → arrival of the need's status on the region's queue.
    pub latency_ms: Latency,
    /// The worker process's own figures (the hub's, or the pass-through's).
    pub worker: WorkerFigures,
    /// The whole machine's CPU per need, and the broker's and the database's part of it when
    /// they run on this machine.
    pub machine: MachineFigures,
    /// CPU time (user + system) of the bench process — the load generator and the observer,
    /// not the worker — while the measured needs ran, per need, milliseconds.
    pub load_generator_cpu_ms_per_need: Option<f64>,
    /// The same as `worker.write_bytes_per_need`, kept under its old name for scripts.
    pub write_bytes_per_need: Option<f64>,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Fastest.
    pub min: f64,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

/// The worker process's own figures, read from `/proc/<its pid>/…` by the bench (Linux; `None`
/// elsewhere).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct WorkerFigures {
    /// CPU time (user + system) of the worker process while the measured needs ran, per need,
    /// milliseconds (`stat` utime + stime at the start and the end of the measured phase).
    pub cpu_ms_per_need: Option<f64>,
    /// Peak resident memory of the worker process (`status` VmHWM just before it was stopped),
    /// KiB: its whole life, start-up and the generated catalogue included.
    pub peak_rss_kib: Option<u64>,
    /// Resident memory of the worker process just before it was stopped (VmRSS), KiB.
    pub rss_kib: Option<u64>,
    /// Bytes the worker process caused to be written to storage while the measured needs ran,
    /// per need (`io` write_bytes): the hub's SQLite database and WAL; PostgreSQL writes in
    /// its own processes, so a PostgreSQL run shows next to nothing here.
    pub write_bytes_per_need: Option<f64>,
}

/// Hub ÷ pass-through.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    /// Needs per second of the hub ÷ of the pass-through (1.0: the hub costs nothing).
    pub throughput: f64,
    /// Median latency of the hub ÷ of the pass-through.
    pub p50_latency: f64,
    /// 99th-percentile latency of the hub ÷ of the pass-through.
    pub p99_latency: f64,
}

impl Ratio {
    /// `hub` relative to `pass_through`.
    pub fn of(hub: &RunReport, pass_through: &RunReport) -> Self {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
        Self {
            throughput: div(hub.msgs_in_per_sec, pass_through.msgs_in_per_sec),
            p50_latency: div(hub.latency_ms.p50, pass_through.latency_ms.p50),
            p99_latency: div(hub.latency_ms.p99, pass_through.latency_ms.p99),
        }
    }
}

impl RunReport {
    /// The report of a complete run: `sent[k]` is when need `k` was published.
    pub(crate) fn new(run: &'static str, tally: &Tally, sent: &[Instant], fan_out: u32) -> Self {
        let latencies: Vec<Duration> = sent
            .iter()
            .zip(&tally.status_at)
            .filter_map(|(sent, arrived)| arrived.map(|a| a.saturating_duration_since(*sent)))
            .collect();
        let duration = match (sent.first(), tally.done_at) {
            (Some(first), Some(done)) => done.saturating_duration_since(*first),
            _ => Duration::ZERO,
        };
        let secs = duration.as_secs_f64();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let messages_in = sent.len() as u64;
        Self {
            run,
            messages_in,
            messages_out: tally.delivered + tally.duplicates,
            expected_out: messages_in * u64::from(fan_out),
            duplicates: tally.duplicates,
            unexpected: tally.unexpected,
            complete_needs: tally.complete_needs(),
            duration_secs: secs,
            msgs_in_per_sec: per_sec(messages_in),
            msgs_out_per_sec: per_sec(tally.delivered + tally.duplicates),
            latency_ms: Latency::of(latencies),
            worker: WorkerFigures::default(),
            machine: MachineFigures::default(),
            load_generator_cpu_ms_per_need: None,
            write_bytes_per_need: None,
        }
    }
}

impl Latency {
    /// Nearest-rank percentiles of `samples` (all zero when there are none).
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        let rank = |p: f64| -> f64 {
            let n = samples.len();
            let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
            ms(&samples[i])
        };
        match (samples.first(), samples.last()) {
            (Some(min), Some(max)) => Self {
                min: ms(min),
                p50: rank(0.50),
                p99: rank(0.99),
                max: ms(max),
            },
            _ => Self::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples = (1..=100).map(Duration::from_millis).rev().collect();
        let l = Latency::of(samples);
        assert_eq!((l.min, l.p50, l.p99, l.max), (1.0, 50.0, 99.0, 100.0));
        let one = Latency::of(vec![Duration::from_millis(7)]);
        assert_eq!((one.p50, one.p99, one.max), (7.0, 7.0, 7.0));
        assert_eq!(Latency::of(Vec::new()), Latency::default());
    }
}
