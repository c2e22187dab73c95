//! `CurrentUser` / `AdminUser`: the caller behind `Authorization: Bearer …`, or a 401/403.

use super::AuthError;
use crate::http::{ApiError, AppState};
use crate::users::User;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The authenticated caller, and the token they presented (logout revokes it).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    pub token: String,
}

/// The bearer token as presented, not yet checked: for handlers that check it together with
/// their own query.
#[derive(Debug, Clone)]
pub struct BearerToken(pub String);

/// The authenticated caller, who must be an admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

fn bearer(parts: &Parts) -> Result<&str, AuthError> {
    let header = parts.headers.get(AUTHORIZATION).ok_or(AuthError::Unauthorized("missing Authorization header"))?;
    let value = header.to_str().map_err(|_| AuthError::Unauthorized("malformed Authorization header"))?;
    let (scheme, token) =
        value.split_once(' ').ok_or(AuthError::Unauthorized("expected 'Authorization: Bearer <token>'"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::Unauthorized("expected 'Authorization: Bearer <token>'"));
    }
    Ok(token)
}

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(BearerToken(bearer(parts)?.to_owned()))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let user = state.auth.authenticate(token).await?;
        Ok(CurrentUser { user, token: token.to_owned() })
    }
}

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentUser { user, .. } = CurrentUser::from_request_parts(parts, state).await?;
        if !user.is_admin {
            return Err(ApiError::forbidden("this operation needs an admin"));
        }
        Ok(AdminUser(user))
    }
}
