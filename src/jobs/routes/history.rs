//! `GET /api/v2/jobs`: history pages.

use super::JobResponse;
use crate::auth::CurrentUser;
use crate::http::{ApiError, AppState, ErrorBody};
use crate::jobs::history::{DEFAULT_PAGE, HistoryError, HistoryFilter, Owner, parse_list, parse_search};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The query of `GET /jobs`: every parameter optional.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Comma-separated statuses (any of them): `failed,cancelled`.
    pub status: Option<String>,
    /// Comma-separated job types: `import,export`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub job_type: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<DateTime<Utc>>,
    /// Created before (RFC 3339).
    pub created_to: Option<DateTime<Utc>>,
    /// Matches a job id prefix, the file name or the first 300 characters of the error text (case ignored; at most 200 characters).
    pub q: Option<String>,
    /// `next_cursor` of the previous page (with the same filters); empty or absent for the first.
    pub cursor: Option<String>,
    /// 1–200 jobs per page (default 50); a number outside is brought within (0 is 1).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// Admins: another user's id, or `all` for every user's jobs. Default: the caller's own.
    pub user: Option<String>,
}

/// A page of history, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobResponse>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Job history: the caller's jobs of any age, newest first, filtered and paged by a cursor that
/// stays put while new jobs arrive.
#[utoipa::path(
    get, path = "/api/v2/jobs", tag = "jobs",
    params(HistoryQuery),
    responses(
        (status = 200, description = "A page of jobs, newest first", body = JobPage),
        (status = 400, description = "`invalid_query`: a bad parameter (unknown status or type, malformed time, `q` \
            too long); `invalid_cursor`: a cursor this service did not give out for these filters", body = ErrorBody),
        (status = 403, description = "`user` given by someone who is not an admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: CurrentUser,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Json<JobPage>, ApiError> {
    let Query(q) = query?;
    let bad = |e: HistoryError| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string());
    let owner =
        match q.user.as_deref().map(str::trim) {
            None | Some("") => Owner::One(caller.user.id),
            Some("all") => Owner::Everyone,
            Some(id) => Owner::One(id.parse().map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", "user must be a user id or 'all'")
            })?),
        };
    let filter = HistoryFilter {
        owner,
        statuses: parse_list(q.status.as_deref()).map_err(bad)?,
        types: parse_list(q.job_type.as_deref()).map_err(bad)?,
        created_from: q.created_from,
        created_to: q.created_to,
        search: parse_search(q.q.as_deref()).map_err(bad)?,
        after: None,
    };
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    // Like every other parameter here, an empty one is no cursor: the first page.
    let cursor = q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty());
    let (jobs, next_cursor) = state.jobs.history(&caller.user, filter, cursor, limit).await?;
    let seen = state.jobs.viewed_at();
    Ok(Json(JobPage { items: jobs.into_iter().map(|job| JobResponse::new(job, seen)).collect(), next_cursor }))
}
