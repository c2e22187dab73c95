//! `/api/v2/auth/…`: login, logout, me.

use super::{AuthError, CurrentUser, session};
use crate::http::{ApiError, AppState, ClientAddress, JsonBody};
use crate::users::User;
use axum::Json;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// `/auth/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me)).routes(routes!(
        current_session,
        start_session,
        end_session
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Exchange email and password for a bearer token.
#[utoipa::path(
    post, path = "/api/v2/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Unknown email or wrong password (indistinguishable)", body = crate::http::ErrorBody),
        (status = 403, description = "`account_disabled`: the right password of a user an admin disabled", body = crate::http::ErrorBody),
        (status = 429, description = "Too many failed logins for this account or address; see Retry-After", body = crate::http::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until logins are checked again"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let session = state.auth.login(&req.email, &req.password, address).await?;
    Ok(Json(LoginResponse {
        access_token: session.token,
        token_type: "bearer",
        expires_at: session.expires_at,
        user: session.user,
    }))
}

/// Revoke the token used for this request.
#[utoipa::path(
    post, path = "/api/v2/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Token revoked"),
    ),
    security(("bearer" = []))
)]
pub async fn logout(State(state): State<AppState>, caller: CurrentUser) -> Result<StatusCode, ApiError> {
    state.auth.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling user and their settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub notify: crate::notify::routes::NotifySettings,
}

/// The calling user, with their notification settings.
#[utoipa::path(
    get, path = "/api/v2/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = Me),
    ),
    security(("bearer" = []))
)]
pub async fn me(State(state): State<AppState>, caller: CurrentUser) -> Result<Json<Me>, ApiError> {
    let notify = crate::notify::routes::settings(state.store.as_ref(), caller.user.id).await?;
    Ok(Json(Me { user: caller.user, notify }))
}

/// A browser session: what a login gives, minus the token, which travels in the cookie only.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// Whether the browser holds a live session, and whose.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentSession {
    /// Null without a session cookie, or when its session has ended or expired.
    pub user: Option<User>,
}

/// The browser's session, if any: always 200, so a page can ask on load without a failed
/// request in its console. A cookie whose session is over is cleared.
#[utoipa::path(
    get, path = "/api/v2/auth/session", tag = "auth",
    responses((status = 200, description = "The session's user, or null", body = CurrentSession))
)]
pub async fn current_session(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    // Chosen by the cookie: never kept by a cache.
    let private = [(CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    let Some(token) = session::token_from_cookies(&headers) else {
        return Ok((private, Json(CurrentSession { user: None })).into_response());
    };
    match state.auth.authenticate(&token).await {
        Ok(user) => Ok((private, Json(CurrentSession { user: Some(user) })).into_response()),
        Err(AuthError::Unauthorized(_)) => {
            let clear = [(SET_COOKIE, session::clear_cookie(&headers))];
            Ok((private, clear, Json(CurrentSession { user: None })).into_response())
        }
        Err(err) => Err(err.into()),
    }
}

/// Log in for a browser: the token is set as an HttpOnly, SameSite=Strict cookie
/// (`jobwatch_session`; `Secure` unless served over plain http on a loopback address) that page
/// scripts cannot read. Every route that takes a bearer token takes the cookie; requests that
/// change something must then come from this service's pages (Origin), else 403.
#[utoipa::path(
    post, path = "/api/v2/auth/session", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = SessionResponse),
        (status = 401, description = "Unknown email or wrong password (indistinguishable)", body = crate::http::ErrorBody),
        (status = 403, description = "`account_disabled`: the right password of a user an admin disabled", body = crate::http::ErrorBody),
        (status = 429, description = "Too many failed logins for this account or address; see Retry-After", body = crate::http::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until logins are checked again"))),
    )
)]
pub async fn start_session(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = state.auth.login(&req.email, &req.password, address).await?;
    let max_age = state.auth.token_ttl().num_seconds().max(0);
    let cookie = session::set_cookie(&session.token, max_age, &headers);
    Ok(([(SET_COOKIE, cookie)], Json(SessionResponse { expires_at: session.expires_at, user: session.user })))
}

/// End the browser session: its token is revoked on the server and the cookie cleared.
#[utoipa::path(
    delete, path = "/api/v2/auth/session", tag = "auth",
    responses(
        (status = 204, description = "Session ended (also when there was none)"),
        (status = 403, description = "Not from this service's own pages", body = crate::http::ErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    method: Method,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(token) = session::token_from_cookies(&headers) {
        if !session::same_origin_or_allowed(&method, &headers, &state.allowed_origins) {
            return Err(ApiError::forbidden("a session is ended from this service's own pages"));
        }
        state.auth.logout(&token).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, session::clear_cookie(&headers))]))
}
