//! `/api/v2/imports/…`: suppliers, datasets, and the file upload.

use super::model::{Dataset, Supplier};
use super::parse::{Column, FileFormat, ReadAs, ReadOptions, Warning};
use super::service::MAX_PAGE;
use super::upload::Incoming;
use crate::auth::CurrentUser;
use crate::http::{ApiError, AppState, ErrorBody, JsonBody, PathParam};
use crate::jobs::routes::JobResponse;
use axum::Json;
use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// `/imports/…`, declared once with their OpenAPI entries.
pub fn router() -> OpenApiRouter<AppState> {
    // The upload enforces its own, larger limit while streaming (and removes what it stored).
    let upload = OpenApiRouter::new().routes(routes!(upload_file)).layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .routes(routes!(list_suppliers, create_supplier))
        .routes(routes!(list_datasets))
        .routes(routes!(get_dataset))
        .merge(upload)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SupplierResponse {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Supplier> for SupplierResponse {
    fn from(s: Supplier) -> Self {
        Self { id: s.id, name: s.name, created_at: s.created_at }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSupplierRequest {
    /// Unique per user, regardless of case.
    #[schema(schema_with = crate::names::schema)]
    pub name: String,
}

/// A dataset; `preview` only when one dataset is asked for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetResponse {
    pub id: Uuid,
    pub name: String,
    pub supplier_id: Option<Uuid>,
    pub original_filename: Option<String>,
    #[schema(value_type = Option<String>, example = "csv")]
    pub format: Option<FileFormat>,
    pub size_bytes: Option<i64>,
    /// Hex SHA-256 of the file as uploaded.
    pub sha256: Option<String>,
    pub row_count: Option<i64>,
    /// In file order, each with its inferred type: integer, decimal, boolean, date or text.
    pub columns: Vec<Column>,
    /// The first rows, as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<Vec<Vec<String>>>,
    /// How the file was read: its sheet, delimiter and encoding, as given or found.
    pub read_as: ReadAs,
    /// Rows changed so they fit the header: padded short rows, dropped extra cells.
    pub warnings: Vec<Warning>,
    pub import_job_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl DatasetResponse {
    fn new(d: Dataset, with_preview: bool) -> Self {
        Self {
            id: d.id,
            name: d.name,
            supplier_id: d.supplier_id,
            original_filename: d.original_filename,
            format: d.format,
            size_bytes: d.size_bytes,
            sha256: d.sha256,
            row_count: d.row_count,
            columns: d.columns,
            preview: with_preview.then_some(d.preview),
            read_as: d.read_as,
            warnings: d.warnings,
            import_job_id: d.import_job_id,
            created_at: d.created_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DatasetPage {
    pub items: Vec<DatasetResponse>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DatasetQuery {
    /// Page size, 1 to 200 (default 50); a number outside is brought within (0 is 1).
    #[param(value_type = Option<u64>, maximum = 4294967295_u64)]
    pub limit: Option<u32>,
    /// Datasets older than this one (the previous page's `next_before`).
    pub before: Option<Uuid>,
}

/// The upload form: `supplier_id` (unless in the query), then `file`.
// Only the document reads this: the handler takes the form field by field as it arrives.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The supplier, unless given as `?supplier_id=`; it must come before `file`.
    #[schema(nullable = false)]
    supplier_id: Option<Uuid>,
    /// XLSX: the sheet to read, by name or 1-based position (default: the first holding a value).
    #[schema(nullable = false)]
    sheet: Option<String>,
    /// CSV: one character (`;`) or `tab`, `comma`, `semicolon`, `pipe`, `space`, `whitespace`.
    #[schema(nullable = false)]
    delimiter: Option<String>,
    /// Text files: a WHATWG encoding label (`windows-1252`, `latin1`, …).
    #[schema(nullable = false)]
    encoding: Option<String>,
    /// `pad` (default), `trim` or `strict`: what to do with rows of another width than the header.
    #[schema(nullable = false)]
    ragged: Option<String>,
    /// The file: CSV, TSV, XLSX or JSON Lines, told by its name and first bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The supplier, when not sent as a form field before `file`.
    pub supplier_id: Option<Uuid>,
    /// XLSX: the sheet to read, by name or 1-based position (default: the first holding a value).
    pub sheet: Option<String>,
    /// CSV: what splits fields, one character (`;`) or `tab`, `space`, `whitespace` (runs of
    /// spaces, for column-aligned files); default: sniffed.
    pub delimiter: Option<String>,
    /// Text files: a WHATWG encoding label (`windows-1252`, `latin1`, …); default UTF-8, or UTF-16
    /// with a byte order mark.
    pub encoding: Option<String>,
    /// Rows of another width than the header: `pad` (default: short rows padded, extra cells
    /// holding data refused), `trim` (extra cells dropped too), `strict` (short rows refused).
    pub ragged: Option<String>,
}

#[utoipa::path(
    post, path = "/api/v2/imports/suppliers", tag = "imports",
    request_body = CreateSupplierRequest,
    responses(
        (status = 201, description = "Supplier created", body = SupplierResponse, links(
            ("upload" = (operation_id = "upload_file", parameters(("supplier_id" = "$response.body#/id")))),
        )),
        (status = 409, description = "You already have a supplier of that name", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_supplier(
    State(state): State<AppState>,
    caller: CurrentUser,
    JsonBody(req): JsonBody<CreateSupplierRequest>,
) -> Result<(StatusCode, Json<SupplierResponse>), ApiError> {
    let supplier = state.imports.create_supplier(&caller.user, &req.name).await?;
    Ok((StatusCode::CREATED, Json(supplier.into())))
}

#[utoipa::path(
    get, path = "/api/v2/imports/suppliers", tag = "imports",
    responses(
        (status = 200, description = "Your suppliers, by name", body = [SupplierResponse]),
    ),
    security(("bearer" = []))
)]
pub async fn list_suppliers(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> Result<Json<Vec<SupplierResponse>>, ApiError> {
    let suppliers = state.imports.suppliers(&caller.user).await?;
    Ok(Json(suppliers.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    get, path = "/api/v2/imports/datasets", tag = "imports",
    params(DatasetQuery),
    responses(
        (status = 200, description = "Your datasets, newest first", body = DatasetPage),
    ),
    security(("bearer" = []))
)]
pub async fn list_datasets(
    State(state): State<AppState>,
    caller: CurrentUser,
    query: Result<Query<DatasetQuery>, QueryRejection>,
) -> Result<Json<DatasetPage>, ApiError> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let datasets = state.imports.datasets(&caller.user, q.before, limit).await?;
    let next_before = (datasets.len() == limit as usize).then(|| datasets.last().map(|d| d.id)).flatten();
    let items = datasets.into_iter().map(|d| DatasetResponse::new(d, false)).collect();
    Ok(Json(DatasetPage { items, next_before }))
}

#[utoipa::path(
    get, path = "/api/v2/imports/datasets/{dataset_id}", tag = "imports",
    params(("dataset_id" = Uuid, Path, description = "Dataset id")),
    responses(
        (status = 200, description = "The dataset, with a preview of its first rows", body = DatasetResponse),
        (status = 404, description = "No such dataset, or not yours", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_dataset(
    State(state): State<AppState>,
    caller: CurrentUser,
    PathParam(id): PathParam<Uuid>,
) -> Result<Json<DatasetResponse>, ApiError> {
    Ok(Json(DatasetResponse::new(state.imports.dataset(&caller.user, id).await?, true)))
}

/// Multipart: `supplier_id` and the reading fields (`sheet`, `delimiter`, `encoding`, `ragged`), each
/// a field before `file` or a query parameter, then `file`.
#[utoipa::path(
    post, path = "/api/v2/imports/files/upload", tag = "imports",
    params(UploadQuery),
    request_body(content = UploadForm, content_type = "multipart/form-data", description = "Fields `supplier_id` and any reading fields, then `file`"),
    responses(
        (status = 202, description = "Stored; parsing continues in a worker (or the job failed as a duplicate)", body = JobResponse, links(
            ("job" = (operation_id = "get_job", parameters(("job_id" = "$response.body#/id")))),
            ("timeline" = (operation_id = "job_timeline", parameters(("job_id" = "$response.body#/id")))),
        )),
        (status = 400, description = "`not_multipart`, `bad_multipart`, `upload_interrupted`: not multipart/form-data, \
            malformed, or it stopped arriving; `invalid_query`: a bad query parameter", body = ErrorBody),
        (status = 409, description = "`cancelled`: the import was cancelled while the file arrived", body = ErrorBody),
        (status = 413, description = "`file_too_large`: the file is over JOBWATCH_MAX_UPLOAD_BYTES (nothing is kept); \
            `body_too_large`: the other fields hold over 64 KiB", body = ErrorBody),
        (status = 415, description = "`unsupported_file_type`: not a file type jobwatch imports (the message lists them)", body = ErrorBody),
        (status = 422, description = "`invalid_field`: no file, no supplier_id before it, a supplier_id that is not a \
            UUID, not a supplier of yours, or a reading field that is invalid or does not apply to the file's format", body = ErrorBody),
        (status = 507, description = "`insufficient_storage`: the file store is full; nothing is kept and the job is \
            failed saying so. Upload again once space is freed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn upload_file(
    State(state): State<AppState>,
    caller: CurrentUser,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<JobResponse>), ApiError> {
    let Query(q) = query?;
    let mut multipart = multipart?;
    let expected_bytes =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let mut supplier_id = q.supplier_id;
    let mut read = ReadOptions::default();
    let given = [("sheet", &q.sheet), ("delimiter", &q.delimiter), ("encoding", &q.encoding), ("ragged", &q.ragged)];
    for (name, value) in given {
        if let Some(value) = value {
            read.set(name, value).map_err(|message| invalid_field(&message))?;
        }
    }
    // Fields other than the file are small: read with a cap, so none can fill memory.
    let mut other_bytes = 0;
    while let Some(mut field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "supplier_id" => {
                let text = small_field(&mut field, &mut other_bytes).await?;
                supplier_id = Some(text.trim().parse().map_err(|_| invalid_field("supplier_id must be a UUID"))?);
            }
            "file" => {
                let supplier_id =
                    supplier_id.ok_or_else(|| invalid_field("send supplier_id before file (or as ?supplier_id=)"))?;
                let filename = field.file_name().map(str::to_owned).unwrap_or_default();
                let incoming = Incoming { supplier_id, filename: &filename, expected_bytes, read };
                let job = state.imports.upload(&caller.user, incoming, field).await?;
                return Ok((StatusCode::ACCEPTED, crate::jobs::routes::view(&state, job)));
            }
            _ => {
                let text = small_field(&mut field, &mut other_bytes).await?;
                read.set(&name, &text).map_err(|message| invalid_field(&message))?;
            }
        }
    }
    Err(invalid_field("the form has no `file` field"))
}

/// Most bytes the form's fields other than `file` may hold together.
const OTHER_FIELDS_BYTES: usize = 64 * 1024;

/// A form field's text, counting its bytes against [`OTHER_FIELDS_BYTES`].
async fn small_field(field: &mut Field<'_>, used: &mut usize) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        *used += chunk.len();
        if *used > OTHER_FIELDS_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("form fields other than `file` may hold {OTHER_FIELDS_BYTES} bytes in all"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| invalid_field("form fields must be UTF-8 text"))
}

fn invalid_field(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
}
