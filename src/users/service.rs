//! Creating users: validation, hashing and the unique-email rule.

use super::{NewUser, User};
use crate::auth::password;
use crate::clock::Clock;
use crate::storage::{Store, StoreError, unique};
use std::sync::Arc;
use uuid::Uuid;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// argon2 hashes any length, but a megabyte "password" is an attack, not a password.
pub const MAX_PASSWORD_BYTES: usize = 1024;
const MAX_EMAIL_BYTES: usize = 254;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("email must look like name@domain (at most {MAX_EMAIL_BYTES} bytes, no spaces)")]
    InvalidEmail,
    #[error("password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_BYTES} bytes long")]
    InvalidPassword,
    #[error("a user with this email already exists")]
    EmailTaken,
    #[error("user not found")]
    NotFound,
    /// An admin locking themselves out is a mistake, never an intent.
    #[error("you cannot disable your own account")]
    DisablingSelf,
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for UserError {
    fn from(err: StoreError) -> Self {
        match err {
            e if e.violates(unique::USER_EMAIL) => UserError::EmailTaken,
            other => UserError::Store(other),
        }
    }
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[derive(Clone)]
pub struct UserService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl UserService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn create(&self, email: &str, password: &str, is_admin: bool) -> Result<User, UserError> {
        let email = email.trim();
        if !valid_email(email) {
            return Err(UserError::InvalidEmail);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(UserError::InvalidPassword);
        }
        let password = password.to_owned();
        let password_hash = tokio::task::spawn_blocking(move || password::hash(&password))
            .await
            .map_err(|e| UserError::Internal(e.to_string()))?
            .map_err(|e| UserError::Internal(e.to_string()))?;
        let new = NewUser { email: email.to_owned(), password_hash, is_admin, created_at: self.clock.now() };
        Ok(self.store.insert_user(&new).await?)
    }

    /// Disable `id` (their sessions end, on every node, and their live sockets close within
    /// seconds) or enable them again. `by` is the admin asking.
    pub async fn set_disabled(&self, by: &User, id: Uuid, disabled: bool) -> Result<User, UserError> {
        if disabled && by.id == id {
            return Err(UserError::DisablingSelf);
        }
        let at = disabled.then(|| self.clock.now());
        self.store.set_user_disabled(id, at).await?.ok_or(UserError::NotFound)
    }

    pub async fn any_exists(&self) -> Result<bool, UserError> {
        Ok(self.store.any_user_exists().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn email_shapes() {
        assert!(valid_email("ann@example.com"));
        assert!(valid_email("a+b@x"));
        for bad in ["", "ann", "@x", "ann@", "a@b@c", "an n@x", "ann@x\n"] {
            assert!(!valid_email(bad), "{bad:?}");
        }
        assert!(!valid_email(&format!("{}@x.io", "a".repeat(300))));
    }
}
