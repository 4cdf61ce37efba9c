//! The fault suite's driver: `scripts/faults` builds and runs it (read that script first).
//!
//! For each fault it starts `samverkan run` (the release binary) on a fresh RabbitMQ virtual host
//! and a fresh store, streams at least 5,000 needs and answers through it, breaks something
//! mid-stream, repairs it, waits (bounded) until the hub has done everything, and then counts,
//! from the store and from the organisation queues: events whose effect is missing (lost),
//! effects applied twice (duplicated), messages dead-lettered, and how long the hub took to
//! serve again once the fault was over — without anyone touching the hub.
//!
//! Everything is on 127.0.0.1; the driver refuses anything else. What it creates (virtual hosts
//! `samverkan-faults-*`, databases `samverkan_faults_*`) it removes again; `scripts/faults`
//! removes leftovers of an interrupted run too.
//!
//! ```text
//! faults --hub target/release/samverkan --disk /path/to/small/tmpfs [--only NAME,NAME]
//!        [--amqp-port 5672 --management-port 15672 --rabbitmqctl 'rabbitmqctl']
//! ```
//!
//! The broker is on 127.0.0.1: by default the host's RabbitMQ (5672, management 15672, the
//! host's `rabbitmqctl`); `scripts/faults --broker 4` points it at scripts/rabbitmq4's.

mod broker;
mod checks;
mod hub;
mod run;
mod store;
mod stream;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

/// The faults, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `rabbitmqctl stop_app`, 15 s, `rabbitmqctl start_app`.
    BrokerRestart,
    /// The hub killed with SIGKILL, started again 5 s later on the same store.
    HubSigkill,
    /// PostgreSQL behind a TCP proxy that is stopped for 15 s.
    PgUnreachable,
    /// PostgreSQL read-only for 15 s (as after a fail-over to a standby).
    PgReadOnly,
    /// SQLite on a small tmpfs that is filled up for 15 s.
    SqliteDiskFull,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::BrokerRestart,
        Fault::HubSigkill,
        Fault::PgUnreachable,
        Fault::PgReadOnly,
        Fault::SqliteDiskFull,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::BrokerRestart => "rabbitmq-restart",
            Fault::HubSigkill => "hub-sigkill",
            Fault::PgUnreachable => "postgres-unreachable-15s",
            Fault::PgReadOnly => "postgres-read-only-15s",
            Fault::SqliteDiskFull => "sqlite-disk-full",
        }
    }

    /// How long the fault lasts.
    pub fn outage(self) -> Duration {
        match self {
            Fault::HubSigkill => Duration::from_secs(5),
            _ => Duration::from_secs(15),
        }
    }
}

/// What the driver was told.
pub struct Options {
    /// `target/release/samverkan`.
    pub hub: PathBuf,
    /// The repository root (the hub runs there, with `config/sample.toml`).
    pub repo: PathBuf,
    /// A small tmpfs of its own for the SQLite store (the disk-full fault fills it).
    pub disk: Option<PathBuf>,
    /// PostgreSQL to create throwaway databases on (a user allowed to create databases).
    pub pg_admin_url: String,
    pub only: Vec<Fault>,
    /// Needs per fault; answers are 1.5 times as many.
    pub needs: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut args = std::env::args().skip(1);
    let mut hub = None;
    let mut disk = None;
    let mut only = Vec::new();
    let mut needs = 2_000;
    let mut broker = broker::Broker {
        amqp_port: 5672,
        management_port: 15672,
        rabbitmqctl: vec!["rabbitmqctl".to_owned()],
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--hub" => hub = Some(PathBuf::from(value()?)),
            "--disk" => disk = Some(PathBuf::from(value()?)),
            "--needs" => needs = value()?.parse().context("--needs")?,
            "--amqp-port" => broker.amqp_port = value()?.parse().context("--amqp-port")?,
            "--management-port" => {
                broker.management_port = value()?.parse().context("--management-port")?;
            }
            "--rabbitmqctl" => {
                broker.rabbitmqctl = value()?.split_whitespace().map(str::to_owned).collect();
            }
            "--only" => {
                for name in value()?.split(',') {
                    let fault = Fault::ALL
                        .into_iter()
                        .find(|f| f.name().starts_with(name))
                        .with_context(|| format!("no fault named {name}"))?;
                    only.push(fault);
                }
            }
            _ => bail!("unknown argument {arg}"),
        }
    }
    if needs < 2_000 {
        bail!("--needs below 2000 would stream fewer than 5,000 needs and answers");
    }
    let pg_admin_url = std::env::var("SAMVERKAN_FAULTS_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let host = url::Url::parse(&pg_admin_url).context("SAMVERKAN_FAULTS_PG_URL")?;
    if host.host_str() != Some("127.0.0.1") || host.port() != Some(5432) {
        bail!("the fault suite only runs against PostgreSQL on 127.0.0.1:5432");
    }
    if only.is_empty() {
        only = Fault::ALL.to_vec();
    }
    broker::Broker::set(broker);
    Ok(Options {
        hub: hub.context("--hub target/release/samverkan")?,
        repo: std::env::current_dir()?,
        disk,
        pg_admin_url,
        only,
        needs,
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("faults: {error:#}");
            return ExitCode::from(2);
        }
    };
    sqlx::any::install_default_drivers();
    let mut lines = Vec::new();
    let mut ok = true;
    for fault in options.only.clone() {
        eprintln!("faults: {} …", fault.name());
        let line = match run::run(fault, &options).await {
            Ok(outcome) => {
                ok &= outcome.passed();
                for note in &outcome.notes {
                    eprintln!("faults: {}: {note}", fault.name());
                }
                outcome.line()
            }
            Err(error) => {
                ok = false;
                format!("{:<26} failed to run: {error:#}", fault.name())
            }
        };
        eprintln!("{line}");
        lines.push(line);
    }
    println!("{}", run::Outcome::header());
    for line in &lines {
        println!("{line}");
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
