//! `/api/v2/users`: admins create users and disable them.

use super::User;
use crate::auth::AdminUser;
use crate::http::{ApiError, AppState, JsonBody, PathParam};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// `/users`, declared once with its OpenAPI entry.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_user)).routes(routes!(update_user))
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
        (status = 201, description = "User created", body = User, links(
            ("update" = (operation_id = "update_user", parameters(("user_id" = "$response.body#/id")))),
        )),
        (status = 403, description = "Caller is not an admin", body = crate::http::ErrorBody),
        (status = 409, description = "Email already registered", body = crate::http::ErrorBody),
        (status = 422, description = "`invalid_field`: not an email address, or a password not 8 characters to 1024 \
            bytes long; `invalid_body`, `nul_character`: as for any JSON body", body = crate::http::ErrorBody),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// `true` ends the user's sessions on every node (their open sockets close within
    /// seconds) and refuses their logins; `false` lets them log in again.
    pub disabled: bool,
}

/// Disable or enable a user (admins only; not themselves).
#[utoipa::path(
    patch, path = "/api/v2/users/{user_id}", tag = "users",
    params(("user_id" = Uuid, Path, description = "User id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user as changed", body = User),
        (status = 403, description = "Caller is not an admin", body = crate::http::ErrorBody),
        (status = 404, description = "No such user", body = crate::http::ErrorBody),
        (status = 409, description = "An admin disabling themselves", body = crate::http::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn update_user(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(req): JsonBody<UpdateUserRequest>,
) -> Result<Json<User>, ApiError> {
    let user = state.users.set_disabled(&admin, id, req.disabled).await?;
    // Lists this node remembers for the user's tokens must not outlive them.
    state.active.forget_owners([user.id]);
    Ok(Json(user))
}
