//! Bearer tokens for partners without an AMQP client: what one looks like, and its hash.
//!
//! A token is `svk_` and 64 hex digits: 256 bits from the operating system's random source,
//! with a prefix that secret scanners and people recognise. Because it is that random, one
//! SHA-256 is enough to store it (there is nothing to guess a preimage from; slow password
//! hashes are for low-entropy secrets), and it lets the hub find a token by its hash in one
//! indexed lookup. The token itself is shown once, by `samverkan tokens issue`, and then exists
//! only with its holder.

use sha2::{Digest, Sha256};

/// What every token starts with.
pub(crate) const PREFIX: &str = "svk_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub(crate) struct TokenError(getrandom::Error);

/// A freshly issued token: the secret for its holder, the id and hash for the store.
#[derive(Clone)]
pub(crate) struct NewToken {
    /// The bearer token (shown once, never stored or logged).
    pub(crate) secret: String,
    /// Its id, for `tokens list` and `tokens revoke`.
    pub(crate) id: String,
    /// Its SHA-256, hex: what the store keeps.
    pub(crate) sha256: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl NewToken {
    /// A new random token with a new id.
    ///
    /// # Errors
    ///
    /// When the operating system gives no random bytes.
    pub(crate) fn generate() -> Result<Self, TokenError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(TokenError)?;
        let secret = format!("{PREFIX}{}", hex(&bytes));
        let sha256 = hash(&secret);
        let id = format!("tok_{}", uuid::Uuid::now_v7().simple());
        Ok(Self { secret, id, sha256 })
    }
}

/// The stored form of `token`: its SHA-256, hex.
pub(crate) fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_stored_only_as_their_hash() {
        let a = NewToken::generate().expect("random");
        let b = NewToken::generate().expect("random");
        assert!(a.secret.starts_with(PREFIX));
        assert_eq!(a.secret.len(), PREFIX.len() + 64);
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
        assert_eq!(a.sha256, hash(&a.secret));
        assert!(!a.sha256.contains(&a.secret[PREFIX.len()..]));
        assert!(!format!("{a:?}").contains(&a.secret));
    }
}
