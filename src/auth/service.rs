//! Login, logout and token checks.

use super::{password, token};
use crate::clock::Clock;
use crate::jobs::ActiveCache;
use crate::storage::{Store, StoreError};
use crate::users::User;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// What a caller with an unknown, revoked or expired token is told.
pub const INVALID_TOKEN: &str = "invalid or expired token";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown email and wrong password are deliberately the same error.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

impl AuthService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, token_ttl: Duration) -> Self {
        Self { store, clock, token_ttl, active: Arc::new(ActiveCache::disabled()) }
    }

    /// Logouts also drop the token from `cache`.
    pub fn with_active_cache(self, cache: Arc<ActiveCache>) -> Self {
        Self { active: cache, ..self }
    }

    pub async fn login(&self, email: &str, password: &str) -> Result<Session, AuthError> {
        let found = self.store.find_user_by_email(email.trim()).await?;
        let (phc, user) = match found {
            Some((user, phc)) => (phc, Some(user)),
            None => (password::DUMMY_HASH.clone(), None),
        };
        let password = password.to_owned();
        let verified = tokio::task::spawn_blocking(move || password::verify(&password, &phc))
            .await
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        let user = match (user, verified) {
            (Some(user), true) => user,
            _ => return Err(AuthError::InvalidCredentials),
        };
        let now = self.clock.now();
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
