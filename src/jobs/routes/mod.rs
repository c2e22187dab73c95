//! `/api/v2/jobs/…`: the spec's three endpoints, the state-machine actions, history (`history`)
//! and bulk actions (`bulk`); the admins' queue depth (`queue`) and overview (`stats`).

mod bulk;
mod history;
mod queue;
mod stats;

pub use history::JobPage;

use super::model::{Job, JobStatus, JobType, ViewedAt};
use super::service::CreateJob;
use super::state::Action;
use super::timeline::TimelineEntry;
use crate::auth::{AuthError, BearerToken, CurrentUser, INVALID_TOKEN};
use crate::http::{ApiError, AppState, ErrorBody, JsonBody, PathParam, whole_number};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// `/jobs/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, history::list_jobs))
        .routes(routes!(bulk::bulk_action))
        .routes(routes!(queue::queue_depth))
        .routes(routes!(stats::admin_stats))
        // The spec's router declares `POST /`: answer that spelling too (undocumented alias).
        .route("/api/v2/jobs/", axum::routing::post(create_job))
        .routes(routes!(active_jobs))
        .routes(routes!(get_job))
        .routes(routes!(start_job))
        .routes(routes!(report_progress))
        .routes(routes!(complete_job))
        .routes(routes!(fail_job))
        .routes(routes!(cancel_job))
        .routes(routes!(retry_job))
        .routes(routes!(job_timeline))
}

/// A job as the frontend sees it: the spec's `{id, type, status, progress}` and the rest.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub job_type: JobType,
    pub status: JobStatus,
    /// Percent done, 0..=100.
    #[schema(minimum = 0, maximum = 100)]
    pub progress: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub related_dataset_id: Option<Uuid>,
    pub metadata: Value,
    pub retry_count: i32,
    pub max_retries: i32,
    /// Higher runs first.
    pub priority: i32,
    /// Not started before this time.
    pub run_at: DateTime<Utc>,
    /// How many times a worker has taken it up.
    pub attempt: i32,
    /// Set while a running job is being asked to stop.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// Grows with every change to the job (status, progress, stage, error, …): of two
    /// views of one job, the higher version is the newer.
    pub version: i64,
    /// What the job is doing now, as its handler last said ("parsing rows 120 000 / 1 000 000").
    pub stage: Option<String>,
    /// Seconds until a running job is done at the pace it has kept so far; null until that can
    /// be told (no progress yet, under 2 s in) and for jobs not running.
    pub eta_seconds: Option<i64>,
    /// A running job that showed no sign of life (progress, stage, heartbeat) for
    /// `JOBWATCH_STALLED_AFTER`: its worker may be stuck or gone.
    pub stalled: bool,
}

impl JobResponse {
    /// The job as seen at `seen.now` (its eta and whether it is stalled depend on when).
    pub fn new(job: Job, seen: ViewedAt) -> Self {
        Self {
            eta_seconds: job.eta_seconds(seen.now),
            stalled: job.is_stalled(seen.now, seen.stalled_after),
            id: job.id,
            job_type: job.job_type,
            status: job.status,
            progress: job.progress,
            created_at: job.created_at,
            started_at: job.started_at,
            completed_at: job.completed_at,
            error_message: job.error_message,
            related_dataset_id: job.related_dataset_id,
            metadata: job.metadata,
            retry_count: job.retry_count,
            max_retries: job.max_retries,
            priority: job.priority,
            run_at: job.run_at,
            attempt: job.attempt,
            cancel_requested_at: job.cancel_requested_at,
            version: job.version,
            stage: job.stage,
        }
    }
}

/// Renders one job for a response, as of now.
pub fn view(state: &AppState, job: Job) -> Json<JobResponse> {
    Json(JobResponse::new(job, state.jobs.viewed_at()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateJobRequest {
    /// One of the spec's types; `email` and `webhook` jobs are jobwatch's own (422).
    #[schema(schema_with = JobType::submittable_schema)]
    pub job_type: JobType,
    pub related_dataset_id: Option<Uuid>,
    /// Any JSON object; defaults to `{}`.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub metadata: Option<Value>,
    /// Start no earlier than this (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// -100..=100, higher runs first (default 0).
    #[schema(minimum = -100, maximum = 100)]
    #[serde(default, deserialize_with = "whole_number::optional")]
    pub priority: Option<i32>,
    /// 0..=100 retries after retryable failures (default 3).
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "whole_number::optional")]
    pub max_retries: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    /// Percent done; clamped to 0..=100, and never lowers the job's progress.
    #[serde(deserialize_with = "whole_number::required")]
    pub progress: i64,
    /// What the job is doing now, a short line (cut to 200 characters); kept until replaced.
    pub stage: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FailRequest {
    pub error_message: String,
}

type JobResult = Result<Json<JobResponse>, ApiError>;

async fn act(state: &AppState, caller: &CurrentUser, id: Uuid, action: Action) -> JobResult {
    Ok(view(state, state.jobs.act(&caller.user, id, action).await?))
}

/// The caller's active jobs: pending and running ones of any age, plus those finished in the
/// last 5 minutes, newest first.
#[utoipa::path(
    get, path = "/api/v2/jobs/active", tag = "jobs",
    responses(
        (status = 200, description = "Active jobs, newest first", body = [JobResponse]),
    ),
    security(("bearer" = []))
)]
pub async fn active_jobs(State(state): State<AppState>, BearerToken(token): BearerToken) -> Result<Response, ApiError> {
    // Polled by every open browser tab: the token is checked in the same query, and repeats
    // are answered from the node's short memory of rendered lists, which job changes clear.
    let digest = crate::auth::token::digest(&token);
    let seen = state.jobs.viewed_at();
    let body = match state.active.get(&digest, seen.now) {
        Some(body) => body,
        None => {
            let read_under = state.active.generation();
            let (owner, jobs) =
                state.jobs.active_for_token(&digest).await?.ok_or(AuthError::Unauthorized(INVALID_TOKEN))?;
            let items: Vec<JobResponse> = jobs.into_iter().map(|job| JobResponse::new(job, seen)).collect();
            let body = Bytes::from(serde_json::to_vec(&items).expect("job responses serialize"));
            state.active.put(&digest, owner, body.clone(), seen.now, read_under);
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

/// One job (the caller's own; admins see every job).
#[utoipa::path(
    get, path = "/api/v2/jobs/{job_id}", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_job(State(state): State<AppState>, caller: CurrentUser, PathParam(id): PathParam<Uuid>) -> JobResult {
    Ok(view(&state, state.jobs.get(&caller.user, id).await?))
}

/// Create a job: `pending`, progress 0, owned by the caller.
#[utoipa::path(
    post, path = "/api/v2/jobs", tag = "jobs",
    request_body = CreateJobRequest,
    responses(
        (status = 201, description = "Job created", body = JobResponse, links(
            ("get" = (operation_id = "get_job", parameters(("job_id" = "$response.body#/id")))),
            ("start" = (operation_id = "start_job", parameters(("job_id" = "$response.body#/id")))),
            ("progress" = (operation_id = "report_progress", parameters(("job_id" = "$response.body#/id")))),
            ("complete" = (operation_id = "complete_job", parameters(("job_id" = "$response.body#/id")))),
            ("fail" = (operation_id = "fail_job", parameters(("job_id" = "$response.body#/id")))),
            ("cancel" = (operation_id = "cancel_job", parameters(("job_id" = "$response.body#/id")))),
            ("retry" = (operation_id = "retry_job", parameters(("job_id" = "$response.body#/id")))),
            ("timeline" = (operation_id = "job_timeline", parameters(("job_id" = "$response.body#/id")))),
        )),
        (status = 404, description = "related_dataset_id names no dataset of the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_job(
    State(state): State<AppState>,
    caller: CurrentUser,
    JsonBody(req): JsonBody<CreateJobRequest>,
) -> Result<(StatusCode, Json<JobResponse>), ApiError> {
    let req = CreateJob {
        job_type: req.job_type,
        related_dataset_id: req.related_dataset_id,
        metadata: req.metadata,
        run_at: req.run_at,
        priority: req.priority,
        max_retries: req.max_retries,
    };
    let job = state.jobs.create(&caller.user, req).await?;
    Ok((StatusCode::CREATED, view(&state, job)))
}

/// Mark a pending job running.
#[utoipa::path(
    post, path = "/api/v2/jobs/{job_id}/start", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Job is running", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
        (status = 409, description = "Job is not pending", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn start_job(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> JobResult {
    act(&state, &caller, id, Action::Start).await
}

/// Report progress of a running job (clamped to 0..=100, never lowered), and optionally its stage.
#[utoipa::path(
    post, path = "/api/v2/jobs/{job_id}/progress", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    request_body = ProgressRequest,
    responses(
        (status = 200, description = "Progress recorded", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
        (status = 409, description = "Job is not running", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn report_progress(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(req): JsonBody<ProgressRequest>,
) -> JobResult {
    Ok(view(&state, state.jobs.report(&caller.user, id, req.progress, req.stage.as_deref()).await?))
}

/// Mark a running job completed (progress 100).
#[utoipa::path(
    post, path = "/api/v2/jobs/{job_id}/complete", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Job completed", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
        (status = 409, description = "Job is not running", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn complete_job(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> JobResult {
    act(&state, &caller, id, Action::Complete).await
}

/// Mark a running job failed, with a message for the user.
#[utoipa::path(
    post, path = "/api/v2/jobs/{job_id}/fail", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    request_body = FailRequest,
    responses(
        (status = 200, description = "Job failed", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
        (status = 409, description = "Job is not running", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn fail_job(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
    JsonBody(req): JsonBody<FailRequest>,
) -> JobResult {
    act(&state, &caller, id, Action::Fail(req.error_message)).await
}

/// A job's timeline, oldest first: created, started, every failed attempt with its error, who
/// cancelled or retried it (and whether in bulk), how it ended.
#[utoipa::path(
    get, path = "/api/v2/jobs/{job_id}/timeline", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job's timeline, oldest first", body = [TimelineEntry]),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn job_timeline(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<Vec<TimelineEntry>>, ApiError> {
    Ok(Json(state.jobs.timeline(&caller.user, id).await?))
}

/// Put a failed or cancelled job back in the queue (progress 0, due now).
#[utoipa::path(
    post, path = "/api/v2/jobs/{job_id}/retry", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Job is pending again", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
        (status = 409, description = "`invalid_transition`: the job is not failed or cancelled; `cannot_retry`: an \
            import whose file is no longer stored", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retry_job(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> JobResult {
    act(&state, &caller, id, Action::Retry).await
}

/// Cancel a job: a pending one at once; a running one is asked to stop and ends
/// `cancelled` (progress frozen) as soon as its handler notices, within about a second.
#[utoipa::path(
    post, path = "/api/v2/jobs/{job_id}/cancel", tag = "jobs",
    params(("job_id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 200, description = "Job cancelled, or (running) asked to stop: see cancel_requested_at", body = JobResponse),
        (status = 404, description = "No such job, or not the caller's", body = ErrorBody),
        (status = 409, description = "Job already finished", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn cancel_job(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> JobResult {
    act(&state, &caller, id, Action::Cancel).await
}
