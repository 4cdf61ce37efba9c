//! `samverkan demo`: see [`crate::demo`].

use std::io::Write;

use anyhow::Context;

use super::Status;

/// Run the demo on a fresh runtime.
pub(super) fn run(out: &mut dyn Write) -> anyhow::Result<Status> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(crate::demo::run(out))?;
    Ok(Status::Ok)
}
