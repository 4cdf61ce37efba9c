//! The web console for innovation coaches and operators, served by the hub under `/console` on
//! its HTTP listener: the needs (filtered, counted per state), a need's recipients with their
//! scores and match reasons, its answers and status history, and a health strip.
//!
//! Coaches want to see where a region's needs went, why, and what came back; operators want to
//! see what the hub is doing. Both had only a CLI that needs a known need id. The console is
//! part of the hub, not a second server: it reads the same store through the same queries as
//! the CLI (`Store::list_needs`, `Store::need`, `Store::audit_trail`), so both show the same
//! things, and it adds nothing a browser must install — server-rendered HTML (`maud`, which
//! escapes everything it interpolates), one small CSS and one small script, both embedded in
//! the binary (`assets.rs`).
//!
//! Access (`guard.rs`, `session.rs`, `password.rs`, `login.rs`): users come from `[console]`
//! in the configuration with argon2id password hashes; a login gives a signed, `HttpOnly`,
//! `SameSite=Strict` cookie; every state-changing request needs the session's CSRF token and
//! a same-origin browser; every answer carries a strict CSP (no inline script) and
//! `no-store`. A coach sees only their own region's needs: another region's need answers 404,
//! exactly as a need that does not exist. Operators also see the dead letters and replay them
//! (`dead_letters.rs`, through [`DeadLetterAdmin`]); coaches get 403 there.
//!
//! No personal data is rendered: ids, codes, catalogue text, scores, match reasons (built by
//! the hub from catalogue data) and times. A need's free text (title, description, desired
//! outcome) is never shown, although it passed the PII guard; sender-controlled strings that
//! are shown go through `crate::text::shown`.

mod assets;
mod dead_letters;
mod guard;
mod health;
mod i18n;
mod layout;
mod login;
mod need;
mod needs;
mod password;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::response::Redirect;
use axum::routing::{get, post};

pub use password::{HashError, hash_password};

use crate::http::HttpState;
use crate::settings::{ConsoleSettings, ConsoleUser};
use crate::transport::DeadLetterAdmin;
use password::Throttle;
use session::{Session, SessionKey};

/// The console's users, session key and login throttle, built once from `[console]`, and the
/// broker's dead letters.
pub struct Console {
    users: Vec<ConsoleUser>,
    key: SessionKey,
    session_hours: u64,
    secure_cookie: bool,
    /// Verified against when the user name is unknown, so that costs what a wrong password does.
    dummy_hash: String,
    throttle: Throttle,
    /// The broker's dead letters, for operators (`None`: the pages say there is no broker).
    dead_letters: Option<Arc<dyn DeadLetterAdmin>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("users", &self.users)
            .field("session_hours", &self.session_hours)
            .field("secure_cookie", &self.secure_cookie)
            .field("dead_letters", &self.dead_letters.is_some())
            .finish_non_exhaustive()
    }
}

impl Console {
    /// The console of `settings`, or `None` when it is not enabled. Without a configured
    /// session key a random one is made, with a WARN: sessions then end when the hub restarts.
    ///
    /// # Errors
    ///
    /// When the dummy hash cannot be made (no random source).
    pub fn from_settings(
        settings: &ConsoleSettings,
        dead_letters: Option<Arc<dyn DeadLetterAdmin>>,
    ) -> Result<Option<Self>, HashError> {
        if !settings.enabled {
            return Ok(None);
        }
        let key = match &settings.session_key {
            Some(key) => SessionKey::new(key.clone()),
            None => {
                tracing::warn!(
                    "console.session_key_env is not set: sessions are signed with a random key \
                     and end when the hub restarts"
                );
                SessionKey::random()
            }
        };
        let like = settings
            .users
            .iter()
            .find_map(|u| u.password_hash.as_deref());
        Ok(Some(Self {
            users: settings.users.clone(),
            key,
            session_hours: settings.session_hours,
            secure_cookie: settings.secure_cookie,
            dummy_hash: password::dummy_hash(like)?,
            throttle: Throttle::default(),
            dead_letters,
        }))
    }

    fn user(&self, name: &str) -> Option<&ConsoleUser> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Whether the session's user is still configured with the same role and region.
    fn still_valid(&self, session: &Session) -> bool {
        self.user(&session.user)
            .is_some_and(|u| u.role == session.role && u.region == session.region)
    }
}

/// What console handlers look at: the hub's HTTP state and the console.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleState {
    pub(crate) http: HttpState,
    pub(crate) console: Arc<Console>,
}

/// The console's routes, with their state, to merge into the hub's router.
pub(crate) fn router(http: HttpState, console: Arc<Console>) -> Router {
    let state = ConsoleState { http, console };
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(root))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/needs", get(needs::list))
        .route("/console/needs/{region}/{need_id}", get(need::show))
        .route("/console/dead-letters", get(dead_letters::list))
        .route("/console/dead-letters/replay", post(dead_letters::replay))
        .route("/console/dead-letters/{id}", get(dead_letters::show))
        .route("/console/assets/console.css", get(assets::css))
        .route("/console/assets/console.js", get(assets::js))
        .layer(middleware::from_fn(guard::headers))
        .with_state(state)
}

/// `/console/`: the needs, for someone logged in (the extractor sends others to log in).
async fn root(_: guard::Viewer) -> Redirect {
    Redirect::to("/console/needs")
}
