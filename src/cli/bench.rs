//! `samverkan bench`: the load generator. Runs the hub and a pass-through baseline, each in a
//! worker process of its own (`samverkan bench-worker`), on the configured RabbitMQ, in
//! throwaway vhosts, and prints both and their ratio (see [`crate::loadgen`]).
//!
//! Progress and errors go to the log on stderr; the report goes to stdout, as a table or as
//! JSON for scripts (`scripts/bench hub`). Ctrl-C stops the bench and still removes its vhosts
//! and temporary database.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::{LogFormatArg, OutputFormat, Status};
use crate::loadgen::{self, BenchOptions, Report, RunReport, StoreChoice, WorkerProgram};
use crate::settings::Settings;

const INTERRUPTED: &str = "interrupted; the bench's vhosts and temporary database were removed";

/// Options of `samverkan bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Needs per run (copies of NEED-2026-0101 with unique ids), plus one warm-up need.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub needs: u32,
    /// The hub's store: `sqlite` (a temporary file), `postgres` (a temporary database on
    /// postgres://postgres@127.0.0.1:5432), a `postgres://` server URL (a temporary database
    /// there) or a `sqlite://PATH` URL (used as it is).
    #[arg(long, default_value = "sqlite", value_name = "sqlite|postgres|URL")]
    pub store: String,
    /// Per-consumer prefetch of the hub and the pass-through (default: `amqp.prefetch`).
    #[arg(long)]
    pub prefetch: Option<u16>,
    /// Publish at most this many needs per second (default: as fast as confirms allow).
    #[arg(long, value_name = "NEEDS_PER_SEC")]
    pub rate: Option<u32>,
    /// Add this many generated courses and as many generated partners to the sample catalogue,
    /// so the hub matches against a catalogue of realistic size (e.g. 10000).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub catalogue: usize,
    /// Fail a run when nothing arrives for this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub stall_secs: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// The `--config` file, handed to the worker processes.
    #[arg(skip)]
    pub config: Option<PathBuf>,
    /// The global `--log-format`, handed to the worker processes.
    #[arg(skip)]
    pub log_format: Option<LogFormatArg>,
}

/// The environment that makes a worker log in `format` (the bench's `--log-format`); none
/// when it was not given (the worker reads `log.format` from the same configuration).
fn worker_env(format: Option<LogFormatArg>) -> Vec<(String, String)> {
    let value = match format {
        Some(LogFormatArg::Json) => "json",
        Some(LogFormatArg::Text) => "text",
        None => return Vec::new(),
    };
    vec![("SAMVERKAN__LOG__FORMAT".to_owned(), value.to_owned())]
}

/// Run the bench and print its report.
pub(super) fn run(
    settings: &Settings,
    args: &BenchArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let store: StoreChoice = args.store.parse()?;
    let options = BenchOptions {
        needs: args.needs as usize,
        store,
        prefetch: args.prefetch,
        rate: args.rate,
        stall: Duration::from_secs(args.stall_secs.max(1)),
        catalogue: args.catalogue,
        worker: WorkerProgram {
            exe: None,
            config: args.config.clone(),
            env: worker_env(args.log_format),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = loadgen::run(settings, &options) => Ok(report?),
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!(INTERRUPTED)),
        }
    })?;
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        OutputFormat::Text => text(&report, out)?,
    }
    Ok(Status::Ok)
}

/// The report as a table.
fn text(r: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let rate = r
        .rate
        .map_or("flat out".to_owned(), |n| format!("{n} needs/s"));
    writeln!(
        out,
        "samverkan bench: {} needs per run ({rate}), fan-out {} messages per need, prefetch {}",
        r.needs, r.fan_out, r.prefetch
    )?;
    let orgs: Vec<&str> = r
        .destinations
        .iter()
        .map(|key| key.split('.').next().unwrap_or_default())
        .collect();
    writeln!(out, "fan-out to {}", orgs.join(", "))?;
    writeln!(out, "broker {}; hub store {}", r.broker, r.store)?;
    if r.generated_catalogue > 0 {
        writeln!(
            out,
            "catalogue: the sample entries plus {n} generated courses and {n} generated partners",
            n = r.generated_catalogue
        )?;
    }
    writeln!(out)?;
    let header = ["", "hub", "pass-through", "hub/pass"].map(str::to_owned);
    for [name, hub, pass, ratio] in std::iter::once(header).chain(rows(r)) {
        let line = format!("{name:<22}{hub:>14}{pass:>16}{ratio:>12}");
        writeln!(out, "{}", line.trim_end())?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Latency: publish → the need's status on the region's queue. Worker rows: the worker's \
         own process (CPU and writes while the measured needs ran, peak RSS over its life). \
         Load generator: the bench process (publisher and observer); its peak RSS {}.",
        kib(r.load_generator_peak_rss_kib)
    )
}

/// Name, hub, pass-through, ratio.
fn rows(r: &Report) -> Vec<[String; 4]> {
    let row = |name: &str, cell: &dyn Fn(&RunReport) -> String, ratio: Option<f64>| {
        let ratio = ratio.map_or(String::new(), |x| format!("{x:.2}"));
        [name.to_owned(), cell(&r.hub), cell(&r.pass_through), ratio]
    };
    let ms = |v: f64| format!("{v:.1} ms");
    let x = &r.ratio;
    vec![
        row("messages in", &|r| r.messages_in.to_string(), None),
        row("messages out", &|r| r.messages_out.to_string(), None),
        row("  duplicates", &|r| r.duplicates.to_string(), None),
        row("duration", &|r| format!("{:.2} s", r.duration_secs), None),
        row(
            "msgs in/s",
            &|r| format!("{:.0}", r.msgs_in_per_sec),
            Some(x.throughput),
        ),
        row(
            "msgs out/s",
            &|r| format!("{:.0}", r.msgs_out_per_sec),
            None,
        ),
        row(
            "latency p50",
            &|r| ms(r.latency_ms.p50),
            Some(x.p50_latency),
        ),
        row(
            "latency p99",
            &|r| ms(r.latency_ms.p99),
            Some(x.p99_latency),
        ),
        row("latency max", &|r| ms(r.latency_ms.max), None),
        row(
            "worker CPU per need",
            &|r| per_need_ms(r.worker.cpu_ms_per_need),
            None,
        ),
        row("worker peak RSS", &|r| kib(r.worker.peak_rss_kib), None),
        row("worker RSS at stop", &|r| kib(r.worker.rss_kib), None),
        row(
            "worker written/need",
            &|r| {
                r.worker
                    .write_bytes_per_need
                    .map_or("n/a".into(), |v| format!("{:.1} KiB", v / 1024.0))
            },
            None,
        ),
        row(
            "loadgen CPU per need",
            &|r| per_need_ms(r.load_generator_cpu_ms_per_need),
            None,
        ),
        row(
            "machine CPU per need",
            &|r| per_need_ms(r.machine.cpu_ms_per_need),
            None,
        ),
        row(
            "  broker (beam.smp)",
            &|r| per_need_ms(r.machine.broker_cpu_ms_per_need),
            None,
        ),
        row(
            "  database (postgres)",
            &|r| per_need_ms(r.machine.database_cpu_ms_per_need),
            None,
        ),
    ]
}

fn per_need_ms(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |v| format!("{v:.2} ms"))
}

fn kib(value: Option<u64>) -> String {
    value.map_or("n/a".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::{Latency, MachineFigures, Ratio, WorkerFigures};

    #[test]
    fn a_worker_logs_in_the_bench_s_log_format() {
        use crate::settings::LogFormat;
        let format = |arg| {
            let env = worker_env(arg).into_iter().collect();
            crate::settings::load_str("[log]\nformat = \"text\"", env)
                .expect("settings")
                .log
                .format
        };
        assert_eq!(format(Some(LogFormatArg::Json)), LogFormat::Json);
        assert_eq!(format(Some(LogFormatArg::Text)), LogFormat::Text);
        assert_eq!(format(None), LogFormat::Text, "the configuration's own");
        assert!(worker_env(None).is_empty());
    }

    fn run_report(run: &'static str, rate: f64) -> RunReport {
        RunReport {
            run,
            messages_in: 10,
            messages_out: 70,
            expected_out: 70,
            duplicates: 0,
            unexpected: 0,
            complete_needs: 10,
            duration_secs: 10.0 / rate,
            msgs_in_per_sec: rate,
            msgs_out_per_sec: rate * 7.0,
            latency_ms: Latency {
                min: 1.0,
                p50: 2.0,
                p99: 3.0,
                max: 4.0,
            },
            worker: WorkerFigures {
                cpu_ms_per_need: Some(1.5),
                peak_rss_kib: Some(2048),
                rss_kib: None,
                write_bytes_per_need: Some(2048.0),
            },
            machine: MachineFigures {
                cpu_ms_per_need: Some(2.75),
                broker_cpu_ms_per_need: Some(0.6),
                database_cpu_ms_per_need: None,
            },
            load_generator_cpu_ms_per_need: Some(0.25),
            write_bytes_per_need: Some(2048.0),
        }
    }

    #[test]
    fn the_table_has_both_runs_and_the_ratio() {
        let (hub, pass) = (run_report("hub", 100.0), run_report("pass-through", 400.0));
        let report = Report {
            needs: 10,
            generated_catalogue: 0,
            fan_out: 7,
            destinations: vec!["VGR.se.samverkan.need.status.v1".into()],
            prefetch: 500,
            rate: None,
            store: "sqlite (temporary file)".into(),
            broker: "amqp://guest:***@h/%2f".into(),
            vhosts: vec![],
            ratio: Ratio::of(&hub, &pass),
            hub,
            pass_through: pass,
            load_generator_peak_rss_kib: Some(4096),
        };
        let mut out = Vec::new();
        text(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("msgs in/s"), "{text}");
        assert!(text.contains("fan-out to VGR\n"), "{text}");
        assert!(text.contains("0.25"), "{text}");
        assert!(text.contains("2.0 MiB") && text.contains("n/a"), "{text}");
        assert!(text.contains("its peak RSS 4.0 MiB"), "{text}");
        assert!(
            text.contains("worker CPU per need") && text.contains("1.50 ms"),
            "{text}"
        );
        assert!(
            text.contains("2.0 KiB") && text.contains("0.25 ms"),
            "{text}"
        );
        assert!(
            text.contains("machine CPU per need") && text.contains("2.75 ms"),
            "{text}"
        );
        assert!(
            text.contains("broker (beam.smp)") && text.contains("0.60 ms"),
            "{text}"
        );
    }
}
