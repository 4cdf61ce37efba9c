//! Standard Webhooks signatures (<https://www.standardwebhooks.com>), and the secrets behind
//! them.
//!
//! Pure functions, so the one thing a receiver must be able to check is tested against the
//! specification's reference vector. The signed content is `{webhook-id}.{webhook-timestamp}.
//! {body}`; the signature header is `v1,` and the base64 of its HMAC-SHA256 under the key. A
//! `whsec_` secret's key is the base64 after the prefix (`WebhookSecret::key`), which is what
//! the `standardwebhooks` libraries expect; secrets the hub generates are of that form.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::settings::{WHSEC_PREFIX, WebhookSecret};

/// Random bytes in a generated secret.
const GENERATED_KEY_BYTES: usize = 32;

/// The key lengths a secret registered through the API may decode to.
pub(crate) const API_KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// The `webhook-signature` header value for `body` sent as `id` at unix second `timestamp`.
///
/// # Errors
///
/// Never for HMAC-SHA256, which takes keys of any length; the type says so anyway.
pub(crate) fn signature(
    key: &[u8],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, hmac::digest::InvalidLength> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
///
/// # Errors
///
/// When the operating system gives no random bytes.
pub(crate) fn generate_secret() -> Result<WebhookSecret, getrandom::Error> {
    let mut key = [0u8; GENERATED_KEY_BYTES];
    getrandom::fill(&mut key)?;
    Ok(WebhookSecret::new(format!(
        "{WHSEC_PREFIX}{}",
        STANDARD.encode(key)
    )))
}

/// A secret an organisation chose for `PUT /v1/webhook`: `whsec_` and base64 of 24 to 64
/// bytes. The error never repeats the secret.
pub(crate) fn api_secret(text: &str) -> Result<WebhookSecret, &'static str> {
    if !text.starts_with(WHSEC_PREFIX) {
        return Err("the secret must be whsec_ followed by the base64 of 24 to 64 random bytes");
    }
    let secret = WebhookSecret::new(text);
    let key = secret.key()?;
    if !API_KEY_BYTES.contains(&key.len()) {
        return Err("the secret's key must be 24 to 64 bytes (before base64)");
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's reference vector.
    #[test]
    fn signs_the_reference_vector() {
        let secret = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let key = secret.key().expect("base64");
        let signed = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signed.as_deref(),
            Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
        // Any change to id, time or body changes it.
        let other = signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_331, b"{}");
        assert_ne!(signed, other);
    }

    #[test]
    fn generated_secrets_are_whsec_32_random_bytes_and_accepted_back() {
        let a = generate_secret().expect("random");
        let b = generate_secret().expect("random");
        assert!(a.expose().starts_with(WHSEC_PREFIX));
        assert_eq!(a.key().map(|k| k.len()), Ok(32));
        assert_ne!(a, b);
        assert_eq!(api_secret(a.expose()), Ok(a));
    }

    #[test]
    fn api_secrets_must_be_whsec_of_24_to_64_bytes() {
        let of = |n: usize| format!("{WHSEC_PREFIX}{}", STANDARD.encode(vec![7u8; n]));
        assert!(api_secret(&of(24)).is_ok());
        assert!(api_secret(&of(64)).is_ok());
        for bad in [
            of(23),
            of(65),
            "whsec_***".to_owned(),
            "plain text secret of length".into(),
        ] {
            let error = api_secret(&bad).expect_err(&bad);
            assert!(!error.contains(&bad), "{error}");
        }
    }
}
