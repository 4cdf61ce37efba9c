//! `[console]`: the web console for innovation coaches and operators, and who may log in.
//!
//! Users live in the configuration, not the store: there are a handful per deployment, their
//! rights (role, region) are part of how the hub is deployed, and a changed file is reviewed
//! like any other change. Passwords are argon2id PHC strings (`samverkan console
//! hash-password` makes one), written here or, better, in an environment variable named by
//! `password_hash_env`. The session key that signs cookies comes from the environment only.
//! Neither a hash nor the key is ever shown by `Debug`.

use std::fmt;

use serde::Deserialize;

use super::error::SettingsError;
use super::org::{OrgId, OrgKind, Organisation};

/// What a console user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleRole {
    /// An innovation coach: the needs of one region, nothing else.
    Coach,
    /// An operator: every need, the dead letters and their replay.
    Operator,
}

impl ConsoleRole {
    /// The role as written in the configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Coach => "coach",
            Self::Operator => "operator",
        }
    }
}

/// One `[[console.users]]` table.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleUser {
    /// Login name.
    pub name: String,
    /// `coach` or `operator`.
    pub role: ConsoleRole,
    /// A coach's region (an organisation of kind region); operators have none.
    #[serde(default)]
    pub region: Option<OrgId>,
    /// The argon2id PHC string of the password.
    #[serde(default)]
    pub password_hash: Option<String>,
    /// Instead of `password_hash`: the environment variable that holds it.
    #[serde(default)]
    pub password_hash_env: Option<String>,
}

impl fmt::Debug for ConsoleUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleUser")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("region", &self.region)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "***"))
            .field("password_hash_env", &self.password_hash_env)
            .finish()
    }
}

/// `[console]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// Whether `/console` is served (on the `[http]` listener).
    pub enabled: bool,
    /// Who may log in.
    #[serde(default)]
    pub users: Vec<ConsoleUser>,
    /// The environment variable holding the session key (at least 32 bytes); empty: a random
    /// key per process, so sessions end when the hub restarts.
    pub session_key_env: String,
    /// How long a session lasts, in hours (1 to 168).
    pub session_hours: u64,
    /// Whether the session cookie is marked `Secure` (sent over HTTPS only).
    pub secure_cookie: bool,
    /// The key read from `session_key_env` at load time.
    #[serde(skip)]
    pub session_key: Option<Vec<u8>>,
}

impl fmt::Debug for ConsoleSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSettings")
            .field("enabled", &self.enabled)
            .field("users", &self.users)
            .field("session_key_env", &self.session_key_env)
            .field("session_hours", &self.session_hours)
            .field("secure_cookie", &self.secure_cookie)
            .field("session_key", &self.session_key.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The shortest session key accepted, in bytes.
pub const MIN_SESSION_KEY_BYTES: usize = 32;

impl ConsoleSettings {
    /// Reads the password hashes and the session key named by `*_env` through `lookup`.
    pub(super) fn resolve_envs(
        &mut self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), SettingsError> {
        for user in &mut self.users {
            if let Some(var) = &user.password_hash_env {
                let hash = lookup(var).ok_or_else(|| {
                    SettingsError::value(
                        "console.users.password_hash_env",
                        format!(
                            "user {:?}: environment variable {var} is not set",
                            user.name
                        ),
                    )
                })?;
                if user.password_hash.is_some() {
                    return Err(SettingsError::value(
                        "console.users",
                        format!(
                            "user {:?}: give password_hash or password_hash_env, not both",
                            user.name
                        ),
                    ));
                }
                user.password_hash = Some(hash.trim().to_owned());
            }
        }
        let var = self.session_key_env.trim();
        if !var.is_empty() {
            let key = lookup(var).ok_or_else(|| {
                SettingsError::value(
                    "console.session_key_env",
                    format!("environment variable {var} is not set"),
                )
            })?;
            if key.len() < MIN_SESSION_KEY_BYTES {
                return Err(SettingsError::value(
                    "console.session_key_env",
                    format!("the key in {var} must be at least {MIN_SESSION_KEY_BYTES} bytes"),
                ));
            }
            self.session_key = Some(key.into_bytes());
        }
        Ok(())
    }

    /// Users are unique, coaches belong to a configured region, hashes are PHC strings.
    pub(super) fn validate(&self, organisations: &[Organisation]) -> Result<(), SettingsError> {
        if !(1..=168).contains(&self.session_hours) {
            return Err(SettingsError::value(
                "console.session_hours",
                "must be 1 to 168",
            ));
        }
        for (i, user) in self.users.iter().enumerate() {
            let name_ok = !user.name.is_empty()
                && user.name.len() <= 64
                && user
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
            if !name_ok {
                return Err(SettingsError::value(
                    "console.users.name",
                    "1 to 64 ASCII letters, digits and - _ . @",
                ));
            }
            if self.users[..i].iter().any(|u| u.name == user.name) {
                return Err(SettingsError::value(
                    "console.users.name",
                    format!("{:?} is given twice", user.name),
                ));
            }
            validate_user(user, organisations)?;
        }
        Ok(())
    }
}

fn validate_user(user: &ConsoleUser, organisations: &[Organisation]) -> Result<(), SettingsError> {
    let name = &user.name;
    match (user.role, &user.region) {
        (ConsoleRole::Coach, None) => {
            return Err(SettingsError::value(
                "console.users.region",
                format!("coach {name:?} needs a region"),
            ));
        }
        (ConsoleRole::Coach, Some(region)) => {
            let known = organisations
                .iter()
                .any(|o| &o.id == region && o.kind == OrgKind::Region);
            if !known {
                return Err(SettingsError::value(
                    "console.users.region",
                    format!("coach {name:?}: {region} is not a configured region"),
                ));
            }
        }
        (ConsoleRole::Operator, Some(_)) => {
            return Err(SettingsError::value(
                "console.users.region",
                format!("operator {name:?} sees every region; give no region"),
            ));
        }
        (ConsoleRole::Operator, None) => {}
    }
    let Some(hash) = &user.password_hash else {
        return Err(SettingsError::value(
            "console.users.password_hash",
            format!("user {name:?} has neither password_hash nor password_hash_env"),
        ));
    };
    if argon2::PasswordHash::new(hash).is_err() || !hash.starts_with("$argon2") {
        return Err(SettingsError::value(
            "console.users.password_hash",
            format!(
                "user {name:?}: not an argon2 PHC string (make one with `samverkan console \
                 hash-password`)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::load_str;

    const ORGS: &str = "[[organisations]]\nid = \"VGR\"\nkind = \"region\"\nbroker_user = \"vgr\"\n\
                        display_name = \"VGR\"\n";
    /// A real argon2id PHC string (cheap parameters).
    const HASH: &str = "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$\
                        8M2Kb2E1JQ2T6p1mO8s3ZbY0oZf0aT0m9aNw0q7l9xQ";

    fn with_users(users: &str) -> String {
        format!("{ORGS}\n[http]\nlisten = \"127.0.0.1:0\"\n[console]\nenabled = true\n{users}")
    }

    #[test]
    fn the_defaults_leave_the_console_off_with_safe_cookies() {
        let s = load_str("", HashMap::new()).expect("defaults load");
        assert!(!s.console.enabled);
        assert!(s.console.users.is_empty());
        assert_eq!(s.console.session_hours, 8);
        assert!(s.console.secure_cookie);
        assert_eq!(s.console.session_key, None);
    }

    #[test]
    fn users_hashes_and_the_key_come_from_the_file_or_the_environment() {
        let toml = with_users(&format!(
            "session_key_env = \"KEY\"\n\
             [[console.users]]\nname = \"coach-vgr\"\nrole = \"coach\"\nregion = \"VGR\"\n\
             password_hash = \"{HASH}\"\n\
             [[console.users]]\nname = \"operator\"\nrole = \"operator\"\n\
             password_hash_env = \"OP_HASH\"\n"
        ));
        let env = HashMap::from([
            ("KEY".to_owned(), "k".repeat(32)),
            ("OP_HASH".to_owned(), HASH.to_owned()),
        ]);
        let s = load_str(&toml, env).expect("loads");
        assert_eq!(s.console.users.len(), 2);
        assert_eq!(s.console.users[1].password_hash.as_deref(), Some(HASH));
        assert_eq!(
            s.console.session_key.as_deref(),
            Some("k".repeat(32).as_bytes())
        );
        let debug = format!("{:?}", s.console);
        assert!(
            !debug.contains(HASH) && !debug.contains(&"k".repeat(32)),
            "{debug}"
        );
    }

    #[test]
    fn bad_users_are_refused_at_load() {
        for (users, key) in [
            (
                "name = \"c\"\nrole = \"coach\"\npassword_hash = \"HASH\"\n",
                "region",
            ),
            (
                "name = \"c\"\nrole = \"coach\"\nregion = \"RV\"\npassword_hash = \"HASH\"\n",
                "region",
            ),
            (
                "name = \"o\"\nrole = \"operator\"\nregion = \"VGR\"\npassword_hash = \"HASH\"\n",
                "region",
            ),
            ("name = \"o\"\nrole = \"operator\"\n", "password_hash"),
            (
                "name = \"o\"\nrole = \"operator\"\npassword_hash = \"plain\"\n",
                "password_hash",
            ),
            (
                "name = \"o p\"\nrole = \"operator\"\npassword_hash = \"HASH\"\n",
                "name",
            ),
            (
                "name = \"o\"\nrole = \"admin\"\npassword_hash = \"HASH\"\n",
                "role",
            ),
        ] {
            let toml = with_users(&format!(
                "[[console.users]]\n{}",
                users.replace("HASH", HASH)
            ));
            let message = load_str(&toml, HashMap::new())
                .expect_err(users)
                .to_string();
            assert!(message.contains(key), "{users}: {message}");
        }
        let unserved = with_users("").replace("listen = \"127.0.0.1:0\"", "listen = \"\"");
        let message = load_str(&unserved, HashMap::new())
            .expect_err("no listener")
            .to_string();
        assert!(message.contains("http.listen"), "{message}");
        let short_key = with_users("session_key_env = \"KEY\"\n");
        let env = HashMap::from([("KEY".to_owned(), "short".to_owned())]);
        let message = load_str(&short_key, env)
            .expect_err("short key")
            .to_string();
        assert!(
            message.contains("session_key_env") && !message.contains("short\""),
            "{message}"
        );
    }
}
