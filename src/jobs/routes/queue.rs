//! `GET /api/v2/admin/queue`: how much work waits and runs, by job type.

use crate::auth::AdminUser;
use crate::http::{ApiError, AppState, ErrorBody};
use crate::jobs::history::QueueDepth;
use axum::Json;
use axum::extract::State;

/// Every user's `pending` and `running` jobs counted by type and status, with the oldest one's
/// creation time (admins only). Reads only unfinished jobs, whatever the table's size.
#[utoipa::path(
    get, path = "/api/v2/admin/queue", tag = "jobs",
    responses(
        (status = 200, description = "By type, then pending before running; absent pairs have no jobs", body = [QueueDepth]),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn queue_depth(State(state): State<AppState>, _admin: AdminUser) -> Result<Json<Vec<QueueDepth>>, ApiError> {
    Ok(Json(state.jobs.queue_depth().await?))
}
