//! Standard Webhooks signatures (standardwebhooks.com): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, its HMAC-SHA256 under the endpoint's key goes in
//! `webhook-signature` as `v1,<base64>`. The secret is `whsec_` and the base64 of the key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// Random bytes in a new key (the spec asks for 24 to 64).
const KEY_BYTES: usize = 32;

/// A new endpoint's secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    format!("{PREFIX}{}", STANDARD.encode(rand::random::<[u8; KEY_BYTES]>()))
}

/// The `webhook-signature` header of `body` sent as event `id` at `timestamp` (Unix seconds).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|e| format!("the endpoint's secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| format!("unusable key: {e}"))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_reference_vector() {
        // The Standard Webhooks reference implementation's own test vector (svix-webhooks,
        // TestWebhookSign).
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature.as_deref(), Ok("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn new_secrets_are_random_keys_in_the_spec_format() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let key = STANDARD.decode(a.strip_prefix("whsec_").unwrap()).unwrap();
        assert_eq!(key.len(), 32);
        assert!(sign(&a, "evt", 1, b"{}").unwrap().starts_with("v1,"));
        assert!(sign("whsec_!!", "evt", 1, b"{}").is_err());
    }
}
