//! `/api/v2/auth/…`: login, logout, me.

use super::CurrentUser;
use crate::http::{ApiError, AppState, JsonBody};
use crate::users::User;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// `/auth/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me))
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
    )
)]
pub async fn login(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let session = state.auth.login(&req.email, &req.password).await?;
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
        (status = 401, description = "Missing, invalid or expired token", body = crate::http::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn logout(State(state): State<AppState>, caller: CurrentUser) -> Result<StatusCode, ApiError> {
    state.auth.logout(&caller.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The calling user.
#[utoipa::path(
    get, path = "/api/v2/auth/me", tag = "auth",
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "Missing, invalid or expired token", body = crate::http::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn me(caller: CurrentUser) -> Json<User> {
    Json(caller.user)
}
