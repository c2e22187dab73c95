//! `GET /api/v2/admin/stats`: the queue now, and the last hour's and day's finished jobs.

use crate::auth::AdminUser;
use crate::http::{ApiError, AppState, ErrorBody};
use crate::jobs::stats::AdminStats;
use axum::Json;
use axum::extract::State;

/// Every user's jobs at a glance (admins only): pending and running by type now, and the jobs
/// finished in the last hour and day by type and status, with throughput and failure rate.
/// Reads unfinished jobs and the last day's finished ones only, whatever the table's size.
#[utoipa::path(
    get, path = "/api/v2/admin/stats", tag = "jobs",
    responses(
        (status = 200, description = "The queue and the two windows", body = AdminStats),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn admin_stats(State(state): State<AppState>, _admin: AdminUser) -> Result<Json<AdminStats>, ApiError> {
    Ok(Json(state.jobs.admin_stats().await?))
}
