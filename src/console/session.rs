//! The signed session cookie and the CSRF tokens derived from it.
//!
//! A session is a cookie the hub signed, not a row anywhere: the hub keeps no session table
//! (several instances share one key and nothing else), and a cookie nobody can forge without
//! the key is enough to say who is logged in and until when. The cookie carries the user name,
//! role, region, expiry and a random nonce, base64url-encoded, and an HMAC-SHA256 over them;
//! a changed byte, another key or a passed expiry makes it worthless. Logging out removes the
//! cookie from the browser; a copied cookie stays valid until it expires, which is why sessions
//! are short (`console.session_hours`).
//!
//! Every state-changing form carries a CSRF token: an HMAC of the session cookie under the same
//! key, so it belongs to one session and cannot be made by another site, which can neither read
//! the cookie nor the page. The login form, before any session exists, is tied the same way to
//! a random pre-login cookie.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::settings::{ConsoleRole, OrgId};

type HmacSha256 = Hmac<Sha256>;

/// Who is logged in, and until when (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The user's login name.
    pub(crate) user: String,
    /// Their role.
    pub(crate) role: ConsoleRole,
    /// A coach's region.
    pub(crate) region: Option<OrgId>,
    /// Unix seconds after which the cookie is worthless.
    pub(crate) expires: i64,
    /// Random, so two logins of one user are two sessions with two CSRF tokens.
    pub(crate) nonce: String,
}

/// The HMAC key behind cookies and tokens.
#[derive(Clone)]
pub(crate) struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(***)")
    }
}

/// Random bytes, base64url.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // getrandom fails only where the OS has no entropy source at all; a zeroed buffer would
    // make guessable tokens, so the process would rather stop.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random source");
    B64.encode(buf)
}

impl SessionKey {
    pub(crate) fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// A random key for this process only.
    pub(crate) fn random() -> Self {
        let mut key = vec![0u8; 32];
        #[allow(clippy::expect_used)]
        getrandom::fill(&mut key).expect("the operating system's random source");
        Self(key)
    }

    fn mac(&self, purpose: &str, data: &[u8]) -> HmacSha256 {
        #[allow(clippy::expect_used)]
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any size");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        mac
    }

    fn sign(&self, purpose: &str, data: &[u8]) -> String {
        B64.encode(self.mac(purpose, data).finalize().into_bytes())
    }

    fn check(&self, purpose: &str, data: &[u8], tag: &str) -> bool {
        let Ok(tag) = B64.decode(tag) else {
            return false;
        };
        // Constant time: how much of a guess was right is not told by the time it takes.
        self.mac(purpose, data).verify_slice(&tag).is_ok()
    }

    /// The cookie value for `session`.
    pub(crate) fn seal(&self, session: &Session) -> String {
        let payload = format!(
            "{}\n{}\n{}\n{}\n{}",
            session.user,
            session.role.as_str(),
            session.region.as_ref().map_or("", OrgId::as_str),
            session.expires,
            session.nonce
        );
        let payload = B64.encode(payload);
        let tag = self.sign("session", payload.as_bytes());
        format!("{payload}.{tag}")
    }

    /// The session in a cookie value, if this key signed it and it has not expired at `now`.
    pub(crate) fn open(&self, cookie: &str, now: i64) -> Option<Session> {
        let (payload, tag) = cookie.split_once('.')?;
        if !self.check("session", payload.as_bytes(), tag) {
            return None;
        }
        let text = String::from_utf8(B64.decode(payload).ok()?).ok()?;
        let mut parts = text.split('\n');
        let user = parts.next()?.to_owned();
        let role = match parts.next()? {
            "coach" => ConsoleRole::Coach,
            "operator" => ConsoleRole::Operator,
            _ => return None,
        };
        let region = match parts.next()? {
            "" => None,
            r => Some(OrgId::parse(r).ok()?),
        };
        let expires: i64 = parts.next()?.parse().ok()?;
        let nonce = parts.next()?.to_owned();
        if parts.next().is_some() || now >= expires {
            return None;
        }
        Some(Session {
            user,
            role,
            region,
            expires,
            nonce,
        })
    }

    /// The CSRF token of the session whose cookie value is `cookie`.
    pub(crate) fn csrf(&self, cookie: &str) -> String {
        self.sign("csrf", cookie.as_bytes())
    }

    /// Whether `token` is the CSRF token of `cookie`.
    pub(crate) fn csrf_ok(&self, cookie: &str, token: &str) -> bool {
        self.check("csrf", cookie.as_bytes(), token)
    }

    /// The login form's token for the pre-login cookie value `pre`.
    pub(crate) fn login_token(&self, pre: &str) -> String {
        self.sign("login", pre.as_bytes())
    }

    /// Whether `token` belongs to the pre-login cookie `pre`.
    pub(crate) fn login_token_ok(&self, pre: &str, token: &str) -> bool {
        self.check("login", pre.as_bytes(), token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires: i64) -> Session {
        Session {
            user: "coach-vgr".to_owned(),
            role: ConsoleRole::Coach,
            region: Some(OrgId::parse("VGR").expect("id")),
            expires,
            nonce: random_token(16),
        }
    }

    #[test]
    fn a_sealed_session_opens_until_it_expires() {
        let key = SessionKey::random();
        let s = session(1_000);
        let cookie = key.seal(&s);
        assert_eq!(key.open(&cookie, 999), Some(s));
        assert_eq!(key.open(&cookie, 1_000), None);
    }

    #[test]
    fn a_changed_cookie_or_another_key_opens_nothing() {
        let key = SessionKey::random();
        let cookie = key.seal(&session(1_000));
        assert_eq!(SessionKey::random().open(&cookie, 0), None);
        // Promote oneself to operator by editing the payload: the tag no longer fits.
        let (payload, tag) = cookie.split_once('.').expect("two parts");
        let text = String::from_utf8(B64.decode(payload).expect("b64")).expect("utf8");
        let forged = B64.encode(text.replace("coach", "operator"));
        assert_eq!(key.open(&format!("{forged}.{tag}"), 0), None);
        assert_eq!(key.open(payload, 0), None);
        assert_eq!(key.open("", 0), None);
        assert_eq!(key.open("a.b.c", 0), None);
    }

    #[test]
    fn csrf_tokens_belong_to_one_session_and_one_key() {
        let key = SessionKey::random();
        let one = key.seal(&session(1_000));
        let two = key.seal(&session(1_000));
        let token = key.csrf(&one);
        assert!(key.csrf_ok(&one, &token));
        assert!(!key.csrf_ok(&two, &token));
        assert!(!SessionKey::random().csrf_ok(&one, &token));
        assert!(!key.csrf_ok(&one, ""));
        assert!(!key.csrf_ok(&one, "not base64 !"));
        // A login token is not a CSRF token, though both are HMACs under the same key.
        assert!(!key.csrf_ok(&one, &key.login_token(&one)));
        let pre = random_token(16);
        assert!(key.login_token_ok(&pre, &key.login_token(&pre)));
        assert!(!key.login_token_ok(&random_token(16), &key.login_token(&pre)));
    }
}
