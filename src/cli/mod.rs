//! The `samverkan` command line: argument parsing and dispatch, nothing else.
//!
//! Each subcommand lives in its own file and writes to the `out`/`err` writers it is given, so
//! tests can run it without spawning a process. Machine-readable output goes to stdout, logs go
//! to stderr (see `crate::telemetry`). Exit codes are uniform: 0 success/clean, 1 something
//! was found (an invalid event, personal data), 2 usage or I/O error.

mod audit;
mod bench;
mod bench_worker;
mod console;
mod contract;
mod credentials;
mod dead_letters;
mod demo;
mod input;
mod listen;
mod needs;
mod needs_list;
mod onboard;
mod parked;
pub(crate) mod pii;
mod publish;
mod run;
mod schemas;
mod tokens;
mod topology;
pub(crate) mod validate;
mod webhooks;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use time::{Date, OffsetDateTime};

use crate::settings::{self, LogFormat, Settings};
use crate::store::{Store, StoreError};
use crate::telemetry;
use crate::transport::Selector;

/// Samverkan: route healthcare improvement needs between regions, universities and companies.
#[derive(Debug, Parser)]
#[command(name = "samverkan", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults (env `SAMVERKAN__…` wins over both).
    #[arg(long, global = true, value_name = "FILE", env = "SAMVERKAN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format on stderr (overrides `log.format`).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load generator: the hub against a pass-through baseline on RabbitMQ, in throwaway vhosts;
    /// reports throughput, p50/p99 latency, peak memory and the ratio.
    Bench(bench::BenchArgs),
    /// One worker of `samverkan bench` in a process of its own; the bench starts it.
    #[command(name = "bench-worker", hide = true)]
    BenchWorker,
    /// The web console's tools.
    Console {
        /// What to do.
        #[command(subcommand)]
        command: console::ConsoleCommand,
    },
    /// The contract as documents tools read (AsyncAPI 3.0, OpenAPI 3.1).
    Contract {
        /// What to print.
        #[command(subcommand)]
        command: ContractCommand,
    },
    /// The whole story in one process (no broker): needs, PII refusals, matches, answers,
    /// and every need's reconciled status; with `--serve`, then the web console on its data.
    Demo(demo::DemoArgs),
    /// Inspect the hub's dead-letter queue (never shows bodies), replay what the hub refused
    /// once its cause is fixed, and list the outbound messages parked because they can never
    /// be published.
    DeadLetters {
        /// What to do.
        #[command(subcommand)]
        command: DeadLettersCommand,
    },
    /// A need's history from the audit trail and the need record: received, refused or
    /// routed with reason codes, published to whom, answers, state changes, replays; ids,
    /// codes and times only.
    Audit {
        /// The need id.
        need_id: String,
        /// The region whose need it is (needed only when several regions use the id).
        #[arg(long)]
        region: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Read needs from the store.
    Needs {
        /// What to do.
        #[command(subcommand)]
        command: NeedsCommand,
    },
    /// Create or update organisations' broker users with least-privilege permissions
    /// (publish to ingress, read their own queue) through the RabbitMQ management API.
    Onboard(onboard::OnboardArgs),
    /// Run the hub: consume ingress, route, publish, until Ctrl-C or SIGTERM.
    Run,
    /// Publish event files to the hub as a configured organisation (a test client).
    Publish {
        /// The organisation to send as (its broker user becomes the AMQP user_id).
        #[arg(long = "as", value_name = "ORG")]
        org: String,
        /// Environment variable holding the organisation's broker password; without it
        /// `amqp.url` must name the organisation's broker user.
        #[arg(long, value_name = "VAR", default_value = "SAMVERKAN_PUBLISH_PASSWORD")]
        password_env: String,
        /// CloudEvent files (sent as they are); `-` reads stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// Show what the hub sends an organisation (its verdicts included) as it is sent, from a
    /// tap that takes nothing from the organisation's queue.
    Listen(listen::ListenArgs),
    /// Check CloudEvent files (envelope and data) exactly as the hub would.
    Validate {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Files to check; `-` reads stdin.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// List the event types and their schemas, or print one schema.
    Schemas {
        /// An event type (e.g. `se.samverkan.need.submitted.v1`) or schema file to print.
        name: Option<String>,
    },
    /// Print the broker topology for the configured organisations.
    Topology {
        /// Also declare it on the broker (`amqp.url`); idempotent.
        #[arg(long)]
        declare: bool,
    },
    /// Bearer tokens for organisations that use the HTTP API instead of AMQP.
    Tokens {
        /// What to do.
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// Webhook delivery: organisations' webhooks, parked events, redelivery.
    Webhooks {
        /// What to do.
        #[command(subcommand)]
        command: WebhooksCommand,
    },
    /// Personal-data tools.
    Pii {
        /// What to do.
        #[command(subcommand)]
        command: PiiCommand,
    },
}

/// `samverkan contract …`
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// Print the AsyncAPI 3.0 document (what `GET /asyncapi.json` serves).
    Asyncapi {
        /// Describe the configured broker (`amqp.url` host and port, never its credentials)
        /// instead of the placeholder `rabbitmq.example:5672`.
        #[arg(long)]
        from_config: bool,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (what `GET /openapi.json` serves).
    Openapi {
        /// Give `http://` and the configured `[http] listen` as the server instead of the
        /// relative `/`.
        #[arg(long)]
        from_config: bool,
    },
}

/// `samverkan needs …`
#[derive(Debug, Subcommand)]
pub enum NeedsCommand {
    /// A need's reconciled state: recipients, scores, latest answers, counts.
    Show {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// The need id, e.g. NEED-2026-0101.
        need_id: String,
        /// The region that submitted it; needed only when several regions use the id (need
        /// ids are unique within a region).
        #[arg(long)]
        region: Option<String>,
    },
    /// The newest needs (filtered by region, state, topic, age) and the count in each state;
    /// ids, codes and times only.
    List(needs_list::ListArgs),
}

/// `samverkan tokens …`
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a token for a configured organisation; prints it once (the store keeps its hash).
    Issue {
        /// Output format: the token alone, or `{"token": …, "id": …, "org": …}`.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// The organisation id, e.g. partner-001.
        org: String,
    },
    /// Every token's id, organisation and times (never a token).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Revoke a token by its id; it is refused from then on.
    Revoke {
        /// The token's id, as `tokens list` shows it.
        id: String,
    },
}

/// `samverkan webhooks …`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Each organisation with a webhook: URL (without credentials or query), origin (config or
    /// api), whether it passed the handshake, delivered position, backlog and parked events.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Events parked after failing past the retry horizon, or refused for good: organisation,
    /// feed position, event id, type, last status or error kind, attempts, when.
    Parked {
        /// Only this organisation's.
        #[arg(long)]
        org: Option<String>,
        /// How many to show at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Put parked events back for delivery (before the rest of the organisation's feed).
    Redeliver {
        /// The organisation id.
        org: String,
        /// Feed positions, as `webhooks parked` shows them.
        #[arg(required = true, value_name = "SEQ")]
        seqs: Vec<i64>,
    },
}

/// `samverkan dead-letters …`
#[derive(Debug, Subcommand)]
pub enum DeadLettersCommand {
    /// Reason, detail, message id, routing key and size of the oldest dead letters, and the
    /// count per reason; they stay in the queue.
    List {
        /// How many messages to show at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// One dead letter in full: reason, detail (schema error pointers among it), sender,
    /// event id, source and type, need id, routing key, body kind, size and SHA-256, time, and
    /// how often it was replayed; never its body. It stays in the queue.
    Show {
        /// The dead letter's id, as `list` shows it.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Send dead letters through the hub again, as their original sender, once their cause
    /// is fixed; refused again with the same code if nothing changed. Only what the hub
    /// refused or could not process, with its body kept as sent, is replayable.
    Replay {
        /// The dead letters' ids, as `list` shows them.
        #[arg(
            value_name = "ID",
            required_unless_present = "reason",
            conflicts_with = "reason"
        )]
        ids: Vec<String>,
        /// Every dead letter with this reason code instead.
        #[arg(long, value_name = "CODE")]
        reason: Option<String>,
        /// Say what would be replayed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Outbound messages the relay parked in the store because they can never be published
    /// (a property over 255 bytes, headers over the frame size, a body over the limit, or
    /// refused by the broker in every attempt): reason, detail, ids, routing key, size.
    Parked {
        /// How many rows to show at most.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

/// `samverkan pii …`
#[derive(Debug, Subcommand)]
pub enum PiiCommand {
    /// Report personnummer, samordningsnummer, phone numbers and e-mail addresses (never values).
    Scan {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Reference date for "birth date not in the future" (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        today: Option<Date>,
        /// A JSON document or plain text; `-` reads stdin.
        #[arg(value_name = "FILE")]
        file: String,
    },
}

/// Report format of `validate` and `pii scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// How a command ended; maps to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: valid / clean / done.
    Ok,
    /// 1: something was found (invalid input, personal data).
    Found,
    /// 2: usage, configuration or I/O error.
    Failure,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        match status {
            Status::Ok => ExitCode::SUCCESS,
            Status::Found => ExitCode::from(1),
            Status::Failure => ExitCode::from(2),
        }
    }
}

/// Parse the process arguments and run; the whole of `main`.
pub fn main() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help/--version.
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Status::Failure.into()
        }
    }
}

/// Load settings, start telemetry, dispatch.
pub fn run(cli: Cli) -> anyhow::Result<Status> {
    let settings = settings::load(cli.config.as_deref())?;
    let mut command = cli.command;
    if let Command::Bench(args) = &mut command {
        // Its worker processes load the same file and log like it.
        args.config.clone_from(&cli.config);
        args.log_format = cli.log_format;
    }
    let log_format = match cli.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => settings.log.format,
    };
    // The demo tells its story on stdout and refuses events on purpose; the hub's INFO lines
    // about those refusals would only interleave with it. `RUST_LOG` still shows them.
    let level = match command {
        Command::Demo(_) => "warn",
        _ => settings.log.level.as_str(),
    };
    telemetry::init(level, log_format)?;
    dispatch(
        command,
        &settings,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
    )
}

/// Run one command with loaded settings.
pub(crate) fn dispatch(
    command: Command,
    settings: &Settings,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<Status> {
    let limits = settings.limits.to_limits();
    match command {
        Command::Run => run::run(settings),
        Command::Bench(args) => bench::run(settings, &args, out),
        Command::BenchWorker => bench_worker::run(settings),
        Command::Onboard(args) => onboard::run(settings, &args, out),
        Command::Demo(args) => demo::run(&args, out),
        Command::Console {
            command: console::ConsoleCommand::HashPassword,
        } => console::hash_password(&mut std::io::stdin().lock(), out),
        Command::Contract {
            command: ContractCommand::Asyncapi { from_config },
        } => contract::asyncapi(settings, from_config, out, err),
        Command::Contract {
            command: ContractCommand::Openapi { from_config },
        } => contract::openapi(settings, from_config, out, err),
        Command::DeadLetters {
            command: DeadLettersCommand::List { limit, format },
        } => dead_letters::list(&dead_letters::admin(settings), limit, format, out),
        Command::DeadLetters {
            command: DeadLettersCommand::Show { id, format },
        } => dead_letters::show(&dead_letters::admin(settings), &id, format, out, err),
        Command::DeadLetters {
            command:
                DeadLettersCommand::Replay {
                    ids,
                    reason,
                    dry_run,
                    format,
                },
        } => {
            let selector = match reason {
                Some(code) => Selector::Reason(code),
                None => Selector::Ids(ids),
            };
            let admin = dead_letters::admin(settings);
            dead_letters::replay(&admin, &selector, dry_run, format, out)
        }
        Command::DeadLetters {
            command: DeadLettersCommand::Parked { limit, format },
        } => parked::list(settings, limit, format, out),
        Command::Audit {
            need_id,
            region,
            format,
        } => audit::show(settings, &need_id, region.as_deref(), format, out, err),
        Command::Needs {
            command:
                NeedsCommand::Show {
                    format,
                    need_id,
                    region,
                },
        } => needs::show(settings, &need_id, region.as_deref(), format, out, err),
        Command::Needs {
            command: NeedsCommand::List(args),
        } => needs_list::list(settings, &args, out),
        Command::Publish {
            org,
            password_env,
            files,
        } => publish::run(settings, &org, &password_env, &files, out),
        Command::Listen(args) => listen::run(settings, &args, out, err),
        Command::Validate { format, files } => validate::run(&files, format, limits, out, err),
        Command::Schemas { name } => schemas::run(name.as_deref(), out, err),
        Command::Tokens { command } => match command {
            TokensCommand::Issue { format, org } => tokens::issue(settings, &org, format, out),
            TokensCommand::List { format } => tokens::list(settings, format, out),
            TokensCommand::Revoke { id } => tokens::revoke(settings, &id, out, err),
        },
        Command::Webhooks { command } => match command {
            WebhooksCommand::List { format } => webhooks::list(settings, format, out),
            WebhooksCommand::Parked { org, limit, format } => {
                webhooks::parked(settings, org.as_deref(), limit, format, out)
            }
            WebhooksCommand::Redeliver { org, seqs } => {
                webhooks::redeliver(settings, &org, &seqs, out, err)
            }
        },
        Command::Topology { declare } => topology::run(settings, declare, out),
        Command::Pii {
            command:
                PiiCommand::Scan {
                    format,
                    today,
                    file,
                },
        } => {
            let today = today.unwrap_or_else(|| OffsetDateTime::now_utc().date());
            pii::run(&file, format, limits, today, out, err)
        }
    }
}

fn parse_date(s: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, format).map_err(|e| format!("expected YYYY-MM-DD: {e}"))
}

/// The single-threaded runtime a subcommand that talks to the broker or the store runs on.
/// Open the configured store, run `f` on it, close it (the store commands: `tokens`,
/// `webhooks`).
fn with_store<'s, T, F, Fut>(settings: &'s Settings, f: F) -> anyhow::Result<T>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>> + 's,
{
    use anyhow::Context;
    let runtime = runtime()?;
    runtime
        .block_on(async {
            let store = Store::from_settings(&settings.store).await?;
            let result = f(store.clone()).await;
            store.close().await;
            result
        })
        .with_context(|| format!("store {}", settings.store.redacted_url()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}
