//! `POST /api/v2/users`: admins create users.

use super::User;
use crate::auth::AdminUser;
use crate::http::{ApiError, AppState, JsonBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

/// `/users`, declared once with its OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_user))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub is_admin: bool,
}

/// Create a user (admins only).
#[utoipa::path(
    post, path = "/api/v2/users", tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "User created", body = User),
        (status = 401, description = "Missing, invalid or expired token", body = crate::http::ErrorBody),
        (status = 403, description = "Caller is not an admin", body = crate::http::ErrorBody),
        (status = 409, description = "Email already registered", body = crate::http::ErrorBody),
        (status = 422, description = "Invalid email or password", body = crate::http::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_user(
    State(state): State<AppState>,
    _admin: AdminUser,
    JsonBody(req): JsonBody<CreateUserRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = state.users.create(&req.email, &req.password, req.is_admin).await?;
    Ok((StatusCode::CREATED, Json(user)))
}
