//! What a bench reports: per run counts, rates, latency percentiles and memory, and the ratio
//! of the hub to the pass-through — the figure that matters, since absolute rates
//! depend on the machine and the broker far more than on the hub.

use std::time::{Duration, Instant};

use serde::Serialize;

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
    /// VmHWM of the whole bench process at the end, KiB.
    pub process_peak_rss_kib: Option<u64>,
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
    /// Resident memory when the worker started, KiB.
    pub rss_start_kib: Option<u64>,
    /// Peak resident memory during the run (VmHWM, reset at the start when the kernel allows),
    /// KiB; it covers the load generator and the observer too.
    pub peak_rss_kib: Option<u64>,
    /// CPU time (user + system) of the whole bench process while the measured needs ran, per
    /// need, milliseconds: the worker plus the load generator and the observer, whose share is
    /// what the pass-through run shows.
    pub cpu_ms_per_need: Option<f64>,
    /// Bytes the process caused to be written to storage while the measured needs ran, per need
    /// (Linux `write_bytes`): the hub's SQLite database and WAL; PostgreSQL writes in its own
    /// processes, so a PostgreSQL run shows next to nothing here.
    pub write_bytes_per_need: Option<f64>,
}

/// CPU time and storage writes of this process so far (Linux `/proc/self`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProcessCounters {
    cpu_ms: Option<f64>,
    write_bytes: Option<u64>,
}

/// Linux reports CPU time in `/proc` in ticks of 1/100 s (`USER_HZ`, fixed by its ABI).
const USER_HZ: f64 = 100.0;

impl ProcessCounters {
    /// The counters now; `None` fields off Linux.
    pub(crate) fn now() -> Self {
        Self {
            cpu_ms: proc_cpu_ticks().map(|ticks| ticks as f64 * 1000.0 / USER_HZ),
            write_bytes: proc_io("write_bytes"),
        }
    }

    /// `(cpu ms, write bytes)` per need between `self` and `later`, over `needs` needs.
    pub(crate) fn per_need(self, later: Self, needs: usize) -> (Option<f64>, Option<f64>) {
        if needs == 0 {
            return (None, None);
        }
        let n = needs as f64;
        let cpu = self.cpu_ms.zip(later.cpu_ms).map(|(a, b)| (b - a) / n);
        let bytes = self
            .write_bytes
            .zip(later.write_bytes)
            .map(|(a, b)| b.saturating_sub(a) as f64 / n);
        (cpu, bytes)
    }
}

/// utime + stime of the whole process (fields 14 and 15 of `/proc/self/stat`, after the
/// parenthesised command name, which may hold spaces).
fn proc_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // after_name starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A field of `/proc/self/io`.
fn proc_io(field: &str) -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().parse().ok()
    })
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

/// Memory figures of one run.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    pub start_kib: Option<u64>,
    pub peak_kib: Option<u64>,
}

impl RunReport {
    /// The report of a complete run: `sent[k]` is when need `k` was published.
    pub(crate) fn new(
        run: &'static str,
        tally: &Tally,
        sent: &[Instant],
        fan_out: u32,
        memory: Memory,
    ) -> Self {
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
            rss_start_kib: memory.start_kib,
            peak_rss_kib: memory.peak_kib,
            cpu_ms_per_need: None,
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

/// A `kB` field of `/proc/self/status` (`VmRSS`, `VmHWM`), in KiB; `None` off Linux.
pub(crate) fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Reset the process's peak RSS to its current RSS (Linux: `5` to `/proc/self/clear_refs`),
/// so the next VmHWM is the peak of what follows; the current RSS.
pub(crate) fn reset_peak_rss() -> Option<u64> {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        tracing::debug!(error = %e, "cannot reset the peak RSS; the run's peak covers the process so far");
    }
    proc_status_kib("VmRSS")
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

    #[test]
    fn cpu_time_and_writes_are_read_from_proc() {
        if cfg!(target_os = "linux") {
            let before = ProcessCounters::now();
            let mut x = 0u64;
            // Burn enough CPU for at least a few ticks.
            for i in 0..200_000_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            let dir = tempfile::TempDir::new().expect("temp dir");
            let file = dir.path().join("w");
            std::fs::write(&file, vec![7u8; 1 << 20]).expect("write");
            std::fs::File::open(&file)
                .expect("open")
                .sync_all()
                .expect("sync");
            let (cpu, bytes) = before.per_need(ProcessCounters::now(), 1);
            assert!(cpu.expect("cpu") > 0.0);
            assert!(
                bytes.expect("write_bytes") >= f64::from(1 << 20),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn memory_is_read_from_proc() {
        if cfg!(target_os = "linux") {
            let rss = reset_peak_rss().expect("VmRSS");
            let peak = proc_status_kib("VmHWM").expect("VmHWM");
            assert!(rss > 0 && peak > 0);
        }
    }
}
