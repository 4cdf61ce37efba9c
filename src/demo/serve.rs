//! `demo --serve`: after the story, the demo's hub serves its HTTP surface and the web console
//! on its own data until told to stop.
//!
//! A newcomer who has just read the story wants to click through it: the needs the regions
//! sent, where each went and why, what was refused. So nothing is torn down: the temporary
//! store and the in-process broker stay as the story left them, the hub keeps consuming (the
//! operator sees the story's dead letters and can replay them), and the console logs in the
//! demo users ([`DEMO_USERS`], one password for all, hashed at start and printed: they guard
//! a throwaway store of fictional data, they are not secrets).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;

use super::Stage;
use crate::console::{Console, hash_password};
use crate::http::{self, HttpState};
use crate::settings::{ConsoleRole, ConsoleSettings, ConsoleUser, OrgId};
use crate::transport::{DeadLetterAdmin, Shutdown};

/// The password of every demo user.
pub(crate) const DEMO_PASSWORD: &str = "samverkan-demo";

/// The demo users: a coach for each sample region and an operator.
const DEMO_USERS: [(&str, ConsoleRole, Option<&str>); 3] = [
    ("coach-vgr", ConsoleRole::Coach, Some("VGR")),
    ("coach-rv", ConsoleRole::Coach, Some("RV")),
    ("operator", ConsoleRole::Operator, None),
];

/// Serve the stage's HTTP surface with the console on `address` until `stop` resolves.
pub(super) async fn console(
    stage: &Stage,
    address: SocketAddr,
    out: &mut dyn Write,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let dead_letters: Arc<dyn DeadLetterAdmin> = Arc::new(stage.broker.clone());
    let console = demo_console(&stage.settings.console, dead_letters)?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (demo --listen)"))?;
    let bound = listener.local_addr().context("the listener's address")?;
    let state = HttpState {
        pipeline: stage.pipeline.clone(),
        broker: None,
        publisher: None,
        console: Some(Arc::new(console)),
    };
    let (trigger, shutdown) = Shutdown::new();
    let server = tokio::spawn(http::serve(listener, state, shutdown));
    writeln!(
        out,
        "\n== 6. The console, on the data above (Ctrl-C stops it)"
    )?;
    for (name, role, region) in DEMO_USERS {
        let region = region.map(|r| format!(", region {r}")).unwrap_or_default();
        writeln!(out, "  user {name:<10} ({}{region})", role.as_str())?;
    }
    writeln!(out, "  password for every demo user: {DEMO_PASSWORD}")?;
    // Last: the line scripts and tests wait for.
    writeln!(out, "console: http://{bound}/console/")?;
    out.flush()?;
    stop.await;
    trigger.trigger();
    server
        .await
        .context("the HTTP server failed")?
        .context("the HTTP server stopped")?;
    writeln!(out, "console stopped")?;
    Ok(())
}

/// The console with the demo users; plain http on the loopback, so no `Secure` cookie.
fn demo_console(
    defaults: &ConsoleSettings,
    dead_letters: Arc<dyn DeadLetterAdmin>,
) -> anyhow::Result<Console> {
    let hash = hash_password(DEMO_PASSWORD).context("cannot hash the demo password")?;
    let mut settings = defaults.clone();
    settings.enabled = true;
    settings.secure_cookie = false;
    // A fresh key: the demo's sessions end with it anyway, so the hub's WARN about a missing
    // session key would only alarm a newcomer.
    let mut key = vec![0; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
    settings.session_key = Some(key);
    settings.users = DEMO_USERS
        .iter()
        .map(|(name, role, region)| {
            Ok(ConsoleUser {
                name: (*name).to_owned(),
                role: *role,
                region: region.map(OrgId::parse).transpose()?,
                password_hash: Some(hash.clone()),
                password_hash_env: None,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Console::from_settings(&settings, Some(dead_letters))
        .context("cannot build the console")?
        .context("the console is enabled")
}
