//! Bearer tokens: 256 random bits, shown to the client once, stored only as their SHA-256.

use sha2::{Digest, Sha256};

/// Recognisable prefix, so secret scanners and people can tell what leaked.
const PREFIX: &str = "jw_";

pub fn generate() -> String {
    format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// What the database keeps: a leaked table does not yield usable tokens.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_unique_and_long() {
        let (a, b) = (generate(), generate());
        assert!(a.starts_with("jw_") && a.len() == 3 + 64);
        assert_ne!(a, b);
    }

    #[test]
    fn digest_is_sha256() {
        assert_eq!(hex::encode(digest("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
