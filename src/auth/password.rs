//! Password hashing with argon2id (the crate's recommended default parameters).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::LazyLock;

pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), phc).is_ok()
}

/// Verifying against this when the email is unknown makes "no such user" cost as much as
/// "wrong password", so response time does not reveal which emails exist.
pub static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("not a real password, only burns the same time").expect("argon2 with defaults"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse", &phc));
        assert!(!verify("wrong horse", &phc));
    }

    #[test]
    fn same_password_gets_different_salts() {
        assert_ne!(hash("pw-pw-pw-pw").unwrap(), hash("pw-pw-pw-pw").unwrap());
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify("anything", "not a phc string"));
    }
}
