//! `CurrentUser` / `AdminUser`: the caller behind `Authorization: Bearer …` or the browser's
//! session cookie, or a 401/403. A cookie-authenticated request that could change something must
//! come from this service's own origin or an allowed one (see `session`).

use super::{AuthError, session};
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

/// The token as presented (bearer or session cookie), not yet checked: for handlers that check
/// it together with their own query.
#[derive(Debug, Clone)]
pub struct BearerToken(pub String);

/// The authenticated caller, who must be an admin.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

pub(crate) fn bearer(value: &axum::http::HeaderValue) -> Result<&str, AuthError> {
    let value = value.to_str().map_err(|_| AuthError::Unauthorized("malformed Authorization header"))?;
    let (scheme, token) =
        value.split_once(' ').ok_or(AuthError::Unauthorized("expected 'Authorization: Bearer <token>'"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::Unauthorized("expected 'Authorization: Bearer <token>'"));
    }
    Ok(token)
}

/// The request's token: the `Authorization` header first, else the session cookie — which, for
/// a method that changes things, only counts from an origin `allowed` lets through.
fn token(parts: &Parts, allowed: &[String]) -> Result<String, ApiError> {
    presented_token(&parts.headers, !session::changes_nothing(&parts.method), allowed)
}

/// The `Authorization` bearer token, else the session cookie; with `cookie_needs_origin`, the
/// cookie counts only from a page of this service's origin or an `allowed` one (else 403).
pub(crate) fn presented_token(
    headers: &axum::http::HeaderMap,
    cookie_needs_origin: bool,
    allowed: &[String],
) -> Result<String, ApiError> {
    if let Some(header) = headers.get(AUTHORIZATION) {
        return Ok(bearer(header)?.to_owned());
    }
    let token = session::token_from_cookies(headers)
        .ok_or(AuthError::Unauthorized("missing Authorization header or session cookie"))?;
    if cookie_needs_origin && !session::from_allowed_origin(headers, allowed) {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "cross_origin",
            "a request made with the session cookie must come from this service's own pages \
             (Origin or Referer); API clients use 'Authorization: Bearer <token>'",
        ));
    }
    Ok(token)
}

impl FromRequestParts<AppState> for BearerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(BearerToken(token(parts, &state.allowed_origins)?))
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = token(parts, &state.allowed_origins)?;
        let user = state.auth.authenticate(&token).await?;
        Ok(CurrentUser { user, token })
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
