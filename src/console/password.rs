//! Passwords: argon2id verification off the async threads, the same cost for a user name
//! nobody has, and a limit on failed attempts per name.
//!
//! Argon2 is slow and memory-hungry on purpose, so a stolen hash is expensive to guess; run on
//! an async worker it would stall every other request, so it runs under `spawn_blocking`. A
//! login with an unknown name verifies against a dummy hash made with the same parameters as
//! the configured users', so the answer takes as long as a wrong password and the time does not
//! tell which names exist. And the hub must not become a fast oracle for guessing: after
//! [`MAX_FAILURES`] failed logins for one name within [`WINDOW`], further attempts for that
//! name are refused without being checked until the window has passed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};

/// Failed logins per user name within [`WINDOW`] before the name is throttled.
pub(crate) const MAX_FAILURES: u32 = 5;
/// How long failures count.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most names tracked at once; the map is pruned of old entries when it grows past this.
const MAX_TRACKED: usize = 10_000;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// The argon2id PHC string of `password` with a random salt and the library's default
/// parameters (what `samverkan console hash-password` prints).
///
/// # Errors
///
/// When the random source or argon2 fails.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    hash_with(password, Params::default())
}

fn hash_with(password: &str, params: Params) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    let argon = Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// A hash no password matches, with the parameters of `like` (a configured user's hash), so
/// checking against it costs what checking a real user costs.
pub(crate) fn dummy_hash(like: Option<&str>) -> Result<String, HashError> {
    let params = like
        .and_then(|h| PasswordHash::new(h).ok())
        .and_then(|h| Params::try_from(&h).ok())
        .unwrap_or_default();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| HashError(e.to_string()))?;
    hash_with(&crate::console::session::random_token(32), params)
}

/// Whether `password` matches `phc`, computed on a blocking thread. A malformed hash (the
/// settings check every hash at load) matches nothing.
pub(crate) async fn verify(phc: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Failed logins per user name, in memory (each hub instance counts its own).
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Throttle {
    /// Whether `name` may try now.
    pub(crate) fn allows(&self, name: &str, now: Instant) -> bool {
        let Ok(map) = self.failures.lock() else {
            return false;
        };
        match map.get(&key(name)) {
            Some(&(count, since)) => count < MAX_FAILURES || now.duration_since(since) >= WINDOW,
            None => true,
        }
    }

    /// Count a failed login of `name`.
    pub(crate) fn failed(&self, name: &str, now: Instant) {
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        let entry = map.entry(key(name)).or_insert((0, now));
        if now.duration_since(entry.1) >= WINDOW {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Forget `name`'s failures (after a successful login).
    pub(crate) fn succeeded(&self, name: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(&key(name));
        }
    }
}

/// Names differing only in case count as one, and an attacker's long names are cut.
fn key(name: &str) -> String {
    name.chars().take(64).collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Params {
        Params::new(256, 1, 1, None).expect("params")
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_with("correct horse", cheap()).expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify(hash.clone(), "correct horse".to_owned()).await);
        assert!(!verify(hash.clone(), "correct horse ".to_owned()).await);
        assert!(!verify("not a hash".to_owned(), "x".to_owned()).await);
        let dummy = dummy_hash(Some(&hash)).expect("dummy");
        assert!(dummy.contains("m=256,t=1,p=1"), "{dummy}");
        assert!(!verify(dummy, String::new()).await);
    }

    #[test]
    fn the_throttle_stops_a_name_after_five_failures_for_fifteen_minutes() {
        let throttle = Throttle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(throttle.allows("Operator", start));
            throttle.failed("Operator", start);
        }
        assert!(!throttle.allows("operator", start));
        assert!(throttle.allows("coach-vgr", start));
        assert!(throttle.allows("operator", start + WINDOW));
        throttle.succeeded("OPERATOR");
        assert!(throttle.allows("operator", start));
    }
}
