//! `POST /api/v2/jobs/bulk`: retry or cancel many jobs, each answered on its own.

use super::JobResponse;
use crate::auth::CurrentUser;
use crate::http::{ApiError, AppState, JsonBody};
use crate::jobs::JobError;
use crate::jobs::service::{BulkAction, MAX_BULK_IDS};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    pub action: BulkAction,
    /// 1–1,000 job ids; a repeated id is answered once.
    #[schema(min_items = 1, max_items = 1000)]
    pub ids: Vec<Uuid>,
}

/// How one id fared.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    /// Done: the job as it now stands is in `job`.
    Ok,
    /// No such job, or not the caller's (the same answer: others' jobs are never revealed).
    NotFound,
    /// The job's state does not allow it (`reason` says why, `status` is where it stands).
    Conflict,
    /// It could not be done now (the database was away): try that id again.
    Error,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BulkItem {
    pub id: Uuid,
    pub result: BulkOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobResponse>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BulkResponse {
    /// One per distinct id, in the order given.
    pub results: Vec<BulkItem>,
}

/// Retry or cancel many jobs at once ("retry all failed on this page"). Each job changes
/// atomically and on its own; one that cannot be changed never fails the others.
#[utoipa::path(
    post, path = "/api/v2/jobs/bulk", tag = "jobs",
    request_body = BulkRequest,
    responses(
        (status = 200, description = "One result per id", body = BulkResponse),
    ),
    security(("bearer" = []))
)]
pub async fn bulk_action(
    State(state): State<AppState>,
    caller: CurrentUser,
    JsonBody(req): JsonBody<BulkRequest>,
) -> Result<Json<BulkResponse>, ApiError> {
    if req.ids.is_empty() || req.ids.len() > MAX_BULK_IDS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("ids must hold 1 to {MAX_BULK_IDS} job ids"),
        ));
    }
    let seen = state.jobs.viewed_at();
    let results = state.jobs.bulk(&caller.user, req.action, &req.ids).await;
    let results = results
        .into_iter()
        .map(|(id, result)| match result {
            Ok(job) => BulkItem { id, result: BulkOutcome::Ok, reason: None, job: Some(JobResponse::new(job, seen)) },
            Err(JobError::NotFound) => BulkItem { id, result: BulkOutcome::NotFound, reason: None, job: None },
            Err(err @ (JobError::Conflict { .. } | JobError::CannotRetry(_))) => {
                BulkItem { id, result: BulkOutcome::Conflict, reason: Some(err.to_string()), job: None }
            }
            Err(err) => {
                tracing::warn!(job = %id, error = %err, "a bulk action could not change a job");
                let reason = "it could not be done now; try again".to_owned();
                BulkItem { id, result: BulkOutcome::Error, reason: Some(reason), job: None }
            }
        })
        .collect();
    Ok(Json(BulkResponse { results }))
}
