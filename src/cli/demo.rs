//! `samverkan demo [--serve [--listen ADDR]]`: see [`crate::demo`].

use std::io::Write;
use std::net::SocketAddr;

use anyhow::Context;

use super::Status;

/// `demo`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// After the story, keep its data and serve the web console (`/console`) with the demo
    /// users until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// Where `--serve` listens (port 0: any free port; the URL is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Run the demo on a fresh runtime.
pub(super) fn run(args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<Status> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let serve = args.serve.then_some(args.listen);
    runtime.block_on(crate::demo::run(out, serve, super::run::wait_for_signal()))?;
    Ok(Status::Ok)
}
