//! `/api/v2/exports`: start an export, download its file.

use super::ExportFormat;
use crate::auth::CurrentUser;
use crate::http::{ApiError, AppState, ErrorBody, JsonBody, PathParam};
use crate::jobs::routes::JobResponse;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// `/exports/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_export)).routes(routes!(download_export))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExportRequest {
    pub dataset_id: Uuid,
    pub format: ExportFormat,
}

#[utoipa::path(
    post, path = "/api/v2/exports", tag = "exports",
    request_body = CreateExportRequest,
    responses(
        (status = 202, description = "The export job; its progress follows rows written", body = JobResponse, links(
            ("download" = (operation_id = "download_export", parameters(("job_id" = "$response.body#/id")))),
            ("job" = (operation_id = "get_job", parameters(("job_id" = "$response.body#/id")))),
        )),
        (status = 404, description = "No such dataset, or not yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_export(
    State(state): State<AppState>,
    caller: CurrentUser,
    JsonBody(req): JsonBody<CreateExportRequest>,
) -> Result<(StatusCode, Json<JobResponse>), ApiError> {
    let job = state.exports.create(&caller.user, req.dataset_id, req.format).await?;
    Ok((StatusCode::ACCEPTED, crate::jobs::routes::view(&state, job)))
}

#[utoipa::path(
    get, path = "/api/v2/exports/{job_id}/download", tag = "exports",
    params(("job_id" = Uuid, Path, description = "The export job's id")),
    responses(
        (status = 200, description = "The file, streamed, as an attachment named after the dataset", content(
            ("text/csv"),
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ("application/x-ndjson"),
        )),
        (status = 404, description = "No such export, or not yours", body = ErrorBody),
        (status = 409, description = "The export has not completed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn download_export(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Response, ApiError> {
    let file = state.exports.download(&caller.user, id).await?;
    let mut response = Body::from_stream(file.body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.format.content_type()));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
