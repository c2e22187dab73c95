//! `/api/v2/schedules`: admins list, create and delete cron schedules.

use super::{CreateSchedule, Schedule};
use crate::auth::AdminUser;
use crate::http::{ApiError, AppState, ErrorBody, JsonBody, PathParam, whole_number};
use crate::jobs::JobType;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// `/schedules/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_schedules, create_schedule)).routes(routes!(delete_schedule))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScheduleRequest {
    /// Unique.
    #[schema(schema_with = crate::names::schema)]
    pub name: String,
    /// Standard cron: 5 fields, or 6 with seconds first (`*/30 * * * * *`); `@hourly` etc.
    pub cron: String,
    /// IANA time zone the pattern is read in (default `UTC`).
    pub timezone: Option<String>,
    /// One of the spec's types (`email` and `webhook` jobs are jobwatch's own).
    #[schema(schema_with = JobType::submittable_schema)]
    pub job_type: JobType,
    /// The jobs' metadata, any JSON object; defaults to `{}`.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub metadata: Option<Value>,
    /// The jobs' priority, -100..=100 (default 0).
    #[schema(minimum = -100, maximum = 100)]
    #[serde(default, deserialize_with = "whole_number::optional")]
    pub priority: Option<i32>,
    /// The jobs' retries, 0..=100 (default 3).
    #[schema(minimum = 0, maximum = 100)]
    #[serde(default, deserialize_with = "whole_number::optional")]
    pub max_retries: Option<i32>,
}

/// All schedules, by name.
#[utoipa::path(
    get, path = "/api/v2/schedules", tag = "schedules",
    responses(
        (status = 200, description = "Schedules", body = [Schedule]),
        (status = 403, description = "Caller is not an admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_schedules(State(state): State<AppState>, _admin: AdminUser) -> Result<Json<Vec<Schedule>>, ApiError> {
    Ok(Json(state.schedules.list().await?))
}

/// Create a schedule; its jobs belong to the admin who created it.
#[utoipa::path(
    post, path = "/api/v2/schedules", tag = "schedules",
    request_body = CreateScheduleRequest,
    responses(
        (status = 201, description = "Schedule created", body = Schedule, links(
            ("delete" = (operation_id = "delete_schedule", parameters(("schedule_id" = "$response.body#/id")))),
        )),
        (status = 403, description = "Caller is not an admin", body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
        (status = 422, description = "`invalid_field`: a cron pattern or time zone that does not parse, a cron with no \
            next time; `invalid_body`, `nul_character`: as for any JSON body", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_schedule(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    JsonBody(req): JsonBody<CreateScheduleRequest>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    let schedule = state
        .schedules
        .create(CreateSchedule {
            name: req.name,
            cron: req.cron,
            timezone: req.timezone,
            job_type: req.job_type,
            metadata: req.metadata,
            priority: req.priority,
            max_retries: req.max_retries,
            created_by: Some(admin.id),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

/// Delete a schedule; the jobs it created stay.
#[utoipa::path(
    delete, path = "/api/v2/schedules/{schedule_id}", tag = "schedules",
    params(("schedule_id" = Uuid, Path, description = "Schedule id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such schedule", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_schedule(
    State(state): State<AppState>,
    _admin: AdminUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.schedules.delete(&id.to_string()).await?;
    Ok(StatusCode::NO_CONTENT)
}
