//! `PATCH /api/v2/auth/me`: a user's notification settings (`GET /api/v2/auth/me` shows them).

use super::EmailNotify;
use crate::auth::CurrentUser;
use crate::auth::routes::Me;
use crate::http::{ApiError, AppState, JsonBody};
use crate::storage::{Store, StoreError};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(update_me))
}

/// What a user is told of their own jobs' outcomes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotifySettings {
    /// `off` (the default), `failures` (failed jobs) or `all` (every finished job), mailed to the
    /// user's own address, many outcomes in a short time as one digest.
    pub email: EmailNotify,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub notify: Option<NotifySettings>,
}

/// The user's settings as stored.
pub async fn settings(store: &dyn Store, user: Uuid) -> Result<NotifySettings, StoreError> {
    let email = store.mail_recipient(user).await?.map_or(EmailNotify::Off, |r| r.notify);
    Ok(NotifySettings { email })
}

/// Change the caller's own settings; answers as `GET /auth/me`.
#[utoipa::path(
    patch, path = "/api/v2/auth/me", tag = "auth",
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The caller, with the new settings", body = Me),
    ),
    security(("bearer" = []))
)]
pub async fn update_me(
    State(state): State<AppState>,
    caller: CurrentUser,
    JsonBody(req): JsonBody<UpdateMeRequest>,
) -> Result<Json<Me>, ApiError> {
    if let Some(notify) = req.notify {
        state.store.set_email_notify(caller.user.id, notify.email).await?;
    }
    let notify = settings(state.store.as_ref(), caller.user.id).await?;
    Ok(Json(Me { user: caller.user, notify }))
}
