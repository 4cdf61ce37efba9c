//! `samverkan onboard [ORG…]`: broker users and least-privilege permissions per organisation.
//!
//! Regional IT runs it when an organisation joins (and may run it again at any time: it is
//! idempotent). Each organisation may publish to the ingress exchange and read its own queue,
//! nothing else; see [`crate::onboard`]. A new user gets a generated password, printed once on
//! stdout to hand over; `--password-stdin` sets it instead (scripts and tests), for one named
//! organisation only. Users get no tags; an existing user with tags is refused unless
//! `--reset-tags`.

use std::io::{BufRead, Write};

use anyhow::Context;

use super::{OutputFormat, Status};
use crate::onboard::{self, Existing, Management, Onboarded, Password};
use crate::settings::Settings;

/// Options of `samverkan onboard`.
#[derive(Debug, Clone, clap::Args)]
pub struct OnboardArgs {
    /// Organisation ids to onboard; all configured organisations when none are given.
    #[arg(value_name = "ORG")]
    pub orgs: Vec<String>,
    /// Read the password for new users from the first line of stdin instead of generating one.
    /// Only with exactly one ORG: organisations must not share a password.
    #[arg(long)]
    pub password_stdin: bool,
    /// Also set the password of users that already exist.
    #[arg(long)]
    pub reset_password: bool,
    /// Remove the tags (administrator, management, impersonator, …) of existing users;
    /// without it a user that carries tags is refused and nothing is changed.
    #[arg(long)]
    pub reset_tags: bool,
    /// Only print what would be granted; do not contact the broker.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

/// Plan the grants, apply them through the management API unless `--dry-run`, report.
pub(super) fn run(
    settings: &Settings,
    args: &OnboardArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Status> {
    let grants = onboard::plan(settings, &args.orgs)?;
    if args.password_stdin {
        onboard::check_given_password(&args.orgs, &grants)?;
    }
    if args.dry_run {
        let planned: Vec<Onboarded> = grants.into_iter().map(Onboarded::unchanged).collect();
        report(&planned, args.format, true, out)?;
        return Ok(Status::Ok);
    }
    let password = if args.password_stdin {
        Password::Given(read_password()?)
    } else {
        Password::Generate
    };
    let management = Management::new(&settings.amqp.management_url, &settings.amqp.url)?;
    let runtime = super::runtime()?;
    let existing = Existing {
        reset_password: args.reset_password,
        reset_tags: args.reset_tags,
    };
    let done = runtime.block_on(onboard::apply(&management, grants, &password, existing))?;
    report(&done, args.format, false, out)?;
    Ok(Status::Ok)
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        !password.is_empty(),
        "--password-stdin: the first line of stdin is empty"
    );
    Ok(password.to_owned())
}

fn report(
    done: &[Onboarded],
    format: OutputFormat,
    dry_run: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if format == OutputFormat::Json {
        serde_json::to_writer_pretty(&mut *out, done)?;
        writeln!(out)?;
        return Ok(());
    }
    for o in done {
        let g = &o.grant;
        let what = match (dry_run, o.created, o.password_reset) {
            (true, ..) => "would grant",
            (false, true, _) => "created",
            (false, false, true) => "password reset",
            (false, false, false) => "exists, password kept",
        };
        writeln!(
            out,
            "{}: user {} on vhost {} — {what}",
            g.org, g.user, g.vhost
        )?;
        let p = &g.permissions;
        writeln!(
            out,
            "    configure {}   write {}   read {}",
            p.configure, p.write, p.read
        )?;
        if !o.tags_removed.is_empty() {
            writeln!(out, "    tags removed: {}", o.tags_removed.join(", "))?;
        }
        if let Some(password) = &o.password {
            writeln!(
                out,
                "    password {password}   (shown once: hand it to the organisation)"
            )?;
        }
    }
    Ok(())
}
