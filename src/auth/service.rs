//! Login, logout and token checks.

use super::limits::{Key, LoginLimiter};
use super::{password, token};
use crate::clock::Clock;
use crate::jobs::ActiveCache;
use crate::storage::{Store, StoreError};
use crate::users::User;
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What a caller with an unknown, revoked or expired token is told.
pub const INVALID_TOKEN: &str = "invalid or expired token";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email and wrong password are deliberately the same error.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Told only to someone who gave the right password.
    #[error("this account is disabled; ask an admin")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("too many failed logins; try again in {retry_after} s")]
    TooManyAttempts { retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

/// A freshly issued token; the plain token is never stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(Clone)]
pub struct AuthService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    token_ttl: Duration,
    /// Remembers tokens for the active list; told of every logout.
    active: Arc<ActiveCache>,
    limiter: Arc<LoginLimiter>,
    /// Password checks running at once: each takes about 19 MiB, so a burst of logins waits
    /// here instead of exhausting memory.
    verifying: Arc<Semaphore>,
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, token_ttl: Duration) -> Self {
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            clock,
            token_ttl,
            active: Arc::new(ActiveCache::disabled()),
            limiter: Arc::default(),
            verifying: Arc::new(Semaphore::new(parallel.clamp(2, 8))),
        }
    }

    /// How long a new token (or session) lasts.
    pub fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// Logouts also drop the token from `cache`.
    pub fn with_active_cache(self, cache: Arc<ActiveCache>) -> Self {
        Self { active: cache, ..self }
    }

    /// Checks the password (a bounded number at a time) and issues a token. Failed attempts are
    /// counted per account and per `address`; past the limit, attempts are refused unchecked
    /// with [`AuthError::TooManyAttempts`]. A wrong password and an unknown email answer alike.
    pub async fn login(&self, email: &str, password: &str, address: Option<IpAddr>) -> Result<Session, AuthError> {
        let now = self.clock.now();
        let account = Key::Account(email.trim().to_lowercase());
        let mut keys = vec![account.clone()];
        keys.extend(address.map(|a| Key::Address(a.to_string())));
        if let Some(retry_after) = self.limiter.held_off(&keys, now) {
            return Err(AuthError::TooManyAttempts { retry_after });
        }
        let found = self.store.find_user_by_email(email.trim()).await?;
        let (phc, user) = match found {
            Some((user, phc)) => (phc, Some(user)),
            None => (password::DUMMY_HASH.clone(), None),
        };
        let password = password.to_owned();
        let permit = self.verifying.clone().acquire_owned().await.map_err(|e| AuthError::Internal(e.to_string()))?;
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            password::verify(&password, &phc)
        })
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
        let user = match (user, verified) {
            (Some(user), true) if user.disabled => return Err(AuthError::Disabled),
            (Some(user), true) => user,
            _ => {
                self.limiter.failed(&keys, now);
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.limiter.succeeded(&account);
        self.store.delete_expired_tokens(user.id, now).await?;
        let token = token::generate();
        let expires_at = now + self.token_ttl;
        self.store.insert_token(&token::digest(&token), user.id, now, expires_at).await?;
        Ok(Session { token, expires_at, user })
    }

    /// The user a bearer token belongs to, if it is known and unexpired.
    pub async fn authenticate(&self, bearer: &str) -> Result<User, AuthError> {
        self.store
            .find_user_by_token(&token::digest(bearer), self.clock.now())
            .await?
            .ok_or(AuthError::Unauthorized(INVALID_TOKEN))
    }

    /// Revoke a token at once; later requests with it get 401.
    pub async fn logout(&self, bearer: &str) -> Result<(), AuthError> {
        let digest = token::digest(bearer);
        self.store.delete_token(&digest).await?;
        self.active.forget_token(&digest);
        Ok(())
    }
}
